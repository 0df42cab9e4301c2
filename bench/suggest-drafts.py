#!/usr/bin/env python3
"""`helix suggest` end to end on the public evaluation sets (shared/suggest/eval/<set>/<case>/ with
truth.json): for each case the draft is made by the CLI, scored against the truth (draft precision
and recall), then run by `helix transform` on the same file (records accepted). Also writes, in
--out, predictions in the sets' scorer format (<case>.json, <case>.values.json).

Usage: bench/suggest-drafts.py [--helix target/release/helix] [--out DIR] [-- extra suggest args]"""
import argparse, glob, json, os, subprocess, sys, tempfile

p = argparse.ArgumentParser()
p.add_argument("--helix", default="target/release/helix")
p.add_argument("--eval", default="shared/suggest/eval")
p.add_argument("--out", default=None)
p.add_argument("extra", nargs="*")
a = p.parse_args()
out = a.out or tempfile.mkdtemp(prefix="suggest-drafts-")
os.makedirs(out, exist_ok=True)

totals = {}
for truth_path in sorted(glob.glob(f"{a.eval}/*/*/truth.json")):
    case_dir = os.path.dirname(truth_path)
    case, set_name = os.path.basename(case_dir), os.path.basename(os.path.dirname(case_dir))
    source, schema = f"{case_dir}/source.csv", f"{case_dir}/target.schema.json"
    draft = f"{out}/{case}.yaml"
    run = subprocess.run([a.helix, "suggest", source, "-s", schema, "-o", draft, "--json", *a.extra],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"{case}: helix suggest failed: {run.stderr}")
    report = json.loads(run.stdout)["report"]
    truth = json.load(open(truth_path))
    scored = set(truth["fields"]) | set(truth.get("unmapped", []))
    t = totals.setdefault(set_name, {"right": 0, "wrong": 0, "truth": 0, "records": 0, "accepted": 0})
    predictions, values = {}, {}
    for f in report["fields"]:
        predictions[f["target"]] = [c["source"] for c in f["candidates"]]
        if f.get("value_map"):
            values[f["target"]] = {e["source"]: e["target"] for e in f["value_map"]["entries"]}
        if f["target"] not in scored:
            continue
        right = truth["fields"].get(f["target"], [])
        t["truth"] += bool(right)
        if f.get("source"):
            t["right" if f["source"] in right else "wrong"] += 1
    json.dump(predictions, open(f"{out}/{case}.json", "w"))
    if values:
        json.dump(values, open(f"{out}/{case}.values.json", "w"))
    rejects = f"{out}/{case}.rejects.json"
    subprocess.run([a.helix, "transform", "-c", draft, "-s", schema, source, "-o", f"{out}/{case}.out.json",
                    "--rejects", rejects, "--quiet"], capture_output=True, text=True)
    if os.path.exists(rejects):
        summary = json.load(open(rejects))["summary"]
        t["records"] += summary["records_in"]
        t["accepted"] += summary["records_out"]

print("| set | draft precision | draft recall | right | wrong | truth pairs | records accepted |")
print("|---|---:|---:|---:|---:|---:|---:|")
all_ = {k: 0 for k in ["right", "wrong", "truth", "records", "accepted"]}
for name, t in sorted(totals.items()) + [("ALL", all_)]:
    if name != "ALL":
        for k in all_:
            all_[k] += t[k]
    print(f"| {name} | {t['right'] / max(t['right'] + t['wrong'], 1):.3f} | {t['right'] / max(t['truth'], 1):.3f} "
          f"| {t['right']} | {t['wrong']} | {t['truth']} | {t['accepted'] / max(t['records'], 1):.3f} |")
print(f"\npredictions in {out} (score them with the sets' score.py)")
