#!/usr/bin/env python3
"""What the pinned moto executes of a Step Functions state machine (issue 12's question for chained
pipelines): a fan-in DAG of `sqs:sendMessage.waitForTaskToken` tasks (A and B in a Parallel, then
C), each answered with SendTaskSuccess as a job's end would be; first as moto runs by default, then
with `stepfunctions.execute_state_machine` switched on. Prints a table. Starts its own moto
(.venv) on a free port; nothing is left running.

Usage: bench/stepfunctions-on-moto.py"""
import json, pathlib, socket, subprocess, sys, time, urllib.request

import boto3

root = pathlib.Path(__file__).resolve().parent.parent
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
endpoint = f"http://127.0.0.1:{port}"
moto = subprocess.Popen([str(root / ".venv/bin/python"), str(root / "local/moto_server.py"), "-H", "127.0.0.1",
                         "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    aws = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    sqs, sfn = boto3.client("sqs", **aws), boto3.client("stepfunctions", **aws)
    queue = sqs.create_queue(QueueName="steps")["QueueUrl"]

    def task(name, then=None):
        state = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                 "Parameters": {"QueueUrl": queue, "MessageBody": {"step": name, "token.$": "$$.Task.Token"}},
                 "ResultPath": None}
        state.update({"Next": then} if then else {"End": True})
        return state

    definition = {"StartAt": "Fan", "States": {
        "Fan": {"Type": "Parallel", "Next": "C", "Branches": [
            {"StartAt": "A", "States": {"A": task("A")}}, {"StartAt": "B", "States": {"B": task("B")}}]},
        "C": task("C")}}

    def run(label, limit=20.0):
        machine = sfn.create_state_machine(name=f"chain-{label}", definition=json.dumps(definition),
                                           roleArn="arn:aws:iam::123456789012:role/steps")["stateMachineArn"]
        started = time.time()
        execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        steps, status = [], "RUNNING"
        while time.time() - started < limit and status == "RUNNING":
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                body = json.loads(m["Body"])
                steps.append(body["step"])
                sfn.send_task_success(taskToken=body["token"], output="{}")
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            status = sfn.describe_execution(executionArn=execution)["status"]
        return label, status, ",".join(steps) or "-", time.time() - started

    rows = [run("default")]
    switch = urllib.request.Request(endpoint + "/moto-api/config", method="POST",
                                    data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                    headers={"content-type": "application/json"})
    urllib.request.urlopen(switch)
    rows.append(run("execute_state_machine"))
    print(f"{'moto mode':<24}{'status':<12}{'steps run':<12}{'seconds':>8}")
    for label, status, steps, seconds in rows:
        print(f"{label:<24}{status:<12}{steps:<12}{seconds:>8.2f}")
finally:
    moto.terminate()
    moto.wait()
    sys.stdout.flush()
