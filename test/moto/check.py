"""Reads a deployed stack back through the AWS APIs (boto3 against the emulator) and compares it
with the synthesized template. Used by test/tests/deploy_loop.rs.

    python check.py --phase deployed|destroyed --stack NAME --template FILE --state FILE

`deployed`: every ECS cluster, service and task definition, load balancer, listener, target group,
security-group rule, EFS file system and access point, EC2 instance, EBS volume and log group of the
template exists with the properties the template declares (values resolved from the template's
intrinsics and the stack's physical ids). Writes the stack's resources to the state file.
`destroyed`: the stack is gone; every resource the template retains (DeletionPolicy Retain, and a
snapshot for Snapshot) survives; the deleted ones are gone.

`Fn::ImportValue` resolves through the emulator's exports (ListExports), so a services stack's
references into its data stack are checked like its own.

Prints one JSON object: {"phase", "checks": [{"kind", "resource", "ok", "detail"}], "images",
"created"} (`created`: the stack's creation time, deployed phase).
Exit code 0 when it could run (the test asserts on the checks), 2 when it could not.
Credentials, region and AWS_ENDPOINT_URL come from the environment.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

import boto3
from botocore.exceptions import ClientError


class Unresolved:
    """A template value this checker cannot compute (e.g. a GetAtt it does not know)."""

    def __repr__(self) -> str:
        return "<unresolved>"


UNRESOLVED = Unresolved()


def contains_unresolved(value: Any) -> bool:
    if value is UNRESOLVED:
        return True
    if isinstance(value, dict):
        return any(contains_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unresolved(v) for v in value)
    return False


class Resolver:
    def __init__(self, template: dict[str, Any], physical: dict[str, str], account: str, region: str, stack_id: str):
        self.template = template
        self.physical = physical
        self.pseudo = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_id.split("/")[1] if "/" in stack_id else stack_id,
            "AWS::StackId": stack_id,
            "AWS::NoValue": None,
        }
        self.attributes: dict[tuple[str, str], Any] = {}
        self._exports: dict[str, str] | None = None

    def import_value(self, name: Any) -> Any:
        """An export of another stack (a data stack's value a services stack imports)."""
        if self._exports is None:
            self._exports = {}
            for page in boto3.client("cloudformation").get_paginator("list_exports").paginate():
                for export in page["Exports"]:
                    self._exports[export["Name"]] = export["Value"]
        return self._exports.get(name, UNRESOLVED) if isinstance(name, str) else UNRESOLVED

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical:
            return self.physical[name]
        return UNRESOLVED

    def get_att(self, name: str, attr: str) -> Any:
        if (name, attr) in self.attributes:
            return self.attributes[(name, attr)]
        resource = self.template["Resources"].get(name, {})
        kind = resource.get("Type")
        physical = self.physical.get(name)
        if physical is None:
            return UNRESOLVED
        if (kind, attr) == ("AWS::EC2::VPC", "CidrBlock"):
            value = boto3.client("ec2").describe_vpcs(VpcIds=[physical])["Vpcs"][0]["CidrBlock"]
            self.attributes[(name, attr)] = value
            return value
        if (kind, attr) == ("AWS::IAM::Role", "Arn"):
            value = boto3.client("iam").get_role(RoleName=physical)["Role"]["Arn"]
            self.attributes[(name, attr)] = value
            return value
        # Attributes that are the physical id itself.
        if (kind, attr) in {
            ("AWS::EC2::SecurityGroup", "GroupId"),
            ("AWS::EFS::FileSystem", "FileSystemId"),
            ("AWS::EFS::AccessPoint", "AccessPointId"),
            ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupArn"),
            ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerArn"),
            ("AWS::ECS::Service", "ServiceArn"),
            ("AWS::ECS::TaskDefinition", "TaskDefinitionArn"),
            ("AWS::EC2::Subnet", "SubnetId"),
            ("AWS::EC2::VPC", "VpcId"),
        }:
            return physical
        return UNRESOLVED

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attr)
            if key == "Fn::ImportValue":
                return self.import_value(self(arg))
            if key == "Fn::Join":
                parts = self(arg[1])
                if contains_unresolved(parts):
                    return UNRESOLVED
                return arg[0].join(str(p) for p in parts)
            if key == "Fn::Select":
                items = self(arg[1])
                return UNRESOLVED if contains_unresolved(items) else items[int(arg[0])]
            if key == "Fn::Split":
                text = self(arg[1])
                return UNRESOLVED if text is UNRESOLVED else text.split(arg[0])
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def sub(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in variables:
                        v = self(variables[name])
                    elif "." in name:
                        v = self.get_att(*name.split(".", 1))
                    else:
                        v = self.ref(name)
                    if v is UNRESOLVED:
                        raise LookupError(name)
                    return str(v)

                try:
                    return re.sub(r"\$\{([^!}][^}]*)\}", sub, text)
                except LookupError:
                    return UNRESOLVED
            if key.startswith("Fn::"):
                return UNRESOLVED
        return {k: self(v) for k, v in value.items()}


class Report:
    def __init__(self, phase: str):
        self.phase = phase
        self.checks: list[dict[str, Any]] = []
        self.images: dict[str, list[str]] = {}
        self.created = ""

    def add(self, kind: str, resource: str, ok: bool, detail: str = "") -> None:
        self.checks.append({"kind": kind, "resource": resource, "ok": bool(ok), "detail": detail})

    def expect(self, kind: str, resource: str, pairs: list[tuple[str, Any, Any]]) -> None:
        """One check per resource: every (field, expected, actual) with a resolvable expected value
        must match. Fields the template leaves unset (None) or that cannot be resolved are skipped."""
        wrong = []
        compared = []
        for field, expected, actual in pairs:
            if expected is None or contains_unresolved(expected):
                continue
            compared.append(field)
            if expected != actual:
                wrong.append(f"{field}: template {expected!r}, emulator {actual!r}")
        self.add(kind, resource, not wrong, "; ".join(wrong) or f"compared {', '.join(compared)}")

    def dump(self) -> str:
        return json.dumps({"phase": self.phase, "checks": self.checks, "images": self.images, "created": self.created}, indent=1, default=str)


def of_type(template: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in template["Resources"].items() if v["Type"] == kind]


def as_set(value: Any) -> Any:
    if value is None or contains_unresolved(value):
        return value
    return sorted(str(v) for v in value)


def num(value: Any) -> Any:
    if value is None or contains_unresolved(value):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def check_deployed(template: dict[str, Any], r: Resolver, report: Report) -> None:
    ecs = boto3.client("ecs")
    ec2 = boto3.client("ec2")
    elbv2 = boto3.client("elbv2")
    efs = boto3.client("efs")
    logs = boto3.client("logs")
    P = lambda res: r(res.get("Properties", {}))  # noqa: E731

    # ECS clusters, with the capacity providers associated to them.
    associations = {
        P(a)["Cluster"]: P(a) for _, a in of_type(template, "AWS::ECS::ClusterCapacityProviderAssociations")
    }
    for lid, res in of_type(template, "AWS::ECS::Cluster"):
        props = P(res)
        found = ecs.describe_clusters(clusters=[r.ref(lid)], include=["SETTINGS"])["clusters"]
        if not found:
            report.add("ecs-cluster", lid, False, "not found")
            continue
        c = found[0]
        assoc = associations.get(r.ref(lid), {})
        insights = {s["Name"]: s["Value"] for s in props.get("ClusterSettings", [])}.get("containerInsights")
        report.expect(
            "ecs-cluster",
            lid,
            [
                ("status", "ACTIVE", c["status"]),
                ("clusterName", props.get("ClusterName"), c["clusterName"]),
                ("capacityProviders", as_set(assoc.get("CapacityProviders")), as_set(c.get("capacityProviders"))),
                (
                    "containerInsights",
                    insights,
                    {s["name"]: s["value"] for s in c.get("settings", [])}.get("containerInsights"),
                ),
            ],
        )

    # Task definitions.
    for lid, res in of_type(template, "AWS::ECS::TaskDefinition"):
        props = P(res)
        try:
            td = ecs.describe_task_definition(taskDefinition=r.ref(lid))["taskDefinition"]
        except ClientError as e:
            report.add("ecs-task-definition", lid, False, str(e))
            continue
        pairs: list[tuple[str, Any, Any]] = [
            ("family", props.get("Family"), td.get("family")),
            ("cpu", props.get("Cpu"), td.get("cpu")),
            ("memory", props.get("Memory"), td.get("memory")),
            ("networkMode", props.get("NetworkMode"), td.get("networkMode")),
            ("requiresCompatibilities", as_set(props.get("RequiresCompatibilities")), as_set(td.get("requiresCompatibilities"))),
            ("taskRoleArn", props.get("TaskRoleArn"), td.get("taskRoleArn")),
            ("executionRoleArn", props.get("ExecutionRoleArn"), td.get("executionRoleArn")),
        ]
        actual_containers = {c.get("name"): c for c in td.get("containerDefinitions", [])}
        pairs.append(
            ("containers", as_set([c["Name"] for c in props.get("ContainerDefinitions", [])]), as_set(list(actual_containers)))
        )
        for c in props.get("ContainerDefinitions", []):
            a = actual_containers.get(c["Name"], {})
            n = c["Name"]
            pairs += [
                (f"{n}.image", c.get("Image"), a.get("image")),
                (f"{n}.essential", c.get("Essential"), a.get("essential")),
                (
                    f"{n}.ports",
                    as_set([num(p.get("ContainerPort")) for p in c.get("PortMappings", [])]),
                    as_set([p.get("containerPort") for p in a.get("portMappings", [])]),
                ),
                (
                    f"{n}.environment",
                    {e["Name"]: e["Value"] for e in c.get("Environment", [])} if c.get("Environment") else None,
                    {e["name"]: e["value"] for e in a.get("environment", [])},
                ),
                (
                    f"{n}.secrets",
                    as_set([s["Name"] for s in c.get("Secrets", [])]) if c.get("Secrets") else None,
                    as_set([s["name"] for s in a.get("secrets", [])]),
                ),
            ]
        report.expect("ecs-task-definition", lid, pairs)

    # Services.
    for lid, res in of_type(template, "AWS::ECS::Service"):
        props = P(res)
        found = ecs.describe_services(cluster=props["Cluster"], services=[r.ref(lid)])["services"]
        if not found:
            report.add("ecs-service", lid, False, "not found")
            continue
        s = found[0]
        vpc = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration", {})
        avpc = (s.get("networkConfiguration") or {}).get("awsvpcConfiguration", {})
        report.expect(
            "ecs-service",
            lid,
            [
                ("status", "ACTIVE", s.get("status")),
                ("serviceName", props.get("ServiceName"), s.get("serviceName")),
                ("desiredCount", num(props.get("DesiredCount")), s.get("desiredCount")),
                ("taskDefinition", props.get("TaskDefinition"), s.get("taskDefinition")),
                (
                    "loadBalancers",
                    as_set([f"{lb.get('TargetGroupArn')}|{lb.get('ContainerName')}|{num(lb.get('ContainerPort'))}" for lb in props.get("LoadBalancers", [])]),
                    as_set([f"{lb.get('targetGroupArn')}|{lb.get('containerName')}|{lb.get('containerPort')}" for lb in s.get("loadBalancers", [])]),
                ),
                ("subnets", as_set(vpc.get("Subnets")), as_set(avpc.get("subnets"))),
                ("securityGroups", as_set(vpc.get("SecurityGroups")), as_set(avpc.get("securityGroups"))),
                ("assignPublicIp", vpc.get("AssignPublicIp"), avpc.get("assignPublicIp")),
                (
                    "capacityProviderStrategy",
                    as_set([f"{c['CapacityProvider']}:{c.get('Weight', 0)}:{c.get('Base', 0)}" for c in props.get("CapacityProviderStrategy", [])]) if props.get("CapacityProviderStrategy") else None,
                    as_set([f"{c['capacityProvider']}:{c.get('weight', 0)}:{c.get('base', 0)}" for c in s.get("capacityProviderStrategy", [])]),
                ),
            ],
        )
        td = ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
        report.images[lid] = [c.get("image", "") for c in td.get("containerDefinitions", [])]

    # Load balancers, listeners, target groups.
    for lid, res in of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        props = P(res)
        try:
            lb = elbv2.describe_load_balancers(LoadBalancerArns=[r.ref(lid)])["LoadBalancers"][0]
        except ClientError as e:
            report.add("load-balancer", lid, False, str(e))
            continue
        report.expect(
            "load-balancer",
            lid,
            [
                ("type", props.get("Type", "application"), lb.get("Type")),
                ("scheme", props.get("Scheme", "internet-facing"), lb.get("Scheme")),
                ("subnets", as_set(props.get("Subnets")), as_set([z["SubnetId"] for z in lb.get("AvailabilityZones", [])])),
                ("securityGroups", as_set(props.get("SecurityGroups")), as_set(lb.get("SecurityGroups"))),
            ],
        )
    for lid, res in of_type(template, "AWS::ElasticLoadBalancingV2::Listener"):
        props = P(res)
        try:
            ls = elbv2.describe_listeners(ListenerArns=[r.ref(lid)])["Listeners"][0]
        except ClientError as e:
            report.add("listener", lid, False, str(e))
            continue
        report.expect(
            "listener",
            lid,
            [
                ("loadBalancer", props.get("LoadBalancerArn"), ls.get("LoadBalancerArn")),
                ("port", num(props.get("Port")), ls.get("Port")),
                ("protocol", props.get("Protocol"), ls.get("Protocol")),
                (
                    "certificates",
                    as_set([c["CertificateArn"] for c in props.get("Certificates", [])]) if props.get("Certificates") else None,
                    as_set([c["CertificateArn"] for c in ls.get("Certificates", [])]),
                ),
            ],
        )
    for lid, res in of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup"):
        props = P(res)
        try:
            tg = elbv2.describe_target_groups(TargetGroupArns=[r.ref(lid)])["TargetGroups"][0]
        except ClientError as e:
            report.add("target-group", lid, False, str(e))
            continue
        report.expect(
            "target-group",
            lid,
            [
                ("port", num(props.get("Port")), tg.get("Port")),
                ("protocol", props.get("Protocol"), tg.get("Protocol")),
                ("targetType", props.get("TargetType"), tg.get("TargetType")),
                ("vpc", props.get("VpcId"), tg.get("VpcId")),
                ("healthCheckPath", props.get("HealthCheckPath"), tg.get("HealthCheckPath")),
                ("healthCheckIntervalSeconds", num(props.get("HealthCheckIntervalSeconds")), tg.get("HealthCheckIntervalSeconds")),
                ("matcher", (props.get("Matcher") or {}).get("HttpCode"), (tg.get("Matcher") or {}).get("HttpCode")),
                (
                    "targets",
                    as_set([f"{t['Id']}:{num(t.get('Port'))}" for t in props.get("Targets", [])]) if props.get("Targets") else None,
                    as_set([f"{d['Target']['Id']}:{d['Target'].get('Port')}" for d in elbv2.describe_target_health(TargetGroupArn=r.ref(lid))["TargetHealthDescriptions"]]) if props.get("Targets") else None,
                ),
            ],
        )

    # Security-group rules: inline ones and standalone Ingress/Egress resources.
    def rule_key(protocol: Any, from_port: Any, to_port: Any, peer: Any) -> str:
        protocol = str(protocol)
        if protocol == "-1":
            from_port = to_port = -1
        return f"{protocol}|{num(from_port)}|{num(to_port)}|{peer}"

    wanted: dict[str, list[tuple[str, str, bool]]] = {}  # group id -> (rule key, from, egress)

    def want(group: Any, rule: dict[str, Any], egress: bool, source: str) -> None:
        peer = rule.get("CidrIp") or rule.get("CidrIpv6") or rule.get("SourceSecurityGroupId") or rule.get("DestinationSecurityGroupId") or rule.get("DestinationPrefixListId") or rule.get("SourcePrefixListId")
        if contains_unresolved(group) or contains_unresolved(peer):
            report.add("security-group-rule", source, False, f"cannot resolve {rule}")
            return
        wanted.setdefault(group, []).append((rule_key(rule.get("IpProtocol"), rule.get("FromPort"), rule.get("ToPort"), peer), source, egress))

    for lid, res in of_type(template, "AWS::EC2::SecurityGroup"):
        props = P(res)
        for rule in props.get("SecurityGroupIngress", []):
            want(r.ref(lid), rule, False, lid)
        for rule in props.get("SecurityGroupEgress", []):
            want(r.ref(lid), rule, True, lid)
    for lid, res in of_type(template, "AWS::EC2::SecurityGroupIngress"):
        want(P(res).get("GroupId"), P(res), False, lid)
    for lid, res in of_type(template, "AWS::EC2::SecurityGroupEgress"):
        want(P(res).get("GroupId"), P(res), True, lid)
    for group, rules in wanted.items():
        actual_keys: set[tuple[bool, str]] = set()
        for rule in ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]:
            peer = rule.get("CidrIpv4") or rule.get("CidrIpv6") or (rule.get("ReferencedGroupInfo") or {}).get("GroupId") or rule.get("PrefixListId")
            actual_keys.add((rule["IsEgress"], rule_key(rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort"), peer)))
        for key, source, egress in rules:
            ok = (egress, key) in actual_keys
            report.add("security-group-rule", source, ok, f"{'egress' if egress else 'ingress'} {key} on {group}" + ("" if ok else f"; emulator has {sorted(k for e, k in actual_keys if e == egress)}"))

    # EFS.
    for lid, res in of_type(template, "AWS::EFS::FileSystem"):
        props = P(res)
        try:
            fs = efs.describe_file_systems(FileSystemId=r.ref(lid))["FileSystems"][0]
        except ClientError as e:
            report.add("efs-file-system", lid, False, str(e))
            continue
        report.expect(
            "efs-file-system",
            lid,
            [
                ("encrypted", props.get("Encrypted"), fs.get("Encrypted")),
                ("performanceMode", props.get("PerformanceMode"), fs.get("PerformanceMode")),
                ("throughputMode", props.get("ThroughputMode"), fs.get("ThroughputMode")),
            ],
        )
    for lid, res in of_type(template, "AWS::EFS::AccessPoint"):
        props = P(res)
        try:
            ap = efs.describe_access_points(AccessPointId=r.ref(lid))["AccessPoints"][0]
        except ClientError as e:
            report.add("efs-access-point", lid, False, str(e))
            continue
        posix, root = props.get("PosixUser") or {}, props.get("RootDirectory") or {}
        creation = root.get("CreationInfo") or {}
        report.expect(
            "efs-access-point",
            lid,
            [
                ("fileSystemId", props.get("FileSystemId"), ap.get("FileSystemId")),
                ("uid", num(posix.get("Uid")), num(ap.get("PosixUser", {}).get("Uid"))),
                ("gid", num(posix.get("Gid")), num(ap.get("PosixUser", {}).get("Gid"))),
                ("path", root.get("Path"), ap.get("RootDirectory", {}).get("Path")),
                ("ownerUid", num(creation.get("OwnerUid")), num(ap.get("RootDirectory", {}).get("CreationInfo", {}).get("OwnerUid"))),
                ("permissions", creation.get("Permissions"), ap.get("RootDirectory", {}).get("CreationInfo", {}).get("Permissions")),
            ],
        )
    for lid, res in of_type(template, "AWS::EFS::MountTarget"):
        props = P(res)
        targets = efs.describe_mount_targets(FileSystemId=props["FileSystemId"])["MountTargets"]
        report.add("efs-mount-target", lid, any(t["SubnetId"] == props["SubnetId"] for t in targets), f"in {props['SubnetId']}")

    # EC2 instances and EBS volumes.
    for lid, res in of_type(template, "AWS::EC2::Instance"):
        props = P(res)
        try:
            inst = ec2.describe_instances(InstanceIds=[r.ref(lid)])["Reservations"][0]["Instances"][0]
        except (ClientError, IndexError) as e:
            report.add("ec2-instance", lid, False, str(e))
            continue
        r.attributes[(lid, "AvailabilityZone")] = inst["Placement"]["AvailabilityZone"]
        r.attributes[(lid, "PrivateIp")] = inst.get("PrivateIpAddress")
        report.expect(
            "ec2-instance",
            lid,
            [
                ("state", "running", inst["State"]["Name"]),
                ("instanceType", props.get("InstanceType"), inst.get("InstanceType")),
                ("imageId", props.get("ImageId"), inst.get("ImageId")),
                ("subnetId", props.get("SubnetId"), inst.get("SubnetId")),
                ("privateIp", props.get("PrivateIpAddress"), inst.get("PrivateIpAddress")),
                ("securityGroups", as_set(props.get("SecurityGroupIds")), as_set([g["GroupId"] for g in inst.get("SecurityGroups", [])])),
            ],
        )
    for lid, res in of_type(template, "AWS::EC2::Volume"):
        props = r(res.get("Properties", {}))  # after the instances: AvailabilityZone may be a GetAtt of one
        try:
            vol = ec2.describe_volumes(VolumeIds=[r.ref(lid)])["Volumes"][0]
        except (ClientError, IndexError) as e:
            report.add("ebs-volume", lid, False, str(e))
            continue
        report.expect(
            "ebs-volume",
            lid,
            [
                ("size", num(props.get("Size")), vol.get("Size")),
                ("volumeType", props.get("VolumeType"), vol.get("VolumeType")),
                ("encrypted", props.get("Encrypted"), vol.get("Encrypted")),
                ("availabilityZone", props.get("AvailabilityZone"), vol.get("AvailabilityZone")),
                ("iops", num(props.get("Iops")), vol.get("Iops")),
                ("throughput", num(props.get("Throughput")), vol.get("Throughput")),
            ],
        )

    # ElastiCache replication groups (production's Valkey): engine, size, placement, encryption.
    elasticache = boto3.client("elasticache")
    for lid, res in of_type(template, "AWS::ElastiCache::ReplicationGroup"):
        props = P(res)
        try:
            g = elasticache.describe_replication_groups(ReplicationGroupId=r.ref(lid))["ReplicationGroups"][0]
        except ClientError as e:
            report.add("elasticache-replication-group", lid, False, str(e))
            continue
        flag = lambda key: None if props.get(key) is None else str(props[key]).lower() == "true"  # noqa: E731
        report.expect(
            "elasticache-replication-group",
            lid,
            [
                ("status", "available", g.get("Status")),
                ("cacheNodeType", props.get("CacheNodeType"), g.get("CacheNodeType")),
                ("memberClusters", num(props.get("NumCacheClusters")), len(g.get("MemberClusters", []))),
                ("atRestEncryptionEnabled", flag("AtRestEncryptionEnabled"), g.get("AtRestEncryptionEnabled")),
                ("transitEncryptionEnabled", flag("TransitEncryptionEnabled"), g.get("TransitEncryptionEnabled")),
                ("transitEncryptionMode", props.get("TransitEncryptionMode"), g.get("TransitEncryptionMode")),
                ("authTokenEnabled", True if props.get("AuthToken") else None, g.get("AuthTokenEnabled")),
                ("multiAZ", "enabled" if flag("MultiAZEnabled") else None, g.get("MultiAZ")),
                ("automaticFailover", "enabled" if flag("AutomaticFailoverEnabled") else None, g.get("AutomaticFailover")),
            ],
        )

    # S3 buckets: versioning and the public-access block.
    s3 = boto3.client("s3")
    for lid, res in of_type(template, "AWS::S3::Bucket"):
        props = P(res)
        name = r.ref(lid)
        try:
            versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
            try:
                block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
            except ClientError:
                block = None
        except ClientError as e:
            report.add("s3-bucket", lid, False, str(e))
            continue
        wanted_block = props.get("PublicAccessBlockConfiguration")
        report.expect(
            "s3-bucket",
            lid,
            [
                ("versioning", (props.get("VersioningConfiguration") or {}).get("Status"), versioning),
                (
                    "publicAccessBlock",
                    {k: str(v).lower() == "true" for k, v in wanted_block.items()} if wanted_block else None,
                    block,
                ),
            ],
        )

    # Off-hours scaling: each scalable target's scheduled actions, registered with their schedule,
    # time zone and capacities.
    autoscaling = boto3.client("application-autoscaling")
    for lid, res in of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget"):
        wanted = P(res).get("ScheduledActions") or []
        if not wanted:
            continue
        resource_id = str(r.ref(lid)).split("|")[0]
        found = {
            a["ScheduledActionName"]: a
            for a in autoscaling.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=resource_id)[
                "ScheduledActions"
            ]
        }
        for action in wanted:
            got = found.get(action["ScheduledActionName"], {})
            capacity = {k: num(v) for k, v in (action.get("ScalableTargetAction") or {}).items()}
            report.expect(
                "scheduled-action",
                f"{lid}/{action['ScheduledActionName']}",
                [
                    ("Schedule", action.get("Schedule"), got.get("Schedule")),
                    ("Timezone", action.get("Timezone"), got.get("Timezone")),
                    ("ScalableTargetAction", capacity, got.get("ScalableTargetAction")),
                ],
            )

    # Scheduled tasks: each EventBridge Scheduler schedule, in its group.
    scheduler = boto3.client("scheduler")
    for lid, res in of_type(template, "AWS::Scheduler::Schedule"):
        props = P(res)
        try:
            got = scheduler.get_schedule(Name=r.ref(lid), GroupName=props.get("GroupName"))
        except Exception as e:  # noqa: BLE001
            report.add("schedule", lid, False, f"not found: {e}")
            continue
        report.expect(
            "schedule",
            lid,
            [
                ("ScheduleExpression", props.get("ScheduleExpression"), got.get("ScheduleExpression")),
                ("ScheduleExpressionTimezone", props.get("ScheduleExpressionTimezone"), got.get("ScheduleExpressionTimezone")),
                ("State", props.get("State"), got.get("State")),
            ],
        )

    # Log groups.
    for lid, res in of_type(template, "AWS::Logs::LogGroup"):
        props = P(res)
        name = r.ref(lid)
        found = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
        if not found:
            report.add("log-group", lid, False, f"{name} not found")
            continue
        report.expect("log-group", lid, [("retentionInDays", num(props.get("RetentionInDays")), found[0].get("retentionInDays"))])

    # Metric filters on the log groups (the error-log alarms' metrics).
    for lid, res in of_type(template, "AWS::Logs::MetricFilter"):
        props = P(res)
        group = props["LogGroupName"]
        found = [f for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"] if f["filterName"] == r.ref(lid)]
        if not found:
            report.add("log-metric-filter", lid, False, f"{r.ref(lid)} not found on {group}")
            continue
        wanted = (props.get("MetricTransformations") or [{}])[0]
        got = (found[0].get("metricTransformations") or [{}])[0]
        report.expect(
            "log-metric-filter",
            lid,
            [
                ("filterPattern", props.get("FilterPattern"), found[0].get("filterPattern")),
                ("metricName", wanted.get("MetricName"), got.get("metricName")),
                ("metricNamespace", wanted.get("MetricNamespace"), got.get("metricNamespace")),
                ("metricValue", wanted.get("MetricValue"), got.get("metricValue")),
            ],
        )


def exists(kind: str, physical: str) -> bool | None:
    """Whether the resource of `kind` with `physical` id exists; None when this checker does not know the type."""
    try:
        if kind == "AWS::Logs::LogGroup":
            return any(g["logGroupName"] == physical for g in boto3.client("logs").describe_log_groups(logGroupNamePrefix=physical)["logGroups"])
        if kind == "AWS::S3::Bucket":
            boto3.client("s3").head_bucket(Bucket=physical)
            return True
        if kind == "AWS::EFS::FileSystem":
            return bool(boto3.client("efs").describe_file_systems(FileSystemId=physical)["FileSystems"])
        if kind == "AWS::EC2::Volume":
            return bool(boto3.client("ec2").describe_volumes(VolumeIds=[physical])["Volumes"])
        if kind == "AWS::Backup::BackupVault":
            boto3.client("backup").describe_backup_vault(BackupVaultName=physical)
            return True
        if kind == "AWS::KMS::Key":
            meta = boto3.client("kms").describe_key(KeyId=physical)["KeyMetadata"]
            return meta["KeyState"] == "Enabled"
        if kind == "AWS::ECR::Repository":
            return bool(boto3.client("ecr").describe_repositories(repositoryNames=[physical])["repositories"])
        if kind == "AWS::SecretsManager::Secret":
            boto3.client("secretsmanager").describe_secret(SecretId=physical)
            return True
        if kind == "AWS::ECS::Cluster":
            found = boto3.client("ecs").describe_clusters(clusters=[physical])["clusters"]
            return bool(found) and found[0]["status"] == "ACTIVE"
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            return bool(boto3.client("elbv2").describe_load_balancers(LoadBalancerArns=[physical])["LoadBalancers"])
        if kind == "AWS::EC2::Instance":
            reservations = boto3.client("ec2").describe_instances(InstanceIds=[physical])["Reservations"]
            return any(i["State"]["Name"] not in ("terminated", "shutting-down") for res in reservations for i in res["Instances"])
        if kind == "AWS::ElastiCache::ReplicationGroup":
            return bool(boto3.client("elasticache").describe_replication_groups(ReplicationGroupId=physical)["ReplicationGroups"])
        if kind == "AWS::EC2::VPC":
            return bool(boto3.client("ec2").describe_vpcs(VpcIds=[physical])["Vpcs"])
    except ClientError:
        return False
    return None


def check_destroyed(template: dict[str, Any], stack: str, state: dict[str, Any], report: Report) -> None:
    cfn = boto3.client("cloudformation")
    try:
        status = cfn.describe_stacks(StackName=state["stack_id"])["Stacks"][0]["StackStatus"]
    except ClientError:
        status = "GONE"
    report.add("stack-deleted", stack, status in ("DELETE_COMPLETE", "GONE"), f"status {status}")
    ec2 = boto3.client("ec2")
    for lid, (kind, physical) in state["resources"].items():
        policy = template["Resources"].get(lid, {}).get("DeletionPolicy", "Delete")
        if policy in ("Retain", "RetainExceptOnCreate"):
            there = exists(kind, physical)
            if there is not None:
                report.add("retained", lid, there, f"{kind} {physical} (DeletionPolicy {policy})")
        elif policy == "Snapshot" and kind == "AWS::ElastiCache::ReplicationGroup":
            snapshots = [
                s["SnapshotName"]
                for s in boto3.client("elasticache").describe_snapshots()["Snapshots"]
                if s.get("ReplicationGroupId") == physical  # (moto refuses the filter once the group is gone)
            ]
            report.add("snapshot", lid, bool(snapshots) and not exists(kind, physical), f"{kind} {physical} deleted, snapshots {snapshots}")
        elif policy == "Snapshot":
            snapshots = [
                s["SnapshotId"]
                for s in ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [physical]}])["Snapshots"]
            ]
            report.add("snapshot", lid, bool(snapshots) and not exists(kind, physical), f"{kind} {physical} deleted, snapshots {snapshots}")
        else:
            there = exists(kind, physical)
            if there is not None:
                report.add("deleted", lid, not there, f"{kind} {physical}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["deployed", "destroyed"], required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--termination-protection", action="store_true",
                        help="deployed: check the stack has termination protection")
    parser.add_argument("--stack-policy", help="deployed: set this stack policy (a JSON file) and read it back")
    args = parser.parse_args()
    with open(args.template) as f:
        template = json.load(f)
    report = Report(args.phase)
    if args.phase == "deployed":
        cfn = boto3.client("cloudformation")
        stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
        resources = cfn.describe_stack_resources(StackName=args.stack)["StackResources"]
        physical = {x["LogicalResourceId"]: x["PhysicalResourceId"] for x in resources}
        account = boto3.client("sts").get_caller_identity()["Account"]
        region = boto3.session.Session().region_name
        resolver = Resolver(template, physical, account, region, stack["StackId"])
        report.add("stack-status", args.stack, stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack["StackStatus"])
        report.created = str(stack["CreationTime"])
        if args.termination_protection:
            on = stack.get("EnableTerminationProtection")
            report.add("termination-protection", args.stack, on is True, f"EnableTerminationProtection {on!r}")
        if args.stack_policy:
            with open(args.stack_policy) as f:
                body = f.read()
            cfn.set_stack_policy(StackName=args.stack, StackPolicyBody=body)
            back = cfn.get_stack_policy(StackName=args.stack).get("StackPolicyBody", "")
            same = json.loads(back) == json.loads(body) if back else False
            report.add("stack-policy", args.stack, same, "set and read back" if same else f"read back {back!r}")
        missing = sorted(set(template["Resources"]) - set(physical))
        report.add("stack-resources", args.stack, not missing, f"not in the stack: {missing}" if missing else f"{len(physical)} resources")
        check_deployed(template, resolver, report)
        with open(args.state, "w") as f:
            json.dump(
                {"stack_id": stack["StackId"], "resources": {x["LogicalResourceId"]: [x["ResourceType"], x["PhysicalResourceId"]] for x in resources}},
                f,
            )
    else:
        with open(args.state) as f:
            state = json.load(f)
        check_destroyed(template, args.stack, state, report)
    print(report.dump())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # report, don't hide: the test shows stderr
        print(f"check.py failed: {e!r}", file=sys.stderr)
        raise SystemExit(2)
