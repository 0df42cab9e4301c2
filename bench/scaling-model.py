#!/usr/bin/env python3
"""The wall-time model of a sharded transform job (docs/scaling.md, "Model"): a 10 GB and a
100 GB CSV on N = 1..256 Lambdas, and the same formula with this machine's figures against the
local 1/2/4-process measurement of bench/shards.py.

Usage: bench/scaling-model.py            the tables, from the figures below
       bench/scaling-model.py --probe    first measures the local figures (moto's ranged GET,
                                         part, part copy, SQS and DynamoDB latencies; the
                                         engine's one-core throughput and output/input ratio
                                         with target/$BUILD/helix, BUILD=debug by default)

Every figure is named in AWS (measured here, or what an AWS document says, or "assumed") and
documented in docs/scaling.md. The per-shard request counts follow shared/jobs/src/runner/shards.rs
and shared/jobs/src/streams.rs: a shard's input is read in 8 MiB ranged GETs with the next one in
flight while the engine maps the current one, its output goes up in 8 MiB UploadParts with one in
flight while the engine fills the next (so reading, mapping and writing overlap, and the map takes
the slowest of the three plus one range and one part), the shard messages are sent one at a time,
and the merge copies 32 parts at once (join_parts)."""
import argparse, heapq, math, os, pathlib, random, shutil, socket, subprocess, sys, tempfile, time

MiB = 1024 * 1024
GB = 1000**3

# The code's constants (shards.rs, streams.rs).
SHARD_BYTES = 64 * MiB          # ShardConfig::default().shard_bytes (SHARD_BYTES)
MAX_SHARDS = 512                # MAX_SHARDS: the plan is one DynamoDB item
RANGE = 8 * MiB                 # RANGE_BYTES: one ranged GET
PART = 8 * MiB                  # PART_BYTES: one UploadPart of a shard's output
MIN_PART = 5 * MiB              # S3's smallest part but the last; the merge tops up part 1 to it
# Shard messages go out in SendMessageBatch requests of this many (SqsJobQueue::send_all).
SEND_BATCH = 10
# A plan's JSON per shard (ShardScan, ShardSpan, ShardOutput as serde writes them), estimated.
SCAN_ENTRY, SPAN_ENTRY, OUTPUT_ENTRY, PLAN_HEAD = 200, 90, 130, 1024

AWS = dict(
    name="AWS (model)",
    engine_core=88e6,        # measured: helix -j 1, release, 117.7 MB in 1.28-1.40 s (84-92 MB/s)
    vcpus=1.0,               # Lambda docs: 1,769 MB = one vCPU (the template's WorkerMemorySize default)
    conn=85e6,               # assumed: one S3 connection (AWS re:Post: at most 5 Gbps per connection)
    request=0.1,             # S3 performance guidelines: first-byte latency ~100-200 ms (low end)
    copy_rate=200e6,         # assumed: UploadPartCopy bytes per second, server-side (not documented)
    queue_send=0.02,         # assumed: one SQS SendMessage (or SendMessageBatch of up to 10)
    queue_hop=0.2,           # assumed: a sent message reaches a polling Lambda
    db=0.01,                 # DynamoDB: "single-digit millisecond" latency (rounded up)
    cold_start=1.0,          # assumed (Lambda docs: cold starts from under 100 ms to over 1 s)
    out_ratio=None,          # result bytes per input byte: measured by --probe (see LOCAL)
    wcu_per_s=1000.0,        # DynamoDB: one partition (so one item) serves 1,000 WCU/s
    rcu_per_s=3000.0,        #   and 3,000 RCU/s, on-demand or not
    ramp_start=5, ramp_per_s=5.0,  # Lambda SQS scaling: 5 concurrent batches, +300 per minute
    cores=None,              # no shared cores: every Lambda has its own
    copies_at_once=32,       # the merge keeps 32 UploadPart(Copy) requests in flight (MERGE_PARTS_IN_FLIGHT)
)

# This machine, measured with --probe (moto on 127.0.0.1, the debug engine on one pinned core);
# the figures of the run quoted in docs/scaling.md.
LOCAL = dict(
    name="local (moto, debug, 2 cores)",
    engine_core=None, vcpus=1.0, conn=None, request=None, copy_rate=None, queue_send=None,
    queue_hop=0.1,           # helix-dev's queue poller sleeps 100 ms between empty polls
    db=None, cold_start=0.0, out_ratio=None,
    wcu_per_s=math.inf, rcu_per_s=math.inf, ramp_start=math.inf, ramp_per_s=math.inf,
    cores=2,                 # the machine's cores, shared by the workers and moto
    copies_at_once=1,
)


def shard_layout(size, shard_bytes=SHARD_BYTES):
    shard = max(shard_bytes, math.ceil(size / MAX_SHARDS))
    return shard, math.ceil(size / shard)


def gets(nbytes, p):
    """Sequential ranged GETs of `nbytes` on one connection."""
    return math.ceil(nbytes / RANGE) * p["request"] + nbytes / p["conn"]


def message_overhead(p):
    # run_once (idempotency begin + complete), the job, the plan (run_shard).
    return 4 * p["db"]


def scan_seconds(shard, p):
    # One 1-byte GET (the byte before), the range, the conditional write of the scan.
    return message_overhead(p) + p["request"] + gets(shard, p) + p["db"]


def map_seconds(shard, p):
    out = shard * p["out_ratio"]
    documents = 2 * (p["db"] + p["request"])        # context and schema: artifact + object
    header = p["request"]                           # bytes [0, D) read again
    read = gets(shard, p)
    compute = shard / (p["engine_core"] * min(1.0, p["vcpus"]))
    write = math.ceil(out / PART) * p["request"] + out / p["conn"]
    # The three streams overlap (one request ahead each way): the slowest sets the pace, plus the
    # first range (nothing to map before it), the last part (sent after the engine ends), and the
    # upload's create and complete.
    streamed = max(read, compute, write) + gets(min(RANGE, shard), p) + p["request"] + PART / p["conn"] \
        + 2 * p["request"]
    rejects = p["request"]                          # a small reject output: one PUT
    record = 3 * p["db"]                            # the output, then the job's progress (get + replace)
    return message_overhead(p) + documents + header + streamed + rejects + record


def merge_seconds(shards, shard, p):
    out = shard * p["out_ratio"]
    documents = 2 * (p["db"] + p["request"])
    first = 2 * (p["request"] + MIN_PART / p["conn"])         # part 1: shard 0's head, read and written
    copies = math.ceil(shards / p["copies_at_once"]) * (p["request"] + out / p["copy_rate"])  # one per shard
    ends = 2 * p["request"] + p["request"]                    # create + complete; the report's one PUT
    record = 3 * p["db"]                                      # two artifacts, the settled job
    return documents + first + copies + ends + record


def makespan(tasks, workers, p, warm):
    """Greedy: each shard message goes to the first Lambda free. With `warm` False the Lambdas
    come as the SQS event source scales (ramp_start at once, ramp_per_s more each second) and
    each pays a cold start the first time."""
    free = []
    for i in range(workers):
        if warm:
            free.append((0.0, i, False))
        else:
            at = 0.0 if i < p["ramp_start"] else (i - p["ramp_start"] + 1) / p["ramp_per_s"]
            free.append((at, i, True))
    heapq.heapify(free)
    end = 0.0
    for task in tasks:
        at, i, cold = heapq.heappop(free)
        done = at + task + (p["cold_start"] if cold else 0.0)
        end = max(end, done)
        heapq.heappush(free, (done, i, False))
    return end


def hot_item_seconds(shards, p):
    """The plan item's floor per phase: every conditional write costs the item's size in KB
    (the larger of before and after), every strongly consistent read its size in 4 KB units."""
    def wcu(size):
        return math.ceil(size / 1024)

    def rcu(size):
        return math.ceil(size / 4096)

    scan_w = sum(wcu(PLAN_HEAD + i * SCAN_ENTRY) for i in range(1, shards + 1))
    scan_r = sum(rcu(PLAN_HEAD + i * SCAN_ENTRY) for i in range(shards))   # each message reads the plan
    base = PLAN_HEAD + shards * (SCAN_ENTRY + SPAN_ENTRY)
    map_w = sum(wcu(base + i * OUTPUT_ENTRY) for i in range(1, shards + 1))
    map_r = sum(rcu(base + i * OUTPUT_ENTRY) for i in range(shards))
    return (max(scan_w / p["wcu_per_s"], scan_r / p["rcu_per_s"]),
            max(map_w / p["wcu_per_s"], map_r / p["rcu_per_s"]))


def wall(size, workers, p, warm=True, shard_bytes=SHARD_BYTES):
    shard, shards = shard_layout(size, shard_bytes)
    last = size - (shards - 1) * shard
    sizes = [shard] * (shards - 1) + [last]
    sends = math.ceil(shards / SEND_BATCH) * p["queue_send"]
    fan_out = p["queue_hop"] + 3 * p["db"] + p["request"] + MiB / p["conn"] + sends
    scan_tasks = [scan_seconds(s, p) for s in sizes]
    map_tasks = [map_seconds(s, p) for s in sizes]
    scan = makespan(scan_tasks, workers, p, warm)
    mapped = makespan(map_tasks, workers, p, True)
    if p["cores"]:
        # Workers and the emulator share the cores: a phase takes at least its CPU work over them.
        scan = max(scan, sum(scan_tasks) / p["cores"])
        mapped = max(mapped, sum(map_tasks) / p["cores"])
    scan_floor, map_floor = hot_item_seconds(shards, p)
    scan, mapped = max(scan, scan_floor), max(mapped, map_floor)
    place = 2 * p["db"] + sends
    merge = merge_seconds(shards, shard, p)
    phases = dict(fan_out=fan_out + p["queue_hop"], scan=scan, place=place + p["queue_hop"], map=mapped,
                  merge=merge)
    return sum(phases.values()), phases, shard, shards


def limits(size, p, out_ratio):
    shard, shards = shard_layout(size)
    notes = []
    plan_bytes = PLAN_HEAD + shards * (SCAN_ENTRY + SPAN_ENTRY + OUTPUT_ENTRY)
    notes.append(f"plan item {plan_bytes / 1000:.0f} KB of DynamoDB's 400 KB")
    notes.append(f"merge: {shards + 1} parts of S3's 10,000, each {shard * out_ratio / MiB:.0f} MiB of its 5 GiB")
    return shard, shards, notes


def table(p, sizes, workers, warm):
    rows = []
    for n in workers:
        row = [n]
        for size in sizes:
            total, phases, _, _ = wall(size, n, p, warm)
            row.append((total, phases))
        rows.append(row)
    return rows


def fmt_phases(phases):
    return " + ".join(f"{v:.1f}" for v in phases.values())


def print_model(p):
    sizes = [10 * GB, 100 * GB]
    workers = [2**i for i in range(9)]
    for size in sizes:
        shard, shards, notes = limits(size, p, p["out_ratio"])
        print(f"{size / GB:.0f} GB: {shards} shards of {shard / MiB:.1f} MiB; " + "; ".join(notes))
    print()
    print("| N | 10 GB warm | 10 GB cold | speed-up | 100 GB warm | 100 GB cold | speed-up | "
          "10 GB phases (fan-out + scan + place + map + merge, warm) |")
    print("|---|---|---|---|---|---|---|---|")
    warm = table(p, sizes, workers, True)
    cold = table(p, sizes, workers, False)
    base = [warm[0][1][0], warm[0][2][0]]
    for w, c in zip(warm, cold):
        print(f"| {w[0]} | {w[1][0]:.0f} s | {c[1][0]:.0f} s | {base[0] / w[1][0]:.1f}x | {w[2][0]:.0f} s | "
              f"{c[2][0]:.0f} s | {base[1] / w[2][0]:.1f}x | {fmt_phases(w[1][1])} |")
    ten = wall(10 * GB, 64, p, True)
    ten_cold = wall(10 * GB, 64, p, False)
    print()
    print(f"Goal, 10 GB on 64 Lambdas under 60 s: {ten[0]:.0f} s warm, {ten_cold[0]:.0f} s cold -> "
          f"{'met' if max(ten[0], ten_cold[0]) < 60 else 'NOT met'}; the merge is {ten[1]['merge']:.0f} s of it.")
    # What the merge would need: the copy rate at which the goal is met.
    for rate in [200e6, 500e6, 1e9, 2e9]:
        q = dict(p, copy_rate=rate)
        print(f"  with UploadPartCopy at {rate / 1e6:.0f} MB/s: {wall(10 * GB, 64, q, True)[0]:.0f} s warm, "
              f"{wall(10 * GB, 64, q, False)[0]:.0f} s cold; 100 GB on 256: {wall(100 * GB, 256, q, True)[0]:.0f} s")
    q = dict(p, copies_at_once=32)
    print(f"  with 32 UploadPartCopy at once (200 MB/s each): 10 GB on 64: {wall(10 * GB, 64, q, True)[0]:.0f} s warm, "
          f"{wall(10 * GB, 64, q, False)[0]:.0f} s cold; 100 GB on 256: {wall(100 * GB, 256, q, True)[0]:.0f} s")
    m100 = wall(100 * GB, 256, p, True)[1]["merge"]
    print(f"  100 GB merge: {m100:.0f} s on one Lambda (WorkerFunction's Timeout is 300 s; Lambda's most is 900 s)")
    for size in [10 * GB, 100 * GB]:
        _, shards = shard_layout(size)
        scan_floor, map_floor = hot_item_seconds(shards, p)
        print(f"  {size / GB:.0f} GB: the plan item's DynamoDB floor is {scan_floor:.0f} s (scan) and {map_floor:.0f} s (map)")
    per_worker = 1 / (p["request"] + RANGE / p["conn"])
    print(f"  S3 requests on the input's prefix at N = 256: ~{256 * per_worker:.0f} GET/s (of 5,500 per prefix)")
    # As deployed (infra/template.yaml): WorkerMaxConcurrency Lambdas (64 by default), BatchSize 1,
    # WorkerMemorySize 1,769 MB (one vCPU): the model's N = 64 line. The template before had
    # MaximumConcurrency 10, BatchSize 5 (a batch's messages at once on one Lambda) and 1,024 MB
    # (0.58 vCPU, shared by the batch).
    print(f"  as deployed (WorkerMaxConcurrency 64, one message a Lambda, 1,769 MB): 10 GB "
          f"{wall(10 * GB, 64, p, True)[0]:.0f} s, 100 GB {wall(100 * GB, 64, p, True)[0]:.0f} s")
    q = dict(p, vcpus=1024 / 1769 / 5)
    print(f"  as deployed before (10 Lambdas x 5 messages, 1,024 MB): 10 GB {wall(10 * GB, 50, q, True)[0]:.0f} s, "
          f"100 GB {wall(100 * GB, 50, q, True)[0]:.0f} s")


def print_local(p, measured):
    size = 34_323_828              # bench/shards.py --mb 32: its CSV (whole blocks past 32 MiB)
    shard_bytes = 4 * MiB          # --shard-mb 4
    print(f"Local check (same formula, {p['name']}): {size / MiB:.1f} MiB CSV, shards of 4 MiB")
    print("| processes | model | measured | model speed-up | measured speed-up | phases (model) |")
    print("|---|---|---|---|---|---|")
    base = None
    for n in [1, 2, 4]:
        total, phases, _, shards = wall(size, n, p, True, shard_bytes)
        base = base or total
        m = measured.get(n)
        print(f"| {n} | {total:.1f} s | {m:.1f} s | {base / total:.2f}x | {measured[1] / m:.2f}x | "
              f"{fmt_phases(phases)} ({shards} shards) |")


# --probe: this machine's figures.
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def probe(root):
    import boto3
    port = free_port()
    moto = subprocess.Popen([root / ".venv/bin/python", root / "local/moto_server.py", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        kw = dict(endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="x",
                  aws_secret_access_key="x")
        s3, sqs, ddb = boto3.client("s3", **kw), boto3.client("sqs", **kw), boto3.client("dynamodb", **kw)
        s3.create_bucket(Bucket="bench")
        body = os.urandom(32 * MiB)
        s3.put_object(Bucket="bench", Key="in", Body=body)

        def timed(call, n):
            started = time.perf_counter()
            for i in range(n):
                call(i)
            return (time.perf_counter() - started) / n

        request = timed(lambda i: s3.get_object(Bucket="bench", Key="in", Range="bytes=0-0")["Body"].read(), 20)
        get8 = timed(lambda i: s3.get_object(Bucket="bench", Key="in", Range=f"bytes={i * RANGE}-{(i + 1) * RANGE - 1}")
                     ["Body"].read(), 4)
        up = s3.create_multipart_upload(Bucket="bench", Key="out")["UploadId"]
        part8 = timed(lambda i: s3.upload_part(Bucket="bench", Key="out", UploadId=up, PartNumber=i + 1,
                                               Body=body[:PART]), 3)
        copy8 = timed(lambda i: s3.upload_part_copy(Bucket="bench", Key="out", UploadId=up, PartNumber=10 + i,
                                                    CopySource={"Bucket": "bench", "Key": "in"},
                                                    CopySourceRange=f"bytes=0-{RANGE - 1}"), 3)
        s3.abort_multipart_upload(Bucket="bench", Key="out", UploadId=up)
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        send = timed(lambda i: sqs.send_message(QueueUrl=url, MessageBody="x" * 300), 50)
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="t", Item={"id": {"S": "p"}, "m": {"M": {}}})
        db = timed(lambda i: ddb.update_item(
            TableName="t", Key={"id": {"S": "p"}}, UpdateExpression="SET m.#i = :v",
            ConditionExpression="attribute_exists(id) AND attribute_not_exists(m.#i)",
            ExpressionAttributeNames={"#i": str(i)}, ExpressionAttributeValues={":v": {"S": "y" * 200}},
            ReturnValues="ALL_NEW"), 50)
    finally:
        moto.terminate()
        moto.wait()
    conn = RANGE / max(get8 - request, 1e-3)
    figures = dict(request=request, conn=conn, copy_rate=RANGE / max(copy8 - request, 1e-3), queue_send=send, db=db)
    print(f"moto: request {request * 1000:.1f} ms, 8 MiB GET {get8:.3f} s ({conn / 1e6:.0f} MB/s after the request), "
          f"8 MiB UploadPart {part8:.3f} s, 8 MiB UploadPartCopy {copy8:.3f} s, SendMessage {send * 1000:.1f} ms, "
          f"conditional UpdateItem {db * 1000:.1f} ms")
    figures.update(engine(root))
    return figures


def engine(root):
    """The engine on one pinned core, on bench/shards.py's CSV (8 MiB of it)."""
    profile = os.environ.get("BUILD", "debug")
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="helix-model-"))
    try:
        csv = scratch / "orders.csv"
        rng = random.Random(7)
        with csv.open("w") as f:
            f.write("order_no,customer,sku,qty,price,note\n")
            notes = ["", "plain", '"gift wrap, please"', '"deliver to the\nback door"', '"said ""fragile"" twice"']
            block = "".join(
                f"SO-{rng.randrange(10**6):06d},Customer {rng.randrange(5000)},SKU-{rng.randrange(10**5)},"
                f"{rng.randrange(1, 100)},{rng.randrange(100, 99999) / 100},{rng.choice(notes)}\n"
                for _ in range(20000))
            while f.tell() < 8 * MiB:
                f.write(block)
        (scratch / "context.yaml").write_text(
            "fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  sku: '{{ sku }}'\n"
            "  qty: '{{ qty }}'\n  price: '{{ price }}'\n  note: '{{ note }}'\n")
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        started = time.perf_counter()
        subprocess.run([*pin, root / "target" / profile / "helix", "transform", "-q", "-j", "1", "--context",
                        scratch / "context.yaml", csv, "-o", scratch / "out.json"], check=True)
        seconds = time.perf_counter() - started
        size, out = csv.stat().st_size, (scratch / "out.json").stat().st_size
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"engine ({profile}, -j 1, one core): {size / MiB:.1f} MiB in {seconds:.2f} s = {size / seconds / 1e6:.1f} MB/s; "
          f"result {out / size:.2f}x the input")
    return dict(engine_core=size / seconds, out_ratio=out / size)


# The figures of `--probe` quoted in docs/scaling.md (debug build, load average ~5, 2026-12-01).
PROBED = dict(request=0.052, conn=1743e6, copy_rate=110e6, queue_send=0.0125, db=0.0149, engine_core=6.2e6,
              out_ratio=2.01)
# bench/shards.py --mb 32 --shard-mb 4 --workers 1,2,4, debug build (docs/scaling.md).
MEASURED = {1: 16.8, 2: 11.5, 4: 19.3}


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--probe", action="store_true", help="measure this machine's figures first")
    args = a.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    figures = probe(root) if args.probe else PROBED
    local = dict(LOCAL, **figures)
    aws = dict(AWS, out_ratio=figures["out_ratio"])
    print_model(aws)
    print()
    print_local(local, MEASURED)


if __name__ == "__main__":
    sys.exit(main())
