//! cdk-nag's AwsSolutions pack, applied to the whole app at synthesis, and the findings this
//! repository accepts.
//!
//! Every acknowledgment is a row of a table: the construct path from the app, starting with the
//! stack's name (the data stack's for the network, platform and data plane, the services stack's
//! for task definitions and sites; public API, like every construct id), the rule (with cdk-nag's finding suffix where the rule reports one, so only
//! that finding is accepted), and the reason a reviewer accepts. An acknowledgment covers the
//! construct and its children. cdk-nag writes the accepted rules into each resource's
//! `Metadata.cdk_nag`, so the templates carry the audit trail.

use cdk_from_rust::aws_cdk_lib::{
    Acknowledgment, AcknowledgmentRequired, Annotations, App, Stack, Validations,
};
use cdk_from_rust::cdk_nag::{AwsSolutionsChecks, NagPackProps};
use cdk_from_rust::constructs::IConstruct;

use crate::settings::{Environment, Settings};

/// Registers the AwsSolutions checks as a validation plugin of `app`: an unacknowledged error
/// fails synthesis, naming the rule, the resource and the construct path.
pub fn apply(app: &App) {
    Validations::of(app).add_plugins([AwsSolutionsChecks::new_with(
        app,
        NagPackProps::new().write_suppressions_to_cloud_formation(true),
    )]);
}

/// The task definitions: construct id and service name.
pub(crate) const TASKS: [(&str, &str); 8] = [
    ("Api", "api"),
    ("Frontend", "frontend"),
    ("Admin", "admin"),
    ("TrackerFetcher", "tracker-fetcher"),
    ("UnifiedGeofence", "unified-geofence"),
    ("NotificationService", "notification-service"),
    ("MaterializedViewService", "materialized-view-service"),
    ("Migrate", "api"),
];

const ENDPOINTS: [&str; 5] = ["EcrApi", "EcrDocker", "Logs", "SecretsManager", "Ssm"];

const ENV_VARS: &str = "plain environment values are non-secret configuration (ENVIRONMENT, \
    PUBLIC_DOMAIN, DATABASE_NAME, <DEPENDENCY>_HOST/_PORT, DB_SSLMODE, and the env settings, where \
    names that look like credentials are refused); credentials reach the container as ECS secrets from \
    Secrets Manager";
const STAR: &str = "actions without resource-level permissions: ecr:GetAuthorizationToken \
    (execution role) and the ssmmessages channel actions and logs:DescribeLogGroups of ECS Exec \
    (task role) accept only Resource *; exec sessions write only to the service's own log group";
const ROTATION: &str = "generated credential of a self-managed data store (PostgreSQL, \
    Valkey/ElastiCache AUTH): automatic rotation needs a rotation Lambda that also changes the \
    password in the store and restarts consumers; until one exists a password is changed by hand \
    as the README's data-plane operations describe";
const SSM_CORE: &str = "AmazonSSMManagedInstanceCore: Session Manager access instead of SSH \
    (no key pair, no port 22)";
const CW_AGENT: &str = "CloudWatchAgentServerPolicy: the CloudWatch agent publishes the disk-use \
    metric the disk alarm watches";
const DESCRIBE: &str = "ec2:DescribeVolumes has no resource-level permissions; the host's boot \
    script uses it to wait until its own data volume (by id) is available before attaching it";
/// The data plane's generated credentials (construct ids under `Data` in staging, `Database` in
/// production).
pub(crate) const STAGING_SECRETS: [&str; 3] = ["SuperuserSecret", "AppSecret", "ValkeySecret"];
pub(crate) const PRODUCTION_SECRETS: [&str; 5] = [
    "SuperuserSecret",
    "ReplicationSecret",
    "RewindSecret",
    "RestApiSecret",
    "AppSecret",
];
pub(crate) const BACKUP_BUCKET: &str = "the pgBackRest repository bucket: the database nodes' \
    role is the only principal the template grants access to it (its own prefix), the bucket \
    policy denies non-TLS requests and public access is blocked; access logging would need \
    another bucket";
pub(crate) const NLB_LOGS: &str = "NLB access logs only record TLS listeners; this NLB forwards \
    TCP 5432 and PostgreSQL does its own TLS: the nodes' user data sets ssl on and pg_hba accepts \
    network connections only as hostssl (hostnossl ... reject)";
const TRAFFIC_SHIFT: &str = "the AWS managed policy ECS documents for blue/green, linear and \
    canary deployments (AmazonECSInfrastructureRolePolicyForLoadBalancers): ECS changes the \
    service's listener rule weights and target registrations with it, and AWS keeps it current \
    as those deployments gain API calls; only ecs.amazonaws.com can assume the role";
const PINNED_AMI: &str = "the AMI is pinned on purpose (an SSM latest-AMI lookup would replace \
    the database host whenever a new image ships)";

/// `(construct path from the app: stack name first, rule, reason)` of every accepted finding of
/// `settings`' environment (its data stack and its services stack).
pub fn acknowledgments(settings: &Settings) -> Vec<(String, String, String)> {
    let data = settings.environment.data_stack_name();
    let services = settings.environment.stack_name();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut add = |stack: &str, path: &str, rule: &str, reason: &str| {
        rows.push((
            format!("{stack}/{path}"),
            rule.to_string(),
            reason.to_string(),
        ))
    };
    for endpoint in ENDPOINTS {
        add(
            data,
            &format!("Network/Vpc/{endpoint}"),
            "AwsSolutions-EC23",
            "the interface endpoint admits 443 from the VPC CIDR only; cdk-nag cannot evaluate \
             the CIDR because it is an Fn::GetAtt of the VPC",
        );
    }
    add(
        data,
        "Platform/Alb",
        "AwsSolutions-EC23",
        "internet-facing ALB: 443 (and 80, which only redirects to 443) from anywhere is its \
         purpose; admin is limited by a source-ip listener condition and WAF",
    );
    add(
        data,
        "Platform/AlbAccessLogs",
        "AwsSolutions-S1",
        "this bucket is the ALB access-log destination, written only by ELB log delivery; \
         logging access to it would need yet another bucket",
    );
    for (task, service) in TASKS {
        if !settings.enabled(service) {
            continue;
        }
        let path = format!("{task}/TaskDefinition");
        add(services, &path, "AwsSolutions-ECS2", ENV_VARS);
        add(services, &path, "AwsSolutions-IAM5[Resource::*]", STAR);
    }
    add(
        services,
        "Anisette/TaskDefinition",
        "AwsSolutions-IAM5[Resource::*]",
        STAR,
    );
    for (id, service) in &TASKS[..3] {
        if settings.enabled(service) && settings.deployment_of(service).shifts_traffic() {
            add(
                services,
                &format!("{id}/TrafficShiftRole"),
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/\
                 AmazonECSInfrastructureRolePolicyForLoadBalancers]",
                TRAFFIC_SHIFT,
            );
        }
    }
    for t in &settings.scheduled_tasks {
        let path = format!("ScheduledTasks/{}", t.name);
        let task = format!("{path}/TaskDefinition");
        add(services, &task, "AwsSolutions-ECS2", ENV_VARS);
        add(services, &task, "AwsSolutions-IAM5[Resource::*]", STAR);
        add(
            services,
            &format!("{path}/DeadLetterQueue"),
            "AwsSolutions-SQS3",
            "this queue is the dead-letter queue of the task's EventBridge Scheduler schedule              (its target's DeadLetterConfig, which cdk-nag does not follow); a dead-letter queue              of its own would hold nothing, and its depth is alarmed on",
        );
    }
    for site in ["Docs", "Redoc"] {
        let path = format!("{site}/Distribution");
        if settings.cloudfront_certificate().is_none() {
            add(
                services,
                &path,
                "AwsSolutions-CFR4",
                "served on the default *.cloudfront.net certificate, whose TLS policy CloudFront \
                 fixes; setting cloudfrontCertificateArn applies TLSv1.2_2021",
            );
        }
        add(
            services,
            &path,
            "AwsSolutions-CFR1",
            "public API documentation: no reason to restrict by country",
        );
        add(
            services,
            &path,
            "AwsSolutions-CFR2",
            "static, public, read-only files from S3 through origin access control: no \
             application behind it for WAF to protect",
        );
    }
    let attach = format!(
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:{}:{}:instance/*]",
        settings.region, settings.account
    );
    let attach_reason = "ec2:AttachVolume must name the instance, whose id does not exist before \
        the role (a cycle); the statement is conditioned on the volume's grant tag, so only the \
        data volume can be attached";
    let managed = |name: &str| {
        format!("AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]")
    };
    match settings.environment {
        Environment::Staging => {
            add(
                data,
                "Data/Instance",
                "AwsSolutions-EC28",
                "staging host: 5-minute basic monitoring is enough; the production Patroni nodes \
                 have detailed monitoring",
            );
            add(
                data,
                "Data/Instance",
                "CloudFormation-Validate::W9010",
                PINNED_AMI,
            );
            add(
                data,
                "Data/Role",
                &managed("AmazonSSMManagedInstanceCore"),
                SSM_CORE,
            );
            add(
                data,
                "Data/Role",
                &managed("CloudWatchAgentServerPolicy"),
                CW_AGENT,
            );
            add(
                data,
                "Data/Role",
                "AwsSolutions-IAM5[Resource::*]",
                DESCRIBE,
            );
            add(data, "Data/Role", &attach, attach_reason);
            add(
                data,
                "Data/Backup",
                &managed("service-role/AWSBackupServiceRolePolicyForBackup"),
                "the AWS Backup service role policy is how AWS Backup is allowed to snapshot the \
                 data volume",
            );
            for secret in STAGING_SECRETS {
                add(
                    data,
                    &format!("Data/{secret}"),
                    "AwsSolutions-SMG4",
                    ROTATION,
                );
            }
        }
        Environment::Production => {
            for node in ["NodeA", "NodeB", "NodeC"] {
                add(
                    data,
                    &format!("Database/{node}"),
                    "CloudFormation-Validate::W9010",
                    PINNED_AMI,
                );
            }
            add(
                data,
                "Database/Role",
                &managed("AmazonSSMManagedInstanceCore"),
                SSM_CORE,
            );
            add(
                data,
                "Database/Role",
                &managed("CloudWatchAgentServerPolicy"),
                CW_AGENT,
            );
            add(
                data,
                "Database/Role",
                "AwsSolutions-IAM5[Resource::*]",
                &format!(
                    "{DESCRIBE}; cloudwatch:PutMetricData has no resource-level permissions \
                     either and is conditioned on the Tracker/Patroni namespace"
                ),
            );
            add(data, "Database/Role", &attach, attach_reason);
            add(data,
                "Database/Role",
                "AwsSolutions-IAM5[Resource::<DatabaseBackups204EFA11.Arn>/pgbackrest/production-database/*]",
                "pgBackRest reads, writes and expires (deletes) the objects of its repository, \
                 which is exactly this prefix of the backup bucket",
            );
            add(data, "Database/Nlb", "AwsSolutions-ELB2", NLB_LOGS);
            add(data, "Database/Backups", "AwsSolutions-S1", BACKUP_BUCKET);
            for secret in PRODUCTION_SECRETS {
                add(
                    data,
                    &format!("Database/{secret}"),
                    "AwsSolutions-SMG4",
                    ROTATION,
                );
            }
            add(data, "Redis/AuthToken", "AwsSolutions-SMG4", ROTATION);
        }
    }
    rows
}

/// Records the acknowledgments of [`acknowledgments`] of `settings`' environment on the
/// constructs of `app`.
pub fn acknowledge(app: &App, settings: &Settings) {
    for (path, rule, reason) in acknowledgments(settings) {
        let construct = find(app, &path);
        Validations::of(construct).acknowledge([Acknowledgment::new(AcknowledgmentRequired {
            id: rule.as_str(),
            reason: reason.as_str(),
        })]);
    }
    // aws-cdk-lib warns about any image given by registry URL; the Anisette image is the mirrored
    // ECR repository, and its execution role is granted pull on it explicitly.
    let anisette = format!(
        "{}/Anisette/TaskDefinition/anisette-v3",
        settings.environment.stack_name()
    );
    Annotations::of(find(app, &anisette)).acknowledge_warning_with(
        "@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
        "the execution role is granted pull on tracker/anisette-v3",
    );
}

/// Accepts the findings of `TrackerRegistry`.
pub fn acknowledge_registry(stack: Stack, settings: &Settings) {
    if settings.ci_repository.is_some() {
        let role = ["Images", "CiRole"]
            .iter()
            .fold(IConstruct::from(stack), |scope, id| {
                scope.node().find_child(*id)
            });
        Validations::of(role).acknowledge([Acknowledgment::new(AcknowledgmentRequired {
            id: "AwsSolutions-IAM5[Resource::*]",
            reason:
                "ecr:GetAuthorizationToken has no resource-level permissions (docker login to the \
             registry); every push and pull action is limited to the tracker repositories",
        })]);
    }
}

/// The construct at `path` (ids joined by `/`, the stack's first) under `app`; aws-cdk-lib
/// reports a missing one.
pub(crate) fn find(app: &App, path: &str) -> IConstruct {
    path.split('/').fold(IConstruct::from(*app), |scope, id| {
        scope.node().find_child(id)
    })
}
