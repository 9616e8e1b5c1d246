//! `StaticSite`: static files (the docs and the ReDoc API reference) that CI builds and uploads,
//! served by CloudFront. Nothing here runs in ECS and nothing uploads: CI syncs the files to the
//! bucket (`aws s3 sync`) and invalidates the distribution, using the outputs.
//!
//! Creates:
//! - a private S3 bucket: all public access blocked, SSL-only bucket policy, S3-managed
//!   encryption, versioned (noncurrent versions expire), `DeletionPolicy: Retain`;
//! - a CloudFront distribution reading it through Origin Access Control (the bucket policy allows
//!   only this distribution), HTTP redirected to HTTPS, `index.html` as the default root object,
//!   optionally custom domain names with an ACM certificate from us-east-1;
//! - optionally (on by default) a log bucket (private, SSL-only, encrypted, versioned, retained,
//!   logs and their noncurrent versions expire)
//!   receiving CloudFront standard logs under `cloudfront/` and the site bucket's S3 server access
//!   logs under `s3/`;
//! - outputs `BucketName`, `DistributionDomainName` and `DistributionId`.

use std::collections::BTreeSet;

use cdk_from_rust::aws_cdk_lib::aws_certificatemanager::Certificate;
use cdk_from_rust::aws_cdk_lib::aws_cloudfront::{
    BehaviorOptions, Distribution, DistributionProps, PriceClass, SecurityPolicyProtocol,
    ViewerProtocolPolicy,
};
use cdk_from_rust::aws_cdk_lib::aws_cloudfront_origins::S3BucketOrigin;
use cdk_from_rust::aws_cdk_lib::aws_s3::{
    BlockPublicAccess, Bucket, BucketEncryption, BucketProps, LifecycleRule, ObjectOwnership,
};
use cdk_from_rust::aws_cdk_lib::{CfnOutput, CfnOutputProps, Duration, RemovalPolicy};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsString;

use crate::validation::{is_dns_label, Check, ValidationErrors};

/// Custom host names for the site, with the certificate that covers them.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomDomain {
    /// The host names (`docs.example.com`), each once; a first label `*` is a wildcard. At least
    /// one. DNS records pointing them at the distribution are managed outside this construct.
    pub domain_names: Vec<String>,
    /// The ACM certificate covering every name. CloudFront only uses certificates from us-east-1,
    /// so a literal ARN must be `arn:aws:acm:us-east-1:<account>:certificate/<id>`; a token (the
    /// `certificate_arn()` of a `Certificate` made in a us-east-1 stack, referenced across
    /// regions) is taken as is.
    pub certificate_arn: JsString,
}

impl CustomDomain {
    /// `domain_names` served with the certificate `certificate_arn`.
    pub fn new<S: Into<String>>(
        domain_names: impl IntoIterator<Item = S>,
        certificate_arn: impl Into<JsString>,
    ) -> Self {
        CustomDomain {
            domain_names: domain_names.into_iter().map(Into::into).collect(),
            certificate_arn: certificate_arn.into(),
        }
    }
}

/// Props of [`StaticSite`].
#[derive(Clone, Debug, PartialEq)]
pub struct StaticSiteProps {
    /// Custom host names and their certificate. When `None`, the site is served only on the
    /// distribution's `*.cloudfront.net` name with CloudFront's default certificate.
    pub custom_domain: Option<CustomDomain>,
    /// Access logging: CloudFront standard logs and the bucket's S3 server access logs go to a
    /// log bucket of their own. [`StaticSiteProps::new`] turns it on; when off, no log bucket is
    /// created and requests are not logged.
    pub access_logs: bool,
    /// Days after which access logs expire, 1-3650 (only used with `access_logs`).
    /// [`StaticSiteProps::new`] sets 90.
    pub access_log_expiry_days: u32,
    /// Days a replaced or deleted file's old version is kept (for recovery from a bad upload;
    /// also a deleted or overwritten access log's), 1-3650. [`StaticSiteProps::new`] sets 30.
    pub noncurrent_version_expiry_days: u32,
    /// The CloudFront edge locations used. [`StaticSiteProps::new`] sets `PriceClass100` (North
    /// America, Europe and Israel): the cheapest; other viewers are served from those edges.
    pub price_class: PriceClass,
}

impl Default for StaticSiteProps {
    fn default() -> Self {
        StaticSiteProps::new()
    }
}

impl StaticSiteProps {
    /// Props of a site on its `*.cloudfront.net` name, with access logs kept 90 days, old
    /// versions kept 30 days, edge locations of price class 100.
    pub fn new() -> Self {
        StaticSiteProps {
            custom_domain: None,
            access_logs: true,
            access_log_expiry_days: 90,
            noncurrent_version_expiry_days: 30,
            price_class: PriceClass::PriceClass100,
        }
    }

    /// Every violation of these props, for the construct `id`.
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("StaticSite", id);
        if let Some(d) = &self.custom_domain {
            c.require(
                !d.domain_names.is_empty(),
                "custom_domain.domain_names",
                &d.domain_names,
                "at least one host name, e.g. docs.example.com",
            );
            let mut seen = BTreeSet::new();
            for name in &d.domain_names {
                if !is_host_name(name) {
                    c.fail(
                        "custom_domain.domain_names",
                        name,
                        "a fully qualified host name of DNS labels (a-z, 0-9, '-'), at most 253 \
                         characters, optionally starting with '*.' (e.g. docs.example.com)",
                    );
                } else if !seen.insert(name) {
                    c.fail("custom_domain.domain_names", name, "each host name once");
                }
            }
            // A token (a certificate made in a us-east-1 stack) is known only at deployment.
            if let Some(arn) = d.certificate_arn.as_literal() {
                match acm_certificate_region(arn) {
                    None => {
                        c.fail(
                            "custom_domain.certificate_arn",
                            arn,
                            "an ACM certificate ARN: arn:aws:acm:us-east-1:<12-digit account>:certificate/<id>",
                        );
                    }
                    Some(region) if region != "us-east-1" => {
                        c.fail(
                            "custom_domain.certificate_arn",
                            arn,
                            format!(
                                "a certificate in us-east-1 (CloudFront only uses certificates \
                                 from us-east-1; this one is in {region})"
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
        if self.access_logs {
            c.require(
                (1..=3650).contains(&self.access_log_expiry_days),
                "access_log_expiry_days",
                self.access_log_expiry_days,
                "1-3650 days",
            );
        }
        c.require(
            (1..=3650).contains(&self.noncurrent_version_expiry_days),
            "noncurrent_version_expiry_days",
            self.noncurrent_version_expiry_days,
            "1-3650 days",
        );
        c.finish()
    }
}

/// A host name: DNS labels joined by dots, at least two labels, at most 253 characters; the first
/// label may be `*`.
fn is_host_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| is_dns_label(l) || (i == 0 && *l == "*"))
}

/// The region of an ACM certificate ARN (`arn:aws:acm:<region>:<account>:certificate/<id>`), or
/// `None` when `arn` is not one.
fn acm_certificate_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [arn_, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    let id = resource.strip_prefix("certificate/")?;
    (arn_ == "arn"
        && partition == "aws"
        && service == "acm"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !id.is_empty())
    .then_some(region)
}

/// A private bucket served by CloudFront.
#[derive(Clone, Copy, Debug)]
pub struct StaticSite {
    /// Where CI uploads the built files.
    pub bucket: Bucket,
    pub distribution: Distribution,
    /// Where the access logs go, when on.
    pub log_bucket: Option<Bucket>,
}

impl StaticSite {
    /// Validates `props` and adds the site to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        props: StaticSiteProps,
    ) -> Result<StaticSite, ValidationErrors> {
        props.validate(id)?;
        let scope = Construct::new(scope, id);
        let log_bucket = props.access_logs.then(|| {
            Bucket::new_with(
                scope,
                "AccessLogs",
                BucketProps::new()
                    .encryption(BucketEncryption::S3Managed)
                    .block_public_access(BlockPublicAccess::block_all())
                    .enforce_ssl(true)
                    // CloudFront standard logging writes with an ACL grant.
                    .object_ownership(ObjectOwnership::BucketOwnerPreferred)
                    // A deleted or overwritten log stays recoverable for the noncurrent
                    // period.
                    .versioned(true)
                    .lifecycle_rules([LifecycleRule::new()
                        .expiration(Duration::days(props.access_log_expiry_days))
                        .noncurrent_version_expiration(Duration::days(
                            props.noncurrent_version_expiry_days,
                        ))])
                    .removal_policy(RemovalPolicy::Retain),
            )
        });
        let mut bucket_props =
            BucketProps::new()
                .encryption(BucketEncryption::S3Managed)
                .block_public_access(BlockPublicAccess::block_all())
                .enforce_ssl(true)
                .versioned(true)
                .lifecycle_rules([LifecycleRule::new().noncurrent_version_expiration(
                    Duration::days(props.noncurrent_version_expiry_days),
                )])
                .removal_policy(RemovalPolicy::Retain);
        if let Some(logs) = log_bucket {
            bucket_props = bucket_props
                .server_access_logs_bucket(logs)
                .server_access_logs_prefix("s3/");
        }
        let bucket = Bucket::new_with(scope, "Bucket", bucket_props);

        let behavior = BehaviorOptions::new(S3BucketOrigin::with_origin_access_control(bucket))
            .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
            .compress(true);
        let mut distribution_props = DistributionProps::new(behavior)
            .default_root_object("index.html")
            .price_class(props.price_class)
            .comment(format!("{id}: static files uploaded by CI"));
        if let Some(d) = &props.custom_domain {
            distribution_props = distribution_props
                .domain_names(d.domain_names.iter())
                .certificate(Certificate::from_certificate_arn(
                    scope,
                    "Certificate",
                    &d.certificate_arn,
                ))
                .minimum_protocol_version(SecurityPolicyProtocol::TlsV122021);
        }
        if let Some(logs) = log_bucket {
            distribution_props = distribution_props
                .enable_logging(true)
                .log_bucket(logs)
                .log_file_prefix("cloudfront/");
        }
        let distribution = Distribution::new(scope, "Distribution", distribution_props);

        CfnOutput::new(
            scope,
            "BucketName",
            CfnOutputProps::new(bucket.bucket_name())
                .description("Where CI uploads the site (aws s3 sync <dir> s3://<name>)"),
        );
        CfnOutput::new(
            scope,
            "DistributionDomainName",
            CfnOutputProps::new(distribution.distribution_domain_name())
                .description("The CloudFront host name of the site"),
        );
        CfnOutput::new(
            scope,
            "DistributionId",
            CfnOutputProps::new(distribution.distribution_id()).description(
                "For invalidations after an upload (aws cloudfront create-invalidation)",
            ),
        );
        Ok(StaticSite {
            bucket,
            distribution,
            log_bucket,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_only_rejection;

    const CERT: &str =
        "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

    fn with_domain(names: &[&str], arn: &str) -> StaticSiteProps {
        StaticSiteProps {
            custom_domain: Some(CustomDomain::new(names.iter().copied(), arn)),
            ..StaticSiteProps::new()
        }
    }

    /// Asserts `props` has exactly one violation, of `field` = `value`, naming the construct and
    /// what is allowed.
    fn rejects(props: StaticSiteProps, field: &str, value: &str, allowed: &str) {
        assert_only_rejection(
            props.validate("Docs"),
            "StaticSite",
            "Docs",
            field,
            value,
            allowed,
        );
    }

    #[test]
    fn defaults_and_a_us_east_1_certificate_are_valid() {
        StaticSiteProps::new().validate("Docs").unwrap();
        with_domain(&["docs.example.com", "*.docs.example.com"], CERT)
            .validate("Docs")
            .unwrap();
    }

    #[test]
    fn fails_on_empty_domain_names() {
        rejects(
            with_domain(&[], CERT),
            "custom_domain.domain_names",
            "[]",
            "at least one host name, e.g. docs.example.com",
        );
    }

    #[test]
    fn fails_on_invalid_domain_name() {
        for bad in [
            "Docs.Example.com",
            "localhost",
            "a..b",
            "docs.*.com",
            "-a.com",
        ] {
            rejects(
                with_domain(&[bad], CERT),
                "custom_domain.domain_names",
                &format!("{bad:?}"),
                "a fully qualified host name of DNS labels (a-z, 0-9, '-'), at most 253 characters",
            );
        }
    }

    #[test]
    fn fails_on_duplicate_domain_name() {
        rejects(
            with_domain(&["docs.example.com", "docs.example.com"], CERT),
            "custom_domain.domain_names",
            "\"docs.example.com\"",
            "each host name once",
        );
    }

    #[test]
    fn fails_on_malformed_certificate_arn() {
        for bad in [
            "not-an-arn",
            "arn:aws:iam::111111111111:certificate/x",
            "arn:aws:acm:us-east-1:1111:certificate/x",
            "arn:aws:acm:us-east-1:111111111111:certificate/",
        ] {
            rejects(
                with_domain(&["docs.example.com"], bad),
                "custom_domain.certificate_arn",
                &format!("{bad:?}"),
                "an ACM certificate ARN: arn:aws:acm:us-east-1:<12-digit account>:certificate/<id>",
            );
        }
    }

    #[test]
    fn fails_on_certificate_outside_us_east_1() {
        let arn = CERT.replace("us-east-1", "eu-west-1");
        rejects(
            with_domain(&["docs.example.com"], &arn),
            "custom_domain.certificate_arn",
            &format!("{arn:?}"),
            "a certificate in us-east-1 (CloudFront only uses certificates from us-east-1; this \
             one is in eu-west-1)",
        );
    }

    #[test]
    fn fails_on_access_log_expiry_out_of_range() {
        let props = StaticSiteProps {
            access_log_expiry_days: 0,
            ..StaticSiteProps::new()
        };
        rejects(props, "access_log_expiry_days", "0", "1-3650 days");
        // Not checked when there are no logs to expire.
        StaticSiteProps {
            access_logs: false,
            access_log_expiry_days: 0,
            ..StaticSiteProps::new()
        }
        .validate("Docs")
        .unwrap();
    }

    #[test]
    fn fails_on_noncurrent_version_expiry_out_of_range() {
        let props = StaticSiteProps {
            noncurrent_version_expiry_days: 4000,
            ..StaticSiteProps::new()
        };
        rejects(
            props,
            "noncurrent_version_expiry_days",
            "4000",
            "1-3650 days",
        );
    }

    #[test]
    fn fails_on_every_violation_together() {
        let props = StaticSiteProps {
            access_log_expiry_days: 0,
            noncurrent_version_expiry_days: 0,
            ..with_domain(
                &["bad_name.example.com"],
                "arn:aws:acm:eu-west-1:111111111111:certificate/x",
            )
        };
        let err = props.validate("Docs").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "custom_domain.domain_names",
                "custom_domain.certificate_arn",
                "access_log_expiry_days",
                "noncurrent_version_expiry_days"
            ]
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::testing::synth;

    /// `Docs` on `docs.example.com` with the certificate `certificate_arn`.
    fn docs_site(stack: cdk_from_rust::aws_cdk_lib::Stack, certificate_arn: impl Into<JsString>) {
        StaticSite::new(
            stack,
            "Docs",
            StaticSiteProps {
                custom_domain: Some(CustomDomain::new(["docs.example.com"], certificate_arn)),
                ..StaticSiteProps::new()
            },
        )
        .unwrap();
    }

    #[test]
    fn private_retained_bucket_behind_https_only_cloudfront_with_oac() {
        let t = synth(|stack| {
            docs_site(stack, "arn:aws:acm:us-east-1:111111111111:certificate/abc");
        });
        let site = t.at_path("AWS::S3::Bucket", "Docs/Bucket");
        assert_eq!(site.len(), 1);
        let site = site[0];
        let block = &site["Properties"]["PublicAccessBlockConfiguration"];
        for key in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(block[key], true, "{key}");
        }
        assert_eq!(site["DeletionPolicy"], "Retain");
        assert_eq!(
            site["Properties"]["VersioningConfiguration"]["Status"],
            "Enabled"
        );
        assert_eq!(
            site["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                ["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
            "AES256"
        );
        assert_eq!(
            site["Properties"]["LoggingConfiguration"]["LogFilePrefix"],
            "s3/"
        );
        let logs = t.at_path("AWS::S3::Bucket", "Docs/AccessLogs");
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["DeletionPolicy"], "Retain");
        assert_eq!(
            logs[0]["Properties"]["VersioningConfiguration"]["Status"],
            "Enabled"
        );
        assert!(logs[0]["Properties"]["LifecycleConfiguration"]["Rules"][0]
            ["NoncurrentVersionExpiration"]
            .is_object());
        // Without the feature flag `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`, aws-cdk-lib
        // admits S3 server access logs with the legacy canned ACL (cfn-lint warns: W3045).
        assert_eq!(logs[0]["Properties"]["AccessControl"], "LogDeliveryWrite");

        let oac = t.one("AWS::CloudFront::OriginAccessControl");
        assert_eq!(
            oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"],
            "s3"
        );
        let d = &t.one("AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"];
        assert_eq!(
            d["DefaultCacheBehavior"]["ViewerProtocolPolicy"],
            "redirect-to-https"
        );
        assert_eq!(d["DefaultRootObject"], "index.html");
        assert!(d["Origins"][0]["OriginAccessControlId"].is_object());
        assert_eq!(d["Aliases"][0], "docs.example.com");
        assert_eq!(
            d["ViewerCertificate"]["AcmCertificateArn"],
            "arn:aws:acm:us-east-1:111111111111:certificate/abc"
        );
        assert_eq!(
            d["ViewerCertificate"]["MinimumProtocolVersion"],
            "TLSv1.2_2021"
        );
        assert_eq!(d["Logging"]["Prefix"], "cloudfront/");

        // The bucket policy: SSL only, reads only by this distribution's service principal.
        let policy = t.at_path("AWS::S3::BucketPolicy", "Docs/Bucket/Policy");
        assert_eq!(policy.len(), 1);
        let text = policy[0].to_string();
        assert!(text.contains("aws:SecureTransport"), "{text}");
        assert!(text.contains("cloudfront.amazonaws.com"), "{text}");

        let outputs = t.0["Outputs"].as_object().unwrap();
        for name in ["BucketName", "DistributionDomainName", "DistributionId"] {
            assert!(
                outputs
                    .keys()
                    .any(|k| k.starts_with("Docs") && k.contains(name)),
                "{name} in {:?}",
                outputs.keys()
            );
        }
    }

    #[test]
    fn the_distribution_takes_a_certificate_made_elsewhere_by_token() {
        use cdk_from_rust::aws_cdk_lib::aws_certificatemanager::CertificateProps;
        let t = synth(|stack| {
            // A certificate of the same stack stands in for one referenced across regions: both
            // reach the construct as a token, not a literal ARN, and are not validated as one.
            let certificate =
                Certificate::new(stack, "Cert", CertificateProps::new("docs.example.com"));
            docs_site(stack, certificate.certificate_arn());
        });
        let (certificate, _) = t.resources("AWS::CertificateManager::Certificate")[0];
        let viewer = &t.one("AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
            ["ViewerCertificate"];
        assert_eq!(
            viewer["AcmCertificateArn"],
            serde_json::json!({ "Ref": certificate })
        );
        assert_eq!(viewer["MinimumProtocolVersion"], "TLSv1.2_2021");
    }
}
