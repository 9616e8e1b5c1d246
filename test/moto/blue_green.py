"""Reads back, from the emulator, what a traffic-shifting (blue/green, linear, canary) public
service was deployed as, for the deploy loop (test/tests/deploy_loop.rs).

For each ECS service of the stack whose load balancer has an advanced configuration: its
deployment configuration and controller (DescribeServices), the logical ids of its primary and
alternate target groups, production listener rule and role (mapped back through
DescribeStackResources), the production rule's forward weights (DescribeRules), the policies
attached to the role (ListAttachedRolePolicies), the registered targets of both groups
(DescribeTargetHealth) and the service's deployments. The test asserts what the emulator kept
and prints what it does not do (no traffic shifting, no bake time, no managed policy).

Usage: python blue_green.py --stack STACK. Prints one JSON object {"services": [...]}.
Credentials, region and AWS_ENDPOINT_URL come from the environment.
"""

from __future__ import annotations

import argparse
import json

import boto3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", required=True)
    args = parser.parse_args()
    cfn, ecs, elbv2, iam = (boto3.client(s) for s in ("cloudformation", "ecs", "elbv2", "iam"))
    resources = cfn.describe_stack_resources(StackName=args.stack)["StackResources"]
    logical = {r["PhysicalResourceId"]: r["LogicalResourceId"] for r in resources if r.get("PhysicalResourceId")}
    services = []
    for r in resources:
        if r["ResourceType"] != "AWS::ECS::Service":
            continue
        arn = r["PhysicalResourceId"]
        cluster = arn.split("/")[1]
        s = ecs.describe_services(cluster=cluster, services=[arn])["services"][0]
        shifted = [lb for lb in s.get("loadBalancers", []) if lb.get("advancedConfiguration")]
        if not shifted:
            continue
        lb = shifted[0]
        advanced = lb["advancedConfiguration"]
        rule = elbv2.describe_rules(RuleArns=[advanced["productionListenerRule"]])["Rules"][0]
        forward = next(a for a in rule["Actions"] if a["Type"] == "forward")
        weights = {
            logical.get(tg["TargetGroupArn"], tg["TargetGroupArn"]): tg.get("Weight")
            for tg in forward.get("ForwardConfig", {}).get("TargetGroups", [])
        }
        role_name = advanced["roleArn"].split("/")[-1]
        targets = {
            logical.get(tg, tg): len(elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])
            for tg in (lb["targetGroupArn"], advanced["alternateTargetGroupArn"])
        }
        services.append(
            {
                "service": r["LogicalResourceId"],
                "deploymentController": s.get("deploymentController"),
                "deploymentConfiguration": s.get("deploymentConfiguration"),
                "targetGroup": logical.get(lb["targetGroupArn"]),
                "alternateTargetGroup": logical.get(advanced["alternateTargetGroupArn"]),
                "productionListenerRule": logical.get(advanced["productionListenerRule"]),
                "role": logical.get(advanced["roleArn"]) or logical.get(role_name),
                "ruleWeights": weights,
                "roleAttachedPolicies": [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]],
                "registeredTargets": targets,
                "deployments": [
                    {"status": d.get("status"), "taskDefinition": d.get("taskDefinition"), "rolloutState": d.get("rolloutState")}
                    for d in s.get("deployments", [])
                ],
                "taskDefinition": s.get("taskDefinition"),
            }
        )
    print(json.dumps({"services": services}, default=str))


if __name__ == "__main__":
    main()
