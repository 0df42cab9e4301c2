#!/usr/bin/env python3
"""Burst-and-kill: submits a burst of jobs to a local platform, `kill -9`s it mid-burst, starts it
again on the same emulator and times until every job the store holds is terminal. Prints a table.

Usage (from the repository root, after `cargo build -p helix-local --bin helix-dev`):
    bench/burst-and-kill.py [--rounds 4] [--jobs 20] [--kill-after-ms 40,80,120,160]

It starts its own moto server (.venv) on a free port, so the emulator outlives the killed platform,
and `target/debug/helix-dev up` against it. Jobs whose 202 was lost to the kill count too: the
store is asked, not the client."""
import argparse, json, os, signal, socket, subprocess, sys, threading, time, urllib.error, urllib.parse, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--rounds", type=int, default=4)
p.add_argument("--jobs", type=int, default=20)
p.add_argument("--kill-after-ms", default="40,80,120,160")
p.add_argument("--timeout", type=float, default=300, help="seconds to wait for terminal states")
a = p.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(api, method, path, body=None, token=None, form=False, raw=None, headers=None, timeout=10):
    url = path if path.startswith("http") else api + path
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
    if token:
        h["Authorization"] = "Bearer " + token
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=h), timeout=timeout) as r:
        text = r.read()
        return json.loads(text) if text and r.headers.get("content-type", "").startswith("application/json") else text


def start_platform(endpoint, port, log):
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint)
    proc = subprocess.Popen([f"{root}/target/debug/helix-dev", "up", "--listen", f"127.0.0.1:{port}"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api/v1"
    for _ in range(600):
        try:
            call(api, "GET", "/health", timeout=1)
            return proc, time.monotonic()
        except Exception:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the platform did not start; see the log")


def login(api):
    # The demo users are seeded just after the API starts answering.
    for _ in range(100):
        try:
            return call(api, "POST", "/auth/token",
                        {"username": "alice@helixnet.local", "password": "alice-local-pass"}, form=True)["access_token"]
        except urllib.error.HTTPError:
            time.sleep(0.1)
    sys.exit("cannot log in as the demo user")


def csv_body(rows):
    lines = ["order_no,customer,qty"] + [f"SO-{i:06d},Customer {i % 500},{i % 90 + 1}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


moto_port = free_port()
moto = subprocess.Popen([f"{root}/.venv/bin/python", f"{root}/local/moto_server.py", "-H", "127.0.0.1", "-p", str(moto_port)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
endpoint = f"http://127.0.0.1:{moto_port}"
log = open(os.path.join(root, "target", "burst-and-kill.log"), "w")
rows = []
try:
    time.sleep(1.5)
    delays = [int(x) for x in a.kill_after_ms.split(",")]
    for round_no in range(1, a.rounds + 1):
        port = free_port()
        api = f"http://127.0.0.1:{port}/api/v1"
        proc, _ = start_platform(endpoint, port, log)
        token = login(api)
        before = {j["id"] for j in call(api, "GET", "/jobs?limit=100", token=token)["items"]}
        body = csv_body(20000)
        t = call(api, "POST", "/artifacts/upload",
                 {"filename": "orders.csv", "content_type": "text/csv", "size_bytes": len(body), "kind": "content"}, token)
        call(api, "PUT", t["upload_url"], raw=body, headers=t["headers"])
        while call(api, "GET", f"/artifacts/{t['artifact_id']}", token=token)["status"] != "AVAILABLE":
            time.sleep(0.05)
        accepted, lost = [], []

        def submit():
            try:
                job = call(api, "POST", "/jobs", {"content_artifact_ids": [t["artifact_id"]]}, token, timeout=30)
                accepted.append(job["id"])
            except Exception as e:
                lost.append(type(e).__name__)

        threads = [threading.Thread(target=submit) for _ in range(a.jobs)]
        for th in threads:
            th.start()
        time.sleep(delays[(round_no - 1) % len(delays)] / 1000)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for th in threads:
            th.join()

        proc, restarted = start_platform(endpoint, port, log)
        stored, pending = set(), None
        while time.monotonic() - restarted < a.timeout:
            jobs = [j for j in call(api, "GET", "/jobs?limit=100", token=token)["items"] if j["id"] not in before]
            stored = {j["id"] for j in jobs}
            pending = [j for j in jobs if j["status"] not in TERMINAL]
            if not pending:
                break
            time.sleep(0.5)
        took = time.monotonic() - restarted
        statuses = {}
        for j in call(api, "GET", "/jobs?limit=100", token=token)["items"]:
            if j["id"] in stored:
                statuses[j["status"]] = statuses.get(j["status"], 0) + 1
        rows.append((round_no, delays[(round_no - 1) % len(delays)], a.jobs, len(accepted), len(stored),
                     len(stored) - len(pending or []), took if not pending else None, statuses))
        proc.send_signal(signal.SIGTERM)
        proc.wait()
finally:
    moto.kill()
    log.close()

print(f"{'round':>5} {'kill ms':>7} {'sent':>5} {'202s':>5} {'stored':>6} {'terminal':>8} {'s to terminal':>13}  statuses")
for r, delay, sent, ok, stored, terminal, took, statuses in rows:
    took_s = f"{took:.1f}" if took is not None else "NEVER"
    print(f"{r:>5} {delay:>7} {sent:>5} {ok:>5} {stored:>6} {terminal:>8} {took_s:>13}  {json.dumps(statuses)}")
print("(s to terminal: from the restarted platform answering /health until every stored job is terminal)")
