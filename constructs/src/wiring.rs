//! Typed wiring: services declare what they talk to; security-group rules and the environment
//! variables carrying host names follow from those declarations. Secrets are a type of their own
//! that can only become container secrets.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use cdk_from_rust::aws_cdk_lib::aws_ec2::{ISecurityGroup, Port};
use cdk_from_rust::aws_cdk_lib::aws_ecs::Secret as EcsSecret;
use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::{ISecret, Secret};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsString;

use crate::validation::{is_dns_label, Check, NAME_NOT_TAKEN};

/// Something services can talk to: a name, the host clients use, its ports, and the security
/// group that guards it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The declared name (`db`, `redis`, `anisette-v3`, `api`): a DNS label.
    pub name: String,
    /// The host name clients connect to: a Service Connect name, a name in the namespace, or a
    /// deploy-time value (an ElastiCache primary endpoint, the name its TLS certificate carries).
    pub host: JsString,
    /// The ports it serves.
    pub ports: Vec<u16>,
    /// Whether `host` resolves only inside Service Connect (a service's own name): tasks that do
    /// not join Service Connect, such as one-off `run-task` tasks, cannot reach it.
    pub service_connect_only: bool,
    /// Whether clients must speak TLS to it (an ElastiCache group with transit encryption
    /// required); the consumer's configuration follows from it.
    pub tls: bool,
    /// Settings every consumer is given, as `<NAME>_<KEY>` environment variables (a
    /// PostgreSQL endpoint: `SSLMODE=require`, so `DB_SSLMODE=require`).
    pub client_environment: BTreeMap<String, String>,
    /// Ingress rules for declared consumers are added to this group.
    pub security_group: ISecurityGroup,
}

/// A consumer's declaration: "I talk to `name` on `port`" (`"db:5432".parse()`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dependency {
    pub name: String,
    pub port: u16,
}

impl Dependency {
    pub fn new(name: &str, port: u16) -> Self {
        Dependency {
            name: name.to_string(),
            port,
        }
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.port)
    }
}

impl FromStr for Dependency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, port) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected NAME:PORT, e.g. db:5432"))?;
        let port = port
            .parse()
            .map_err(|_| format!("{s:?}: the port must be 1-65535"))?;
        Ok(Dependency::new(name, port))
    }
}

/// The endpoints of one environment, by name. Lives in the `Platform`.
#[derive(Default, Debug)]
pub struct Registry {
    endpoints: RefCell<BTreeMap<String, Endpoint>>,
}

impl Registry {
    /// Registers `endpoint`; a name must be a DNS label and unique in the environment.
    pub fn register(&self, check: &mut Check, endpoint: Endpoint) {
        let mut endpoints = self.endpoints.borrow_mut();
        if !is_dns_label(&endpoint.name) {
            check.fail(
                "name",
                &endpoint.name,
                "a DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'",
            );
        } else if endpoints.contains_key(&endpoint.name) {
            check.fail("name", &endpoint.name, NAME_NOT_TAKEN);
        } else {
            endpoints.insert(endpoint.name.clone(), endpoint);
        }
    }

    /// Records a violation of `field` when `name` is already registered: for constructs that
    /// report it with their other props errors, before creating anything.
    pub fn require_free(&self, check: &mut Check, field: &str, name: &str) {
        if self.endpoints.borrow().contains_key(name) {
            check.fail(field, name, NAME_NOT_TAKEN);
        }
    }

    /// The endpoint named `name`.
    pub fn get(&self, name: &str) -> Option<Endpoint> {
        self.endpoints.borrow().get(name).cloned()
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.endpoints.borrow().keys().cloned().collect()
    }

    /// Checks each dependency names a registered endpoint and a port it serves; records a
    /// violation of `field` for each that does not. Returns the resolved ones.
    pub fn resolve(
        &self,
        check: &mut Check,
        field: &str,
        dependencies: &[Dependency],
    ) -> Vec<(Dependency, Endpoint)> {
        let mut resolved = Vec::new();
        for d in dependencies {
            match self.get(&d.name) {
                None => {
                    check.fail(
                        field,
                        d.to_string(),
                        format!(
                            "one of the endpoints declared so far: {}",
                            self.names().join(", ")
                        ),
                    );
                }
                Some(e) if !e.ports.contains(&d.port) => {
                    let ports: Vec<String> = e.ports.iter().map(u16::to_string).collect();
                    check.fail(
                        field,
                        d.to_string(),
                        format!("a port `{}` serves: {}", d.name, ports.join(", ")),
                    );
                }
                Some(e) => resolved.push((d.clone(), e)),
            }
        }
        resolved
    }
}

/// Opens each resolved dependency to `consumer` and returns the environment variables carrying
/// the hosts and ports (`DB_HOST`, `DB_PORT`, ...).
pub fn connect(
    consumer_id: &str,
    consumer: ISecurityGroup,
    resolved: &[(Dependency, Endpoint)],
) -> BTreeMap<String, JsString> {
    let mut env = BTreeMap::new();
    for (d, e) in resolved {
        // Marked remote: when the endpoint is in another stack (a data stack), aws-cdk-lib
        // creates the rule beside the consumer's group, so the endpoint's stack never refers to
        // its consumers' (no dependency cycle); in one stack it is the endpoint group's rule.
        e.security_group.add_ingress_rule_with_remote_rule(
            consumer,
            Port::tcp(d.port),
            format!("{consumer_id} -> {}:{}", d.name, d.port),
            true,
        );
        let prefix = d.name.to_ascii_uppercase().replace('-', "_");
        env.insert(format!("{prefix}_HOST"), e.host.clone());
        env.insert(format!("{prefix}_PORT"), d.port.to_string().into());
        for (key, value) in &e.client_environment {
            env.insert(format!("{prefix}_{key}"), value.as_str().into());
        }
    }
    env
}

/// What clients of a PostgreSQL endpoint are told: the server requires TLS (`pg_hba`
/// `hostssl`, `hostnossl ... reject`), so libpq's `sslmode=require` (`<NAME>_SSLMODE`). The
/// certificate is self-signed at first boot: `require` encrypts without verifying it.
pub fn postgres_client_environment() -> BTreeMap<String, String> {
    BTreeMap::from([("SSLMODE".to_string(), "require".to_string())])
}

/// Plain environment values as the container definition takes them, beside [`connect`]'s.
pub fn literal_environment(values: &BTreeMap<String, String>) -> BTreeMap<String, JsString> {
    values.iter().map(|(k, v)| (k.clone(), v.into())).collect()
}

/// A secret for a container: only ever injected as an ECS container secret (the task's
/// execution role is granted read), never as a plain environment value.
#[derive(Clone, Debug)]
pub struct ContainerSecret {
    secret: ISecret,
    field: Option<String>,
}

impl ContainerSecret {
    /// The whole secret value.
    pub fn whole(secret: impl Into<ISecret>) -> Self {
        ContainerSecret {
            secret: secret.into(),
            field: None,
        }
    }

    /// One JSON field of the secret (e.g. `password`).
    pub fn field(secret: impl Into<ISecret>, field: &str) -> Self {
        ContainerSecret {
            secret: secret.into(),
            field: Some(field.to_string()),
        }
    }

    /// The secret it reads.
    pub fn secret(&self) -> ISecret {
        self.secret
    }

    /// Lowers into the ECS binding (what a container definition's `secrets` takes).
    pub fn to_ecs(&self) -> EcsSecret {
        match &self.field {
            Some(field) => EcsSecret::from_secrets_manager_with(self.secret, field.as_str()),
            None => EcsSecret::from_secrets_manager(self.secret),
        }
    }
}

/// A Secrets Manager secret that exists outside the stack (created and rotated by its owner),
/// named in configuration as `<secret name or complete ARN>[:<json-key>]`:
/// `tracker/apple-id`, `tracker/apple-id:password`,
/// `arn:aws:secretsmanager:eu-west-1:111111111111:secret:tracker/apple-id-AbCdEf:password`.
///
/// Imported, it becomes a [`ContainerSecret`]; the container's execution role is granted
/// `secretsmanager:GetSecretValue` (and `DescribeSecret`) on that secret alone: on
/// `...:secret:<name>-??????` for a name (Secrets Manager appends a random 6-character suffix
/// to every ARN, which a name does not carry), on the exact ARN for a complete ARN in the
/// stack's own account and region. A secret encrypted with a customer-managed KMS key also needs
/// `kms:Decrypt` on that key for the execution role: grant it in the key policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretReference {
    pub secret: SecretId,
    /// One field of a JSON secret; `None` for the whole secret string.
    pub json_key: Option<String>,
}

/// How a [`SecretReference`] names its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretId {
    /// The secret's name (`tracker/apple-id`), in the stack's account and region.
    Name(String),
    /// The complete ARN, with the 6-character suffix Secrets Manager adds.
    CompleteArn(String),
}

/// What [`SecretReference::parse`] accepts, for error messages.
pub const SECRET_REFERENCE: &str = "<secret name or complete ARN>[:<json-key>]: a name of 1-512 \
     of A-Z a-z 0-9 / _ + = . @ - (tracker/apple-id), or the complete ARN with the 6-character \
     suffix Secrets Manager adds (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf; \
     a partial ARN would need a wildcard grant, give the name instead), optionally followed by \
     :<json-key> for one field of a JSON secret";

impl SecretReference {
    /// Parses `<secret name or complete ARN>[:<json-key>]`; `Err` says what is allowed.
    pub fn parse(text: &str) -> Result<SecretReference, String> {
        let bad = || Err(SECRET_REFERENCE.to_string());
        let (secret, json_key) = if let Some(rest) = text.strip_prefix("arn:") {
            // arn:<partition>:secretsmanager:<region>:<account>:secret:<name-suffix>[:<key>]
            let parts: Vec<&str> = rest.splitn(7, ':').collect();
            let [partition, service, region, account, kind, name, ..] = parts[..] else {
                return bad();
            };
            let arn_ok = matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
                && service == "secretsmanager"
                && crate::validation::is_region(region)
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && kind == "secret"
                && is_secret_name(name)
                && has_arn_suffix(name);
            if !arn_ok {
                return bad();
            }
            let arn = format!("arn:{partition}:{service}:{region}:{account}:{kind}:{name}");
            (SecretId::CompleteArn(arn), parts.get(6).copied())
        } else {
            match text.split_once(':') {
                Some((name, key)) => (SecretId::Name(name.to_string()), Some(key)),
                None => (SecretId::Name(text.to_string()), None),
            }
        };
        if let SecretId::Name(name) = &secret {
            if !is_secret_name(name) {
                return bad();
            }
        }
        if json_key.is_some_and(|k| k.is_empty() || k.contains(':')) {
            return bad();
        }
        Ok(SecretReference {
            secret,
            json_key: json_key.map(str::to_string),
        })
    }

    /// Imports the secret into `scope` as `id` (no resource is created) for one container.
    pub fn import(&self, scope: impl Into<Construct>, id: &str) -> ContainerSecret {
        let secret = match &self.secret {
            SecretId::Name(name) => Secret::from_secret_name_v2(scope, id, name.as_str()),
            SecretId::CompleteArn(arn) => Secret::from_secret_complete_arn(scope, id, arn.as_str()),
        };
        ContainerSecret {
            secret,
            field: self.json_key.clone(),
        }
    }
}

impl fmt::Display for SecretReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.secret {
            SecretId::Name(s) | SecretId::CompleteArn(s) => f.write_str(s)?,
        }
        match &self.json_key {
            Some(k) => write!(f, ":{k}"),
            None => Ok(()),
        }
    }
}

/// A Secrets Manager secret name: 1-512 of `A-Z a-z 0-9 / _ + = . @ -`.
fn is_secret_name(s: &str) -> bool {
    (1..=512).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

/// Whether `name` ends in the `-XXXXXX` suffix of a complete ARN (what aws-cdk-lib checks too).
fn has_arn_suffix(name: &str) -> bool {
    name.len() > 7
        && name.as_bytes()[name.len() - 7] == b'-'
        && name[name.len() - 6..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_parse_name_and_port() {
        assert_eq!(
            "db:5432".parse::<Dependency>().unwrap(),
            Dependency::new("db", 5432)
        );
        assert!("db".parse::<Dependency>().is_err());
        assert!("db:99999".parse::<Dependency>().is_err());
    }

    #[test]
    fn secret_references_parse_names_complete_arns_and_json_keys() {
        let arn = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tracker/apple-id-AbCdEf";
        let cases = [
            (
                "tracker/apple-id",
                SecretId::Name("tracker/apple-id".into()),
                None,
            ),
            (
                "tracker/apple-id:password",
                SecretId::Name("tracker/apple-id".into()),
                Some("password"),
            ),
            (arn, SecretId::CompleteArn(arn.into()), None),
            (
                &format!("{arn}:password"),
                SecretId::CompleteArn(arn.into()),
                Some("password"),
            ),
        ];
        for (text, secret, key) in cases {
            let r = SecretReference::parse(text).unwrap();
            assert_eq!(r.secret, secret, "{text}");
            assert_eq!(r.json_key.as_deref(), key, "{text}");
            assert_eq!(r.to_string(), text);
        }
    }

    #[test]
    fn fails_on_partial_arns_bad_names_and_empty_json_keys() {
        for bad in [
            "",
            "tracker apple",
            "tracker/apple:",
            "tracker/apple:a:b",
            // A partial ARN (no 6-character suffix) would need a wildcard grant.
            "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tracker/apple-id",
            "arn:aws:ssm:eu-west-1:111111111111:parameter/x-AbCdEf",
            "arn:aws:secretsmanager:eu-west-1:1111:secret:x-AbCdEf",
        ] {
            let e = SecretReference::parse(bad).unwrap_err();
            assert!(e.contains("complete ARN"), "{bad}: {e}");
        }
    }
}
