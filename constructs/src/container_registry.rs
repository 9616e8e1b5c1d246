//! `ContainerRegistry`: the ECR repositories CI pushes the tracker's images to.
//!
//! Creates one `AWS::ECR::Repository` per name, each with scan on push, immutable tags (a tag,
//! once pushed, always names the same image, so a deployed tag cannot silently change),
//! encryption at rest, a lifecycle policy and `DeletionPolicy: Retain` (deleting the stack never
//! deletes images).
//!
//! The lifecycle policy matches the tag scheme the README recommends (every build tagged with its
//! git commit SHA, releases also with a semver `v1.4.2` tag), evaluated by ECR in rule-priority
//! order; an image a rule selects is never expired by a later rule:
//! 1. for each release tag prefix (by default `v`, as in `v1.4.2`), keep the newest
//!    `keep_release_images` images whose tag starts with it, expire the older ones (one rule per
//!    prefix, because ECR selects only images carrying *all* prefixes of one rule);
//! 2. expire untagged images (superseded pushes, dangling layers of multi-arch builds)
//!    `untagged_expiry_days` days after they were pushed;
//! 3. of every other image (commit-SHA tags, anything else), keep the newest `keep_other_images`,
//!    expire the rest (`tagStatus: any`, which ECR requires to be the last rule).
//!
//! An image that is still deployed is not protected by ECR: keep `keep_other_images` above the
//! number of builds between two deploys of the oldest running SHA, or deploy production from
//! release tags.
//!
//! Optional, per props:
//! - **CI push access** ([`CiPushAccess`]): a role that a GitHub Actions workflow assumes through
//!   OIDC (`sts:AssumeRoleWithWebIdentity` from `token.actions.githubusercontent.com`, audience
//!   `sts.amazonaws.com`, subject limited to the repository and refs given), allowed to push to
//!   (and read) these repositories and nothing else, plus `ecr:GetAuthorizationToken` (which has
//!   no resource-level permissions). The OIDC provider is created, or imported by ARN when the
//!   account has one already (an account holds one provider per URL);
//! - **pull accounts**: a repository policy statement per repository letting each other AWS
//!   account (its principals, through their own IAM permissions) pull images.

use std::collections::{BTreeMap, BTreeSet};

use cdk_from_rust::aws_cdk_lib::aws_ecr::{
    LifecycleRule, Repository, RepositoryEncryption, RepositoryProps, TagMutability, TagStatus,
};
use cdk_from_rust::aws_cdk_lib::aws_iam::{
    AccountPrincipal, OidcProviderNative, OidcProviderNativeProps, PolicyStatement,
    PolicyStatementProps, Role, RoleProps, WebIdentityPrincipal,
};
use cdk_from_rust::aws_cdk_lib::{Duration, RemovalPolicy};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::{JsAny, JsString};

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
    /// How many images that are neither release images nor untagged (commit-SHA builds) are kept,
    /// newest first, 1-10000. [`ContainerRegistryProps::new`] sets 100.
    pub keep_other_images: u32,
    /// The CI identity that pushes images. When `None` (the default), no role is created.
    pub ci: Option<CiPushAccess>,
    /// Other AWS accounts (12 digits) allowed to pull from every repository: the accounts the
    /// environments run in when the registry lives elsewhere. Default: none.
    pub pull_accounts: Vec<String>,
}

/// The role a GitHub Actions workflow assumes through OIDC to push images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CiPushAccess {
    /// The GitHub repository, `owner/repo`. Required.
    pub repository: String,
    /// The git refs whose workflow runs may assume the role (`refs/heads/<branch>`,
    /// `refs/tags/<tag>`, `*` matches any characters). [`CiPushAccess::new`] sets
    /// `refs/heads/main` and `refs/tags/*`.
    pub refs: Vec<String>,
    /// The account's existing IAM OIDC provider for `token.actions.githubusercontent.com`
    /// (`arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com`). When `None`
    /// (the default), the construct creates it; an account can hold only one provider per URL,
    /// so give the ARN when another stack or person created one.
    pub oidc_provider_arn: Option<String>,
    /// The role's name, what the workflow's `role-to-assume` names. When `None` (the default),
    /// CloudFormation generates one.
    pub role_name: Option<String>,
}

/// The issuer of GitHub Actions' OIDC tokens.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";

impl CiPushAccess {
    /// Push access for workflow runs of `repository` (`owner/repo`) on `main` and on tags,
    /// through a new OIDC provider.
    pub fn new(repository: &str) -> Self {
        CiPushAccess {
            repository: repository.to_string(),
            refs: vec!["refs/heads/main".into(), "refs/tags/*".into()],
            oidc_provider_arn: None,
            role_name: None,
        }
    }

    /// The `sub` claims the role trusts: `repo:<owner/repo>:ref:<ref>`.
    pub fn subjects(&self) -> Vec<String> {
        self.refs
            .iter()
            .map(|r| format!("repo:{}:ref:{r}", self.repository))
            .collect()
    }

    fn validate(&self, c: &mut Check) {
        c.require(
            is_github_repository(&self.repository),
            "ci.repository",
            &self.repository,
            "a GitHub repository owner/repo (owner: 1-39 of A-Z a-z 0-9 '-'; repo: 1-100 of \
             A-Z a-z 0-9 '.', '_', '-')",
        );
        c.require(
            !self.refs.is_empty(),
            "ci.refs",
            &self.refs,
            "at least one git ref, e.g. refs/heads/main",
        );
        for r in &self.refs {
            let ok = ["refs/heads/", "refs/tags/"].iter().any(|p| {
                r.strip_prefix(p).is_some_and(|rest| {
                    !rest.is_empty()
                        && rest.len() <= 200
                        && rest
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"/_.*-+".contains(&b))
                })
            });
            c.require(
                ok,
                "ci.refs",
                r,
                "a branch or tag ref: refs/heads/<branch> or refs/tags/<tag> (A-Z a-z 0-9 / _ . - \
                 +, * matching any characters)",
            );
        }
        if let Some(arn) = &self.oidc_provider_arn {
            let ok = arn
                .strip_prefix("arn:aws:iam::")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(account, resource)| {
                    account.len() == 12
                        && account.bytes().all(|b| b.is_ascii_digit())
                        && resource == format!("oidc-provider/{GITHUB_OIDC_HOST}")
                });
            c.require(
                ok,
                "ci.oidc_provider_arn",
                arn,
                format!(
                    "the ARN of the account's OIDC provider for GitHub Actions, \
                     arn:aws:iam::<account>:oidc-provider/{GITHUB_OIDC_HOST}"
                ),
            );
        }
        if let Some(name) = &self.role_name {
            c.require(
                (1..=64).contains(&name.len())
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)),
                "ci.role_name",
                name,
                "an IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ -",
            );
        }
    }
}

/// `owner/repo` as GitHub spells it.
fn is_github_repository(s: &str) -> bool {
    let Some((owner, repo)) = s.split_once('/') else {
        return false;
    };
    (1..=39).contains(&owner.len())
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !owner.starts_with('-')
        && (1..=100).contains(&repo.len())
        && repo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && repo != "."
        && repo != ".."
}

impl ContainerRegistryProps {
    /// Props for the repositories `names`: keep the newest 30 `v*` images and the newest 100
    /// others, expire untagged images after 7 days, AES-256 encryption, no CI role, no other
    /// account.
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        ContainerRegistryProps {
            repositories: names.into_iter().map(Into::into).collect(),
            keep_release_images: 30,
            release_tag_prefixes: vec!["v".to_string()],
            untagged_expiry_days: 7,
            encryption: RegistryEncryption::Aes256,
            keep_other_images: 100,
            ci: None,
            pull_accounts: Vec::new(),
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
        c.require(
            (1..=10_000).contains(&self.keep_other_images),
            "keep_other_images",
            self.keep_other_images,
            "1-10000 images",
        );
        if let Some(ci) = &self.ci {
            ci.validate(&mut c);
        }
        let mut seen = BTreeSet::new();
        for account in &self.pull_accounts {
            if !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) {
                c.fail("pull_accounts", account, "a 12-digit AWS account id");
            } else if !seen.insert(account) {
                c.fail("pull_accounts", account, "each account once");
            }
        }
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
        rules.push(
            LifecycleRule::new()
                .rule_priority(self.release_tag_prefixes.len() as u32 + 2)
                .description(format!(
                    "keep the newest {} other images (commit-SHA builds)",
                    self.keep_other_images
                ))
                .tag_status(TagStatus::Any)
                .max_image_count(self.keep_other_images),
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
    /// The role CI assumes to push, when [`ContainerRegistryProps::ci`] is set.
    pub ci_role: Option<Role>,
}

/// What CI may do on the repositories: push (layer upload, `PutImage`), and read what is there
/// (pull, for build caches and `docker buildx imagetools`; `DescribeImages`, to skip a tag that
/// already exists, since tags are immutable).
pub const CI_ACTIONS: [&str; 8] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
];

/// What another account may do with the images: pull them.
pub const PULL_ACTIONS: [&str; 3] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

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
                let repository = Repository::new_with(
                    scope,
                    name.replace('/', "--"),
                    RepositoryProps::new()
                        .repository_name(name.as_str())
                        .image_scan_on_push(true)
                        .image_tag_mutability(TagMutability::Immutable)
                        .encryption(encryption)
                        .lifecycle_rules(props.lifecycle_rules())
                        .removal_policy(RemovalPolicy::Retain),
                );
                for account in &props.pull_accounts {
                    repository.add_to_resource_policy(PolicyStatement::new_with(
                        PolicyStatementProps::new()
                            .sid(format!("PullFrom{account}"))
                            .principals([AccountPrincipal::new(account.as_str())])
                            .actions(PULL_ACTIONS),
                    ));
                }
                (name.clone(), repository)
            })
            .collect::<BTreeMap<String, Repository>>();
        let ci_role = props.ci.as_ref().map(|ci| {
            let provider_arn = match &ci.oidc_provider_arn {
                Some(arn) => JsString::from(arn.as_str()),
                None => OidcProviderNative::new(
                    scope,
                    "GithubOidc",
                    OidcProviderNativeProps::new(format!("https://{GITHUB_OIDC_HOST}"))
                        .client_ids(["sts.amazonaws.com"]),
                )
                .oidc_provider_arn(),
            };
            let conditions = BTreeMap::from([
                (
                    "StringEquals".to_string(),
                    JsAny::from(serde_json::json!({
                        format!("{GITHUB_OIDC_HOST}:aud"): "sts.amazonaws.com"
                    })),
                ),
                (
                    "StringLike".to_string(),
                    JsAny::from(serde_json::json!({
                        format!("{GITHUB_OIDC_HOST}:sub"): ci.subjects()
                    })),
                ),
            ]);
            let mut role_props =
                RoleProps::new(WebIdentityPrincipal::new_with(provider_arn, conditions))
                    .description(format!(
                        "GitHub Actions of {} push images to the tracker repositories",
                        ci.repository
                    ))
                    .max_session_duration(Duration::hours(1));
            if let Some(name) = &ci.role_name {
                role_props = role_props.role_name(name.as_str());
            }
            let role = Role::new(scope, "CiRole", role_props);
            role.add_to_policy(PolicyStatement::new_with(
                PolicyStatementProps::new()
                    .sid("PushToTheTrackerRepositories")
                    .actions(CI_ACTIONS)
                    .resources(repositories.values().map(|r| r.repository_arn())),
            ));
            role.add_to_policy(PolicyStatement::new_with(
                PolicyStatementProps::new()
                    .sid("RegistryLogin")
                    .actions(["ecr:GetAuthorizationToken"])
                    .resources(["*"]),
            ));
            role
        });
        Ok(ContainerRegistry {
            repositories,
            ci_role,
        })
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
    fn fails_on_keep_other_images_out_of_range() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.keep_other_images = 0;
        rejects(props, "keep_other_images", "0", "1-10000 images");
    }

    #[test]
    fn fails_on_a_bad_ci_repository() {
        for bad in ["tracker", "-org/tracker", "org/", "org/a b", "org/.."] {
            let mut props = ContainerRegistryProps::new(["tracker/api"]);
            props.ci = Some(CiPushAccess::new(bad));
            rejects(
                props,
                "ci.repository",
                &format!("{bad:?}"),
                "a GitHub repository owner/repo",
            );
        }
    }

    #[test]
    fn fails_on_bad_ci_refs() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.ci = Some(CiPushAccess {
            refs: vec![],
            ..CiPushAccess::new("org/tracker")
        });
        rejects(props, "ci.refs", "[]", "at least one git ref");
        for bad in ["main", "refs/pull/1/merge", "refs/heads/", "refs/tags/a b"] {
            let mut props = ContainerRegistryProps::new(["tracker/api"]);
            props.ci = Some(CiPushAccess {
                refs: vec![bad.into()],
                ..CiPushAccess::new("org/tracker")
            });
            rejects(
                props,
                "ci.refs",
                &format!("{bad:?}"),
                "a branch or tag ref: refs/heads/<branch> or refs/tags/<tag>",
            );
        }
    }

    #[test]
    fn fails_on_an_oidc_provider_arn_of_another_issuer_and_a_bad_role_name() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.ci = Some(CiPushAccess {
            oidc_provider_arn: Some("arn:aws:iam::111111111111:oidc-provider/gitlab.com".into()),
            role_name: Some("a role".into()),
            ..CiPushAccess::new("org/tracker")
        });
        let err = props.validate("Images").unwrap_err();
        assert_eq!(fields(&err), ["ci.oidc_provider_arn", "ci.role_name"]);
        assert!(
            err.to_string()
                .contains("oidc-provider/token.actions.githubusercontent.com"),
            "{err}"
        );
    }

    #[test]
    fn fails_on_bad_and_duplicate_pull_accounts() {
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.pull_accounts = vec!["12345".into()];
        rejects(
            props,
            "pull_accounts",
            "\"12345\"",
            "a 12-digit AWS account id",
        );
        let mut props = ContainerRegistryProps::new(["tracker/api"]);
        props.pull_accounts = vec!["222222222222".into(), "222222222222".into()];
        rejects(
            props,
            "pull_accounts",
            "\"222222222222\"",
            "each account once",
        );
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
            assert_eq!(rules.len(), 4, "{text}");
            assert_eq!(rules[0]["selection"]["tagStatus"], "tagged");
            assert_eq!(rules[0]["selection"]["tagPrefixList"][0], "v");
            assert_eq!(rules[0]["selection"]["countType"], "imageCountMoreThan");
            assert_eq!(rules[0]["selection"]["countNumber"], 30);
            assert_eq!(rules[1]["selection"]["tagPrefixList"][0], "release-");
            assert_eq!(rules[2]["selection"]["tagStatus"], "untagged");
            assert_eq!(rules[2]["selection"]["countType"], "sinceImagePushed");
            assert_eq!(rules[2]["selection"]["countNumber"], 7);
            assert_eq!(rules[2]["action"]["type"], "expire");
            // Everything else (commit-SHA tags): the newest 100, and `any` comes last.
            assert_eq!(rules[3]["rulePriority"], 4);
            assert_eq!(rules[3]["selection"]["tagStatus"], "any");
            assert_eq!(rules[3]["selection"]["countType"], "imageCountMoreThan");
            assert_eq!(rules[3]["selection"]["countNumber"], 100);
            // No CI role, no other account unless asked.
            assert!(p.get("RepositoryPolicyText").is_none(), "{p}");
        }
        assert!(t.resources("AWS::IAM::Role").is_empty());
        let names: Vec<&str> = repos
            .iter()
            .map(|r| r["Properties"]["RepositoryName"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"tracker/api") && names.contains(&"anisette-v3"));
    }

    #[test]
    fn ci_role_trusts_the_repository_refs_through_oidc_and_pushes_to_these_repositories_only() {
        let t = synth(|stack| {
            let mut props = ContainerRegistryProps::new(["tracker/api", "tracker/web"]);
            props.ci = Some(CiPushAccess {
                refs: vec!["refs/heads/main".into(), "refs/tags/v*".into()],
                role_name: Some("ci-push".into()),
                ..CiPushAccess::new("example-org/tracker")
            });
            let registry = ContainerRegistry::new(stack, "Images", props).unwrap();
            assert!(registry.ci_role.is_some());
            // Another repository in the same stack, which the role must not reach.
            Repository::new(stack, "Other");
        });
        let provider = t.one("AWS::IAM::OIDCProvider");
        assert_eq!(
            provider["Properties"]["Url"],
            "https://token.actions.githubusercontent.com"
        );
        assert_eq!(
            provider["Properties"]["ClientIdList"],
            serde_json::json!(["sts.amazonaws.com"])
        );
        let role = t.one("AWS::IAM::Role");
        assert_eq!(role["Properties"]["RoleName"], "ci-push");
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        assert_eq!(trust.as_array().unwrap().len(), 1);
        assert_eq!(trust[0]["Action"], "sts:AssumeRoleWithWebIdentity");
        let (provider_id, _) = t.resources("AWS::IAM::OIDCProvider")[0];
        assert_eq!(
            trust[0]["Principal"]["Federated"]["Ref"],
            provider_id.as_str()
        );
        assert_eq!(
            trust[0]["Condition"],
            serde_json::json!({
                "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                "StringLike": {"token.actions.githubusercontent.com:sub": [
                    "repo:example-org/tracker:ref:refs/heads/main",
                    "repo:example-org/tracker:ref:refs/tags/v*"
                ]}
            })
        );
        // One policy: the push actions on exactly the registry's repositories, and the login.
        let policy = t.one("AWS::IAM::Policy");
        let statements = policy["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        assert_eq!(statements.len(), 2, "{statements:?}");
        let push = &statements[0];
        assert!(push["Action"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("ecr:PutImage")));
        let mut targets: Vec<String> = push["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Fn::GetAtt"][0].as_str().unwrap().to_string())
            .collect();
        targets.sort();
        let mut repos: Vec<String> = t
            .at_path("AWS::ECR::Repository", "Test/Images/")
            .iter()
            .map(|r| r["Metadata"]["aws:cdk:path"].as_str().unwrap().to_string())
            .collect();
        repos.sort();
        assert_eq!(targets.len(), 2);
        assert!(
            targets.iter().all(|id| id.starts_with("Imagestracker")),
            "{targets:?}"
        );
        assert_eq!(repos.len(), 2);
        assert_eq!(
            statements[1],
            serde_json::json!({
                "Action": "ecr:GetAuthorizationToken",
                "Effect": "Allow",
                "Resource": "*",
                "Sid": "RegistryLogin"
            })
        );
    }

    #[test]
    fn an_existing_oidc_provider_is_imported_and_other_accounts_may_pull() {
        let arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
        let t = synth(|stack| {
            let mut props = ContainerRegistryProps::new(["tracker/api"]);
            props.ci = Some(CiPushAccess {
                oidc_provider_arn: Some(arn.into()),
                ..CiPushAccess::new("example-org/tracker")
            });
            props.pull_accounts = vec!["222222222222".into(), "333333333333".into()];
            ContainerRegistry::new(stack, "Images", props).unwrap();
        });
        assert!(t.resources("AWS::IAM::OIDCProvider").is_empty());
        let role = t.one("AWS::IAM::Role");
        assert_eq!(
            role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
                ["Federated"],
            arn
        );
        let policy = &t.one("AWS::ECR::Repository")["Properties"]["RepositoryPolicyText"];
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2, "{policy}");
        for (statement, account) in statements.iter().zip(["222222222222", "333333333333"]) {
            assert_eq!(statement["Sid"], format!("PullFrom{account}"));
            assert_eq!(
                statement["Action"],
                serde_json::json!([
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer"
                ])
            );
            let principal = statement["Principal"]["AWS"].to_string();
            assert!(
                principal.contains(&format!(":iam::{account}:root")),
                "{principal}"
            );
        }
    }
}
