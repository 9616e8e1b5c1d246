//! `OneOffTask`: a Fargate task definition meant to be run once, by hand or by CI, rather than
//! kept running by a service: database migrations before a service update, management commands.
//!
//! Creates:
//! - an explicit log group with the platform's retention, `DeletionPolicy: Retain` (never the
//!   container's `logRetention` prop, which would add a Lambda-backed custom resource);
//! - the Fargate task definition (family `<environment>-<id>` unless given) with one essential
//!   container named [`CONTAINER_NAME`]: the image, the command, plain environment values, secrets
//!   as ECS container secrets (the execution role is granted read), logs to the log group;
//! - a security group of its own in the platform's VPC (all outbound allowed; no inbound);
//! - for each declared dependency (`connects_to`), an ingress rule on the dependency's security
//!   group from the task's, and `<NAME>_HOST` / `<NAME>_PORT` environment values;
//! - an output `RunTaskCommand`: the exact `aws ecs run-task` invocation (cluster, family, launch
//!   type, the private subnets, the task's security group, no public IP), resolved at deploy time.

use std::collections::{BTreeMap, BTreeSet};

use cdk_from_rust::aws_cdk_lib::aws_ec2::{
    SecurityGroup, SecurityGroupProps, SubnetSelection, SubnetType,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    AwsLogDriverProps, ContainerDefinitionOptions, ContainerImage, FargateTaskDefinition,
    FargateTaskDefinitionProps, LogDrivers,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::{LogGroup, LogGroupProps};
use cdk_from_rust::aws_cdk_lib::{CfnOutput, CfnOutputProps, Fn, RemovalPolicy};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsString;

use crate::platform::Platform;
use crate::service::Image;
use crate::task_size::{CpuArchitecture, TaskSize};
use crate::validation::{
    is_env_var_name as is_env_name, Check, ValidationErrors, ENV_VAR_NAME as ENV_NAME,
};
use crate::wiring::{self, ContainerSecret, Dependency, Endpoint, Registry};

/// The name of the task's container (for `--overrides` of `aws ecs run-task`).
pub const CONTAINER_NAME: &str = "task";

/// Props of [`OneOffTask`].
#[derive(Clone, Debug)]
pub struct OneOffTaskProps {
    /// The container image: an image handle, or a registry reference pinned to a tag other than
    /// `latest` or to a digest (`registry/app:v1.4.2`, `registry/app@sha256:...`), so a re-run
    /// runs the same code. Required.
    pub image: Image,
    /// The command run in the container (replaces the image's `CMD`), e.g.
    /// `["python", "manage.py", "migrate"]`. Required: at least one argument, the first not
    /// blank.
    pub command: Vec<String>,
    /// The Fargate task size. [`OneOffTaskProps::new`] sets 0.5 vCPU / 1 GiB.
    pub task_size: TaskSize,
    /// The CPU architecture the task runs on (the task definition's `RuntimePlatform`); the image
    /// must be built for it. [`OneOffTaskProps::new`] sets X86_64.
    pub cpu_architecture: CpuArchitecture,
    /// Plain environment values, names `[A-Z_][A-Z0-9_]*`. Secrets never go here, and the
    /// `<NAME>_HOST` / `<NAME>_PORT` values of `connects_to` are set automatically. When empty,
    /// only those dependency values are set.
    pub environment: BTreeMap<String, String>,
    /// Secrets, injected as ECS container secrets by variable name (`[A-Z_][A-Z0-9_]*`, not also
    /// in `environment`). When empty, the container gets no secrets.
    pub secrets: BTreeMap<String, ContainerSecret>,
    /// What the task talks to (`"db:5432".parse()`), each declared earlier in the environment and
    /// reachable by DNS (not a service's Service Connect name: a `run-task` task does not join
    /// Service Connect): opens the dependency's security group to the task on that port and sets
    /// `<NAME>_HOST` / `<NAME>_PORT`. When empty, nothing is opened.
    pub connects_to: Vec<Dependency>,
    /// The task-definition family (1-255 of `A-Z a-z 0-9 _ -`), the name `run-task` uses. When
    /// `None`, `<environment>-<id in lower case>` (e.g. `staging-migrate`).
    pub family: Option<String>,
}

impl OneOffTaskProps {
    /// Props running `command` in `image` on 0.5 vCPU / 1 GiB, with no environment, secrets or
    /// dependencies and the default family.
    pub fn new<S: Into<String>>(
        image: impl Into<Image>,
        command: impl IntoIterator<Item = S>,
    ) -> Self {
        OneOffTaskProps {
            image: image.into(),
            command: command.into_iter().map(Into::into).collect(),
            task_size: TaskSize::HALF_1,
            cpu_architecture: CpuArchitecture::default(),
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            connects_to: Vec::new(),
            family: None,
        }
    }

    /// The family the task definition gets in `environment`.
    pub fn family_name(&self, id: &str, environment: &str) -> String {
        self.family
            .clone()
            .unwrap_or_else(|| format!("{environment}-{}", id.to_ascii_lowercase()))
    }

    /// Every violation of these props for the construct `id` in `environment`, including
    /// dependencies not declared in `registry`; else the resolved dependencies.
    pub fn validate(
        &self,
        id: &str,
        environment: &str,
        registry: &Registry,
    ) -> Result<Vec<(Dependency, Endpoint)>, ValidationErrors> {
        let mut c = Check::new("OneOffTask", id);
        if let Image::Registry(r) = &self.image {
            if r.trim().is_empty() || r.contains(char::is_whitespace) {
                c.fail(
                    "image",
                    r,
                    "an image reference such as 111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2",
                );
            } else if !is_pinned(r) {
                c.fail(
                    "image",
                    r,
                    "a reference pinned to a tag other than `latest` or to a digest \
                     (repo:v1.4.2, repo@sha256:...), so every run runs the same code",
                );
            }
        }
        c.require(
            self.command.first().is_some_and(|a| !a.trim().is_empty()),
            "command",
            &self.command,
            "at least one argument, the first not blank, e.g. [\"python\", \"manage.py\", \"migrate\"]",
        );
        let dependency_vars: BTreeSet<String> = self
            .connects_to
            .iter()
            .flat_map(|d| {
                let p = d.name.to_ascii_uppercase().replace('-', "_");
                [format!("{p}_HOST"), format!("{p}_PORT")]
            })
            .collect();
        for key in self.environment.keys() {
            if !is_env_name(key) {
                c.fail("environment", key, ENV_NAME);
            } else if self.secrets.contains_key(key) {
                c.fail(
                    "environment",
                    key,
                    "a name not also in `secrets` (a variable is either plain or secret)",
                );
            } else if dependency_vars.contains(key) {
                c.fail(
                    "environment",
                    key,
                    "a name not set from `connects_to` (<NAME>_HOST / <NAME>_PORT)",
                );
            }
        }
        for key in self.secrets.keys() {
            if !is_env_name(key) {
                c.fail("secrets", key, ENV_NAME);
            } else if dependency_vars.contains(key) {
                c.fail(
                    "secrets",
                    key,
                    "a name not set from `connects_to` (<NAME>_HOST / <NAME>_PORT)",
                );
            }
        }
        let family = self.family_name(id, environment);
        c.require(
            (1..=255).contains(&family.len())
                && family
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "family",
            &family,
            "1-255 of A-Z, a-z, 0-9, '_' and '-' (when not given: <environment>-<id>)",
        );
        let resolved = registry.resolve(&mut c, "connects_to", &self.connects_to);
        // `run-task` tasks do not join Service Connect, so a service's Service Connect name does
        // not resolve in them.
        for (d, e) in &resolved {
            c.require(
                !e.service_connect_only,
                "connects_to",
                d.to_string(),
                format!(
                    "an endpoint reachable by DNS (a data-plane name such as `db` or `redis`); \
                     `{}` resolves only through Service Connect, which a run-task task does not \
                     join",
                    d.name
                ),
            );
        }
        c.finish().map(|()| resolved)
    }
}

/// Whether an image reference names a digest, or a tag other than `latest`.
fn is_pinned(reference: &str) -> bool {
    if reference.contains("@sha256:") {
        return true;
    }
    // The tag follows the last ':' of the last path component (a ':' before a '/' is a port).
    let last = reference.rsplit('/').next().unwrap_or(reference);
    last.rsplit_once(':')
        .is_some_and(|(_, tag)| !tag.is_empty() && tag != "latest")
}

/// A task definition to run once, with everything `aws ecs run-task` needs.
#[derive(Clone, Debug)]
pub struct OneOffTask {
    pub task_definition: FargateTaskDefinition,
    /// The task's security group (dependencies admit it).
    pub security_group: SecurityGroup,
    pub log_group: LogGroup,
    /// The task-definition family.
    pub family: String,
    /// The `aws ecs run-task` command (a token, resolved at deploy time; also the stack output
    /// `RunTaskCommand`).
    pub run_task_command: JsString,
    /// The private subnets the task runs in, comma-separated (a token, resolved at deploy time).
    pub subnet_ids: JsString,
}

impl OneOffTask {
    /// Validates `props` (and its dependencies against the platform's registry) and adds the
    /// task to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: OneOffTaskProps,
    ) -> Result<OneOffTask, ValidationErrors> {
        let resolved = props.validate(id, &platform.environment, &platform.registry)?;
        Ok(Self::build(
            Construct::new(scope, id),
            id,
            platform,
            &props,
            &resolved,
        ))
    }

    /// Lowers `props` (validated, dependencies `resolved`) into `scope`, a construct with no
    /// children of these ids yet (`Logs`, `SecurityGroup`, `TaskDefinition`, `RunTaskCommand`):
    /// the task [`OneOffTask::new`] makes, and what
    /// [`ScheduledTask`](crate::scheduled_task::ScheduledTask) schedules.
    pub(crate) fn build(
        scope: Construct,
        id: &str,
        platform: &Platform,
        props: &OneOffTaskProps,
        resolved: &[(Dependency, Endpoint)],
    ) -> OneOffTask {
        let family = props.family_name(id, &platform.environment);
        let vpc = platform.network.vpc;

        let log_group = LogGroup::new_with(
            scope,
            "Logs",
            LogGroupProps::new()
                .retention(platform.log_retention)
                .removal_policy(RemovalPolicy::Retain),
        );
        let security_group = SecurityGroup::new(
            scope,
            "SecurityGroup",
            SecurityGroupProps::new(vpc)
                .description(format!("one-off task {family}"))
                .allow_all_outbound(true),
        );
        let mut environment = wiring::literal_environment(&props.environment);
        environment.extend(wiring::connect(id, security_group.into(), resolved));

        let task_definition = FargateTaskDefinition::new_with(
            scope,
            "TaskDefinition",
            FargateTaskDefinitionProps::new()
                .family(family.as_str())
                .cpu(props.task_size.cpu())
                .memory_limit_mib(props.task_size.memory_mib())
                .runtime_platform(props.cpu_architecture.runtime_platform()),
        );
        let image: ContainerImage = match &props.image {
            Image::Handle(h) => *h,
            Image::Registry(r) => ContainerImage::from_registry(r.as_str()).into(),
        };
        task_definition.add_container(
            CONTAINER_NAME,
            ContainerDefinitionOptions::new(image)
                .container_name(CONTAINER_NAME)
                .essential(true)
                .command(props.command.iter())
                .environment(environment.iter())
                .secrets(props.secrets.iter().map(|(k, s)| (k.as_str(), s.to_ecs())))
                .logging(LogDrivers::aws_logs(
                    AwsLogDriverProps::new(CONTAINER_NAME).log_group(log_group),
                )),
        );

        // `subnetIds` of the selection is an array of tokens; Fn.join over it as a whole keeps
        // the number of subnets out of Rust.
        let selection = vpc
            .select_subnets_with(SubnetSelection::new().subnet_type(SubnetType::PrivateWithEgress));
        let subnet_ids = Fn::join(",", selection.subnet_ids());
        let run_task_command = Fn::join(
            "",
            [
                JsString::from("aws ecs run-task --cluster "),
                platform.cluster.cluster_name(),
                JsString::from(format!(
                    " --task-definition {family} --launch-type FARGATE --network-configuration \
                     'awsvpcConfiguration={{subnets=["
                )),
                subnet_ids.clone(),
                JsString::from("],securityGroups=["),
                security_group.security_group_id(),
                JsString::from("],assignPublicIp=DISABLED}'"),
            ],
        );
        CfnOutput::new(
            scope,
            "RunTaskCommand",
            CfnOutputProps::new(run_task_command.clone())
                .description(format!("Runs {family} once (wait for exit code 0)")),
        );
        OneOffTask {
            task_definition,
            security_group,
            log_group,
            family,
            run_task_command,
            subnet_ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_only_rejection, assert_rejects};

    const IMAGE: &str = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2";

    fn props() -> OneOffTaskProps {
        OneOffTaskProps::new(IMAGE, ["python", "manage.py", "migrate"])
    }

    /// Asserts `p` (validated as `Migrate` in staging against `registry`) has exactly one
    /// violation, of `field` = `value`, naming the construct and what is allowed.
    fn rejects_with(
        registry: &Registry,
        p: &OneOffTaskProps,
        field: &str,
        value: &str,
        allowed: &str,
    ) {
        assert_only_rejection(
            p.validate("Migrate", "staging", registry),
            "OneOffTask",
            "Migrate",
            field,
            value,
            allowed,
        );
    }

    /// [`rejects_with`] an empty registry.
    fn rejects(p: &OneOffTaskProps, field: &str, value: &str, allowed: &str) {
        rejects_with(&Registry::default(), p, field, value, allowed);
    }

    #[test]
    fn defaults_are_valid_and_family_is_environment_and_id() {
        let p = props();
        assert!(p
            .validate("Migrate", "staging", &Registry::default())
            .unwrap()
            .is_empty());
        assert_eq!(p.family_name("Migrate", "staging"), "staging-migrate");
        for ok in [
            "nginx:1.27",
            "localhost:5000/app:v1",
            "public.ecr.aws/a/b@sha256:0123",
        ] {
            assert!(is_pinned(ok), "{ok}");
        }
        for bad in ["nginx", "nginx:latest", "localhost:5000/app", "app:"] {
            assert!(!is_pinned(bad), "{bad}");
        }
    }

    #[test]
    fn fails_on_blank_image_reference() {
        let mut p = props();
        p.image = Image::Registry("my image".into());
        rejects(
            &p,
            "image",
            "\"my image\"",
            "an image reference such as 111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2",
        );
    }

    #[test]
    fn fails_on_unpinned_image_reference() {
        for image in ["tracker/api:latest", "tracker/api"] {
            let mut p = props();
            p.image = Image::Registry(image.into());
            rejects(
                &p,
                "image",
                &format!("{image:?}"),
                "a reference pinned to a tag other than `latest` or to a digest \
                 (repo:v1.4.2, repo@sha256:...)",
            );
        }
    }

    #[test]
    fn fails_on_empty_command() {
        const ALLOWED: &str = "at least one argument, the first not blank";
        let mut p = props();
        p.command.clear();
        rejects(&p, "command", "[]", ALLOWED);
        p.command = vec![" ".into()];
        rejects(&p, "command", "[\" \"]", ALLOWED);
    }

    #[test]
    fn fails_on_invalid_environment_name() {
        for name in ["log_level", "1X"] {
            let mut p = props();
            p.environment.insert(name.into(), "info".into());
            rejects(&p, "environment", &format!("{name:?}"), ENV_NAME);
        }
    }

    #[test]
    fn fails_on_name_in_both_environment_and_secrets() {
        cdk_from_rust::record(|| {
            let app = cdk_from_rust::aws_cdk_lib::App::new();
            let secret = cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret::new(app, "S");
            let mut p = props();
            p.environment
                .insert("DATABASE_PASSWORD".into(), "hunter2".into());
            p.secrets.insert(
                "DATABASE_PASSWORD".into(),
                ContainerSecret::field(secret, "password"),
            );
            rejects(
                &p,
                "environment",
                "\"DATABASE_PASSWORD\"",
                "a name not also in `secrets` (a variable is either plain or secret)",
            );
        });
    }

    #[test]
    fn fails_on_invalid_secret_name() {
        cdk_from_rust::record(|| {
            let app = cdk_from_rust::aws_cdk_lib::App::new();
            let secret = cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret::new(app, "S");
            let mut p = props();
            p.secrets
                .insert("db-password".into(), ContainerSecret::whole(secret));
            rejects(&p, "secrets", "\"db-password\"", ENV_NAME);
        });
    }

    #[test]
    fn fails_on_environment_name_set_by_connects_to() {
        let mut p = props();
        p.environment.insert("DB_HOST".into(), "localhost".into());
        p.connects_to = vec![Dependency::new("db", 5432)];
        let err = p
            .validate("Migrate", "staging", &Registry::default())
            .unwrap_err();
        let line = assert_rejects(
            &err,
            "OneOffTask",
            "Migrate",
            "environment",
            "a name not set from `connects_to` (<NAME>_HOST / <NAME>_PORT)",
        );
        assert!(line.contains("= \"DB_HOST\" is not allowed"), "{line}");
    }

    #[test]
    fn fails_on_secret_name_set_by_connects_to() {
        let err = cdk_from_rust::record(|| {
            let app = cdk_from_rust::aws_cdk_lib::App::new();
            let secret = cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret::new(app, "S");
            let mut p = props();
            p.secrets
                .insert("ANISETTE_V3_PORT".into(), ContainerSecret::whole(secret));
            p.connects_to = vec![Dependency::new("anisette-v3", 6969)];
            p.validate("Migrate", "staging", &Registry::default())
                .unwrap_err()
        })
        .1;
        let line = assert_rejects(
            &err,
            "OneOffTask",
            "Migrate",
            "secrets",
            "a name not set from `connects_to` (<NAME>_HOST / <NAME>_PORT)",
        );
        assert!(
            line.contains("= \"ANISETTE_V3_PORT\" is not allowed"),
            "{line}"
        );
    }

    #[test]
    fn fails_on_invalid_family() {
        const ALLOWED: &str =
            "1-255 of A-Z, a-z, 0-9, '_' and '-' (when not given: <environment>-<id>)";
        let mut p = props();
        p.family = Some("db migrate".into());
        rejects(&p, "family", "\"db migrate\"", ALLOWED);
        // The default family is derived from the id, which must then fit too.
        let err = props()
            .validate("Migrate DB", "staging", &Registry::default())
            .unwrap_err();
        let line = assert_rejects(&err, "OneOffTask", "Migrate DB", "family", ALLOWED);
        assert!(
            line.contains("= \"staging-migrate db\" is not allowed"),
            "{line}"
        );
    }

    #[test]
    fn fails_on_undeclared_dependency() {
        let mut p = props();
        p.connects_to = vec![Dependency::new("db", 5432)];
        rejects(
            &p,
            "connects_to",
            "\"db:5432\"",
            "one of the endpoints declared so far",
        );
    }

    #[test]
    fn fails_on_a_dependency_port_the_endpoint_does_not_serve() {
        crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            crate::service::test_support::declare_db(stack, &platform);
            let mut p = props();
            p.connects_to = vec![Dependency::new("db", 5433)];
            rejects_with(
                &platform.registry,
                &p,
                "connects_to",
                "\"db:5433\"",
                "a port `db` serves: 5432",
            );
            // The declared port resolves.
            p.connects_to = vec![Dependency::new("db", 5432)];
            let resolved = p
                .validate("Migrate", "staging", &platform.registry)
                .unwrap();
            assert_eq!(resolved.len(), 1);
        });
    }

    #[test]
    fn fails_on_a_dependency_only_service_connect_resolves() {
        crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            crate::service::test_support::declare_service(stack, &platform, "ApiSg", "api", 8000);
            let mut p = props();
            p.connects_to = vec![Dependency::new("api", 8000)];
            rejects_with(
                &platform.registry,
                &p,
                "connects_to",
                "\"api:8000\"",
                "`api` resolves only through Service Connect",
            );
        });
    }

    #[test]
    fn fails_on_every_violation_together() {
        let mut p = OneOffTaskProps::new("app", Vec::<String>::new());
        p.environment.insert("bad-name".into(), "x".into());
        p.family = Some(String::new());
        p.connects_to = vec![Dependency::new("redis", 6379)];
        let err = p
            .validate("Migrate", "staging", &Registry::default())
            .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["image", "command", "environment", "family", "connects_to"]
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::network::{Network, NetworkProps};
    use crate::platform::PlatformProps;
    use crate::testing::synth;
    use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret;

    const CERT: &str =
        "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";

    #[test]
    fn migration_task_has_command_secrets_retained_logs_and_a_run_task_output() {
        let t = synth(|stack| {
            let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
            let platform = Platform::new(
                stack,
                "Platform",
                network,
                PlatformProps::new("staging", CERT),
            )
            .unwrap();
            crate::service::test_support::declare_db(stack, &platform);
            let secret = Secret::new(stack, "DbCredentials");
            let mut props = OneOffTaskProps::new(
                "111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2",
                ["python", "manage.py", "migrate"],
            );
            props.environment.insert("LOG_LEVEL".into(), "info".into());
            props.secrets.insert(
                "DB_PASSWORD".into(),
                ContainerSecret::field(secret, "password"),
            );
            props.connects_to = vec!["db:5432".parse().unwrap()];
            let task = OneOffTask::new(stack, "Migrate", &platform, props).unwrap();
            assert_eq!(task.family, "staging-migrate");
        });
        let td = &t.one("AWS::ECS::TaskDefinition")["Properties"];
        assert_eq!(td["Family"], "staging-migrate");
        assert_eq!(td["Cpu"], "512");
        assert_eq!(td["Memory"], "1024");
        assert_eq!(td["RequiresCompatibilities"][0], "FARGATE");
        let c = &td["ContainerDefinitions"][0];
        assert_eq!(c["Name"], CONTAINER_NAME);
        assert_eq!(
            c["Command"],
            serde_json::json!(["python", "manage.py", "migrate"])
        );
        let env: Vec<&str> = c["Environment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Name"].as_str().unwrap())
            .collect();
        assert_eq!(env, ["DB_HOST", "DB_PORT", "LOG_LEVEL"]);
        assert_eq!(c["Secrets"][0]["Name"], "DB_PASSWORD");
        assert!(
            c["Secrets"][0]["ValueFrom"]
                .to_string()
                .contains(":password::"),
            "{}",
            c["Secrets"][0]
        );
        assert_eq!(c["LogConfiguration"]["LogDriver"], "awslogs");

        let logs = t.at_path("AWS::Logs::LogGroup", "Migrate/Logs");
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["Properties"]["RetentionInDays"], 30);
        assert_eq!(logs[0]["DeletionPolicy"], "Retain");
        // No Lambda-backed log-retention custom resource.
        assert!(t.resources("Custom::LogRetention").is_empty());

        // The dependency admits the task on 5432.
        let ingress = t.resources("AWS::EC2::SecurityGroupIngress");
        assert!(
            ingress
                .iter()
                .any(|(_, r)| r["Properties"]["FromPort"] == 5432
                    && r["Properties"]["Description"] == "Migrate -> db:5432"),
            "{ingress:?}"
        );

        let outputs = t.0["Outputs"].as_object().unwrap();
        let (_, out) = outputs
            .iter()
            .find(|(k, _)| k.contains("RunTaskCommand"))
            .expect("RunTaskCommand output");
        let text = out["Value"].to_string();
        for part in [
            "aws ecs run-task --cluster ",
            "--task-definition staging-migrate --launch-type FARGATE",
            "awsvpcConfiguration={subnets=[",
            "],securityGroups=[",
            "assignPublicIp=DISABLED}'",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        let join = &out["Value"]["Fn::Join"];
        assert_eq!(join[0], "");
        let parts = join[1].as_array().unwrap();
        assert!(parts.iter().any(|p| p.get("Ref").is_some()), "{text}");
        // The private subnets (two AZs), by reference, comma-joined.
        let subnets = parts
            .iter()
            .find_map(|p| p.get("Fn::Join").filter(|j| j[0] == ","))
            .expect("the joined subnet ids");
        let subnet_refs = subnets[1]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| {
                p["Ref"]
                    .as_str()
                    .is_some_and(|r| r.contains("privateSubnet"))
            })
            .count();
        assert_eq!(subnet_refs, 2, "{text}");
    }
}
