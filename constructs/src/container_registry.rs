//! `ContainerRegistry`: the ECR repositories CI pushes the tracker's images to.
//!
//! Creates one `AWS::ECR::Repository` per name, each with scan on push, immutable tags (a tag,
//! once pushed, always names the same image, so a deployed tag cannot silently change),
//! encryption at rest, a lifecycle policy and `DeletionPolicy: Retain` (deleting the stack never
//! deletes images).
//!
//! The lifecycle policy, evaluated by ECR in rule-priority order:
//! 1. for each release tag prefix (by default `v`, as in `v1.4.2`), keep the last
//!    `keep_release_images` images whose tag starts with it (one rule per prefix, because ECR
//!    selects only images carrying *all* prefixes of one rule);
//! 2. expire untagged images (superseded pushes, dangling layers of multi-arch builds)
//!    `untagged_expiry_days` days after they were pushed.
//!
//! Tagged images that match no release prefix (a commit-SHA tag, say) are never expired by this
//! policy.

use std::collections::{BTreeMap, BTreeSet};

use cdk_from_rust::aws_cdk_lib::aws_ecr::{
    LifecycleRule, Repository, RepositoryEncryption, RepositoryProps, TagMutability, TagStatus,
};
use cdk_from_rust::aws_cdk_lib::{Duration, RemovalPolicy};
use cdk_from_rust::constructs::Construct;

use crate::validation::{Check, ValidationErrors};

/// How the images are encrypted at rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RegistryEncryption {
    /// S3-managed AES-256 keys (no KMS cost, no key policy to manage).
    #[default]
    Aes256,
    /// KMS with the AWS-managed key `aws/ecr` (key usage shows in CloudTrail).
    Kms,
}

/// Props of [`ContainerRegistry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerRegistryProps {
    /// The repository names, e.g. `tracker/api` (ECR names: 2-256 characters, path components of
    /// `a-z`, `0-9` separated by single `.`, `_` or `-`, joined by `/`), each once. Required, at
    /// least one.
    pub repositories: Vec<String>,
    /// How many images of each release tag prefix are kept (older ones expire), 1-10000.
    /// [`ContainerRegistryProps::new`] sets 30, enough to roll back a month of daily releases.
    pub keep_release_images: u32,
    /// The tag prefixes that mark a release image (Docker tag characters `A-Z a-z 0-9 _ . -`, not
    /// starting with `.` or `-`, at most 128), each once. Each prefix keeps its own
    /// `keep_release_images` images. [`ContainerRegistryProps::new`] sets `["v"]` (tags such as
    /// `v1.4.2`); add e.g. `release-` when CI also pushes `release-2026-11-03`.
    pub release_tag_prefixes: Vec<String>,
    /// Days after push when an untagged image expires, 1-3650. [`ContainerRegistryProps::new`]
    /// sets 7.
    pub untagged_expiry_days: u32,
    /// Encryption at rest. [`ContainerRegistryProps::new`] sets AES-256 (S3-managed keys).
    pub encryption: RegistryEncryption,
}

impl ContainerRegistryProps {
    /// Props for the repositories `names`: keep the last 30 `v*` images, expire untagged images
    /// after 7 days, AES-256 encryption.
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        ContainerRegistryProps {
            repositories: names.into_iter().map(Into::into).collect(),
            keep_release_images: 30,
            release_tag_prefixes: vec!["v".to_string()],
            untagged_expiry_days: 7,
            encryption: RegistryEncryption::Aes256,
        }
    }

    /// Every violation of these props, for the construct `id`.
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new("ContainerRegistry", id);
        c.require(
            !self.repositories.is_empty(),
            "repositories",
            &self.repositories,
            "at least one repository name, e.g. tracker/api",
        );
        let mut seen = BTreeSet::new();
        for name in &self.repositories {
            if !is_repository_name(name) {
                c.fail(
                    "repositories",
                    name,
                    "an ECR repository name: 2-256 characters, components of a-z and 0-9 \
                     separated by single '.', '_' or '-', joined by '/' (e.g. tracker/api)",
                );
            } else if !seen.insert(name) {
                c.fail("repositories", name, "each repository name once");
            }
        }
        c.require(
            (1..=10_000).contains(&self.keep_release_images),
            "keep_release_images",
            self.keep_release_images,
            "1-10000 images",
        );
        c.require(
            !self.release_tag_prefixes.is_empty(),
            "release_tag_prefixes",
            &self.release_tag_prefixes,
            "at least one tag prefix, e.g. v",
        );
        let mut seen = BTreeSet::new();
        for prefix in &self.release_tag_prefixes {
            if !is_tag_prefix(prefix) {
                c.fail(
                    "release_tag_prefixes",
                    prefix,
                    "1-128 of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.' or '-'",
                );
            } else if !seen.insert(prefix) {
                c.fail("release_tag_prefixes", prefix, "each prefix once");
            }
        }
        c.require(
            (1..=3650).contains(&self.untagged_expiry_days),
            "untagged_expiry_days",
            self.untagged_expiry_days,
            "1-3650 days",
        );
        c.finish()
    }

    /// The lifecycle rules, in priority order.
    fn lifecycle_rules(&self) -> Vec<LifecycleRule> {
        let mut rules: Vec<LifecycleRule> = self
            .release_tag_prefixes
            .iter()
            .enumerate()
            .map(|(i, prefix)| {
                LifecycleRule::new()
                    .rule_priority(i as u32 + 1)
                    .description(format!(
                        "keep the last {} release images tagged {prefix}*",
                        self.keep_release_images
                    ))
                    .tag_status(TagStatus::Tagged)
                    .tag_prefix_list([prefix.as_str()])
                    .max_image_count(self.keep_release_images)
            })
            .collect();
        rules.push(
            LifecycleRule::new()
                .rule_priority(self.release_tag_prefixes.len() as u32 + 1)
                .description(format!(
                    "expire untagged images {} days after push",
                    self.untagged_expiry_days
                ))
                .tag_status(TagStatus::Untagged)
                .max_image_age(Duration::days(self.untagged_expiry_days)),
        );
        rules
    }
}

/// An ECR repository name: 2-256 characters; `/`-separated components, each of `a-z0-9` runs
/// joined by single `.`, `_` or `-`.
pub fn is_repository_name(s: &str) -> bool {
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b.iter().all(|&x| {
                x.is_ascii_lowercase() || x.is_ascii_digit() || matches!(x, b'.' | b'_' | b'-')
            })
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && !b
                .windows(2)
                .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric())
    };
    (2..=256).contains(&s.len()) && s.split('/').all(component_ok)
}

fn is_tag_prefix(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !s.starts_with(['.', '-'])
}

/// The tracker's ECR repositories, by name.
#[derive(Clone, Debug)]
pub struct ContainerRegistry {
    /// Every repository, by its name.
    pub repositories: BTreeMap<String, Repository>,
}

impl ContainerRegistry {
    /// Validates `props` and adds the repositories to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        props: ContainerRegistryProps,
    ) -> Result<ContainerRegistry, ValidationErrors> {
        props.validate(id)?;
        let scope = Construct::new(scope, id);
        let encryption = match props.encryption {
            RegistryEncryption::Aes256 => RepositoryEncryption::aes_256(),
            RegistryEncryption::Kms => RepositoryEncryption::kms(),
        };
        let repositories = props
            .repositories
            .iter()
            .map(|name| {
                // ECR names never contain "--", so this id is unique per name.
                let repository = Repository::new(
                    scope,
                    name.replace('/', "--"),
                    Some(
                        RepositoryProps::new()
                            .repository_name(name.as_str())
                            .image_scan_on_push(true)
                            .image_tag_mutability(TagMutability::Immutable)
                            .encryption(encryption)
                            .lifecycle_rules(props.lifecycle_rules())
                            .removal_policy(RemovalPolicy::Retain),
                    ),
                );
                (name.clone(), repository)
            })
            .collect();
        Ok(ContainerRegistry { repositories })
    }

    /// The repository named `name`.
    pub fn repository(&self, name: &str) -> Option<Repository> {
        self.repositories.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_only_rejection;

    fn fields(err: &ValidationErrors) -> Vec<&str> {
        err.0.iter().map(|v| v.field.as_str()).collect()
    }

    /// Asserts `props` has exactly one violation, of `field` = `value`, naming the construct and
    /// what is allowed.
    fn rejects(props: ContainerRegistryProps, field: &str, value: &str, allowed: &str) {
        assert_only_rejection(
            props.validate("Images"),
            "ContainerRegistry",
            "Images",
            field,
            value,
            allowed,
        );
    }

    #[test]
    fn defaults_are_valid() {
        ContainerRegistryProps::new(["tracker/api", "tracker/frontend", "anisette-v3"])
            .validate("Images")
            .unwrap();
    }

    #[test]
    fn repository_names() {
        for ok in ["ab", "tracker/api", "a.b_c-d/e1", "x/y/z"] {
            assert!(is_repository_name(ok), "{ok}");
        }
        let long = "a".repeat(257);
        for bad in [
            "", "a", "Api", "a//b", "/a", "a/", "a--b", "-ab", "ab-", "a b", "a:b", &long,
        ] {
            assert!(!is_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn fails_without_repositories() {
        rejects(
            ContainerRegistryProps::new(Vec::<String>::new()),
            "repositories",
            "[]",
            "at least one repository name, e.g. tracker/api",
        );
    }

    #[test]
    fn fails_on_invalid_repository_name() {
        rejects(
            ContainerRegistryProps::new(["Tracker/API"]),
            "repositories",
            "\"Tracker/API\"",
            "an ECR repository name: 2-256 characters, components of a-z and 0-9",
        );
    }

    #[test]
    fn fails_on_duplicate_repository_name() {
        rejects(
            ContainerRegistryProps::new(["tracker/api", "tracker/api"]),
            "repositories",
            "\"tracker/api\"",
            "each repository name once",
        );
    }

    #[test]
    fn fails_on_keep_release_images_out_of_range() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.keep_release_images = 0;
        rejects(props, "keep_release_images", "0", "1-10000 images");
    }

    #[test]
    fn fails_without_release_tag_prefixes() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.release_tag_prefixes.clear();
        rejects(
            props,
            "release_tag_prefixes",
            "[]",
            "at least one tag prefix, e.g. v",
        );
    }

    #[test]
    fn fails_on_invalid_release_tag_prefix() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.release_tag_prefixes = vec!["-rel*".into()];
        rejects(
            props,
            "release_tag_prefixes",
            "\"-rel*\"",
            "1-128 of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.' or '-'",
        );
    }

    #[test]
    fn fails_on_duplicate_release_tag_prefix() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.release_tag_prefixes = vec!["v".into(), "v".into()];
        rejects(props, "release_tag_prefixes", "\"v\"", "each prefix once");
    }

    #[test]
    fn fails_on_untagged_expiry_days_out_of_range() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.untagged_expiry_days = 0;
        rejects(props, "untagged_expiry_days", "0", "1-3650 days");
    }

    #[test]
    fn fails_on_every_violation_together() {
        let mut props = ContainerRegistryProps::new(["UPPER", "ok/name", "ok/name"]);
        props.keep_release_images = 0;
        props.release_tag_prefixes = vec![".x".into()];
        props.untagged_expiry_days = 0;
        let err = props.validate("Images").unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "repositories",
                "repositories",
                "keep_release_images",
                "release_tag_prefixes",
                "untagged_expiry_days"
            ]
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::testing::synth;

    #[test]
    fn repositories_scan_on_push_are_immutable_retained_and_expire_old_images() {
        let mut props = ContainerRegistryProps::new(["tracker/api", "anisette-v3"]);
        props.release_tag_prefixes = vec!["v".into(), "release-".into()];
        let t = synth(|stack| {
            let registry = ContainerRegistry::new(stack, "Images", props).unwrap();
            assert!(registry.repository("tracker/api").is_some());
            assert!(registry.repository("nope").is_none());
            let mut kms = ContainerRegistryProps::new(["tracker/kms"]);
            kms.encryption = RegistryEncryption::Kms;
            ContainerRegistry::new(stack, "KmsImages", kms).unwrap();
        });
        let kms = t.at_path("AWS::ECR::Repository", "KmsImages");
        assert_eq!(
            kms[0]["Properties"]["EncryptionConfiguration"]["EncryptionType"],
            "KMS"
        );
        let repos = t.at_path("AWS::ECR::Repository", "Test/Images/");
        assert_eq!(repos.len(), 2);
        for r in &repos {
            let p = &r["Properties"];
            assert_eq!(p["ImageScanningConfiguration"]["ScanOnPush"], true);
            assert_eq!(p["ImageTagMutability"], "IMMUTABLE");
            // AES256 is ECR's own default: aws-cdk-lib leaves the property out for it.
            assert!(p.get("EncryptionConfiguration").is_none(), "{p}");
            assert_eq!(r["DeletionPolicy"], "Retain");
            assert_eq!(r["UpdateReplacePolicy"], "Retain");
            let text = p["LifecyclePolicy"]["LifecyclePolicyText"]
                .as_str()
                .expect("lifecycle policy text");
            let policy: serde_json::Value = serde_json::from_str(text).unwrap();
            let rules = policy["rules"].as_array().unwrap();
            assert_eq!(rules.len(), 3, "{text}");
            assert_eq!(rules[0]["selection"]["tagStatus"], "tagged");
            assert_eq!(rules[0]["selection"]["tagPrefixList"][0], "v");
            assert_eq!(rules[0]["selection"]["countType"], "imageCountMoreThan");
            assert_eq!(rules[0]["selection"]["countNumber"], 30);
            assert_eq!(rules[1]["selection"]["tagPrefixList"][0], "release-");
            assert_eq!(rules[2]["selection"]["tagStatus"], "untagged");
            assert_eq!(rules[2]["selection"]["countType"], "sinceImagePushed");
            assert_eq!(rules[2]["selection"]["countNumber"], 7);
            assert_eq!(rules[2]["action"]["type"], "expire");
        }
        let names: Vec<&str> = repos
            .iter()
            .map(|r| r["Properties"]["RepositoryName"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"tracker/api") && names.contains(&"anisette-v3"));
    }
}
