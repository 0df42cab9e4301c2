#!/usr/bin/env python3
"""One big CSV through the whole local platform: the CLI's multipart upload to the emulator, then a
job on it, while the platform process's resident memory and what it writes to its temp folder are
watched. Prints a table. Starts its own moto and helix-dev (debug build unless BUILD=release) on
free ports; nothing is left running.

Usage: bench/big-file.py [--mb 512] [--s3 localstack]   (BUILD=release for the figures that matter; the debug engine
is several times slower, the memory bound is the same)"""
import argparse, json, os, pathlib, random, shutil, subprocess, sys, tempfile, threading, time

from emulators import free_port, pro_plan, start_localstack, wait_localstack, wait_port

p = argparse.ArgumentParser()
p.add_argument("--mb", type=int, default=512)
# moto reads a whole object for every ranged GET: above a few hundred MiB, S3 and SQS on LocalStack.
p.add_argument("--s3", choices=["moto", "localstack"], default="moto")
a = p.parse_args()
root = pathlib.Path(__file__).resolve().parent.parent
profile = os.environ.get("BUILD", "debug")
# SKIP_BUILD=1 runs the binaries already built.
if not os.environ.get("SKIP_BUILD"):
    subprocess.run(["cargo", "build", "--quiet", *(["--release"] if profile == "release" else []),
                    "-p", "helix-local", "--bin", "helix-dev", "-p", "helix-cli", "--bin", "helix"], cwd=root, check=True)
bin_dir = root / "target" / profile
scratch = pathlib.Path(tempfile.mkdtemp(prefix="helix-big-file-"))


# The CSV, in the orders example's shape.
csv = scratch / "orders.csv"
rng = random.Random(7)
with csv.open("w") as f:
    f.write("order_no,customer,sku,qty,price,order_date\n")
    block = "".join(
        f"SO-{rng.randrange(10**6):06d},Customer {rng.randrange(5000)},SKU-{rng.randrange(10**5)},"
        f"{rng.randrange(1, 100)},{rng.randrange(100, 99999) / 100},2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}\n"
        for _ in range(20000))
    while f.tell() < a.mb * 1024 * 1024:
        f.write(block)
size = csv.stat().st_size
(scratch / "context.yaml").write_text(
    "fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  sku: '{{ sku }}'\n"
    "  qty: '{{ qty }}'\n  price: '{{ price }}'\n  date: '{{ order_date }}'\n")

moto_port, web_port = free_port(), free_port()
platform_tmp = scratch / "platform-tmp"
platform_tmp.mkdir()
procs = []
try:
    procs.append(subprocess.Popen([root / ".venv/bin/python", root / "local/moto_server.py", "-H", "127.0.0.1", "-p", str(moto_port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(moto_port)
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}", TMPDIR=str(platform_tmp),
               MAX_UPLOAD_BYTES=str(max(size, 1) * 2))
    if a.s3 == "localstack":
        localstack_port = free_port()
        procs.append(start_localstack(localstack_port, scratch / "localstack"))
        wait_localstack(localstack_port)
        env.update(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{localstack_port}",
                   AWS_ENDPOINT_URL_SQS=f"http://127.0.0.1:{localstack_port}")
    dev = subprocess.Popen([bin_dir / "helix-dev", "up", "--listen", f"127.0.0.1:{web_port}"], cwd=root, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(dev)
    wait_port(web_port)
    peak = {"rss": 0}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                for line in open(f"/proc/{dev.pid}/status"):
                    if line.startswith("VmRSS:"):
                        peak["rss"] = max(peak["rss"], int(line.split()[1]) * 1024)
            except OSError:
                return
            time.sleep(0.05)

    threading.Thread(target=watch, daemon=True).start()
    cli_env = dict(os.environ, HOME=str(scratch), XDG_CONFIG_HOME=str(scratch / "config"),
                   HELIX_CACHE_DIR=str(scratch / "cache"), HELIX_API_URL=f"http://127.0.0.1:{web_port}")
    helix = lambda *args, **kw: subprocess.run([bin_dir / "helix", *args], env=cli_env, cwd=scratch, check=True,
                                               capture_output=True, text=True, **kw)
    time.sleep(1)  # the demo users are seeded once the server listens
    pro_plan(web_port, "alice@helixnet.local", "alice-local-pass")
    helix("login", "--username", "alice@helixnet.local", "--password-stdin", input="alice-local-pass\n")
    started = time.perf_counter()
    helix("upload", "orders.csv")
    upload_s = time.perf_counter() - started
    rss_after_upload = peak["rss"]
    started = time.perf_counter()
    job = helix("submit", "--content", "orders.csv", "--context", "context.yaml", "--wait", "--json").stdout
    job_s = time.perf_counter() - started
    stop.set()
    job = json.loads(job)
    written = sum(f.stat().st_size for f in platform_tmp.rglob("*") if f.is_file())
    mib = 1024 * 1024
    print(f"| input | upload (CLI, parts of 16 MiB, 4 at a time) | job (submit → COMPLETED) | records | peak RSS of the platform process | bytes the platform wrote to its TMPDIR |")
    print(f"|---|---|---|---|---|---|")
    print(f"| {size / mib:.0f} MiB CSV ({profile}) | {upload_s:.1f} s, {size / mib / upload_s:.0f} MiB/s | {job_s:.1f} s, "
          f"{size / mib / job_s:.1f} MiB/s | {job['records_in']} in, {job['records_out']} out | "
          f"{peak['rss'] / mib:.0f} MiB (after the upload: {rss_after_upload / mib:.0f} MiB) | {written} |")
finally:
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        proc.wait()
    shutil.rmtree(scratch, ignore_errors=True)
