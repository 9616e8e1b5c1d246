"""The migration container's stand-in on the emulator, for the deploy loop's `tracker-cdk release`.

moto cannot run containers: a task started by RunTask only walks through its states and always
reports exit code 0. So while `tracker-cdk release` waits, this script plays the container's part
through the emulator's API, and only that part:

1. holds moto's ECS tasks in RUNNING (`/moto-api/state-manager/set-transition`, manual, never
   reached), so no task stops by itself;
2. waits for the task the release starts (ListTasks in the stack's `MigrationCluster`, started by
   `tracker-cdk-release`) and reads it back (DescribeTasks, DescribeTaskDefinition): its task
   definition, image, subnet and security groups, for the test to compare with the stack;
3. writes the container's log lines to its stream (`task/task/<task id>` in `MigrationLogGroup`,
   CreateLogStream + PutLogEvents), as the awslogs driver would;
4. stops it with StopTask, reason "Essential container in task exited (exit code N)": the
   harness patch in `tracker_moto/gaps.py` (`_patch_ecs_run_task`) records N as the container's
   exit code.

Everything else (RunTask with the stack's network configuration, DescribeTasks until STOPPED,
GetLogEvents, both `cdk deploy`s) is the release's own code against the emulator.

Prints one JSON object: {"task", "taskDefinitionArn", "image", "subnet", "securityGroups",
"startedBy", "launchType", "outputs"} (`outputs`: the stack's, read while the task runs). Exit 2 when no task appeared within --timeout seconds.
Credentials, region and AWS_ENDPOINT_URL come from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request

import boto3


def outputs(stack: str) -> dict[str, str]:
    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def hold_tasks_running(endpoint: str) -> None:
    body = json.dumps({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}})
    request = urllib.request.Request(
        f"{endpoint}/moto-api/state-manager/set-transition", data=body.encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=30).read()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", required=True)
    parser.add_argument("--exit-code", type=int, required=True)
    parser.add_argument("--line", action="append", default=[], help="a log line of the container")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    hold_tasks_running(os.environ["AWS_ENDPOINT_URL"])
    out = outputs(args.stack)
    cluster, log_group = out["MigrationCluster"], out["MigrationLogGroup"]
    ecs = boto3.client("ecs")
    deadline = time.monotonic() + args.timeout
    task_arn = None
    while task_arn is None:
        running = ecs.list_tasks(cluster=cluster, startedBy="tracker-cdk-release", desiredStatus="RUNNING")["taskArns"]
        if running:
            task_arn = running[0]
        elif time.monotonic() > deadline:
            print(f"no migration task started in {cluster} within {args.timeout} s", file=sys.stderr)
            return 2
        else:
            time.sleep(0.5)

    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    details = {d["name"]: d.get("value") for a in task.get("attachments", []) for d in a.get("details", [])}
    eni = boto3.client("ec2").describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])
    groups = sorted(g["GroupId"] for g in eni["NetworkInterfaces"][0]["Groups"])

    logs = boto3.client("logs")
    stream = f"task/task/{task_arn.rsplit('/', 1)[-1]}"
    logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    now = int(time.time() * 1000)
    if args.line:
        logs.put_log_events(
            logGroupName=log_group,
            logStreamName=stream,
            logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(args.line)],
        )

    ecs.stop_task(
        cluster=cluster, task=task_arn, reason=f"Essential container in task exited (exit code {args.exit_code})"
    )
    print(
        json.dumps(
            {
                "task": task_arn,
                "taskDefinitionArn": task["taskDefinitionArn"],
                "image": definition["containerDefinitions"][0]["image"],
                "subnet": details.get("subnetId"),
                "securityGroups": groups,
                "startedBy": task.get("startedBy"),
                "launchType": task.get("launchType"),
                "outputs": outputs(args.stack),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
