#!/usr/bin/env python3
"""Time from POST /api/v1/jobs to COMPLETED for a generated CSV, against a running platform
(`make dev`). Usage: bench/job-latency.py [--mb 1] [--runs 5] [--api http://127.0.0.1:8000/api/v1]"""
import argparse, json, random, statistics, time, urllib.request, urllib.parse

p = argparse.ArgumentParser()
p.add_argument("--api", default="http://127.0.0.1:8000/api/v1")
p.add_argument("--mb", type=float, default=1.0)
p.add_argument("--runs", type=int, default=5)
p.add_argument("--user", default="alice@helixnet.local")
p.add_argument("--password", default="alice-local-pass")
a = p.parse_args()

def call(method, path, body=None, token=None, form=False, raw=None, headers=None):
    url = path if path.startswith("http") else a.api + path
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
    if token:
        h["Authorization"] = "Bearer " + token
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=h)) as r:
        text = r.read()
        return json.loads(text) if text and r.headers.get("content-type", "").startswith("application/json") else text

rng = random.Random(7)
lines = ["order_no,customer,sku,qty,price,order_date"]
size = len(lines[0]) + 1
while size < a.mb * 1024 * 1024:
    line = f"SO-{rng.randrange(10**6):06d},Customer {rng.randrange(5000)},SKU-{rng.randrange(10**5)},{rng.randrange(1, 100)},{rng.randrange(100, 99999) / 100},2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    lines.append(line)
    size += len(line) + 1
csv = ("\n".join(lines) + "\n").encode()
context = "fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  sku: '{{ sku }}'\n  qty: '{{ qty }}'\n  price: '{{ price }}'\n  date: '{{ order_date }}'\n"
schema = {"type": "object", "required": ["order", "qty"], "properties": {"qty": {"type": "string", "pattern": "^[0-9]+$"}}}

token = call("POST", "/auth/token", {"username": a.user, "password": a.password}, form=True)["access_token"]

def upload(name, ctype, kind, body):
    t = call("POST", "/artifacts/upload", {"filename": name, "content_type": ctype, "size_bytes": len(body), "kind": kind}, token)
    call("PUT", t["upload_url"], raw=body, headers=t["headers"])
    while call("GET", f"/artifacts/{t['artifact_id']}", token=token)["status"] != "AVAILABLE":
        time.sleep(0.05)
    return t["artifact_id"]

content = upload("orders.csv", "text/csv", "content", csv)
ctx = upload("context.yaml", "application/yaml", "context", context.encode())
times = []
for _ in range(a.runs):
    start = time.perf_counter()
    job = call("POST", "/jobs", {"content_artifact_ids": [content], "context_artifact_id": ctx, "schema": schema}, token)
    while True:
        job = call("GET", f"/jobs/{job['id']}", token=token)
        if job["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.02)
    times.append(time.perf_counter() - start)
    assert job["status"] == "COMPLETED", job
print(f"{len(csv) / 1e6:.2f} MB CSV, {job['records_in']} records, {a.runs} runs: "
      f"POST /jobs -> COMPLETED median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
