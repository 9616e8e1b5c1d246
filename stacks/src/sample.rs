//! The sample stack: one Fargate service behind an ALB, written on the bindings.
//!
//! A line-by-line mirror of `test/differential/sample.js`; the differential test asserts that both
//! synthesize byte-identical templates. Keep the two in step.

use cdk_from_rust::aws_cdk_lib::aws_applicationautoscaling::EnableScalingProps;
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{Alarm, MetricOptions};
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    AlarmProps, AlarmPropsRequired, ComparisonOperator,
};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    SubnetConfiguration, SubnetConfigurationRequired, SubnetType, Vpc, VpcProps,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    AuthorizationConfig, AwsLogDriverProps, Cluster, ClusterProps, ContainerDefinitionOptions,
    ContainerImage, ContainerInsights, CpuUtilizationScalingProps, DeploymentCircuitBreaker,
    EfsVolumeConfiguration, FargateService, FargateServiceProps, FargateServicePropsRequired,
    FargateTaskDefinition, FargateTaskDefinitionProps, LogDrivers, MountPoint, MountPointRequired,
    PortMapping, Protocol, Secret, Volume,
};
use cdk_from_rust::aws_cdk_lib::aws_efs::{
    AccessPointOptions, Acl, AclRequired, FileSystem, FileSystemProps, PosixUser, PosixUserRequired,
};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2::{
    AddApplicationTargetsProps, ApplicationLoadBalancer, ApplicationLoadBalancerProps,
    ApplicationProtocol, BaseApplicationListenerProps, HealthCheck, ListenerAction,
    ListenerCondition,
};
use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::{Secret as SmSecret, SecretProps};
use cdk_from_rust::aws_cdk_lib::{
    App, CfnOutput, CfnOutputProps, Duration, RemovalPolicy, Stack, StackProps,
};

/// Adds the sample stack to `app`.
pub fn sample(app: &App) -> Stack {
    let stack = Stack::new_with(
        app,
        "SampleStack",
        StackProps::new().description("cdk-from-rust sample: one Fargate service behind an ALB"),
    );

    let vpc = Vpc::new_with(
        stack,
        "Vpc",
        VpcProps::new()
            .max_azs(2)
            .nat_gateways(1)
            .subnet_configuration([
                SubnetConfiguration::new(SubnetConfigurationRequired {
                    name: "public",
                    subnet_type: SubnetType::Public,
                })
                .cidr_mask(24),
                SubnetConfiguration::new(SubnetConfigurationRequired {
                    name: "private",
                    subnet_type: SubnetType::PrivateWithEgress,
                })
                .cidr_mask(22),
            ]),
    );
    let cluster = Cluster::new_with(
        stack,
        "Cluster",
        ClusterProps::new()
            .vpc(vpc)
            .container_insights_v2(ContainerInsights::Enabled),
    );
    let secret = SmSecret::new_with(
        stack,
        "ApiSecret",
        SecretProps::new().description("API signing key"),
    );

    let file_system = FileSystem::new(
        stack,
        "State",
        FileSystemProps::new(vpc)
            .encrypted(true)
            .removal_policy(RemovalPolicy::Retain),
    );
    let access_point = file_system.add_access_point_with(
        "StateAccess",
        AccessPointOptions::new()
            .path("/state")
            .posix_user(PosixUser::new(PosixUserRequired {
                gid: "1000",
                uid: "1000",
            }))
            .create_acl(Acl::new(AclRequired {
                owner_gid: "1000",
                owner_uid: "1000",
                permissions: "750",
            })),
    );

    let task_definition = FargateTaskDefinition::new_with(
        stack,
        "Task",
        FargateTaskDefinitionProps::new()
            .cpu(512)
            .memory_limit_mib(1024),
    );
    task_definition.add_volume(
        Volume::new("state").efs_volume_configuration(
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
        "api",
        ContainerDefinitionOptions::new(ContainerImage::from_registry(
            "public.ecr.aws/nginx/nginx:1.27",
        ))
        .environment([("LOG_LEVEL", "info")])
        .secrets([("API_KEY", Secret::from_secrets_manager(secret))])
        .port_mappings([PortMapping::new(8000).protocol(Protocol::Tcp)])
        .logging(LogDrivers::aws_logs(AwsLogDriverProps::new("api"))),
    );
    container.add_mount_points([MountPoint::new(MountPointRequired {
        container_path: "/state",
        read_only: false,
        source_volume: "state",
    })]);

    let service = FargateService::new(
        stack,
        "Service",
        FargateServiceProps::new(FargateServicePropsRequired {
            cluster,
            task_definition,
        })
        .desired_count(2)
        .min_healthy_percent(100)
        .circuit_breaker(DeploymentCircuitBreaker::new().enable(true).rollback(true)),
    );
    file_system.connections().allow_default_port_from(service);

    let alb = ApplicationLoadBalancer::new(
        stack,
        "Alb",
        ApplicationLoadBalancerProps::new(vpc).internet_facing(true),
    );
    let listener = alb.add_listener(
        "Http",
        BaseApplicationListenerProps::new()
            .port(80)
            .open(true)
            .default_action(ListenerAction::fixed_response(404)),
    );
    listener.add_targets(
        "Api",
        AddApplicationTargetsProps::new()
            .priority(10)
            .conditions([ListenerCondition::host_headers(["api.example.com"])])
            .port(8000)
            .protocol(ApplicationProtocol::Http)
            .targets([&service])
            .health_check(
                HealthCheck::new()
                    .path("/health")
                    .interval(Duration::seconds(30))
                    .timeout(Duration::seconds(5))
                    .healthy_threshold_count(2)
                    .unhealthy_threshold_count(3),
            ),
    );

    let scaling = service.auto_scale_task_count(EnableScalingProps::new(6).min_capacity(2));
    scaling.scale_on_cpu_utilization("Cpu", CpuUtilizationScalingProps::new(60));

    Alarm::new(
        stack,
        "HighCpu",
        AlarmProps::new(AlarmPropsRequired {
            evaluation_periods: 3,
            metric: service
                .metric_cpu_utilization_with(MetricOptions::new().period(Duration::minutes(1))),
            threshold: 90,
        })
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold),
    );
    CfnOutput::new(
        stack,
        "Url",
        CfnOutputProps::new(alb.load_balancer_dns_name()),
    );
    stack
}
