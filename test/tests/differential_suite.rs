//! The differential suite: one app written through the Rust bindings here and directly against
//! aws-cdk-lib in `test/differential/suite.js`, line by line. The test requires byte-identical
//! templates, asset manifests, `manifest.json`, `tree.json` and validation report; the stack's
//! `<stack>.metadata.json` is compared with only its stack traces left out (the creation stack of
//! each construct and the trace of each annotation name the source lines that made them: Rust
//! lines and the shim on one side, JavaScript lines on the other, which is the point of the
//! bridge), and the Rust side's are checked to name this file.
//!
//! The test also checks what it covers, from what was actually recorded and synthesized: every
//! op kind of the Program schema, every value form, at least 40 distinct jsii fqns from at least
//! 10 aws-cdk-lib modules (ECS, ELBv2 and its targets, EFS, IAM, Lambda, Route 53, CloudWatch
//! among them).
//!
//! To add a case: write it in both files at the same place (same construct ids, same order), run
//! `cargo test -p tracker-tests --test differential_suite`; a difference names the file and the
//! first differing line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    Alarm, AlarmProps, AlarmPropsRequired, ComparisonOperator, CreateAlarmOptions,
    CreateAlarmOptionsRequired, Dashboard, DashboardProps, GraphWidget, GraphWidgetProps, Metric,
    MetricOptions, MetricProps, MetricPropsRequired, Stats, TextWidget, TextWidgetProps,
    TreatMissingData, Unit,
};
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch_actions::{LambdaAction, SnsAction};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    IpAddresses, Peer, Port, SecurityGroup, SecurityGroupProps, SubnetConfiguration,
    SubnetConfigurationRequired, SubnetSelection, SubnetType, Vpc, VpcProps,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    AuthorizationConfig, AwsLogDriverProps, Cluster, ClusterProps, ContainerDefinitionOptions,
    ContainerImage, ContainerInsights, CpuArchitecture, DeploymentCircuitBreaker,
    EfsVolumeConfiguration, FargateService, FargateServiceProps, FargateServicePropsRequired,
    FargateTaskDefinition, FargateTaskDefinitionProps, LogDrivers, MountPoint, MountPointRequired,
    OperatingSystemFamily, PortMapping, Protocol as EcsProtocol, RuntimePlatform,
    Secret as EcsSecret, Volume,
};
use cdk_from_rust::aws_cdk_lib::aws_efs::{
    AccessPointOptions, Acl, AclRequired, FileSystem, FileSystemProps, LifecyclePolicy,
    PerformanceMode, PosixUser, PosixUserRequired, ThroughputMode,
};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2::{
    AddApplicationTargetsProps, ApplicationLoadBalancer, ApplicationLoadBalancerProps,
    ApplicationProtocol, BaseApplicationListenerProps, BaseNetworkListenerProps,
    FixedResponseOptions, HealthCheck, IApplicationLoadBalancerTarget, ListenerAction,
    ListenerCondition, NetworkLoadBalancer, NetworkLoadBalancerProps, NetworkTargetGroup,
    NetworkTargetGroupProps, Protocol, TargetType,
};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2_targets::{IpTarget, LambdaTarget};
use cdk_from_rust::aws_cdk_lib::aws_iam::{
    ArnPrincipal, Effect, ManagedPolicy, PolicyStatement, PolicyStatementProps, Role, RoleProps,
    ServicePrincipal,
};
use cdk_from_rust::aws_cdk_lib::aws_lambda::{
    Alias, AliasProps, AliasPropsRequired, Architecture, Code, Function, FunctionProps,
    FunctionPropsRequired, IAlias, Runtime, Tracing,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::{LogGroup, LogGroupProps, RetentionDays};
use cdk_from_rust::aws_cdk_lib::aws_route53::{
    ARecord, ARecordProps, ARecordPropsRequired, CnameRecord, CnameRecordProps,
    CnameRecordPropsRequired, PrivateHostedZone, PrivateHostedZoneProps,
    PrivateHostedZonePropsRequired, RecordTarget,
};
use cdk_from_rust::aws_cdk_lib::aws_s3::{
    BlockPublicAccess, Bucket, BucketEncryption, BucketProps,
};
use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::{Secret, SecretProps, SecretStringGenerator};
use cdk_from_rust::aws_cdk_lib::aws_sns::{ITopicSubscription, Topic, TopicProps};
use cdk_from_rust::aws_cdk_lib::aws_sqs::{
    CfnQueue, CfnQueueProps, Queue, QueueEncryption, QueueProps,
};
use cdk_from_rust::aws_cdk_lib::aws_ssm::{ParameterTier, StringParameter, StringParameterProps};
use cdk_from_rust::aws_cdk_lib::{
    App, Aws, CfnCondition, CfnConditionProps, CfnOutput, CfnOutputProps, CfnResource, Duration,
    Fn as CfnFn, IResolvable, RemovalPolicy, Stack, StackProps, Tags,
};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::program::{Op, Program, Value};
use cdk_from_rust::runtime::{call_op, ToValue};
use cdk_from_rust::{JsAny, JsObject, JsString, Opaque};
use serde_json::json;
use tracker_tests::{repo_root, synth_js, synth_program};

const THIS_FILE: &str = "test/tests/differential_suite.rs";

/// The suite's app, recorded (the mirror of `test/differential/suite.js`).
fn suite() -> Program {
    cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new_with(
            app,
            "DifferentialSuite",
            StackProps::new()
                .description("cdk-from-rust differential suite")
                .tags([("Owner", "platform"), ("Suite", "differential")]),
        );
        Tags::of(stack).add("CostCenter", "42");
        let network = Construct::new(stack, "Network");

        // ec2
        let vpc = Vpc::new_with(
            network,
            "Vpc",
            VpcProps::new()
                .ip_addresses(IpAddresses::cidr("10.20.0.0/16"))
                .max_azs(2)
                .nat_gateways(0)
                .restrict_default_security_group(false)
                .subnet_configuration([
                    SubnetConfiguration::new(SubnetConfigurationRequired {
                        name: "public",
                        subnet_type: SubnetType::Public,
                    })
                    .cidr_mask(24),
                    SubnetConfiguration::new(SubnetConfigurationRequired {
                        name: "isolated",
                        subnet_type: SubnetType::PrivateIsolated,
                    })
                    .cidr_mask(24),
                ]),
        );
        let sg = SecurityGroup::new(
            network,
            "ServiceSg",
            SecurityGroupProps::new(vpc).allow_all_outbound(false),
        );
        sg.add_ingress_rule_with(
            Peer::ipv4(vpc.vpc_cidr_block()),
            Port::tcp(8080),
            "from the VPC",
        );
        // A non-trailing `undefined` argument: the raw recording function with Value::undefined().
        call_op::<()>(
            sg.handle(),
            "addIngressRule",
            vec![
                Peer::ipv4("10.99.0.0/16").to_value(),
                Port::tcp_range(9000, 9001).to_value(),
                Value::undefined(),
                Value::Bool(false),
            ],
        );
        for subnet in vpc.public_subnets().expect_len(2) {
            sg.node().add_dependency([subnet]);
        }
        CfnOutput::new(
            stack,
            "FirstIsolatedSubnet",
            CfnOutputProps::new(vpc.isolated_subnets().at(0).subnet_id()),
        );

        // iam
        let role = Role::new(
            stack,
            "TaskRole",
            RoleProps::new(ServicePrincipal::new("ecs-tasks.amazonaws.com"))
                .description("the suite task role")
                .max_session_duration(Duration::hours(2))
                .managed_policies([ManagedPolicy::from_aws_managed_policy_name(
                    "CloudWatchAgentServerPolicy",
                )]),
        );
        let statement = PolicyStatement::new_with(
            PolicyStatementProps::new()
                .effect(Effect::Allow)
                .actions(["ssm:GetParameter"])
                .resources(["*"]),
        );
        statement.add_condition(
            "StringEquals",
            JsAny::map([("aws:PrincipalAccount", Aws::account_id())]),
        );
        statement.add_condition(
            "ForAnyValue:StringLike",
            JsAny::map([("aws:RequestTag/Env", JsAny::list(["dev", "prod"]))]),
        );
        role.add_to_policy(statement);
        role.grant_assume_role(ArnPrincipal::new("arn:aws:iam::111111111111:role/Operator"));

        // efs
        let file_system = FileSystem::new(
            stack,
            "Files",
            FileSystemProps::new(vpc)
                .vpc_subnets(SubnetSelection::new().subnet_type(SubnetType::PrivateIsolated))
                .performance_mode(PerformanceMode::GeneralPurpose)
                .throughput_mode(ThroughputMode::Bursting)
                .lifecycle_policy(LifecyclePolicy::After14Days)
                .removal_policy(RemovalPolicy::Destroy)
                .encrypted(true),
        );
        let access_point = file_system.add_access_point_with(
            "Data",
            AccessPointOptions::new()
                .path("/data")
                .posix_user(PosixUser::new(PosixUserRequired {
                    uid: "1000",
                    gid: "1000",
                }))
                .create_acl(Acl::new(AclRequired {
                    owner_uid: "1000",
                    owner_gid: "1000",
                    permissions: "750",
                })),
        );
        file_system.connections().allow_default_port_from(sg);

        // secrets, parameters, logs
        let secret = Secret::new_with(
            stack,
            "ApiKey",
            SecretProps::new().generate_secret_string(
                SecretStringGenerator::new()
                    .exclude_punctuation(true)
                    .password_length(32),
            ),
        );
        let parameter = StringParameter::new(
            stack,
            "Endpoint",
            StringParameterProps::new("https://example.com")
                .parameter_name("/suite/endpoint")
                .tier(ParameterTier::Standard),
        );
        let log_group = LogGroup::new_with(
            stack,
            "Logs",
            LogGroupProps::new()
                .retention(RetentionDays::TwoWeeks)
                .removal_policy(RemovalPolicy::Destroy),
        );

        // ecs
        let cluster = Cluster::new_with(
            stack,
            "Cluster",
            ClusterProps::new()
                .vpc(vpc)
                .container_insights_v2(ContainerInsights::Enabled),
        );
        let task_definition = FargateTaskDefinition::new_with(
            stack,
            "Task",
            FargateTaskDefinitionProps::new()
                .cpu(256)
                .memory_limit_mib(512)
                .task_role(role)
                .runtime_platform(
                    RuntimePlatform::new()
                        .cpu_architecture(CpuArchitecture::arm64())
                        .operating_system_family(OperatingSystemFamily::linux()),
                ),
        );
        task_definition.add_volume(
            Volume::new("data").efs_volume_configuration(
                EfsVolumeConfiguration::new(file_system.file_system_id())
                    .transit_encryption("ENABLED")
                    .authorization_config(
                        AuthorizationConfig::new()
                            .access_point_id(access_point.access_point_id())
                            .iam("ENABLED"),
                    ),
            ),
        );
        let container = task_definition.add_container(
            "app",
            ContainerDefinitionOptions::new(ContainerImage::from_registry(
                "public.ecr.aws/nginx/nginx:1.27",
            ))
            .environment([
                ("ENDPOINT_PARAMETER", parameter.parameter_name()),
                ("LOG_LEVEL", JsString::from("info")),
            ])
            .secrets([
                ("API_KEY", EcsSecret::from_secrets_manager(secret)),
                ("ENDPOINT", EcsSecret::from_ssm_parameter(parameter)),
            ])
            .logging(LogDrivers::aws_logs(
                AwsLogDriverProps::new("app").log_group(log_group),
            ))
            .port_mappings([PortMapping::new(8080).protocol(EcsProtocol::Tcp)])
            .essential(true),
        );
        container.add_mount_points([MountPoint::new(MountPointRequired {
            container_path: "/data",
            source_volume: "data",
            read_only: false,
        })]);
        let service = FargateService::new(
            stack,
            "Service",
            FargateServiceProps::new(FargateServicePropsRequired {
                cluster,
                task_definition,
            })
            .desired_count(vpc.isolated_subnets().length())
            .assign_public_ip(false)
            .security_groups([sg])
            .vpc_subnets(SubnetSelection::new().subnet_type(SubnetType::PrivateIsolated))
            .circuit_breaker(DeploymentCircuitBreaker::new().enable(true).rollback(true)),
        );

        // lambda
        let function = Function::new(
            stack,
            "Handler",
            FunctionProps::new(FunctionPropsRequired {
                runtime: Runtime::nodejs_24_x(),
                handler: "index.handler",
                code: Code::from_inline(
                    "exports.handler = async () => ({ statusCode: 200, body: \"ok\" });",
                ),
            })
            .architecture(Architecture::arm_64())
            .timeout(Duration::seconds(10))
            .memory_size(256)
            .environment([
                ("BUCKET_REGION", Aws::region()),
                ("TABLE", JsString::from("none")),
            ])
            .tracing(Tracing::Active),
        );
        // The escape hatch for a method: addEnvironment through call_unbound.
        Opaque::from(function).call_unbound(
            "addEnvironment",
            [
                JsAny::from("SERVICE_NAME"),
                JsAny::from(service.service_name()),
            ],
        );
        let alias = Alias::new(
            stack,
            "Live",
            AliasProps::new(AliasPropsRequired {
                alias_name: "live",
                version: function.current_version(),
            }),
        );

        // elbv2 and its targets
        let alb = ApplicationLoadBalancer::new(
            stack,
            "Alb",
            ApplicationLoadBalancerProps::new(vpc).internet_facing(true),
        );
        let listener = alb.add_listener(
            "Http",
            BaseApplicationListenerProps::new()
                .protocol(ApplicationProtocol::Http)
                .port(80)
                .default_action(ListenerAction::fixed_response_with(
                    404,
                    FixedResponseOptions::new()
                        .content_type("text/plain")
                        .message_body("no route"),
                )),
        );
        let service_group = listener.add_targets(
            "Service",
            AddApplicationTargetsProps::new()
                .priority(10)
                .conditions([ListenerCondition::path_patterns(["/app/*"])])
                .port(8080)
                .protocol(ApplicationProtocol::Http)
                .targets([IApplicationLoadBalancerTarget::from(service)])
                .health_check(
                    HealthCheck::new()
                        .path("/health")
                        .interval(Duration::seconds(15))
                        .healthy_http_codes("200-299"),
                )
                .deregistration_delay(Duration::seconds(5)),
        );
        listener.add_targets(
            "Function",
            AddApplicationTargetsProps::new()
                .priority(20)
                .conditions([ListenerCondition::path_patterns(["/fn/*"])])
                .targets([LambdaTarget::new(alias)]),
        );
        let nlb = NetworkLoadBalancer::new(
            stack,
            "Nlb",
            NetworkLoadBalancerProps::new(vpc)
                .internet_facing(false)
                .vpc_subnets(SubnetSelection::new().subnet_type(SubnetType::PrivateIsolated)),
        );
        let ip_group = NetworkTargetGroup::new(
            stack,
            "IpTargets",
            NetworkTargetGroupProps::new(5432)
                .vpc(vpc)
                .protocol(Protocol::Tcp)
                .target_type(TargetType::Ip)
                .targets([
                    IpTarget::new_with("10.20.2.10", 5432),
                    IpTarget::new("10.20.3.10"),
                ]),
        );
        nlb.add_listener(
            "Postgres",
            BaseNetworkListenerProps::new(5432).default_target_groups([ip_group]),
        );

        // route53 (an A record from a variadic static method)
        let zone = PrivateHostedZone::new(
            stack,
            "Zone",
            PrivateHostedZoneProps::new(PrivateHostedZonePropsRequired {
                zone_name: "suite.internal",
                vpc,
            }),
        );
        ARecord::new(
            stack,
            "AppRecord",
            ARecordProps::new(ARecordPropsRequired {
                zone,
                target: RecordTarget::from_ip_addresses(["10.20.1.10", "10.20.1.11"]),
            })
            .record_name("app"),
        );
        CnameRecord::new(
            stack,
            "NlbName",
            CnameRecordProps::new(CnameRecordPropsRequired {
                zone,
                domain_name: nlb.load_balancer_dns_name(),
            })
            .record_name("db")
            .ttl(Duration::minutes(1)),
        );

        // sns, sqs, and the escape hatch for a class of a module without bindings
        let topic = Topic::new_with(
            stack,
            "Alerts",
            TopicProps::new().display_name("suite alerts"),
        );
        let queue = Queue::new_with(
            stack,
            "AlertQueue",
            QueueProps::new()
                .retention_period(Duration::days(4))
                .encryption(QueueEncryption::SqsManaged),
        );
        topic.add_subscription(
            Opaque::new_unbound(
                "aws-cdk-lib.aws_sns_subscriptions.SqsSubscription",
                [
                    JsAny::object(&queue),
                    JsAny::map([("rawMessageDelivery", true)]),
                ],
            )
            .cast::<ITopicSubscription>(),
        );

        // cloudwatch
        let cpu = service.metric_cpu_utilization_with(
            MetricOptions::new()
                .period(Duration::minutes(1))
                .statistic("Average"),
        );
        let alarm = Alarm::new(
            stack,
            "CpuHigh",
            AlarmProps::new(AlarmPropsRequired {
                metric: &cpu,
                threshold: 87.5,
                evaluation_periods: 3,
            })
            .datapoints_to_alarm(2)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data(TreatMissingData::NotBreaching),
        );
        alarm.add_alarm_action([SnsAction::new(topic)]);
        let errors = Metric::new(
            MetricProps::new(MetricPropsRequired {
                namespace: "AWS/Lambda",
                metric_name: "Errors",
            })
            .dimensions_map([("FunctionName", function.function_name())])
            .statistic(Stats::sum())
            .period(Duration::minutes(5))
            .unit(Unit::Count),
        );
        let errors_alarm = errors.create_alarm(
            stack,
            "FunctionErrors",
            CreateAlarmOptions::new(CreateAlarmOptionsRequired {
                threshold: 1,
                evaluation_periods: 1,
            }),
        );
        // A union of interfaces (IAlias | IFunction | IVersion): the Alias converts into its
        // interface, the interface into the union.
        errors_alarm.add_alarm_action([LambdaAction::new(IAlias::from(alias))]);
        let dashboard = Dashboard::new_with(
            stack,
            "Dashboard",
            DashboardProps::new().dashboard_name("suite"),
        );
        dashboard.add_widgets([
            cdk_from_rust::aws_cdk_lib::aws_cloudwatch::IWidget::from(GraphWidget::new(
                GraphWidgetProps::new()
                    .title("CPU")
                    .left([cpu])
                    .right([errors])
                    .width(12),
            )),
            TextWidget::new(TextWidgetProps::new("# Suite").width(12).height(2)).into(),
        ]);

        // s3 and L1 unions
        let bucket = Bucket::new_with(
            stack,
            "Artifacts",
            BucketProps::new()
                .block_public_access(BlockPublicAccess::block_all())
                .encryption(BucketEncryption::S3Managed)
                .enforce_ssl(true)
                .removal_policy(RemovalPolicy::Retain),
        );
        bucket.grant_read(role);
        let cfn_bucket: CfnResource = Opaque::from(
            bucket
                .node()
                .default_child()
                .expect("a Bucket has its CfnBucket"),
        )
        .cast();
        cfn_bucket.add_property_override(
            "AnalyticsConfigurations",
            JsAny::from(json!([{ "Id": "all", "StorageClassAnalysis": {} }])),
        );
        let is_prod = CfnCondition::new_with(
            stack,
            "IsProd",
            CfnConditionProps::new()
                .expression(CfnFn::condition_equals(Aws::account_id(), "111111111111")),
        );
        CfnQueue::new_with(
            stack,
            "RawQueue",
            CfnQueueProps::new()
                .fifo_queue(false)
                .sqs_managed_sse_enabled(IResolvable::from(CfnFn::condition_if(
                    is_prod.logical_id(),
                    true,
                    false,
                )))
                .delay_seconds(5)
                .redrive_policy(JsAny::map([
                    ("deadLetterTargetArn", JsAny::from(queue.queue_arn())),
                    ("maxReceiveCount", JsAny::from(3)),
                ])),
        );

        // metadata, outputs, a property of a method's result
        stack.node().add_metadata(
            "suite:note",
            JsAny::from(json!({ "purpose": "differential", "cases": [1, 2.5, true] })),
        );
        call_op::<()>(
            stack.node().handle(),
            "addMetadata",
            vec![
                Value::String("suite:raw".into()),
                Value::Object(BTreeMap::from([
                    ("owner".to_string(), Value::Null),
                    ("ratio".to_string(), Value::number(0.25)),
                ])),
            ],
        );
        CfnOutput::new(
            stack,
            "AlbDns",
            CfnOutputProps::new(alb.load_balancer_dns_name())
                .description("the ALB")
                .export_name("SuiteAlbDns"),
        );
        CfnOutput::new(
            stack,
            "ServiceGroupFullName",
            CfnOutputProps::new(service_group.target_group_full_name()),
        );
        let cfn_nlb: CfnResource = Opaque::from(
            nlb.node()
                .default_child()
                .expect("a load balancer has its CfnLoadBalancer"),
        )
        .cast();
        cfn_nlb.add_property_override(
            "Subnets",
            // The raw read of a field (the typed one is `.subnet_ids()` on the StructRef).
            JsAny::object(&vpc.select_subnets_with(
                SubnetSelection::new().subnet_type(SubnetType::PrivateIsolated),
            ))
            .get("subnetIds"),
        );

        cdk_from_rust::synthesize(&app);
    })
    .0
}

/// Every file of an assembly directory, by name, as raw bytes.
fn assembly(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            assert!(
                e.file_type().unwrap().is_file(),
                "{:?} is not a file",
                e.path()
            );
            (
                e.file_name().into_string().unwrap(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A `<stack>.metadata.json` without its stack traces (`aws:cdk:creationStack` entries' data, every
/// entry's `trace`), and the traces' lines.
fn without_creation_stacks(bytes: &[u8]) -> (serde_json::Value, Vec<String>) {
    let mut metadata: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let mut lines = Vec::new();
    for entries in metadata.as_object_mut().unwrap().values_mut() {
        for entry in entries.as_array_mut().unwrap() {
            let entry = entry.as_object_mut().unwrap();
            if entry["type"] == "aws:cdk:creationStack" {
                for line in entry.remove("data").unwrap().as_array().unwrap() {
                    lines.push(line.as_str().unwrap().to_string());
                }
            }
            if let Some(trace) = entry.remove("trace") {
                for line in trace.as_array().unwrap() {
                    lines.push(line.as_str().unwrap().to_string());
                }
            }
        }
    }
    (metadata, lines)
}

/// The aws-cdk-lib module of an fqn (`core` for the root), or the package for other libraries.
fn module_of(fqn: &str) -> String {
    match fqn.strip_prefix("aws-cdk-lib.") {
        Some(rest) => match rest.split_once('.') {
            Some((module, _)) if module.starts_with("aws_") => module.to_string(),
            _ => "core".to_string(),
        },
        None => fqn.split('.').next().unwrap().to_string(),
    }
}

/// What a recorded Program exercises: op kinds, value forms, fqns (ops' and enums').
#[derive(Default)]
struct Coverage {
    op_kinds: BTreeSet<String>,
    value_forms: BTreeSet<&'static str>,
    fqns: BTreeSet<String>,
}

impl Coverage {
    fn of(program: &Program) -> Coverage {
        let json = serde_json::to_value(program).unwrap();
        let mut c = Coverage::default();
        for op in json["ops"].as_array().unwrap() {
            c.op_kinds.insert(op["op"].as_str().unwrap().to_string());
            if let Some(fqn) = op["fqn"].as_str() {
                c.fqns.insert(fqn.to_string());
            }
            for arg in op["args"].as_array().into_iter().flatten() {
                c.value(arg);
            }
        }
        c
    }

    fn value(&mut self, v: &serde_json::Value) {
        use serde_json::Value as J;
        let form = match v {
            J::Null => "null",
            J::Bool(_) => "bool",
            J::Number(n) if n.is_i64() || n.is_u64() => "integer",
            J::Number(_) => "float",
            J::String(_) => "string",
            J::Array(items) => {
                items.iter().for_each(|i| self.value(i));
                "array"
            }
            J::Object(o) if o.contains_key("$ref") => "$ref",
            J::Object(o) if o.contains_key("$undefined") => "$undefined",
            J::Object(o) if o.contains_key("$literal") => "$literal",
            J::Object(o) if o.contains_key("$enum") => {
                self.fqns.insert(o["$enum"].as_str().unwrap().to_string());
                "$enum"
            }
            J::Object(o) => {
                o.values().for_each(|i| self.value(i));
                "object"
            }
        };
        self.value_forms.insert(form);
    }
}

/// Every `constructInfo.fqn` in a `tree.json`.
fn tree_fqns(node: &serde_json::Value, out: &mut BTreeSet<String>) {
    if let Some(fqn) = node["constructInfo"]["fqn"].as_str() {
        out.insert(fqn.to_string());
    }
    for child in node["children"]
        .as_object()
        .into_iter()
        .flat_map(|c| c.values())
    {
        tree_fqns(child, out);
    }
}

#[test]
fn the_suite_synthesizes_the_same_assembly_from_rust_and_javascript() {
    let program = suite();
    let rust = tempfile::tempdir().unwrap();
    let js = tempfile::tempdir().unwrap();
    synth_program(&program, rust.path()).unwrap();
    synth_js(&repo_root().join("test/differential/suite.js"), js.path());
    let (r, j) = (assembly(rust.path()), assembly(js.path()));

    // The same files, byte for byte; the metadata file less its stack traces.
    assert_eq!(r.keys().collect::<Vec<_>>(), j.keys().collect::<Vec<_>>());
    for name in [
        "manifest.json",
        "tree.json",
        "DifferentialSuite.template.json",
        "DifferentialSuite.assets.json",
        "DifferentialSuite.metadata.json",
    ] {
        assert!(r.contains_key(name), "the assembly has no {name}");
    }
    // Templates first: a difference there is the one to read (the asset manifest and
    // manifest.json only repeat the template's hash).
    let mut names: Vec<&String> = r.keys().collect();
    names.sort_by_key(|n| (!n.ends_with(".template.json"), n.as_str()));
    for name in names {
        let bytes = &r[name];
        if name.ends_with(".metadata.json") {
            let (rust_meta, rust_lines) = without_creation_stacks(bytes);
            let (js_meta, js_lines) = without_creation_stacks(&j[name]);
            assert!(
                rust_meta == js_meta,
                "{name} (stack traces left out) differs between Rust and JavaScript"
            );
            // The traces name each side's own source: Rust lines here, JavaScript there.
            assert!(
                rust_lines.iter().any(|l| l.contains(THIS_FILE)),
                "{rust_lines:?}"
            );
            assert!(
                rust_lines.iter().all(|l| !l.contains("suite.js")),
                "{rust_lines:?}"
            );
            assert!(js_lines
                .iter()
                .any(|l| l.contains("test/differential/suite.js")));
        } else {
            assert!(
                bytes == &j[name],
                "{name} differs between the Rust and the JavaScript suite{}",
                first_difference(bytes, &j[name])
            );
        }
    }

    // What the suite covers, from what was recorded and synthesized.
    let coverage = Coverage::of(&program);
    let kinds: Vec<&str> = coverage.op_kinds.iter().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "call",
            "defined",
            "get",
            "length",
            "new",
            "static",
            "static-get"
        ],
        "every op kind of the Program schema"
    );
    let forms: Vec<&str> = coverage.value_forms.iter().copied().collect();
    assert_eq!(
        forms,
        [
            "$enum",
            "$literal",
            "$ref",
            "$undefined",
            "array",
            "bool",
            "float",
            "integer",
            "null",
            "object",
            "string"
        ],
        "every value form of the Program schema"
    );
    // The escape hatches and list reads, each recorded as the op it stands for.
    let ops: Vec<serde_json::Value> = serde_json::to_value(&program).unwrap()["ops"]
        .as_array()
        .unwrap()
        .clone();
    let has = |pred: &dyn Fn(&serde_json::Value) -> bool| ops.iter().any(pred);
    assert!(has(&|o| o["op"] == "new"
        && o["fqn"]
            == "aws-cdk-lib.aws_sns_subscriptions.SqsSubscription")); // new_unbound
    assert!(has(
        &|o| o["op"] == "call" && o["method"] == "addEnvironment"
    )); // call_unbound
    assert!(has(&|o| o["op"] == "get" && o["property"] == "0")); // JsArray::at
    assert!(has(&|o| o["op"] == "get" && o["property"] == "length")); // JsArray::length
    assert!(has(&|o| o["op"] == "get" && o["property"] == "subnetIds")); // JsAny::get

    let mut synthesized = BTreeSet::new();
    let tree: serde_json::Value = serde_json::from_slice(&r["tree.json"]).unwrap();
    tree_fqns(&tree["tree"], &mut synthesized);
    let recorded_modules: BTreeSet<String> = coverage.fqns.iter().map(|f| module_of(f)).collect();
    let all: BTreeSet<&String> = coverage.fqns.iter().chain(&synthesized).collect();
    let all_modules: BTreeSet<String> = all.iter().map(|f| module_of(f)).collect();
    eprintln!(
        "differential suite: {} fqns from {} modules recorded ({} with the synthesized tree's, \
         from {} modules); modules {recorded_modules:?}; op kinds {kinds:?}; value forms {forms:?}",
        coverage.fqns.len(),
        recorded_modules.len(),
        all.len(),
        all_modules.len(),
    );
    assert!(
        coverage.fqns.len() >= 40,
        "the suite records only {} fqns: {:?}",
        coverage.fqns.len(),
        coverage.fqns
    );
    assert!(
        recorded_modules.len() >= 10,
        "the suite records fqns of only {} modules: {recorded_modules:?}",
        recorded_modules.len()
    );
    for module in [
        "aws_ecs",
        "aws_elasticloadbalancingv2",
        "aws_elasticloadbalancingv2_targets",
        "aws_efs",
        "aws_iam",
        "aws_lambda",
        "aws_route53",
        "aws_cloudwatch",
    ] {
        assert!(
            recorded_modules.contains(module),
            "the suite records nothing of {module}"
        );
    }
}

/// ` (first difference at line N: ...)` for an assertion message.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    a.lines()
        .zip(b.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| {
            format!(
                " (first difference at line {}: rust {x:?}, javascript {y:?})",
                i + 1
            )
        })
        .unwrap_or_else(|| " (one is a prefix of the other)".to_string())
}

#[test]
fn the_suite_records_at_the_lines_of_this_file() {
    let program = suite();
    let foreign: Vec<&Op> = program
        .ops
        .iter()
        .filter(|op| op.site.file != THIS_FILE)
        .collect();
    assert!(foreign.is_empty(), "ops recorded elsewhere: {foreign:?}");
}
