//! cdk-nag's AwsSolutions pack, applied to the whole app at synthesis, and the findings this
//! repository accepts.
//!
//! Every acknowledgment is a row of a table: the construct path under the stack (public API, like
//! every construct id), the rule (with cdk-nag's finding suffix where the rule reports one, so only
//! that finding is accepted), and the reason a reviewer accepts. An acknowledgment covers the
//! construct and its children. cdk-nag writes the accepted rules into each resource's
//! `Metadata.cdk_nag`, so the templates carry the audit trail.

use cdk_from_rust::aws_cdk_lib::{Acknowledgment, Annotations, App, Stack, Validations};
use cdk_from_rust::cdk_nag::{AwsSolutionsChecks, NagPackProps};
use cdk_from_rust::constructs::IConstruct;

use crate::settings::{Environment, Settings};

/// Registers the AwsSolutions checks as a validation plugin of `app`: an unacknowledged error
/// fails synthesis, naming the rule, the resource and the construct path.
pub fn apply(app: &App) {
    Validations::of(app).add_plugins([AwsSolutionsChecks::new(
        app,
        Some(NagPackProps::new().write_suppressions_to_cloud_formation(true)),
    )]);
}

/// The task definitions: construct id and service name.
const TASKS: [(&str, &str); 8] = [
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
    PUBLIC_DOMAIN, DATABASE_NAME, <DEPENDENCY>_HOST/_PORT, and the env settings, where names that \
    look like credentials are refused); credentials reach the container as ECS secrets from \
    Secrets Manager";
const STAR: &str = "actions without resource-level permissions: ecr:GetAuthorizationToken \
    (execution role) and the ssmmessages channel and session-logging actions of ECS Exec (task \
    role) accept only Resource *";
const ROTATION: &str = "generated credential of a self-managed data store (PostgreSQL, \
    Valkey/ElastiCache AUTH): automatic rotation needs a rotation Lambda that also changes the \
    password in the store and restarts consumers; rotated by hand per the runbook until one exists";
const SSM_CORE: &str = "AmazonSSMManagedInstanceCore: Session Manager access instead of SSH \
    (no key pair, no port 22)";
const CW_AGENT: &str = "CloudWatchAgentServerPolicy: the CloudWatch agent publishes the disk-use \
    metric the disk alarm watches";
const DESCRIBE: &str = "ec2:DescribeVolumes has no resource-level permissions; the host uses \
    it to find its data volume by tag before attaching it";
const PINNED_AMI: &str = "the AMI is pinned on purpose (an SSM latest-AMI lookup would replace \
    the database host whenever a new image ships)";

/// `(construct path under the stack, rule, reason)` of every accepted finding of `settings`'
/// environment stack.
pub fn acknowledgments(settings: &Settings) -> Vec<(String, String, String)> {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut add = |path: &str, rule: &str, reason: &str| {
        rows.push((path.to_string(), rule.to_string(), reason.to_string()))
    };
    for endpoint in ENDPOINTS {
        add(
            &format!("Network/Vpc/{endpoint}"),
            "AwsSolutions-EC23",
            "the interface endpoint admits 443 from the VPC CIDR only; cdk-nag cannot evaluate \
             the CIDR because it is an Fn::GetAtt of the VPC",
        );
    }
    add(
        "Platform/Alb",
        "AwsSolutions-EC23",
        "internet-facing ALB: 443 (and 80, which only redirects to 443) from anywhere is its \
         purpose; admin is limited by a source-ip listener condition and WAF",
    );
    add(
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
        add(&path, "AwsSolutions-ECS2", ENV_VARS);
        add(&path, "AwsSolutions-IAM5[Resource::*]", STAR);
    }
    add(
        "Anisette/TaskDefinition",
        "AwsSolutions-IAM5[Resource::*]",
        STAR,
    );
    for site in ["Docs", "Redoc"] {
        let path = format!("{site}/Distribution");
        if settings.cloudfront_certificate_arn.is_none() {
            add(
                &path,
                "AwsSolutions-CFR4",
                "served on the default *.cloudfront.net certificate, whose TLS policy CloudFront \
                 fixes; setting cloudfrontCertificateArn applies TLSv1.2_2021",
            );
        }
        add(
            &path,
            "AwsSolutions-CFR1",
            "public API documentation: no reason to restrict by country",
        );
        add(
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
                "Data/Instance",
                "AwsSolutions-EC28",
                "staging host: 5-minute basic monitoring is enough; the production Patroni nodes \
                 have detailed monitoring",
            );
            add(
                "Data/Instance",
                "CloudFormation-Validate::W9010",
                PINNED_AMI,
            );
            add(
                "Data/Role",
                &managed("AmazonSSMManagedInstanceCore"),
                SSM_CORE,
            );
            add(
                "Data/Role",
                &managed("CloudWatchAgentServerPolicy"),
                CW_AGENT,
            );
            add("Data/Role", "AwsSolutions-IAM5[Resource::*]", DESCRIBE);
            add("Data/Role", &attach, attach_reason);
            add(
                "Data/Backup",
                &managed("service-role/AWSBackupServiceRolePolicyForBackup"),
                "the AWS Backup service role policy is how AWS Backup is allowed to snapshot the \
                 data volume",
            );
            for secret in ["SuperuserSecret", "AppSecret", "ValkeySecret"] {
                add(&format!("Data/{secret}"), "AwsSolutions-SMG4", ROTATION);
            }
        }
        Environment::Production => {
            for node in ["NodeA", "NodeB", "NodeC"] {
                add(
                    &format!("Database/{node}"),
                    "CloudFormation-Validate::W9010",
                    PINNED_AMI,
                );
            }
            add(
                "Database/Role",
                &managed("AmazonSSMManagedInstanceCore"),
                SSM_CORE,
            );
            add(
                "Database/Role",
                &managed("CloudWatchAgentServerPolicy"),
                CW_AGENT,
            );
            add("Database/Role", "AwsSolutions-IAM5[Resource::*]", DESCRIBE);
            add("Database/Role", &attach, attach_reason);
            add(
                "Database/Role",
                "AwsSolutions-IAM5[Resource::<DatabaseBackups204EFA11.Arn>/wal-g/production-database/*]",
                "WAL-G reads and writes the objects under its own prefix of the backup bucket",
            );
            add(
                "Database/Nlb",
                "AwsSolutions-ELB2",
                "NLB access logs only record TLS listeners; this NLB forwards TCP 5432 and \
                 PostgreSQL negotiates TLS itself",
            );
            add(
                "Database/Backups",
                "AwsSolutions-S1",
                "the WAL-G bucket is written only by the database role; CloudTrail data events \
                 are its audit trail",
            );
            for secret in [
                "SuperuserSecret",
                "ReplicationSecret",
                "RewindSecret",
                "RestApiSecret",
                "AppSecret",
            ] {
                add(&format!("Database/{secret}"), "AwsSolutions-SMG4", ROTATION);
            }
            add("Redis/AuthToken", "AwsSolutions-SMG4", ROTATION);
        }
    }
    rows
}

/// Records the acknowledgments of [`acknowledgments`] on `stack`'s constructs.
pub fn acknowledge(stack: Stack, settings: &Settings) {
    for (path, rule, reason) in acknowledgments(settings) {
        let construct = find(stack, &path);
        Validations::of(construct)
            .acknowledge([Acknowledgment::new(rule.as_str(), reason.as_str())]);
    }
    // aws-cdk-lib warns about any image given by registry URL; the Anisette image is the mirrored
    // ECR repository, and its execution role is granted pull on it explicitly.
    Annotations::of(find(stack, "Anisette/TaskDefinition/anisette-v3")).acknowledge_warning(
        "@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
        Some("the execution role is granted pull on tracker/anisette-v3".into()),
    );
}

/// Accepts the findings of `TrackerRegistry`.
pub fn acknowledge_registry(stack: Stack, settings: &Settings) {
    if settings.ci_repository.is_some() {
        Validations::of(find(stack, "Images/CiRole")).acknowledge([Acknowledgment::new(
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions (docker login to the \
             registry); every push and pull action is limited to the tracker repositories",
        )]);
    }
}

/// The construct at `path` (ids joined by `/`) under `stack`; aws-cdk-lib reports a missing one.
fn find(stack: Stack, path: &str) -> IConstruct {
    path.split('/').fold(IConstruct::from(stack), |scope, id| {
        scope.node().find_child(id)
    })
}
