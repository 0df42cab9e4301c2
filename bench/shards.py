#!/usr/bin/env python3
"""One big CSV through the local platform on 1, 2 and 4 worker processes: the job's input is split
into shards (SHARD_THRESHOLD_BYTES, SHARD_BYTES) that every process's job worker takes from the
emulated job queue. Each process is a `helix-dev up` on the same emulator (the first also serves
the API the CLI talks to), pinned to one core (`taskset`, where there is one: the engine then
maps on one thread, as a 1-vCPU Lambda does). Prints wall time (submit -> COMPLETED) and
throughput in total and per worker. Starts its own moto; nothing is left running.

Usage: bench/shards.py [--mb 64] [--shard-mb 8] [--workers 1,2,4]   (BUILD=release for figures
that matter: the debug engine is several times slower; moto, one Python process, serves every
ranged GET, part and copy and takes its share of the cores)"""
import argparse, json, os, pathlib, random, shutil, subprocess, sys, tempfile, time

from emulators import free_port, pro_plan, start_localstack, wait_localstack, wait_port

p = argparse.ArgumentParser()
p.add_argument("--mb", type=int, default=64)
p.add_argument("--shard-mb", type=int, default=8)
p.add_argument("--workers", default="1,2,4")
# moto reads a whole object for every ranged GET (and so every 8 MiB read of a 2 GB input costs
# the 2 GB): for big files, S3 and SQS on LocalStack (.venv-localstack, `scripts/setup.sh
# --localstack`), whose S3 reads only the range; DynamoDB stays on moto.
p.add_argument("--s3", choices=["moto", "localstack"], default="moto")
a = p.parse_args()
root = pathlib.Path(__file__).resolve().parent.parent
profile = os.environ.get("BUILD", "debug")
# SKIP_BUILD=1 runs the binaries already built.
if not os.environ.get("SKIP_BUILD"):
    subprocess.run(["cargo", "build", "--quiet", *(["--release"] if profile == "release" else []),
                    "-p", "helix-local", "--bin", "helix-dev", "-p", "helix-cli", "--bin", "helix"], cwd=root, check=True)
bin_dir = root / "target" / profile
scratch = pathlib.Path(tempfile.mkdtemp(prefix="helix-shards-"))
cores = os.cpu_count() or 1
taskset = shutil.which("taskset")
# BENCH_LOGS=DIR keeps each process's log there.
logs = pathlib.Path(os.environ["BENCH_LOGS"]) if os.environ.get("BENCH_LOGS") else None


# The CSV: orders with a quoted, sometimes multi-line, note.
csv = scratch / "orders.csv"
rng = random.Random(7)
with csv.open("w") as f:
    f.write("order_no,customer,sku,qty,price,note\n")
    notes = ["", "plain", '"gift wrap, please"', '"deliver to the\nback door"', '"said ""fragile"" twice"']
    block = "".join(
        f"SO-{rng.randrange(10**6):06d},Customer {rng.randrange(5000)},SKU-{rng.randrange(10**5)},"
        f"{rng.randrange(1, 100)},{rng.randrange(100, 99999) / 100},{rng.choice(notes)}\n"
        for _ in range(20000))
    while f.tell() < a.mb * 1024 * 1024:
        f.write(block)
size = csv.stat().st_size
(scratch / "context.yaml").write_text(
    "fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  sku: '{{ sku }}'\n"
    "  qty: '{{ qty }}'\n  price: '{{ price }}'\n  note: '{{ note }}'\n")

mib = 1024 * 1024
rows = []
try:
    for workers in [int(n) for n in a.workers.split(",")]:
        # A fresh emulator each time: the demo user's monthly record quota starts at zero.
        moto_port = free_port()
        procs = [subprocess.Popen([root / ".venv/bin/python", root / "local/moto_server.py", "-H", "127.0.0.1", "-p",
                                   str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}", MAX_UPLOAD_BYTES=str(size * 2),
                   SHARD_THRESHOLD_BYTES=str(a.shard_mb * mib), SHARD_BYTES=str(a.shard_mb * mib))
        if a.s3 == "localstack":
            localstack_port = free_port()
            procs.append(start_localstack(localstack_port, scratch / f"localstack-{workers}"))
            env.update(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{localstack_port}",
                       AWS_ENDPOINT_URL_SQS=f"http://127.0.0.1:{localstack_port}")
        ports = [free_port() for _ in range(workers)]
        try:
            wait_port(moto_port)
            if a.s3 == "localstack":
                wait_localstack(localstack_port)
            for i, port in enumerate(ports):
                pin = [taskset, "-c", str(i % cores)] if taskset else []
                log = open(logs / f"helix-dev-{workers}-{i}.log", "w") if logs else subprocess.DEVNULL
                procs.append(subprocess.Popen([*pin, bin_dir / "helix-dev", "up", "--listen", f"127.0.0.1:{port}"],
                                              cwd=root, env=env, stdout=log, stderr=log))
                # One at a time: each provisions (idempotently) before it polls.
                wait_port(port)
            home = scratch / f"home-{workers}"
            cli_env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
                           HELIX_CACHE_DIR=str(home / "cache"), HELIX_API_URL=f"http://127.0.0.1:{ports[0]}")
            def helix(*args, **kw):
                done = subprocess.run([bin_dir / "helix", *args], env=cli_env, cwd=scratch, capture_output=True,
                                      text=True, **kw)
                if done.returncode:
                    sys.exit(f"helix {' '.join(args)}: {done.stdout}{done.stderr}")
                return done

            time.sleep(1)
            pro_plan(ports[0], "alice@helixnet.local", "alice-local-pass")
            helix("login", "--username", "alice@helixnet.local", "--password-stdin", input="alice-local-pass\n")
            helix("upload", "orders.csv")
            started = time.perf_counter()
            job = json.loads(helix("submit", "--content", "orders.csv", "--context", "context.yaml", "--wait",
                                   "--json").stdout)
            wall = time.perf_counter() - started
            assert job["status"] == "COMPLETED", job
            rows.append((workers, wall, job))
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                proc.wait()
finally:
    shutil.rmtree(scratch, ignore_errors=True)

base = rows[0][1] if rows else 1
print(f"{size / mib:.0f} MiB CSV, shards of {a.shard_mb} MiB, {profile} build, {cores} cores"
      f"{', one core per process (taskset)' if taskset else ''}; wall = submit -> COMPLETED (the file uploaded before)")
print("| worker processes | shards | wall | MiB/s | MiB/s per worker | speed-up |")
print("|---|---|---|---|---|---|")
for workers, wall, job in rows:
    shards = (job.get("shards") or {}).get("total", "-")
    print(f"| {workers} | {shards} | {wall:.1f} s | {size / mib / wall:.1f} | {size / mib / wall / workers:.1f} | "
          f"{base / wall:.2f}x |")
