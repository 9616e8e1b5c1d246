"""The CloudFormation gaps of moto 5.2.5 that the tracker stacks hit, filled for the deploy-loop test.

Test code only: `launch.py` calls `install()` before serving. Each model or patch below names the
gap it fills. Where moto has a backend for the service, the model delegates to it, so what the
CloudFormation deployment creates is visible through moto's ordinary API (boto3, the CDK CLI).
Where moto has no backend at all, the model only records its properties and answers `Ref` and
`Fn::GetAtt`, so that resources referencing it deploy; nothing asserts on those.

Read against moto's own source (moto/cloudformation/parsing.py: the model map is built from the
direct subclasses of CloudFormationModel; a type missing from it is skipped with a warning, after
which a `Ref` to it resolves to nothing and a `Fn::GetAtt` of it crashes the request).
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import sys
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random
from moto.utilities.utils import get_partition

MODELS: list[type[CloudFormationModel]] = []


def gap(cls: type[_Gap]) -> type[_Gap]:
    MODELS.append(cls)
    return cls


class _Gap(CloudFormationModel):
    """A CloudFormation model for a type moto 5.2.5 does not model.

    Subclasses set TYPE (and NAME_PROPERTY where the type has a name property) and implement
    `_create` (returning the physical id), optionally `_delete` and `_attribute`.
    """

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""

    def __init__(self, physical_id: str, logical_id: str, props: dict[str, Any], account_id: str, region: str, name: str):
        self.physical_id = physical_id
        self.logical_id = logical_id
        self.props = props
        self.account_id = account_id
        self.region = region
        self.name = name
        self.extra: dict[str, Any] = {}

    # -- the CloudFormationModel contract -------------------------------------------------------
    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:  # type: ignore[override]
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:  # type: ignore[misc]
        return True

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> _Gap:
        props = cloudformation_json.get("Properties", {}) or {}
        resource = cls("", kwargs.get("LogicalId", ""), props, account_id, region_name, resource_name)
        resource.physical_id = resource._create()
        return resource

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> _Gap:
        # Replace: delete the old resource, create the new one (good enough for these types).
        original_resource.delete(account_id, region_name)
        props = cloudformation_json.get("Properties", {}) or {}
        resource = cls("", original_resource.logical_id, props, account_id, region_name, new_resource_name)
        resource.physical_id = resource._create()
        return resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        pass

    def delete(self, account_id: str, region_name: str) -> None:
        self._delete()

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self._attribute(attribute_name)

    # -- what subclasses implement ----------------------------------------------------------------
    def _create(self) -> str:
        return self.name

    def _delete(self) -> None:
        pass

    def _attribute(self, attr: str) -> Any:
        if attr in ("Arn", "Id"):
            return self.physical_id
        raise NotImplementedError(f"{self.TYPE}.{attr} is not modelled by the test harness")

    @property
    def partition(self) -> str:
        return get_partition(self.region)


def _tags(props: dict[str, Any], key: str = "Tags") -> list[dict[str, str]]:
    return list(props.get(key) or [])


# --------------------------------------------------------------------------------------------------
# Types with a moto backend but no CloudFormation model: delegate to the backend.
# --------------------------------------------------------------------------------------------------


@gap
class SecurityGroupEgress(_Gap):
    """Gap: no model for AWS::EC2::SecurityGroupEgress (only ...Ingress). Authorizes the rule on
    moto's EC2 backend, so DescribeSecurityGroupRules shows it; revokes it on delete."""

    TYPE = "AWS::EC2::SecurityGroupEgress"

    def _rule(self) -> dict[str, Any]:
        p = self.props
        source_groups = [{"GroupId": p["DestinationSecurityGroupId"]}] if p.get("DestinationSecurityGroupId") else []
        ip_ranges = [{"CidrIp": p["CidrIp"], "Description": p.get("Description")}] if p.get("CidrIp") else []
        prefix_lists = [{"PrefixListId": p["DestinationPrefixListId"]}] if p.get("DestinationPrefixListId") else []
        return {
            "group_name_or_id": p["GroupId"],
            "ip_protocol": str(p["IpProtocol"]),
            "from_port": p.get("FromPort"),
            "to_port": p.get("ToPort"),
            "ip_ranges": ip_ranges,
            "source_groups": source_groups,
            "prefix_list_ids": prefix_lists,
        }

    def _create(self) -> str:
        from moto.ec2.models import ec2_backends

        rules, _ = ec2_backends[self.account_id][self.region].authorize_security_group_egress(**self._rule())
        return rules[0].id if rules else f"sgr-{mock_random.get_random_hex(17)}"

    def _delete(self) -> None:
        from moto.ec2.models import ec2_backends

        try:
            ec2_backends[self.account_id][self.region].revoke_security_group_egress(**self._rule())
        except Exception:  # the group may be gone already
            pass


@gap
class Secret(_Gap):
    """Gap: no model for AWS::SecretsManager::Secret (moto has the secretsmanager backend).
    Creates the secret there, generating `GenerateSecretString` like CloudFormation does
    (SecretStringTemplate + GenerateStringKey, length, excluded characters). Ref is the ARN."""

    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"

    def _secret_string(self) -> str | None:
        if "SecretString" in self.props:
            return self.props["SecretString"]
        spec = self.props.get("GenerateSecretString")
        if spec is None:
            return None
        length = int(spec.get("PasswordLength", 32))
        alphabet = ""
        if not spec.get("ExcludeLowercase"):
            alphabet += string.ascii_lowercase
        if not spec.get("ExcludeUppercase"):
            alphabet += string.ascii_uppercase
        if not spec.get("ExcludeNumbers"):
            alphabet += string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
        excluded = spec.get("ExcludeCharacters", "")
        alphabet = "".join(c for c in alphabet if c not in excluded) or string.ascii_letters
        password = "".join(random.choice(alphabet) for _ in range(length))
        if spec.get("SecretStringTemplate") is not None and spec.get("GenerateStringKey"):
            value = json.loads(spec["SecretStringTemplate"])
            value[spec["GenerateStringKey"]] = password
            return json.dumps(value)
        return password

    def _create(self) -> str:
        from moto.secretsmanager.models import secretsmanager_backends

        backend = secretsmanager_backends[self.account_id][self.region]
        name = self.props.get("Name") or f"{self.logical_id}-{mock_random.get_random_string(12)}"
        backend.create_secret(
            name=name,
            secret_string=self._secret_string(),
            secret_binary=None,
            description=self.props.get("Description"),
            tags=_tags(self.props),
            kms_key_id=self.props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        self.extra["name"] = name
        return backend.secrets[name].arn

    def _delete(self) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        secretsmanager_backends[self.account_id][self.region].delete_secret(
            self.extra.get("name", self.physical_id), None, True
        )

    def _attribute(self, attr: str) -> Any:
        if attr == "Id":
            return self.physical_id
        return super()._attribute(attr)


@gap
class SecretTargetAttachment(_Gap):
    """Gap: no model for AWS::SecretsManager::SecretTargetAttachment. Records it; Ref is the
    secret's ARN, as in CloudFormation."""

    TYPE = "AWS::SecretsManager::SecretTargetAttachment"

    def _create(self) -> str:
        return self.props["SecretId"]


@gap
class BucketPolicy(_Gap):
    """Gap: no model for AWS::S3::BucketPolicy (moto's S3 backend has PutBucketPolicy). Puts the
    policy document on the bucket; removes it on delete."""

    TYPE = "AWS::S3::BucketPolicy"

    def _create(self) -> str:
        from moto.s3.models import s3_backends

        backend = s3_backends[self.account_id][self.partition]
        backend.put_bucket_policy(self.props["Bucket"], json.dumps(self.props["PolicyDocument"]).encode())
        return f"{self.props['Bucket']}-policy-{mock_random.get_random_hex(8)}"

    def _delete(self) -> None:
        from moto.s3.models import s3_backends

        try:
            s3_backends[self.account_id][self.partition].delete_bucket_policy(self.props["Bucket"])
        except Exception:  # the bucket may be gone already
            pass


@gap
class TopicPolicy(_Gap):
    """Gap: no model for AWS::SNS::TopicPolicy (moto's SNS backend has SetTopicAttributes). Sets the
    policy on each topic; restores nothing on delete (the topics go with the stack)."""

    TYPE = "AWS::SNS::TopicPolicy"

    def _create(self) -> str:
        from moto.sns.models import sns_backends

        backend = sns_backends[self.account_id][self.region]
        for arn in self.props["Topics"]:
            backend.set_topic_attribute(arn, "Policy", json.dumps(self.props["PolicyDocument"]))
        return f"{self.logical_id}-{mock_random.get_random_hex(8)}"


@gap
class PrivateDnsNamespace(_Gap):
    """Gap: no model for AWS::ServiceDiscovery::PrivateDnsNamespace (moto has the servicediscovery
    backend). Creates the namespace (and its private hosted zone) there; Ref/Id is the namespace
    id; Arn and HostedZoneId come from the backend."""

    TYPE = "AWS::ServiceDiscovery::PrivateDnsNamespace"
    NAME_PROPERTY = "Name"

    def _backend(self) -> Any:
        from moto.servicediscovery.models import servicediscovery_backends

        return servicediscovery_backends[self.account_id][self.region]

    def _create(self) -> str:
        backend = self._backend()
        operation_id = backend.create_private_dns_namespace(
            name=self.props["Name"],
            creator_request_id=mock_random.get_random_hex(8),
            description=self.props.get("Description"),
            vpc=self.props["Vpc"],
            tags=_tags(self.props),
            properties=self.props.get("Properties"),
        )
        return backend.get_operation(operation_id).targets["NAMESPACE"]

    def _delete(self) -> None:
        self._backend().delete_namespace(self.physical_id)

    def _attribute(self, attr: str) -> Any:
        namespace = self._backend().get_namespace(self.physical_id)
        if attr == "Id":
            return namespace.id
        if attr == "Arn":
            return namespace.arn
        if attr == "HostedZoneId":
            return namespace.dns_properties["HostedZoneId"]
        return super()._attribute(attr)


@gap
class HttpNamespace(_Gap):
    """Gap: no model for AWS::ServiceDiscovery::HttpNamespace (Service Connect's default kind)."""

    TYPE = "AWS::ServiceDiscovery::HttpNamespace"
    NAME_PROPERTY = "Name"

    def _backend(self) -> Any:
        from moto.servicediscovery.models import servicediscovery_backends

        return servicediscovery_backends[self.account_id][self.region]

    def _create(self) -> str:
        backend = self._backend()
        operation_id = backend.create_http_namespace(
            name=self.props["Name"],
            creator_request_id=mock_random.get_random_hex(8),
            description=self.props.get("Description"),
            tags=_tags(self.props),
        )
        return backend.get_operation(operation_id).targets["NAMESPACE"]

    def _delete(self) -> None:
        self._backend().delete_namespace(self.physical_id)

    def _attribute(self, attr: str) -> Any:
        namespace = self._backend().get_namespace(self.physical_id)
        if attr == "Id":
            return namespace.id
        if attr == "Arn":
            return namespace.arn
        return super()._attribute(attr)


@gap
class DiscoveryService(_Gap):
    """Gap: no model for AWS::ServiceDiscovery::Service. Creates the service in moto's
    servicediscovery backend; Ref/Id is its id, Arn and Name from the backend."""

    TYPE = "AWS::ServiceDiscovery::Service"
    NAME_PROPERTY = "Name"

    def _backend(self) -> Any:
        from moto.servicediscovery.models import servicediscovery_backends

        return servicediscovery_backends[self.account_id][self.region]

    def _create(self) -> str:
        dns_config = self.props.get("DnsConfig")
        namespace_id = self.props.get("NamespaceId") or (dns_config or {}).get("NamespaceId")
        service = self._backend().create_service(
            name=self.props.get("Name") or self.name,
            namespace_id=namespace_id,
            creator_request_id=mock_random.get_random_hex(8),
            description=self.props.get("Description"),
            dns_config=dns_config,
            health_check_config=self.props.get("HealthCheckConfig"),
            health_check_custom_config=self.props.get("HealthCheckCustomConfig"),
            tags=_tags(self.props),
            service_type=self.props.get("Type"),
        )
        return service.id

    def _delete(self) -> None:
        self._backend().delete_service(self.physical_id)

    def _attribute(self, attr: str) -> Any:
        service = self._backend().get_service(self.physical_id)
        if attr == "Id":
            return service.id
        if attr == "Arn":
            return service.arn
        if attr == "Name":
            return service.name
        return super()._attribute(attr)


@gap
class DiscoveryInstance(_Gap):
    """Gap: no model for AWS::ServiceDiscovery::Instance. Registers the instance in moto's
    servicediscovery backend (the `db` / `redis` names of the data host)."""

    TYPE = "AWS::ServiceDiscovery::Instance"

    def _backend(self) -> Any:
        from moto.servicediscovery.models import servicediscovery_backends

        return servicediscovery_backends[self.account_id][self.region]

    def _create(self) -> str:
        instance_id = self.props.get("InstanceId") or f"{self.logical_id}-{mock_random.get_random_hex(8)}"
        self._backend().register_instance(
            service_id=self.props["ServiceId"],
            instance_id=instance_id,
            creator_request_id=mock_random.get_random_hex(8),
            attributes=self.props.get("InstanceAttributes", {}),
        )
        return instance_id

    def _delete(self) -> None:
        try:
            self._backend().deregister_instance(self.props["ServiceId"], self.physical_id)
        except Exception:  # the service may be gone already
            pass


@gap
class ClusterCapacityProviderAssociations(_Gap):
    """Gap: no model for AWS::ECS::ClusterCapacityProviderAssociations. Calls
    PutClusterCapacityProviders on moto's ECS backend (FARGATE / FARGATE_SPOT and the default
    strategy then show in DescribeClusters)."""

    TYPE = "AWS::ECS::ClusterCapacityProviderAssociations"

    def _create(self) -> str:
        from moto.ecs.models import ecs_backends

        strategy = [
            {"capacityProvider": s["CapacityProvider"], "weight": s.get("Weight", 0), "base": s.get("Base", 0)}
            for s in self.props.get("DefaultCapacityProviderStrategy", [])
        ]
        ecs_backends[self.account_id][self.region].put_cluster_capacity_providers(
            self.props["Cluster"], self.props.get("CapacityProviders", []), strategy
        )
        return f"{self.props['Cluster']}-capacity-providers"

    def _delete(self) -> None:
        from moto.ecs.models import ecs_backends

        try:
            ecs_backends[self.account_id][self.region].put_cluster_capacity_providers(self.props["Cluster"], [], [])
        except Exception:  # the cluster may be gone already
            pass


@gap
class MetricAlarm(_Gap):
    """Gap: no model for AWS::CloudWatch::Alarm (moto models only ::Dashboard). Puts the alarm on
    moto's CloudWatch backend; Ref is the alarm name, Arn from the backend."""

    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"

    def _create(self) -> str:
        from moto.cloudwatch.models import MetricDataQuery, cloudwatch_backends

        p = self.props
        name = p.get("AlarmName") or self.name
        queries = None
        if p.get("Metrics"):
            queries = [
                MetricDataQuery(
                    query_id=m.get("Id"),
                    label=m.get("Label"),
                    period=m.get("Period"),
                    return_data=m.get("ReturnData"),
                    expression=m.get("Expression"),
                    metric_stat=m.get("MetricStat"),
                )
                for m in p["Metrics"]
            ]
        alarm = cloudwatch_backends[self.account_id][self.region].put_metric_alarm(
            name=name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p.get("ComparisonOperator"),
            evaluation_periods=p.get("EvaluationPeriods"),
            period=p.get("Period"),
            threshold=p.get("Threshold"),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=p.get("AlarmActions", []),
            metric_data_queries=queries,
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            extended_statistic=p.get("ExtendedStatistic"),
            ok_actions=p.get("OKActions", []),
            insufficient_data_actions=p.get("InsufficientDataActions", []),
            unit=p.get("Unit"),
            actions_enabled=p.get("ActionsEnabled", True),
            treat_missing_data=p.get("TreatMissingData"),
        )
        self.extra["arn"] = alarm.alarm_arn
        return name

    def _delete(self) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[self.account_id][self.region].delete_alarms([self.physical_id])

    def _attribute(self, attr: str) -> Any:
        if attr == "Arn":
            return self.extra["arn"]
        return super()._attribute(attr)


@gap
class MetricFilter(_Gap):
    """Gap: no model for AWS::Logs::MetricFilter (moto warns "not supported" and lists the
    resource without a logical or physical id, which the CDK CLI and check.py cannot read). Puts
    the filter on moto's CloudWatch Logs backend; Ref is the filter name."""

    TYPE = "AWS::Logs::MetricFilter"
    NAME_PROPERTY = "FilterName"

    def _backend(self) -> Any:
        from moto.logs.models import logs_backends

        return logs_backends[self.account_id][self.region]

    def _create(self) -> str:
        p = self.props
        name = p.get("FilterName") or self.name
        self._backend().put_metric_filter(
            name,
            p.get("FilterPattern", ""),
            p["LogGroupName"],
            _camel(p.get("MetricTransformations", [])),
        )
        return name

    def _delete(self) -> None:
        try:
            self._backend().delete_metric_filter(self.physical_id, self.props["LogGroupName"])
        except Exception:  # the log group (retained) or the filter is already gone
            pass


@gap
class ScalableTarget(_Gap):
    """Gap: no model for AWS::ApplicationAutoScaling::ScalableTarget. Registers the target on
    moto's applicationautoscaling backend."""

    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

    def _backend(self) -> Any:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        return applicationautoscaling_backends[self.account_id][self.region]

    def _create(self) -> str:
        p = self.props
        self._backend().register_scalable_target(
            namespace=p["ServiceNamespace"],
            r_id=p["ResourceId"],
            dimension=p["ScalableDimension"],
            min_capacity=p.get("MinCapacity"),
            max_capacity=p.get("MaxCapacity"),
            role_arn=p.get("RoleARN"),
            suspended_state=p.get("SuspendedState"),
        )
        # The scheduled actions (off-hours scaling) are part of the target in CloudFormation.
        for a in p.get("ScheduledActions") or []:
            self._backend().put_scheduled_action(
                service_namespace=p["ServiceNamespace"],
                schedule=a["Schedule"],
                timezone=a.get("Timezone"),
                scheduled_action_name=a["ScheduledActionName"],
                resource_id=p["ResourceId"],
                scalable_dimension=p["ScalableDimension"],
                start_time=a.get("StartTime"),
                end_time=a.get("EndTime"),
                scalable_target_action=a.get("ScalableTargetAction"),
            )
        return f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"

    def _delete(self) -> None:
        p = self.props
        for a in p.get("ScheduledActions") or []:
            try:
                self._backend().delete_scheduled_action(
                    p["ServiceNamespace"], a["ScheduledActionName"], p["ResourceId"], p["ScalableDimension"]
                )
            except Exception:  # already gone
                pass
        try:
            self._backend().deregister_scalable_target(p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])
        except Exception:  # already gone
            pass


@gap
class ScheduleGroup(_Gap):
    """Gap: no model for AWS::Scheduler::ScheduleGroup (a scheduled task's group). Creates the
    group on moto's scheduler backend; Ref is its name."""

    TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROPERTY = "Name"

    def _backend(self) -> Any:
        from moto.scheduler.models import scheduler_backends

        return scheduler_backends[self.account_id][self.region]

    def _create(self) -> str:
        name = self.props.get("Name") or self.name
        self.extra["arn"] = self._backend().create_schedule_group(name, _tags(self.props)).arn
        return name

    def _delete(self) -> None:
        try:
            self._backend().delete_schedule_group(self.physical_id)
        except Exception:  # already gone
            pass

    def _attribute(self, attr: str) -> Any:
        if attr == "Arn":
            return self.extra["arn"]
        return super()._attribute(attr)


@gap
class SchedulerSchedule(_Gap):
    """Gap: no model for AWS::Scheduler::Schedule (a scheduled task's schedule). Creates the
    schedule on moto's scheduler backend (it is stored, never invoked); Ref is its name."""

    TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"

    def _backend(self) -> Any:
        from moto.scheduler.models import scheduler_backends

        return scheduler_backends[self.account_id][self.region]

    def _create(self) -> str:
        p = self.props
        name = p.get("Name") or self.name
        schedule = self._backend().create_schedule(
            description=p.get("Description"),
            end_date=p.get("EndDate"),
            flexible_time_window=p.get("FlexibleTimeWindow"),
            group_name=p.get("GroupName"),
            kms_key_arn=p.get("KmsKeyArn"),
            name=name,
            schedule_expression=p["ScheduleExpression"],
            schedule_expression_timezone=p.get("ScheduleExpressionTimezone"),
            start_date=p.get("StartDate"),
            state=p.get("State", "ENABLED"),
            target=p["Target"],
            action_after_completion=None,
        )
        self.extra["arn"] = schedule.arn
        return name

    def _delete(self) -> None:
        try:
            self._backend().delete_schedule(self.props.get("GroupName"), self.physical_id)
        except Exception:  # already gone
            pass

    def _attribute(self, attr: str) -> Any:
        if attr == "Arn":
            return self.extra["arn"]
        return super()._attribute(attr)


@gap
class ScalingPolicy(_Gap):
    """Gap: no model for AWS::ApplicationAutoScaling::ScalingPolicy. Puts the policy on moto's
    applicationautoscaling backend (target from ScalingTargetId or the explicit fields)."""

    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"

    def _target(self) -> tuple[str, str, str]:
        p = self.props
        if p.get("ScalingTargetId"):
            resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
            return namespace, resource_id, dimension
        return p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"]

    def _create(self) -> str:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        namespace, resource_id, dimension = self._target()
        body = {
            k: self.props[k]
            for k in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration")
            if k in self.props
        }
        policy = applicationautoscaling_backends[self.account_id][self.region].put_scaling_policy(
            policy_name=self.props["PolicyName"],
            service_namespace=namespace,
            resource_id=resource_id,
            scalable_dimension=dimension,
            policy_body=body,
            policy_type=self.props.get("PolicyType"),
        )
        return policy.policy_arn

    def _delete(self) -> None:
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        namespace, resource_id, dimension = self._target()
        try:
            applicationautoscaling_backends[self.account_id][self.region].delete_scaling_policy(
                self.props["PolicyName"], namespace, resource_id, dimension
            )
        except Exception:  # already gone
            pass


@gap
class BackupVault(_Gap):
    """Gap: no model for AWS::Backup::BackupVault. Creates the vault on moto's backup backend;
    Ref is the vault name."""

    TYPE = "AWS::Backup::BackupVault"
    NAME_PROPERTY = "BackupVaultName"

    def _create(self) -> str:
        from moto.backup.models import backup_backends

        name = self.props.get("BackupVaultName") or self.name
        vault = backup_backends[self.account_id][self.region].create_backup_vault(
            backup_vault_name=name,
            backup_vault_tags=self.props.get("BackupVaultTags") or {},
            encryption_key_arn=self.props.get("EncryptionKeyArn"),
            creator_request_id=None,
        )
        self.extra["arn"] = vault.backup_vault_arn
        return name

    def _delete(self) -> None:
        from moto.backup.models import backup_backends

        backup_backends[self.account_id][self.region].delete_backup_vault(self.physical_id)

    def _attribute(self, attr: str) -> Any:
        if attr == "BackupVaultArn":
            return self.extra["arn"]
        if attr == "BackupVaultName":
            return self.physical_id
        return super()._attribute(attr)


@gap
class BackupPlan(_Gap):
    """Gap: no model for AWS::Backup::BackupPlan. Creates the plan on moto's backup backend (the
    CloudFormation `BackupPlanRule` list is the API's `Rules`); Ref is the plan id."""

    TYPE = "AWS::Backup::BackupPlan"

    def _create(self) -> str:
        from moto.backup.models import backup_backends

        cfn_plan = self.props["BackupPlan"]
        plan = {
            "BackupPlanName": cfn_plan["BackupPlanName"],
            "Rules": [
                dict(rule)
                for rule in cfn_plan.get("BackupPlanRule", [])
            ],
        }
        created = backup_backends[self.account_id][self.region].create_backup_plan(
            backup_plan=plan, backup_plan_tags=self.props.get("BackupPlanTags") or {}, creator_request_id=None
        )
        self.extra.update(arn=created.backup_plan_arn, version=created.version_id)
        return created.backup_plan_id

    def _delete(self) -> None:
        from moto.backup.models import backup_backends

        backup_backends[self.account_id][self.region].delete_backup_plan(self.physical_id)

    def _attribute(self, attr: str) -> Any:
        if attr == "BackupPlanArn":
            return self.extra["arn"]
        if attr == "BackupPlanId":
            return self.physical_id
        if attr == "VersionId":
            return self.extra["version"]
        return super()._attribute(attr)


# --------------------------------------------------------------------------------------------------
# Types with no moto backend (or one this test has no use for): record only.
# --------------------------------------------------------------------------------------------------


@gap
class CdkMetadata(_Gap):
    """Gap: no model for AWS::CDK::Metadata (CDK's version reporting; no AWS resource)."""

    TYPE = "AWS::CDK::Metadata"


@gap
class BackupSelection(_Gap):
    """Gap: no model for AWS::Backup::BackupSelection and no CreateBackupSelection in moto's
    backup backend: recorded only. Ref/Id is a selection id."""

    TYPE = "AWS::Backup::BackupSelection"

    def _create(self) -> str:
        return f"{self.props.get('BackupPlanId', '')}_{mock_random.get_random_hex(12)}"

    def _attribute(self, attr: str) -> Any:
        if attr == "SelectionId":
            return self.physical_id
        if attr == "BackupPlanId":
            return self.props.get("BackupPlanId")
        return super()._attribute(attr)


@gap
class CloudFrontDistribution(_Gap):
    """Gap: no model for AWS::CloudFront::Distribution. moto's cloudfront backend takes the
    XML-shaped API config, not CloudFormation's; the static site's distribution is recorded only
    (Ref is a distribution id, DomainName a cloudfront.net name)."""

    TYPE = "AWS::CloudFront::Distribution"

    def _create(self) -> str:
        return "E" + mock_random.get_random_string(13, lower_case=False, include_digits=True).upper()

    def _attribute(self, attr: str) -> Any:
        if attr == "DomainName":
            return f"d{self.physical_id.lower()}.cloudfront.net"
        if attr == "Id":
            return self.physical_id
        return super()._attribute(attr)


@gap
class CloudFrontOriginAccessControl(_Gap):
    """Gap: no model for AWS::CloudFront::OriginAccessControl: recorded only (Ref/Id an id)."""

    TYPE = "AWS::CloudFront::OriginAccessControl"

    def _create(self) -> str:
        return "E" + mock_random.get_random_string(13, lower_case=False, include_digits=True).upper()


@gap
class WebAcl(_Gap):
    """Gap: no model for AWS::WAFv2::WebACL: recorded only (Arn/Id/Name answered)."""

    TYPE = "AWS::WAFv2::WebACL"
    NAME_PROPERTY = "Name"

    def _create(self) -> str:
        acl_id = str(mock_random.uuid4())
        name = self.props.get("Name") or self.name
        scope = "global" if self.props.get("Scope") == "CLOUDFRONT" else "regional"
        self.extra["arn"] = f"arn:{self.partition}:wafv2:{self.region}:{self.account_id}:{scope}/webacl/{name}/{acl_id}"
        self.extra["id"] = acl_id
        return f"{name}|{acl_id}|{self.props.get('Scope')}"

    def _attribute(self, attr: str) -> Any:
        if attr == "Arn":
            return self.extra["arn"]
        if attr == "Id":
            return self.extra["id"]
        if attr == "Name":
            return self.physical_id.split("|")[0]
        return super()._attribute(attr)


@gap
class WebAclAssociation(_Gap):
    """Gap: no model for AWS::WAFv2::WebACLAssociation: recorded only."""

    TYPE = "AWS::WAFv2::WebACLAssociation"

    def _create(self) -> str:
        return f"{self.props.get('WebACLArn')}|{self.props.get('ResourceArn')}"


@gap
class CacheSubnetGroup(_Gap):
    """Gap: no model for AWS::ElastiCache::SubnetGroup (production's Redis). Creates the group in
    moto's ElastiCache backend (Ref is its name, lowercased as ElastiCache stores it)."""

    TYPE = "AWS::ElastiCache::SubnetGroup"
    NAME_PROPERTY = "CacheSubnetGroupName"

    def _backend(self) -> Any:
        from moto.elasticache.models import elasticache_backends

        return elasticache_backends[self.account_id][self.region]

    def _create(self) -> str:
        name = (self.props.get("CacheSubnetGroupName") or self.name).lower()
        self._backend().create_cache_subnet_group(
            cache_subnet_group_name=name,
            cache_subnet_group_description=self.props.get("Description", ""),
            subnet_ids=list(self.props.get("SubnetIds") or []),
            tags=_tags(self.props),
        )
        return name

    def _delete(self) -> None:
        self._backend().cache_subnet_groups.pop(self.physical_id, None)


@gap
class CacheReplicationGroup(_Gap):
    """Gap: no model for AWS::ElastiCache::ReplicationGroup (production's Valkey), and reading its
    `PrimaryEndPoint.Address` (the services' REDIS_HOST) then raised (HTTP 500, the CLI retried
    ~70 s and printed an XML parse error). Creates the group in moto's ElastiCache backend with
    the template's engine, node type, subnet group, security groups, failover, multi-AZ and
    encryption settings (the AuthToken is a `{{resolve:secretsmanager:...}}` reference, which
    moto does not resolve: only whether one is set is kept); answers the endpoint attributes from
    the backend's node group. `DeletionPolicy: Snapshot` is honoured in
    `_patch_deletion_policy_snapshot`; `_delete` removes the group (moto's own delete only marks
    it "deleting")."""

    TYPE = "AWS::ElastiCache::ReplicationGroup"
    NAME_PROPERTY = "ReplicationGroupId"

    def _backend(self) -> Any:
        from moto.elasticache.models import elasticache_backends

        return elasticache_backends[self.account_id][self.region]

    def _create(self) -> str:
        p = self.props
        group_id = (p.get("ReplicationGroupId") or self.name).lower()[:40]

        def flag(key: str) -> bool | None:
            value = p.get(key)
            return None if value is None else str(value).lower() == "true"

        clusters = int(p["NumCacheClusters"]) if p.get("NumCacheClusters") else None
        replicas = int(p["ReplicasPerNodeGroup"]) if p.get("ReplicasPerNodeGroup") else None
        if clusters and replicas is None:
            # Bug: with cluster mode disabled moto ignores NumCacheClusters and creates
            # ReplicasPerNodeGroup + 1 nodes (else 1): a primary and N - 1 replicas is the same.
            replicas = clusters - 1
        self._backend().create_replication_group(
            replication_group_id=group_id,
            replication_group_description=p.get("ReplicationGroupDescription", ""),
            global_replication_group_id=p.get("GlobalReplicationGroupId"),
            primary_cluster_id=p.get("PrimaryClusterId"),
            automatic_failover_enabled=bool(flag("AutomaticFailoverEnabled")),
            multi_az_enabled=flag("MultiAZEnabled"),
            num_cache_clusters=clusters,
            preferred_cache_cluster_azs=list(p.get("PreferredCacheClusterAZs") or []),
            num_node_groups=int(p["NumNodeGroups"]) if p.get("NumNodeGroups") else None,
            replicas_per_node_group=replicas,
            node_group_configuration=list(p.get("NodeGroupConfiguration") or []),
            cache_node_type=p.get("CacheNodeType"),
            engine=p.get("Engine"),
            engine_version=p.get("EngineVersion"),
            cache_parameter_group_name=p.get("CacheParameterGroupName"),
            cache_subnet_group_name=p.get("CacheSubnetGroupName"),
            cache_security_group_names=list(p.get("CacheSecurityGroupNames") or []),
            security_group_ids=list(p.get("SecurityGroupIds") or []),
            tags=_tags(p),
            snapshot_arns=list(p.get("SnapshotArns") or []),
            snapshot_name=p.get("SnapshotName"),
            preferred_maintenance_window=p.get("PreferredMaintenanceWindow"),
            port=int(p["Port"]) if p.get("Port") else None,
            notification_topic_arn=p.get("NotificationTopicArn"),
            auto_minor_version_upgrade=flag("AutoMinorVersionUpgrade"),
            snapshot_retention_limit=int(p.get("SnapshotRetentionLimit") or 0),
            snapshot_window=p.get("SnapshotWindow"),
            auth_token=p.get("AuthToken"),
            transit_encryption_enabled=flag("TransitEncryptionEnabled"),
            at_rest_encryption_enabled=flag("AtRestEncryptionEnabled"),
            kms_key_id=p.get("KmsKeyId"),
            user_group_ids=list(p.get("UserGroupIds") or []),
            log_delivery_configurations=list(p.get("LogDeliveryConfigurations") or []),
            data_tiering_enabled=flag("DataTieringEnabled"),
            network_type=p.get("NetworkType"),
            ip_discovery=p.get("IpDiscovery"),
            transit_encryption_mode=p.get("TransitEncryptionMode"),
            cluster_mode=p.get("ClusterMode"),
            serverless_cache_snapshot_name=None,
        )
        return group_id

    def _delete(self) -> None:
        self._backend().replication_groups.pop(self.physical_id, None)

    def _attribute(self, attr: str) -> Any:
        group = self._backend().replication_groups[self.physical_id]
        node_group = group.node_groups[0] if group.node_groups else {}
        endpoints = {
            "PrimaryEndPoint": node_group.get("primary_endpoint_address"),
            "ReaderEndPoint": node_group.get("reader_endpoint_address"),
            "ConfigurationEndPoint": getattr(group, "configuration_endpoint", {}).get("address"),
        }
        kind, _, field = attr.partition(".")
        if kind in endpoints and field == "Address":
            return endpoints[kind]
        if kind in endpoints and field == "Port":
            return str(group.port)
        return super()._attribute(attr)


# --------------------------------------------------------------------------------------------------
# Bugs in models moto has.
# --------------------------------------------------------------------------------------------------


def _patch_efs() -> None:
    """Bug: moto's EFS FileSystem and AccessPoint models have no `get_cfn_attribute`, so any
    `Fn::GetAtt` of them (the task role's EFS policy uses `FileSystem.Arn`) raises AttributeError
    and the CreateStack request fails with HTTP 500. Answer Arn / FileSystemId / AccessPointId."""
    from moto.efs.models import AccessPoint, FileSystem

    def fs_attr(self: Any, attr: str) -> Any:
        if attr == "Arn":
            return self.file_system_arn
        if attr == "FileSystemId":
            return self.file_system_id
        raise NotImplementedError(f"AWS::EFS::FileSystem.{attr}")

    def ap_attr(self: Any, attr: str) -> Any:
        if attr == "Arn":
            return self.access_point_arn
        if attr == "AccessPointId":
            return self.access_point_id
        raise NotImplementedError(f"AWS::EFS::AccessPoint.{attr}")

    # Bug: AccessPoint has no `physical_resource_id`, so `Ref` of it resolves to the Python object
    # (a task definition's EFS volume then carries no access point id) and DescribeStackResources
    # omits its PhysicalResourceId.
    AccessPoint.physical_resource_id = property(lambda self: self.access_point_id)  # type: ignore[attr-defined]
    FileSystem.get_cfn_attribute = fs_attr  # type: ignore[attr-defined]
    FileSystem.has_cfn_attr = classmethod(lambda cls, attr: attr in ("Arn", "FileSystemId"))  # type: ignore[method-assign]
    AccessPoint.get_cfn_attribute = ap_attr  # type: ignore[attr-defined]
    AccessPoint.has_cfn_attr = classmethod(lambda cls, attr: attr in ("Arn", "AccessPointId"))  # type: ignore[method-assign]


def _patch_elbv2_full_names() -> None:
    """Bug: moto's target group model has no `get_cfn_attribute`, and its load balancer's raises
    NotImplementedError for `LoadBalancerFullName`: the CloudWatch metrics of both (alarms on
    unhealthy targets, 5xx, latency) use those names, and CreateStack fails with HTTP 500. Answer
    them from the ARNs, as AWS forms them (`app/<name>/<id>`, `targetgroup/<name>/<id>`)."""
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

    lb_original = FakeLoadBalancer.get_cfn_attribute

    def lb_attr(self: Any, attr: str) -> Any:
        if attr == "LoadBalancerFullName":
            return self.arn.split(":loadbalancer/", 1)[1]
        return lb_original(self, attr)

    def tg_attr(self: Any, attr: str) -> Any:
        if attr == "TargetGroupFullName":
            return self.arn.split(":", 5)[5]
        if attr == "TargetGroupName":
            return self.name
        if attr == "TargetGroupArn":
            return self.arn
        if attr == "LoadBalancerArns":
            return list(self.load_balancer_arns)
        raise NotImplementedError(f"AWS::ElasticLoadBalancingV2::TargetGroup.{attr}")

    FakeLoadBalancer.get_cfn_attribute = lb_attr  # type: ignore[method-assign]
    FakeTargetGroup.get_cfn_attribute = tg_attr  # type: ignore[attr-defined]
    FakeTargetGroup.has_cfn_attr = classmethod(  # type: ignore[method-assign]
        lambda cls, attr: attr in ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns")
    )


def _patch_kms_key_tags() -> None:
    """Bug: moto's KMS Key model passes the template's `Tags` (`Key`/`Value`, the CloudFormation
    form) to its tagger, which reads `TagKey`/`TagValue` (the KMS API form): KeyError, HTTP 500,
    and the CLI reports a misleading "stack already exists". Convert them (and a `KeyPolicy`
    object to the JSON text `create_key` stores) before moto's own code runs."""
    import json

    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = dict(cloudformation_json.get("Properties", {}))
        props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        if isinstance(props.get("KeyPolicy"), dict):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


def _camel(value: Any) -> Any:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    return remap_nested_keys(value, pascal_to_camelcase)


def _patch_security_group_ingress_id() -> None:
    """Bug: moto's SecurityGroupIngress model has no `physical_resource_id`: `Ref` of it resolves
    to the Python object and DescribeStackResources lists it without a PhysicalResourceId (which
    boto3 and the CDK CLI expect). Give each rule an id of CloudFormation's `sgr-` form."""
    from moto.ec2.models.security_groups import SecurityGroupIngress

    def physical_resource_id(self: Any) -> str:
        if not hasattr(self, "_rule_id"):
            self._rule_id = f"sgr-{mock_random.get_random_hex(17)}"
        return self._rule_id

    SecurityGroupIngress.physical_resource_id = property(physical_resource_id)  # type: ignore[attr-defined]


def _patch_ec2_properties() -> None:
    """Bugs in moto's EC2 CloudFormation models that drop declared properties:

    - SecurityGroup ignores `SecurityGroupEgress`: the group keeps the default allow-all egress
      rule. CloudFormation replaces the default with the declared rules (CDK's
      `allowAllOutbound: false` declares a no-op rule precisely to remove it), so the emulator
      would show wider egress than the template. Revoke the default, authorize the declared ones.
    - Volume passes only Size and AvailabilityZone: VolumeType, Encrypted, KmsKeyId, Iops and
      Throughput are dropped (the data volume would come up as an unencrypted gp2). Pass them.
    """
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_block_store import Volume
    from moto.ec2.models.security_groups import SecurityGroup

    original_sg = SecurityGroup.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @classmethod  # type: ignore[misc]
    def sg_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        group = original_sg(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        egress = cloudformation_json["Properties"].get("SecurityGroupEgress")
        if egress is not None:
            backend = ec2_backends[account_id][region_name]
            backend.revoke_security_group_egress(group.id, "-1", None, None, [{"CidrIp": "0.0.0.0/0"}])
            for rule in egress:
                peer = rule.get("DestinationSecurityGroupId")
                backend.authorize_security_group_egress(
                    group_name_or_id=group.id,
                    ip_protocol=str(rule["IpProtocol"]),
                    from_port=rule.get("FromPort"),
                    to_port=rule.get("ToPort"),
                    ip_ranges=[{"CidrIp": rule["CidrIp"], "Description": rule.get("Description")}] if rule.get("CidrIp") else [],
                    source_groups=[{"GroupId": peer}] if peer else [],
                )
        return group

    SecurityGroup.create_from_cloudformation_json = sg_create  # type: ignore[method-assign]

    @classmethod  # type: ignore[misc]
    def volume_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        p = cloudformation_json["Properties"]
        return ec2_backends[account_id][region_name].create_volume(
            size=p.get("Size"),
            zone_name=p.get("AvailabilityZone"),
            snapshot_id=p.get("SnapshotId"),
            encrypted=bool(p.get("Encrypted", False)),
            kms_key_id=p.get("KmsKeyId"),
            volume_type=p.get("VolumeType"),
            iops=p.get("Iops"),
            throughput=p.get("Throughput"),
            multi_attach_enabled=p.get("MultiAttachEnabled"),
        )

    Volume.create_from_cloudformation_json = volume_create  # type: ignore[method-assign]


def _patch_elbv2_network() -> None:
    """Bugs in moto's ELBv2 CloudFormation models that production's Patroni NLB hits:

    - LoadBalancer passes only name, security groups, subnets and scheme: `Type: network` is
      dropped, so the NLB is created as an ALB, and its TCP 5432 listener is then refused
      ("Protocol TCP is not supported" for an application load balancer). Pass Type and Tags.
    - TargetGroup drops `Targets`: the writer target group's fixed Patroni IPs are never
      registered. Register them (moto keeps ip targets as given).
    """
    from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup, elbv2_backends

    @classmethod  # type: ignore[misc]
    def lb_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        p = cloudformation_json["Properties"]
        return elbv2_backends[account_id][region_name].create_load_balancer(
            resource_name,
            p.get("SecurityGroups"),
            p.get("Subnets"),
            scheme=p.get("Scheme", "internet-facing"),
            loadbalancer_type=p.get("Type", "application"),
            tags=_tags(p) or None,
        )

    FakeLoadBalancer.create_from_cloudformation_json = lb_create  # type: ignore[method-assign]

    tg_original = FakeTargetGroup.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @classmethod  # type: ignore[misc]
    def tg_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        group = tg_original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        targets = cloudformation_json["Properties"].get("Targets") or []
        if targets:
            elbv2_backends[account_id][region_name].register_targets(
                group.arn, [{"Id": t["Id"], "Port": int(t.get("Port") or group.port)} for t in targets]
            )
        return group

    FakeTargetGroup.create_from_cloudformation_json = tg_create  # type: ignore[method-assign]


def _patch_ec2_instance() -> None:
    """Bug: moto's Instance model passes ImageId, InstanceType, SubnetId, PrivateIpAddress,
    UserData, KeyName, BlockDeviceMappings and only the *EC2-Classic* `SecurityGroups` (names):
    `SecurityGroupIds` (the Patroni nodes' cluster group), `DisableApiTermination`,
    `MetadataOptions` (IMDSv2 required) and `Monitoring` are dropped, so the hosts came up in
    the VPC's default group with IMDSv1. Pass them, as EC2's RunInstances takes them. (moto's
    CloudFormation delete terminates without looking at DisableApiTermination; a real stack
    deletion would stop there, which the README says to turn off first.)"""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.instances import Instance

    @classmethod  # type: ignore[misc]
    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        p = cloudformation_json["Properties"]
        backend = ec2_backends[account_id][region_name]
        names = [backend.get_security_group_from_id(g).name for g in p.get("SecurityGroups", [])]
        reservation = backend.run_instances(
            image_id=p["ImageId"],
            user_data=p.get("UserData"),
            count=1,
            security_group_names=names,
            security_group_ids=list(p.get("SecurityGroupIds") or []),
            instance_type=p.get("InstanceType", "m1.small"),
            is_instance_type_default=not p.get("InstanceType"),
            subnet_id=p.get("SubnetId"),
            key_name=p.get("KeyName"),
            private_ip=p.get("PrivateIpAddress"),
            block_device_mappings=p.get("BlockDeviceMappings", {}),
            disable_api_termination=str(p.get("DisableApiTermination", "false")).lower() == "true",
            monitoring_state="enabled" if str(p.get("Monitoring", "false")).lower() == "true" else "disabled",
            metadata_options=dict(p.get("MetadataOptions") or {}),
        )
        instance = reservation.instances[0]
        for tag in p.get("Tags", []):
            instance.add_tag(tag["Key"], tag["Value"])
        if p.get("IamInstanceProfile"):
            backend.associate_iam_instance_profile(
                instance_id=instance.id, iam_instance_profile_name=p.get("IamInstanceProfile")
            )
        return instance

    Instance.create_from_cloudformation_json = create  # type: ignore[method-assign]


def _patch_ecs() -> None:
    """Bugs in moto's ECS CloudFormation models (moto/ecs/models.py):

    - Cluster: create passes only the name (ClusterSettings such as containerInsights,
      Configuration with the ECS Exec settings, ServiceConnectDefaults and Tags are dropped).

    - TaskDefinition: create passes only family, containers, volumes and memory (Cpu, NetworkMode,
      RequiresCompatibilities, the task and execution roles, RuntimePlatform are dropped); update
      passes the CloudFormation-shaped (PascalCase) containers through unconverted, so the new
      revision has containers without name or image. Register every property, camelCased, on
      create and on update (a new revision when anything changed, the old one deregistered).
    - Service: create passes only cluster, name, desired count and task definition
      (LoadBalancers, NetworkConfiguration, CapacityProviderStrategy, ServiceRegistries,
      deployment settings are dropped, and the launch type defaults to EC2). Pass them all, and
      keep the launch type unset when a capacity-provider strategy is given, as ECS does.
    """
    from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends

    @classmethod  # type: ignore[misc]
    def cluster_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        p = cloudformation_json["Properties"]
        return ecs_backends[account_id][region_name].create_cluster(
            cluster_name=p.get("ClusterName") or resource_name,
            tags=_camel(p.get("Tags")),
            cluster_settings=_camel(p.get("ClusterSettings")),
            configuration=_camel(p.get("Configuration")),
            service_connect_defaults=_camel(p.get("ServiceConnectDefaults")),
        )

    Cluster.create_from_cloudformation_json = cluster_create  # type: ignore[method-assign]

    def register(props: dict[str, Any], account_id: str, region_name: str) -> Any:
        definition = ecs_backends[account_id][region_name].register_task_definition(
            family=props.get("Family") or f"task-definition-{mock_random.get_random_hex(6)}",
            container_definitions=_camel(props.get("ContainerDefinitions", [])),
            volumes=_camel(props.get("Volumes", [])),
            network_mode=props.get("NetworkMode"),
            tags=_camel(props.get("Tags")),
            placement_constraints=_camel(props.get("PlacementConstraints")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"),
            memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=_camel(props.get("RuntimePlatform")),
            ephemeral_storage=_camel(props.get("EphemeralStorage")),
        )
        definition.cfn_properties = props
        return definition

    @classmethod  # type: ignore[misc]
    def td_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        return register(cloudformation_json["Properties"], account_id, region_name)

    @classmethod  # type: ignore[misc]
    def td_update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        props = cloudformation_json["Properties"]
        if getattr(original_resource, "cfn_properties", None) == props:
            return original_resource
        ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return register(props, account_id, region_name)

    TaskDefinition.create_from_cloudformation_json = td_create  # type: ignore[method-assign]
    TaskDefinition.update_from_cloudformation_json = td_update  # type: ignore[method-assign]

    def name_of(value: Any) -> str:
        return value.name if hasattr(value, "name") else str(value)

    def arn_of(value: Any) -> str:
        return value.arn if hasattr(value, "arn") else str(value)

    def describe_more(service: Any, props: dict[str, Any]) -> Any:
        # What describe_services serializes by attribute name, but create_service does not take.
        service.network_configuration = _camel(props.get("NetworkConfiguration"))
        service.capacity_provider_strategy = _camel(props.get("CapacityProviderStrategy"))
        service.deployment_configuration = _camel(props.get("DeploymentConfiguration"))
        service.health_check_grace_period_seconds = props.get("HealthCheckGracePeriodSeconds")
        service.enable_execute_command = props.get("EnableExecuteCommand")
        service.service_connect_configuration = _camel(props.get("ServiceConnectConfiguration"))
        if props.get("CapacityProviderStrategy") and not props.get("LaunchType"):
            service.launch_type = None
        service.cfn_properties = props
        return service

    @classmethod  # type: ignore[misc]
    def svc_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]
        service = ecs_backends[account_id][region_name].create_service(
            name_of(props["Cluster"]),
            props.get("ServiceName") or resource_name,
            props.get("DesiredCount"),
            task_definition_str=arn_of(props["TaskDefinition"]),
            load_balancers=_camel(props.get("LoadBalancers")),
            tags=_camel(props.get("Tags")),
            deployment_controller=_camel(props.get("DeploymentController")),
            launch_type=props.get("LaunchType"),
            service_registries=_camel(props.get("ServiceRegistries")),
            platform_version=props.get("PlatformVersion"),
            propagate_tags=props.get("PropagateTags") or "NONE",
            network_configuration=_camel(props.get("NetworkConfiguration")),
            role_arn=props.get("Role"),
        )
        return describe_more(service, props)

    @classmethod  # type: ignore[misc]
    def svc_update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        props = cloudformation_json["Properties"]
        backend = ecs_backends[account_id][region_name]
        if name_of(props["Cluster"]) not in (original_resource.cluster_name, original_resource.cluster_arn):
            backend.delete_service(original_resource.cluster_name, original_resource.name, force=True)
            return svc_create.__func__(cls, new_resource_name, cloudformation_json, account_id, region_name)
        service = backend.update_service(
            {
                "cluster": original_resource.cluster_name,
                "service": original_resource.name,
                "task_definition": arn_of(props["TaskDefinition"]),
                "desired_count": props.get("DesiredCount"),
                "load_balancers": _camel(props.get("LoadBalancers")),
            }
        )
        return describe_more(service, props)

    Service.create_from_cloudformation_json = svc_create  # type: ignore[method-assign]
    Service.update_from_cloudformation_json = svc_update  # type: ignore[method-assign]


def _patch_ecs_run_task() -> None:
    """Gaps of moto's ECS RunTask/StopTask that `tracker-cdk release` meets (moto/ecs/models.py).
    moto cannot run a container: a task it starts only walks through its states (RUNNING, ...,
    STOPPED after four DescribeTasks) and always reports `exitCode: 0`.

    - RunTask raises (HTTP 500) when a container definition has no `memory`: Fargate task
      definitions size the task, not the container (`None` is added to an int while summing the
      resources of EC2 placement, which Fargate does not use). Sum the task's size instead.
    - RunTask (awsvpc) raises when the task's network interface has no `private_dns_name`: moto
      sets it only in a VPC whose DNS hostnames flag it knows, which its CloudFormation VPC
      model does not record. Default it to none, as for a VPC without DNS hostnames.
    - No API sets a container's exit code, so the harness stands in for the container's end:
      StopTask with a reason containing `exit code N` records N as the exit code of the task's
      containers (ECS itself reports "Essential container in task exited" and the code). The
      deploy loop stops the migration task this way, with 0 and with a failing code.
    """
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ecs.models import EC2ContainerServiceBackend

    NetworkInterface.private_dns_name = None  # type: ignore[attr-defined]

    original = EC2ContainerServiceBackend._calculate_task_resource_requirements

    def requirements(task_definition: Any) -> dict[str, Any]:
        containers = task_definition.container_definitions
        if all(any(k in c for k in ("memory", "memoryReservation", "Memory", "MemoryReservation")) for c in containers):
            return original(task_definition)
        return {"CPU": int(task_definition.cpu or 0), "MEMORY": int(task_definition.memory or 0), "PORTS": [], "PORTS_UDP": []}

    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(requirements)  # type: ignore[method-assign]

    stop_task = EC2ContainerServiceBackend.stop_task

    def stop_with_exit_code(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        task = stop_task(self, cluster_str, task_str, reason)
        code = re.search(r"exit code (-?\d+)", reason or "")
        if code:
            for container in task.containers:
                container.exitCode = int(code.group(1))
                container.last_status = "STOPPED"
        return task

    EC2ContainerServiceBackend.stop_task = stop_with_exit_code  # type: ignore[method-assign]


def _patch_missing_deletes() -> None:
    """Gap: on DeleteStack (and on removal in an update) moto deletes a resource only if its
    model has `delete` or a concrete `delete_from_cloudformation_json`; these models have
    neither, so DeleteStack silently leaves them behind (and then fails: the VPC "has
    dependencies" because its route tables and endpoints remain). Delete each through its
    backend, as CloudFormation would."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_block_store import Volume
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress
    from moto.ec2.models.flow_logs import FlowLogs
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import Route, RouteTable
    from moto.ec2.models.security_groups import SecurityGroupIngress
    from moto.ec2.models.subnets import SubnetRouteTableAssociation
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
    from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends
    from moto.elbv2.models import FakeListener, FakeListenerRule, FakeTargetGroup, elbv2_backends

    def ec2(account_id: str, region_name: str) -> Any:
        return ec2_backends[account_id][region_name]

    def route_table_delete(self: Any, account_id: str, region_name: str) -> None:
        for association_id in list(self._associations):
            ec2(account_id, region_name).disassociate_route_table(association_id)
        ec2(account_id, region_name).delete_route_table(self.id)

    def association_delete(self: Any, account_id: str, region_name: str) -> None:
        table = ec2(account_id, region_name).get_route_table(self.route_table_id)
        for association_id, subnet_id in list(table._associations.items()):
            if subnet_id == self.subnet_id:
                table._associations.pop(association_id)

    def attachment_delete(self: Any, account_id: str, region_name: str) -> None:
        if self.gateway_id.startswith("igw-"):
            ec2(account_id, region_name).detach_internet_gateway(self.gateway_id, self.vpc_id)
        else:
            ec2(account_id, region_name).detach_vpn_gateway(self.gateway_id, self.vpc_id)

    def ingress_delete(self: Any, account_id: str, region_name: str) -> None:
        p = self.properties
        source = {"GroupId": p["SourceSecurityGroupId"]} if p.get("SourceSecurityGroupId") else None
        try:
            ec2(account_id, region_name).revoke_security_group_ingress(
                group_name_or_id=self.security_group.id,
                ip_protocol=str(p["IpProtocol"]),
                from_port=p.get("FromPort"),
                to_port=p.get("ToPort"),
                ip_ranges=[{"CidrIp": p["CidrIp"]}] if p.get("CidrIp") else [],
                source_groups=[source] if source else [],
            )
        except Exception:  # the group may be gone already
            pass

    deletes: dict[type, Any] = {
        ElasticAddress: lambda self, a, r: ec2(a, r).release_address(allocation_id=self.allocation_id),
        FlowLogs: lambda self, a, r: ec2(a, r).delete_flow_logs([self.id]),
        InternetGateway: lambda self, a, r: ec2(a, r).delete_internet_gateway(self.id),
        NatGateway: lambda self, a, r: ec2(a, r).delete_nat_gateway(self.id),
        Route: lambda self, a, r: ec2(a, r).delete_route(self.route_table.id, self.destination_cidr_block),
        RouteTable: route_table_delete,
        SecurityGroupIngress: ingress_delete,
        SubnetRouteTableAssociation: association_delete,
        VPCEndPoint: lambda self, a, r: ec2(a, r).delete_vpc_endpoints([self.id]),
        VPCGatewayAttachment: attachment_delete,
        Volume: lambda self, a, r: ec2(a, r).delete_volume(self.id),
        Cluster: lambda self, a, r: ecs_backends[a][r].delete_cluster(self.name),
        Service: lambda self, a, r: ecs_backends[a][r].delete_service(self.cluster_name, self.name, force=True),
        TaskDefinition: lambda self, a, r: ecs_backends[a][r].deregister_task_definition(self.arn),
        FakeListener: lambda self, a, r: elbv2_backends[a][r].delete_listener(self.arn),
        FakeListenerRule: lambda self, a, r: elbv2_backends[a][r].delete_rule(self.arn),
        FakeTargetGroup: lambda self, a, r: elbv2_backends[a][r].delete_target_group(self.arn),
    }
    def idempotent(delete: Any) -> Any:
        # moto deletes in passes, ignoring DependsOn: a route table may go before its routes and
        # associations (it takes them along). Something already gone counts as deleted.
        def run(self: Any, account_id: str, region_name: str) -> None:
            try:
                delete(self, account_id, region_name)
            except Exception as e:
                if "NotFound" in type(e).__name__ or "does not exist" in str(e):
                    return
                raise

        return run

    for model, delete in deletes.items():
        assert not hasattr(model, "delete"), f"moto now deletes {model.__name__}: drop this patch"
        model.delete = idempotent(delete)  # type: ignore[attr-defined]


def _patch_deletion_policy_snapshot() -> None:
    """Gap: moto honours only `DeletionPolicy: Retain`; `Snapshot` (the data hosts' EBS volumes,
    production's ElastiCache replication group) deletes without a snapshot. Take the snapshot first, as CloudFormation does, so the
    data survives in a snapshot the test can find."""
    from moto.cloudformation.parsing import ResourceMap
    from moto.ec2.models import ec2_backends

    original = ResourceMap._delete_resource

    def _delete_resource(self: ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        if (
            resource_json.get("DeletionPolicy") == "Snapshot"
            and resource_json.get("Type") == "AWS::EC2::Volume"
            and not getattr(parsed_resource, "deletion_snapshot", None)
        ):
            backend = ec2_backends[self._account_id][self._region_name]
            snapshot = backend.create_snapshot(
                parsed_resource.id, f"DeletionPolicy Snapshot of {parsed_resource.logical_resource_id}"
            )
            backend.create_tags([snapshot.id], {"aws:cloudformation:logical-id": parsed_resource.logical_resource_id})
            # moto retries failed deletions in passes: snapshot once.
            parsed_resource.deletion_snapshot = snapshot.id
        if (
            resource_json.get("DeletionPolicy") == "Snapshot"
            and resource_json.get("Type") == "AWS::ElastiCache::ReplicationGroup"
            and not parsed_resource.extra.get("deletion_snapshot")
        ):
            # Production's Valkey: CloudFormation takes a final snapshot of the group.
            from moto.elasticache.models import elasticache_backends

            name = f"{parsed_resource.physical_id}-final"
            elasticache_backends[self._account_id][self._region_name].create_snapshot(
                snapshot_name=name,
                replication_group_id=parsed_resource.physical_id,
                cache_cluster_id=None,
                kms_key_id=None,
                tags=[{"Key": "aws:cloudformation:logical-id", "Value": parsed_resource.logical_id}],
            )
            parsed_resource.extra["deletion_snapshot"] = name
        try:
            original(self, parsed_resource, resource_json)
        except Exception as e:
            if os.environ.get("TRACKER_MOTO_DEBUG"):
                print(f"delete {resource_json.get('Type')} {parsed_resource.logical_resource_id}: {e!r}", file=sys.stderr)
            raise

    ResourceMap._delete_resource = _delete_resource  # type: ignore[method-assign]


def _patch_deleted_stack_outputs() -> None:
    """Bug: moto resolves a stack's outputs lazily on every DescribeStacks, also once the stack is
    DELETE_COMPLETE; the resources are gone from its resource map by then, so resolving an output
    (`Fn::GetAtt` of production's Redis endpoint) *creates the resource again*: describing the
    deleted data stack by id brought its ElastiCache group back. CloudFormation keeps a deleted
    stack's outputs as they were: record them before the deletion and answer those."""
    from moto.cloudformation.models import Stack as FakeStack

    original_delete = FakeStack.delete
    original_outputs = FakeStack.outputs

    def delete(self: Any) -> None:
        self._outputs_at_delete = original_outputs.fget(self)  # type: ignore[attr-defined]
        original_delete(self)

    def outputs(self: Any) -> Any:
        if self.status == "DELETE_COMPLETE" and hasattr(self, "_outputs_at_delete"):
            return self._outputs_at_delete
        return original_outputs.fget(self)

    FakeStack.delete = delete  # type: ignore[method-assign]
    FakeStack.outputs = property(outputs)  # type: ignore[method-assign, assignment]


def _patch_s3_bucket_properties() -> None:
    """Bug: moto's Bucket model applies only BucketEncryption and Tags: VersioningConfiguration,
    PublicAccessBlockConfiguration and OwnershipControls are dropped (the buckets came up
    unversioned with no public-access block). Apply them through the backend, as the S3 API
    would. (LifecycleConfiguration and LoggingConfiguration stay unapplied: moto's backend takes
    the XML API's shapes for both, and nothing here reads them back.)"""
    from moto.s3.models import FakeBucket, s3_backends

    original = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    @classmethod  # type: ignore[misc]
    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        bucket = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        p = cloudformation_json.get("Properties", {})
        backend = s3_backends[account_id][get_partition(region_name)]
        if (p.get("VersioningConfiguration") or {}).get("Status"):
            backend.put_bucket_versioning(bucket.name, p["VersioningConfiguration"]["Status"])
        if p.get("PublicAccessBlockConfiguration"):
            backend.put_public_access_block(bucket.name, {k: str(v).lower() for k, v in p["PublicAccessBlockConfiguration"].items()})
        if (p.get("OwnershipControls") or {}).get("Rules"):
            backend.put_bucket_ownership_controls(bucket.name, p["OwnershipControls"]["Rules"][0]["ObjectOwnership"])
        return bucket

    FakeBucket.create_from_cloudformation_json = create  # type: ignore[method-assign]


def _patch_bucket_policy_conditions() -> None:
    """Bug: moto's S3 enforces bucket policies but ignores their `Condition`s, so a conditional
    Deny is read as unconditional. The CDK bootstrap bucket and every bucket with `enforceSSL`
    carry `Deny s3:* if aws:SecureTransport = false`, which then denies every request (asset
    publishing fails with 403). Enforce only the statements without a Condition; the stored
    policy (GetBucketPolicy) stays as the template wrote it."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        document["Statement"] = [s for s in statements if "Condition" not in s]
        if not document["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(document)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _references(value: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref, Fn::GetAtt, ${X} / ${X.Attr} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                if isinstance(inner, list):
                    found |= _references(inner[1])
            else:
                found |= _references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _references(inner)
    return found


def _patch_update_propagation() -> None:
    """Bug: moto's UpdateStack diffs the template text only (ResourceMap.build_resource_diff). A
    resource whose own text is unchanged but which refers to a resource that this update replaced
    keeps the old value: a new image tag registers a new task definition revision, but the ECS
    service (`TaskDefinition: {Ref: ...}`, textually unchanged) stays on the old revision.
    CloudFormation re-resolves and updates such dependents. After moto's update, update every
    resource that refers to one whose physical id changed, until nothing changes."""
    from moto.cloudformation.parsing import ResourceMap, parse_and_update_resource

    original = ResourceMap.update

    def physical(resource: Any) -> Any:
        return getattr(resource, "physical_resource_id", None)

    def update(self: ResourceMap, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        before = {
            name: physical(resource)
            for name, resource in self._parsed_resources.items()
            if name in self._resource_json_map
        }
        original(self, template, parameters)
        changed = {
            name
            for name, old in before.items()
            if name in self._parsed_resources and physical(self._parsed_resources[name]) != old
        }
        updated: set[str] = set()
        while changed:
            next_changed: set[str] = set()
            for name, resource_json in self._resource_json_map.items():
                if name in updated or name not in self._parsed_resources:
                    continue
                if not (_references(resource_json) & changed):
                    continue
                old = physical(self._parsed_resources[name])
                new = parse_and_update_resource(
                    name, resource_json, self, account_id=self._account_id, region_name=self._region_name
                )
                updated.add(name)
                if new is not None:
                    self._parsed_resources[name] = new
                    if physical(new) != old:
                        next_changed.add(name)
            changed = next_changed

    ResourceMap.update = update  # type: ignore[method-assign]


def _patch_change_set_lookups() -> None:
    """Bugs in moto's change-set lookups that break the CDK CLI's change-set path
    (`cdk deploy --method=prepare-change-set`), which first deletes a leftover change set of the
    same name and waits until DescribeChangeSet says ChangeSetNotFound:

    - DeleteChangeSet of a name that does not exist raises UnboundLocalError (HTTP 500; the CLI
      retries for ~45 s, then fails with "XML parse error"). CloudFormation treats it as done.
    - DescribeChangeSet of a missing change set answers ValidationError "Stack with id ... does
      not exist" instead of ChangeSetNotFoundException. Answer the modelled exception.
    """
    from moto.cloudformation.exceptions import CloudFormationError, ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFoundException"

    def known(self: Any, name: str) -> bool:
        return name in self.change_sets or any(cs.change_set_name == name for cs in self.change_sets.values())

    original_delete = CloudFormationBackend.delete_change_set
    original_describe = CloudFormationBackend.describe_change_set

    def delete_change_set(self: Any, change_set_name: str) -> None:
        if known(self, change_set_name):
            original_delete(self, change_set_name)

    def describe_change_set(self: Any, change_set_name: str) -> Any:
        try:
            return original_describe(self, change_set_name)
        except ValidationError:
            if known(self, change_set_name):
                raise
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist") from None

    CloudFormationBackend.delete_change_set = delete_change_set  # type: ignore[method-assign]
    CloudFormationBackend.describe_change_set = describe_change_set  # type: ignore[method-assign]


def _register_models() -> None:
    """moto builds its type map from CloudFormationModel's *direct* subclasses (lru-cached); the
    models above subclass `_Gap`, so add them to the list and drop the caches."""
    from moto.cloudformation import parsing

    original = parsing.get_model_list

    def get_model_list() -> list[type[CloudFormationModel]]:
        return [m for m in original() if m is not _Gap] + MODELS

    parsing.get_model_list = get_model_list  # type: ignore[assignment]
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


def seed_certificate(arn: str) -> None:
    """Not a gap: an external prerequisite. The stacks take an existing ACM certificate by ARN (in
    a real account it exists before the first deploy); moto's ELBv2 rightly refuses a listener
    whose certificate ACM does not know. Put a certificate under exactly that ARN into moto's
    ACM backend, as the account's owner would have."""
    from moto.acm.models import acm_backends

    parts = arn.split(":")
    region, account_id = parts[3], parts[4]
    backend = acm_backends[account_id][region]
    generated = backend.request_certificate("tracker.test", None, [], [])
    bundle = backend._certificates.pop(generated)
    bundle.arn = arn
    backend._certificates[arn] = bundle


def install() -> None:
    _register_models()
    _patch_efs()
    _patch_kms_key_tags()
    _patch_elbv2_full_names()
    _patch_security_group_ingress_id()
    _patch_ec2_properties()
    _patch_ec2_instance()
    _patch_elbv2_network()
    _patch_ecs()
    _patch_ecs_run_task()
    _patch_missing_deletes()
    _patch_bucket_policy_conditions()
    _patch_update_propagation()
    _patch_change_set_lookups()
    _patch_deletion_policy_snapshot()
    _patch_deleted_stack_outputs()
    _patch_s3_bucket_properties()
