#!/usr/bin/env python3
"""One big CSV through the local platform on 1, 2 and 4 worker processes: the job's input is split
into shards (SHARD_THRESHOLD_BYTES, SHARD_BYTES) that every process's job worker takes from the
emulated job queue. Each process is a `helix-dev up` on the same emulators (the first also serves
the API), pinned to one core (`taskset`, where there is one: the engine then maps on one thread,
as a 1-vCPU Lambda does). The file is uploaded first (`helix upload`); the job is then created on
it through the API, and its time is the job's own, created -> finished (`created_at`,
`finished_at`). Prints that time, the throughput in total and per worker, and the CPU time the
worker processes and the emulators used meanwhile. Starts its own emulators; nothing is left
running.

Usage: bench/shards.py [--mb 64] [--shard-mb 8] [--workers 1,2,4] [--s3 moto|s3s|localstack]
                       [--pin-emulators]
BUILD=release for figures that matter (the debug engine is several times slower); SKIP_BUILD=1 runs
the binaries already built, CARGO_TARGET_DIR=DIR those built there; BENCH_LOGS=DIR keeps every
process's log there.

The emulators work on the same cores as the workers: every byte read, written and copied in S3
is theirs to serve (s3s-fs hashes each byte written, copied or joined with MD5; LocalStack and moto
are Python). Unpinned, they take the cores the workers leave: one worker's run gets the second
core for them, two workers' runs share both with them. `--pin-emulators` puts them on the
workers' cores, so that one worker's run has one core in all and two workers' two. The figures
and what they say: docs/scaling.md, "Measured locally" (for big files LocalStack: s3s-fs, which
reads and copies in 4 KiB pieces, took 191 s for one worker on 2 GB)."""
import argparse, os, pathlib, random, shutil, signal, subprocess, sys, tempfile, time

from emulators import (api, cpu_seconds, free_port, login, pro_plan, start_localstack, start_s3s, wait_localstack,
                       wait_port)

p = argparse.ArgumentParser()
p.add_argument("--mb", type=int, default=64)
p.add_argument("--shard-mb", type=int, default=8)
p.add_argument("--workers", default="1,2,4")
# moto reads a whole object for every ranged GET (and so every 8 MiB read of a 2 GB input costs
# the 2 GB): for big files, S3 on s3s-fs (.tools, `scripts/setup.sh --test`) or S3 and SQS on
# LocalStack (.venv-localstack, `scripts/setup.sh --localstack`), which read only the range;
# DynamoDB (and SQS, but with LocalStack) stays on moto.
p.add_argument("--s3", choices=["moto", "s3s", "localstack"], default="moto")
p.add_argument("--pin-emulators", action="store_true",
               help="run the emulators on the worker processes' cores only (one core in all for one worker)")
a = p.parse_args()
# Stopped (by `timeout`, say), it still stops what it started and removes its files.
signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
root = pathlib.Path(__file__).resolve().parent.parent
profile = os.environ.get("BUILD", "debug")
if not os.environ.get("SKIP_BUILD"):
    subprocess.run(["cargo", "build", "--quiet", *(["--release"] if profile == "release" else []),
                    "-p", "helix-local", "--bin", "helix-dev", "-p", "helix-cli", "--bin", "helix"], cwd=root, check=True)
# A relative CARGO_TARGET_DIR is the repository root's, where cargo ran.
bin_dir = root / os.environ.get("CARGO_TARGET_DIR", "target") / profile
scratch = pathlib.Path(tempfile.mkdtemp(prefix="helix-shards-"))
cores = os.cpu_count() or 1
taskset = shutil.which("taskset")
logs = pathlib.Path(os.environ["BENCH_LOGS"]) if os.environ.get("BENCH_LOGS") else None
if logs:
    logs.mkdir(parents=True, exist_ok=True)


def log(name):
    return open(logs / f"{name}.log", "w") if logs else subprocess.DEVNULL


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
context = ("fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  sku: '{{ sku }}'\n"
           "  qty: '{{ qty }}'\n  price: '{{ price }}'\n  note: '{{ note }}'\n")


def seconds_between(job, start, end):
    parse = lambda text: time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + text[19:-1])
    return parse(job[end]) - parse(job[start])


mib = 1024 * 1024
rows = []
try:
    for workers in [int(n) for n in a.workers.split(",")]:
        worker_cores = sorted({i % cores for i in range(workers)})
        pin_emulators = [taskset, "-c", ",".join(map(str, worker_cores))] if a.pin_emulators and taskset else []
        # A fresh emulator each time: the demo user's monthly record quota starts at zero.
        moto_port = free_port()
        emulators = [subprocess.Popen([*pin_emulators, root / ".venv/bin/python", root / "local/moto_server.py", "-H",
                                       "127.0.0.1", "-p", str(moto_port)], stdout=log(f"moto-{workers}"),
                                      stderr=subprocess.STDOUT)]
        env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}", MAX_UPLOAD_BYTES=str(size * 2),
                   SHARD_THRESHOLD_BYTES=str(a.shard_mb * mib), SHARD_BYTES=str(a.shard_mb * mib))
        s3_port = free_port()
        if a.s3 == "localstack":
            emulators.append(start_localstack(s3_port, scratch / f"localstack-{workers}", pin_emulators))
            env.update(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{s3_port}",
                       AWS_ENDPOINT_URL_SQS=f"http://127.0.0.1:{s3_port}")
        elif a.s3 == "s3s":
            emulators.append(start_s3s(s3_port, scratch / f"s3s-{workers}", log(f"s3s-fs-{workers}"), pin_emulators))
            # No event notifications there: a file becomes available when its multipart upload
            # completes, not on the upload watcher's event of a single PUT.
            env.update(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{s3_port}", MULTIPART_THRESHOLD_BYTES=str(5 * mib))
        ports = [free_port() for _ in range(workers)]
        procs = []
        try:
            wait_port(moto_port)
            if a.s3 == "localstack":
                wait_localstack(s3_port)
            elif a.s3 == "s3s":
                wait_port(s3_port)
            for i, port in enumerate(ports):
                pin = [taskset, "-c", str(i % cores)] if taskset else []
                out = log(f"helix-dev-{workers}-{i}")
                procs.append(subprocess.Popen([*pin, bin_dir / "helix-dev", "up", "--listen", f"127.0.0.1:{port}"],
                                              cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT))
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

            time.sleep(1)  # the demo users are seeded once the server listens
            pro_plan(ports[0], "alice@helixnet.local", "alice-local-pass")
            helix("login", "--username", "alice@helixnet.local", "--password-stdin", input="alice-local-pass\n")
            artifact = helix("upload", "orders.csv").stdout.split()[-1]
            token = login(ports[0], "alice@helixnet.local", "alice-local-pass")
            everyone = procs + emulators
            cpu_before = [cpu_seconds(proc.pid) for proc in everyone]
            job = api(ports[0], "POST", "/jobs", token=token, body={"content_artifact_ids": [artifact], "context": context})
            while job["status"] not in ("COMPLETED", "FAILED", "CANCELLED"):
                time.sleep(0.5)
                job = api(ports[0], "GET", f"/jobs/{job['id']}", token=token)
            cpu = [cpu_seconds(proc.pid) - before for proc, before in zip(everyone, cpu_before)]
            assert job["status"] == "COMPLETED", job
            rows.append((workers, seconds_between(job, "created_at", "finished_at"), job, sum(cpu[:workers]),
                         cpu[workers:]))
        finally:
            for proc in reversed(emulators + procs):
                proc.terminate()
            for proc in emulators + procs:
                proc.wait()
            shutil.rmtree(scratch / f"s3s-{workers}", ignore_errors=True)
            shutil.rmtree(scratch / f"localstack-{workers}", ignore_errors=True)
finally:
    shutil.rmtree(scratch, ignore_errors=True)

base = rows[0][1] if rows else 1
setup = {"moto": "moto", "s3s": "S3 on s3s-fs, SQS and DynamoDB on moto",
             "localstack": "S3 and SQS on LocalStack, DynamoDB on moto"}[a.s3]
print(f"{size / mib:.0f} MiB CSV, shards of {a.shard_mb} MiB, {profile} build, {cores} cores"
      f"{', one core per worker process (taskset)' if taskset else ''}; {setup}"
      f"{', on the workers cores' if a.pin_emulators else ''}; job = created -> finished (the file uploaded before)")
names = {"moto": "moto", "s3s": "moto + s3s-fs", "localstack": "moto + LocalStack"}[a.s3]
print(f"| worker processes | shards | job | MiB/s | MiB/s per worker | speed-up | CPU: workers | CPU: {names} |")
print("|---|---|---|---|---|---|---|---|")
for workers, seconds, job, worker_cpu, emulator_cpu in rows:
    shards = (job.get("shards") or {}).get("total", "-")
    each = f" ({' + '.join(f'{c:.1f}' for c in emulator_cpu)})" if len(emulator_cpu) > 1 else ""
    print(f"| {workers} | {shards} | {seconds:.1f} s | {size / mib / seconds:.1f} | {size / mib / seconds / workers:.1f} | "
          f"{base / seconds:.2f}x | {worker_cpu:.1f} s | {sum(emulator_cpu):.1f} s{each} |")
