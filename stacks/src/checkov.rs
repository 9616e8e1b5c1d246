//! The checkov findings this repository accepts: checkov (the policy-as-code scanner, pinned in
//! the Makefile) runs on every synthesized template in `make test`, and any failed check that is
//! not in this table fails the test (`stacks/tests/tracker.rs`).
//!
//! Every acknowledgment is a row like cdk-nag's (`crate::nag`): the construct path of the
//! CloudFormation resource from the app (stack name first, ending in the L1 construct's id, as in
//! its `aws:cdk:path`; public API, like every construct id), the check id, and the reason a
//! reviewer accepts. The rows are written into each resource's `Metadata.checkov.skip` as
//! `{id, comment}`, the form checkov reads, so an auditor running checkov on the templates sees
//! the skipped checks with their reasons. The test also fails on a row whose check no longer
//! fails on its resource.

use std::collections::BTreeMap;

use cdk_from_rust::aws_cdk_lib::{App, CfnResource};
use cdk_from_rust::{JsAny, Opaque};
use serde_json::json;

use crate::nag::{find, BACKUP_BUCKET, NLB_LOGS, PRODUCTION_SECRETS, STAGING_SECRETS, TASKS};
use crate::settings::{repositories, Environment, Settings};

/// The metadata key checkov reads its inline skips from.
pub const METADATA_KEY: &str = "checkov";

const LOG_KMS: &str = "encrypted at rest by CloudWatch Logs with an AWS-owned key; a \
    customer-managed key (about 1-3 USD a month per environment with rotation) would add \
    revocation and a record of every key use, not a narrower set of readers, and its key policy \
    must admit logs.<region>.amazonaws.com for the log groups (a wrong policy stops delivery). \
    Not chosen: see the README's security posture";
const SECRET_KMS: &str = "encrypted with the AWS managed key aws/secretsmanager; every reader is \
    in this account and granted this secret's ARN only. A customer-managed key would add a second \
    gate (kms:Decrypt via Secrets Manager) for about 1-3 USD a month, but every reader would need \
    a key grant aws-cdk-lib does not add for the services stack's imported secrets, so a missed one \
    fails a task start at deploy; deferred, see the README's security posture";
const LOG_BUCKET: &str = "this bucket is an access-log destination, written only by the log \
    delivery service; logging access to it would need yet another bucket";
const DISTRIBUTION_WAF: &str = "static, public, read-only files from S3 through origin access \
    control: no application behind it for a web ACL (which CloudFront needs in us-east-1, about \
    5 USD a month plus rules) to protect";
const DEFAULT_CERTIFICATE: &str = "served on the default *.cloudfront.net certificate, whose TLS \
    policy CloudFront fixes (TLSv1); setting cloudfrontCertificateArn serves the custom domains \
    with TLSv1.2_2021";
const ECR_KMS: &str = "images are encrypted at rest by ECR (AES-256); the encryption \
    configuration is create-only, so a KMS key would replace the repository and its release \
    images, and every pulling account would need a key grant";

/// `(CloudFormation resource path from the app: stack name first, check id, reason)` of every
/// accepted finding of `settings`' environment (its data stack and its services stack).
pub fn acknowledgments(settings: &Settings) -> Vec<(String, String, String)> {
    let data = settings.environment.data_stack_name();
    let services = settings.environment.stack_name();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut add = |stack: &str, path: &str, check: &str, reason: &str| {
        rows.push((
            format!("{stack}/{path}/Resource"),
            check.to_string(),
            reason.to_string(),
        ))
    };

    // The data stack: network, platform, data plane.
    add(data, "Network/FlowLogs", "CKV_AWS_158", LOG_KMS);
    add(data, "Platform/AlbAccessLogs", "CKV_AWS_18", LOG_BUCKET);
    add(
        data,
        "Platform/Alb/SecurityGroup",
        "CKV_AWS_260",
        "internet-facing ALB: port 80 only answers with a redirect to 443 (no listener rule \
         forwards plain HTTP to a service)",
    );
    match settings.environment {
        Environment::Staging => {
            for secret in STAGING_SECRETS {
                add(data, &format!("Data/{secret}"), "CKV_AWS_149", SECRET_KMS);
            }
            add(
                data,
                "Data/Backup/Vault",
                "CKV_AWS_166",
                "the vault holds snapshots of the EBS data volume, which keep the volume's own \
                 encryption (AWS Backup applies a vault key only to fully managed resource \
                 types); the vault key is create-only, so setting one would replace the vault \
                 and orphan its recovery points",
            );
        }
        Environment::Production => {
            for secret in PRODUCTION_SECRETS {
                add(
                    data,
                    &format!("Database/{secret}"),
                    "CKV_AWS_149",
                    SECRET_KMS,
                );
            }
            add(data, "Redis/AuthToken", "CKV_AWS_149", SECRET_KMS);
            add(data, "Database/Backups", "CKV_AWS_18", BACKUP_BUCKET);
            add(data, "Database/Nlb", "CKV_AWS_91", NLB_LOGS);
        }
    }

    // The services stack: one log group per task definition, the static sites.
    for (task, service) in TASKS {
        if settings.enabled(service) {
            add(services, &format!("{task}/Logs"), "CKV_AWS_158", LOG_KMS);
        }
    }
    add(services, "Anisette/Logs", "CKV_AWS_158", LOG_KMS);
    for site in ["Docs", "Redoc"] {
        add(
            services,
            &format!("{site}/AccessLogs"),
            "CKV_AWS_18",
            LOG_BUCKET,
        );
        let distribution = format!("{site}/Distribution");
        add(services, &distribution, "CKV_AWS_68", DISTRIBUTION_WAF);
        if settings.cloudfront_certificate_arn.is_none() {
            add(services, &distribution, "CKV_AWS_174", DEFAULT_CERTIFICATE);
        }
    }
    rows
}

/// The accepted findings of `TrackerRegistry`, in the same form.
pub fn registry_acknowledgments() -> Vec<(String, String, String)> {
    repositories()
        .iter()
        .map(|name| {
            (
                // The construct id of a repository is its name with `/` as `--`.
                format!(
                    "TrackerRegistry/Images/{}/Resource",
                    name.replace('/', "--")
                ),
                "CKV_AWS_136".to_string(),
                ECR_KMS.to_string(),
            )
        })
        .collect()
}

/// Writes `rows` into their resources' `Metadata.checkov.skip` (one list per resource).
pub fn acknowledge(app: &App, rows: Vec<(String, String, String)>) {
    let mut by_resource: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for (path, check, reason) in rows {
        by_resource
            .entry(path)
            .or_default()
            .push(json!({"id": check, "comment": reason}));
    }
    for (path, skips) in by_resource {
        Opaque::from(find(app, &path))
            .cast::<CfnResource>()
            .add_metadata(METADATA_KEY, JsAny::from(json!({ "skip": skips })));
    }
}
