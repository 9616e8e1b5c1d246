//! Sidecars: extra containers in a service's task (an OpenTelemetry collector, a log router, a
//! proxy), started in an order the service declares with `dependsOn` conditions.
//!
//! A [`Sidecar`] sits beside the service's own container (named like the service) in the same
//! task: it shares the task's network namespace (so its ports may not collide with any other
//! container's), its CPU and memory (so it reserves a share of them, at most half the task's
//! together with the other sidecars), and the service's log group (stream prefix: the sidecar's
//! name). [`ContainerDependsOn`] says which container must reach which state before another one
//! starts: the service's container waits on sidecars through `ServiceProps::depends_on`, a
//! sidecar on others (or on the service's container) through its own `depends_on`.
//!
//! The rules ([`validate`]), every violation reported at once under `service.sidecars[i].<field>`
//! or `service.depends_on`:
//! - names: DNS labels, unique, not the service's own container's name;
//! - `HEALTHY` only on a container with a health check (ECS waits for the check to pass);
//! - `COMPLETE` / `SUCCESS` only on a non-essential container (an essential container that exits
//!   stops the whole task, so no one could wait for it to finish); the service's own container
//!   is always essential;
//! - a dependency names a container of the task other than the dependent one, at most once, and
//!   the dependencies have no cycle (a cycle never starts);
//! - ports 1-65535 and used by one container of the task only;
//! - memory: each reservation 6 MiB (Docker's minimum) or more, a hard limit (when set) at least
//!   the reservation and within the task's memory; together the reservations at most half the
//!   task's memory, and the CPU units at most half the task's CPU (the service's own container
//!   gets the rest).
//!
//! Creates, in the task definition: one container per sidecar (construct id and container name:
//! the sidecar's name; added after the service's own, which stays the first container
//! definition), then the `DependsOn` entries.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    AwsLogDriverProps, ContainerDefinition, ContainerDefinitionOptions, ContainerDependency,
    ContainerDependencyCondition, FargateTaskDefinition, LogDrivers, PortMapping, Protocol,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::LogGroup;

use crate::service::{ContainerHealthCheck, Image, ServiceProps};
use crate::validation::{is_dns_label, is_env_var_name, Check, ENV_VAR_NAME};

/// The state a container must reach before the one depending on it starts (ECS `dependsOn`
/// condition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DependencyCondition {
    /// The container has started.
    Start,
    /// The container's health check passed (it must have one).
    Healthy,
    /// The container exited, with any status (it must not be essential).
    Complete,
    /// The container exited with status 0 (it must not be essential).
    Success,
}

impl DependencyCondition {
    /// Every condition, in ECS's order of names.
    pub const ALL: [DependencyCondition; 4] = [
        DependencyCondition::Start,
        DependencyCondition::Healthy,
        DependencyCondition::Complete,
        DependencyCondition::Success,
    ];

    /// The name in ECS (`START`, `HEALTHY`, `COMPLETE`, `SUCCESS`).
    pub fn name(self) -> &'static str {
        match self {
            DependencyCondition::Start => "START",
            DependencyCondition::Healthy => "HEALTHY",
            DependencyCondition::Complete => "COMPLETE",
            DependencyCondition::Success => "SUCCESS",
        }
    }

    /// Whether the container waited on must exit (and so must not be essential).
    pub fn waits_for_exit(self) -> bool {
        matches!(
            self,
            DependencyCondition::Complete | DependencyCondition::Success
        )
    }

    fn lower(self) -> ContainerDependencyCondition {
        match self {
            DependencyCondition::Start => ContainerDependencyCondition::Start,
            DependencyCondition::Healthy => ContainerDependencyCondition::Healthy,
            DependencyCondition::Complete => ContainerDependencyCondition::Complete,
            DependencyCondition::Success => ContainerDependencyCondition::Success,
        }
    }
}

impl fmt::Display for DependencyCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a condition may be (for error messages).
pub const CONDITIONS: &str = "START, HEALTHY, COMPLETE or SUCCESS";

impl FromStr for DependencyCondition {
    type Err = String;
    /// Parses the ECS name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, String> {
        DependencyCondition::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("one of {CONDITIONS}"))
    }
}

/// "Start after `container` reached `condition`".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerDependsOn {
    /// A container of the same task: a sidecar's name, or the service's name for its own
    /// container.
    pub container: String,
    pub condition: DependencyCondition,
}

impl ContainerDependsOn {
    pub fn new(container: &str, condition: DependencyCondition) -> Self {
        ContainerDependsOn {
            container: container.to_string(),
            condition,
        }
    }
}

impl fmt::Display for ContainerDependsOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.container, self.condition)
    }
}

/// An extra container in a service's task.
#[derive(Clone, Debug)]
pub struct Sidecar {
    /// The container's name: a DNS label, unique in the task and not the service's name (the
    /// service's own container has that name). Required.
    pub name: String,
    /// The image. Required.
    pub image: Image,
    /// Replaces the image's `CMD`. When `None`, the image's own command runs.
    pub command: Option<Vec<String>>,
    /// Plain environment values (non-secret configuration). When empty, none.
    pub environment: BTreeMap<String, String>,
    /// Whether the task stops when this container stops. [`Sidecar::new`] sets `false`: an
    /// agent failing does not take the service down (its own health check and logs show it).
    pub essential: bool,
    /// CPU units reserved for the container (1024 = 1 vCPU), 0 up to the task's CPU; the
    /// sidecars together at most half the task's. [`Sidecar::new`] sets 0 (no reservation: it
    /// shares the task's CPU).
    pub cpu: u32,
    /// Memory reserved for the container (soft limit), MiB, 6 or more; the sidecars together at
    /// most half the task's memory. [`Sidecar::new`] sets 64.
    pub memory_reservation_mib: u32,
    /// A hard memory limit (the container is killed above it), at least the reservation and at
    /// most the task's memory. When `None` (the default), no hard limit beyond the task's.
    pub memory_limit_mib: Option<u32>,
    /// The TCP ports it listens on (reachable on `localhost` from the other containers of the
    /// task; not published through Service Connect). When empty (the default), none.
    pub ports: Vec<u16>,
    /// A container health check. Required when another container waits for it to be
    /// `HEALTHY`. Default: `None`.
    pub health_check: Option<ContainerHealthCheck>,
    /// What it waits for before starting. When empty (the default), it starts with the task.
    pub depends_on: Vec<ContainerDependsOn>,
}

impl Sidecar {
    /// A non-essential sidecar `name` running `image`, reserving 64 MiB and no CPU, without
    /// ports, health check or dependencies.
    pub fn new(name: &str, image: impl Into<Image>) -> Self {
        Sidecar {
            name: name.to_string(),
            image: image.into(),
            command: None,
            environment: BTreeMap::new(),
            essential: false,
            cpu: 0,
            memory_reservation_mib: 64,
            memory_limit_mib: None,
            ports: Vec::new(),
            health_check: None,
            depends_on: Vec::new(),
        }
    }
}

/// Docker's smallest memory reservation.
const MIN_MEMORY_MIB: u32 = 6;

/// One container of the task as the rules see it.
struct Node<'a> {
    /// The field prefix its own settings are reported under (`service.sidecars[0].`); the
    /// service's own container: `service.`.
    field: String,
    /// The field its dependencies are reported under.
    depends_field: String,
    essential: bool,
    has_health_check: bool,
    depends_on: &'a [ContainerDependsOn],
}

/// Records every violation of the sidecars of `props` and of `props.depends_on` (fields
/// prefixed with `prefix`, e.g. `service.`).
pub fn validate(c: &mut Check, prefix: &str, props: &ServiceProps) {
    let f = |name: &str| format!("{prefix}{name}");
    let task_memory = props.task_size.memory_mib();
    let task_cpu = props.task_size.cpu();
    let mut nodes: BTreeMap<&str, Node> = BTreeMap::new();
    nodes.insert(
        props.name.as_str(),
        Node {
            field: prefix.to_string(),
            depends_field: f("depends_on"),
            essential: true,
            has_health_check: props.health_check.is_some(),
            depends_on: &props.depends_on,
        },
    );
    for (i, s) in props.sidecars.iter().enumerate() {
        let sf = |name: &str| format!("{prefix}sidecars[{i}].{name}");
        if !is_dns_label(&s.name) {
            c.fail(
                &sf("name"),
                &s.name,
                "a DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'",
            );
        } else if nodes.contains_key(s.name.as_str()) {
            c.fail(
                &sf("name"),
                &s.name,
                format!(
                    "a name no other container of the task has (`{}` is the service's own \
                     container; sidecar names are unique)",
                    props.name
                ),
            );
        } else {
            nodes.insert(
                s.name.as_str(),
                Node {
                    field: format!("{prefix}sidecars[{i}]."),
                    depends_field: sf("depends_on"),
                    essential: s.essential,
                    has_health_check: s.health_check.is_some(),
                    depends_on: &s.depends_on,
                },
            );
        }
        if let Image::Registry(r) = &s.image {
            c.require(
                !r.trim().is_empty() && !r.contains(char::is_whitespace),
                &sf("image"),
                r,
                "an image reference such as public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1",
            );
        }
        if let Some(cmd) = &s.command {
            c.require(
                !cmd.is_empty() && !cmd.iter().any(String::is_empty),
                &sf("command"),
                cmd,
                "None (the image's command) or at least one non-empty argument",
            );
        }
        for key in s.environment.keys() {
            c.require(is_env_var_name(key), &sf("environment"), key, ENV_VAR_NAME);
        }
        c.require(
            s.cpu <= task_cpu,
            &sf("cpu"),
            s.cpu,
            format!("0-{task_cpu} CPU units (the task's CPU)"),
        );
        c.require(
            (MIN_MEMORY_MIB..=task_memory).contains(&s.memory_reservation_mib),
            &sf("memory_reservation_mib"),
            s.memory_reservation_mib,
            format!("{MIN_MEMORY_MIB}-{task_memory} MiB (Docker's minimum to the task's memory)"),
        );
        if let Some(limit) = s.memory_limit_mib {
            c.require(
                limit >= s.memory_reservation_mib && limit <= task_memory,
                &sf("memory_limit_mib"),
                limit,
                format!(
                    "None, or from the memory reservation ({} MiB) to the task's memory ({} MiB)",
                    s.memory_reservation_mib, task_memory
                ),
            );
        }
        if let Some(h) = &s.health_check {
            h.validate(c, &sf("health_check"));
        }
    }
    let reserved_memory: u32 = props
        .sidecars
        .iter()
        .map(|s| s.memory_reservation_mib)
        .sum();
    c.require(
        reserved_memory <= task_memory / 2,
        &f("sidecars"),
        format!("{reserved_memory} MiB reserved"),
        format!(
            "memory reservations of at most half the task's memory together ({} of {task_memory} \
             MiB): the service's own container needs the rest; give the task more memory",
            task_memory / 2
        ),
    );
    let reserved_cpu: u32 = props.sidecars.iter().map(|s| s.cpu).sum();
    c.require(
        reserved_cpu <= task_cpu / 2,
        &f("sidecars"),
        format!("{reserved_cpu} CPU units reserved"),
        format!(
            "CPU reservations of at most half the task's CPU together ({} of {task_cpu} units): \
             the service's own container needs the rest; give the task more CPU",
            task_cpu / 2
        ),
    );

    // Ports: one container each (the task's containers share its network namespace).
    let mut port_owner: BTreeMap<u16, &str> = BTreeMap::new();
    for &port in &props.ports {
        port_owner.entry(port).or_insert(props.name.as_str());
    }
    for (i, s) in props.sidecars.iter().enumerate() {
        let field = format!("{prefix}sidecars[{i}].ports");
        let mut own = BTreeSet::new();
        for &port in &s.ports {
            if port == 0 {
                c.fail(&field, port, "1-65535");
                continue;
            }
            if !own.insert(port) {
                c.fail(&field, port, "each port declared once");
                continue;
            }
            match port_owner.get(&port) {
                Some(owner) => drop(c.fail(
                    &field,
                    port,
                    format!(
                        "a port no other container of the task uses (the containers share the \
                         task's network namespace): {port} is `{owner}`'s"
                    ),
                )),
                None => {
                    port_owner.insert(port, s.name.as_str());
                }
            }
        }
    }

    // Dependencies.
    let known: Vec<&str> = nodes.keys().copied().collect();
    for (name, node) in &nodes {
        let mut seen = BTreeSet::new();
        for d in node.depends_on {
            let field = node.depends_field.as_str();
            if !seen.insert(d.container.as_str()) {
                c.fail(field, d.to_string(), "each container depended on once");
                continue;
            }
            if d.container == *name {
                c.fail(
                    field,
                    d.to_string(),
                    "another container of the task (a container cannot wait for itself)",
                );
                continue;
            }
            let Some(target) = nodes.get(d.container.as_str()) else {
                c.fail(
                    field,
                    d.to_string(),
                    format!("one of the task's containers: {}", known.join(", ")),
                );
                continue;
            };
            if d.condition == DependencyCondition::Healthy && !target.has_health_check {
                c.fail(
                    field,
                    d.to_string(),
                    format!(
                        "HEALTHY only on a container with a health check: give `{}` one \
                         ({}health_check) or wait for START",
                        d.container, target.field
                    ),
                );
            }
            if d.condition.waits_for_exit() && target.essential {
                c.fail(
                    field,
                    d.to_string(),
                    format!(
                        "{} only on a non-essential container: `{}` is essential (an essential \
                         container that exits stops the task){}",
                        d.condition,
                        d.container,
                        if d.container == props.name {
                            ""
                        } else {
                            "; set its essential to false"
                        }
                    ),
                );
            }
        }
    }
    for cycle in cycles(&nodes) {
        c.fail(
            &nodes[cycle[0].as_str()].depends_field,
            cycle.join(" -> "),
            "dependencies without a cycle (containers waiting on each other never start)",
        );
    }
}

/// Each dependency cycle once, as the path from its smallest name back to it.
fn cycles(nodes: &BTreeMap<&str, Node>) -> Vec<Vec<String>> {
    let edges: BTreeMap<String, Vec<String>> = nodes
        .iter()
        .map(|(n, node)| {
            (
                n.to_string(),
                node.depends_on
                    .iter()
                    .filter(|d| d.container != *n && nodes.contains_key(d.container.as_str()))
                    .map(|d| d.container.clone())
                    .collect(),
            )
        })
        .collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for start in edges.keys() {
        // Depth-first search for a path back to `start` through names after it (so each cycle
        // is found once, from its smallest name).
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, path)) = stack.pop() {
            for next in &edges[&at] {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    found.insert(cycle);
                } else if next > start && !path.contains(next) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Adds the sidecars of `props` to `task_definition` (logging to `log_group`) and the declared
/// dependencies between them and `app` (the service's own container).
pub fn build(
    task_definition: FargateTaskDefinition,
    log_group: LogGroup,
    props: &ServiceProps,
    app: ContainerDefinition,
) {
    let mut containers: BTreeMap<&str, ContainerDefinition> = BTreeMap::new();
    containers.insert(props.name.as_str(), app);
    for s in &props.sidecars {
        let mut options = ContainerDefinitionOptions::new(s.image.lower())
            .container_name(s.name.as_str())
            .essential(s.essential)
            .memory_reservation_mib(s.memory_reservation_mib)
            .logging(LogDrivers::aws_logs(
                AwsLogDriverProps::new(s.name.as_str()).log_group(log_group),
            ));
        if s.cpu > 0 {
            options = options.cpu(s.cpu);
        }
        if let Some(limit) = s.memory_limit_mib {
            options = options.memory_limit_mib(limit);
        }
        if !s.environment.is_empty() {
            options =
                options.environment(s.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some(command) = &s.command {
            options = options.command(command.clone());
        }
        if !s.ports.is_empty() {
            options = options.port_mappings(
                s.ports
                    .iter()
                    .map(|&p| PortMapping::new(p).protocol(Protocol::Tcp)),
            );
        }
        if let Some(h) = &s.health_check {
            options = options.health_check(h.lower());
        }
        containers.insert(
            s.name.as_str(),
            task_definition.add_container(s.name.as_str(), options),
        );
    }
    let declared = std::iter::once((props.name.as_str(), &props.depends_on)).chain(
        props
            .sidecars
            .iter()
            .map(|s| (s.name.as_str(), &s.depends_on)),
    );
    for (name, depends_on) in declared {
        if depends_on.is_empty() {
            continue;
        }
        containers[name].add_container_dependencies(depends_on.iter().map(|d| {
            ContainerDependency::new(containers[d.container.as_str()])
                .condition(d.condition.lower())
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task_size::TaskSize;
    use crate::testing::assert_rejects_value;
    use crate::validation::ValidationErrors;

    const OTEL: &str = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1";

    fn collector() -> Sidecar {
        let mut s = Sidecar::new("otel-collector", OTEL);
        s.ports = vec![4317];
        s.health_check = Some(ContainerHealthCheck::new(["CMD", "/healthcheck"]));
        s
    }

    /// `api` (512 CPU / 1024 MiB, port 8000, a health check) waiting for a healthy collector.
    fn props() -> ServiceProps {
        let mut p = ServiceProps::new("api", TaskSize::HALF_1, "repo/api:1");
        p.ports = vec![8000];
        p.health_check = Some(ContainerHealthCheck::new(["CMD", "/bin/check"]));
        p.sidecars = vec![collector()];
        p.depends_on = vec![ContainerDependsOn::new(
            "otel-collector",
            DependencyCondition::Healthy,
        )];
        p
    }

    fn errors(p: &ServiceProps) -> ValidationErrors {
        let mut c = Check::new("TestService", "svc");
        p.validate(&mut c, "service.");
        c.finish().unwrap_err()
    }

    fn has(err: &ValidationErrors, field: &str, value: &str, allowed: &str) {
        assert_rejects_value(err, "TestService", "svc", field, value, allowed);
    }

    #[test]
    fn defaults_are_valid_and_conditions_parse() {
        let mut c = Check::new("TestService", "svc");
        props().validate(&mut c, "service.");
        c.finish().unwrap();
        assert!(!Sidecar::new("x", OTEL).essential);
        for condition in DependencyCondition::ALL {
            assert_eq!(condition.name().parse(), Ok(condition));
        }
        assert_eq!("healthy".parse(), Ok(DependencyCondition::Healthy));
        assert_eq!(
            "READY".parse::<DependencyCondition>(),
            Err("one of START, HEALTHY, COMPLETE or SUCCESS".to_string())
        );
    }

    #[test]
    fn fails_on_bad_taken_and_duplicate_container_names() {
        let mut p = props();
        p.sidecars.push(Sidecar::new("Bad_Name", OTEL));
        p.sidecars.push(Sidecar::new("api", OTEL));
        p.sidecars.push(Sidecar::new("otel-collector", OTEL));
        let e = errors(&p);
        has(
            &e,
            "service.sidecars[1].name",
            "\"Bad_Name\"",
            "a DNS label",
        );
        has(
            &e,
            "service.sidecars[2].name",
            "\"api\"",
            "`api` is the service's own container",
        );
        has(
            &e,
            "service.sidecars[3].name",
            "\"otel-collector\"",
            "a name no other container of the task has",
        );
    }

    #[test]
    fn fails_on_healthy_without_a_health_check_on_a_sidecar_or_the_service() {
        let mut p = props();
        p.sidecars[0].health_check = None;
        p.health_check = None;
        p.health_check_waiver = Some("a batch job".into());
        let mut router = Sidecar::new("log-router", OTEL);
        router.depends_on = vec![ContainerDependsOn::new("api", DependencyCondition::Healthy)];
        p.sidecars.push(router);
        let e = errors(&p);
        has(
            &e,
            "service.depends_on",
            "\"otel-collector:HEALTHY\"",
            "HEALTHY only on a container with a health check: give `otel-collector` one \
             (service.sidecars[0].health_check) or wait for START",
        );
        has(
            &e,
            "service.sidecars[1].depends_on",
            "\"api:HEALTHY\"",
            "give `api` one (service.health_check)",
        );
        assert_eq!(e.0.len(), 2, "{e}");
    }

    #[test]
    fn fails_on_complete_or_success_on_an_essential_container() {
        let mut p = props();
        let mut setup = Sidecar::new("setup", "repo/setup:1");
        setup.essential = true;
        p.sidecars.push(setup);
        let mut waiter = Sidecar::new("waiter", OTEL);
        waiter.depends_on = vec![ContainerDependsOn::new(
            "api",
            DependencyCondition::Complete,
        )];
        p.sidecars.push(waiter);
        p.depends_on.push(ContainerDependsOn::new(
            "setup",
            DependencyCondition::Success,
        ));
        let e = errors(&p);
        has(
            &e,
            "service.depends_on",
            "\"setup:SUCCESS\"",
            "SUCCESS only on a non-essential container: `setup` is essential (an essential \
             container that exits stops the task); set its essential to false",
        );
        has(
            &e,
            "service.sidecars[2].depends_on",
            "\"api:COMPLETE\"",
            "COMPLETE only on a non-essential container: `api` is essential",
        );
        // Non-essential, the same wait is fine.
        p.sidecars[1].essential = false;
        p.sidecars.pop();
        let mut c = Check::new("TestService", "svc");
        p.validate(&mut c, "service.");
        c.finish().unwrap();
    }

    #[test]
    fn fails_on_unknown_self_and_repeated_dependencies() {
        let mut p = props();
        p.depends_on = vec![
            ContainerDependsOn::new("otel-collector", DependencyCondition::Start),
            ContainerDependsOn::new("otel-collector", DependencyCondition::Healthy),
            ContainerDependsOn::new("api", DependencyCondition::Start),
            ContainerDependsOn::new("fluent-bit", DependencyCondition::Start),
        ];
        let e = errors(&p);
        has(
            &e,
            "service.depends_on",
            "\"otel-collector:HEALTHY\"",
            "each container depended on once",
        );
        has(
            &e,
            "service.depends_on",
            "\"api:START\"",
            "a container cannot wait for itself",
        );
        has(
            &e,
            "service.depends_on",
            "\"fluent-bit:START\"",
            "one of the task's containers: api, otel-collector",
        );
        assert_eq!(e.0.len(), 3, "{e}");
    }

    #[test]
    fn fails_on_a_dependency_cycle_reporting_it_once() {
        let mut p = props();
        let mut b = Sidecar::new("b", OTEL);
        b.depends_on = vec![ContainerDependsOn::new("api", DependencyCondition::Start)];
        p.sidecars.push(b);
        p.sidecars[0]
            .depends_on
            .push(ContainerDependsOn::new("b", DependencyCondition::Start));
        // api -> otel-collector -> b -> api.
        let e = errors(&p);
        assert_eq!(e.0.len(), 1, "{e}");
        has(
            &e,
            "service.depends_on",
            "\"api -> otel-collector -> b -> api\"",
            "dependencies without a cycle",
        );
    }

    #[test]
    fn fails_on_ports_another_container_uses() {
        let mut p = props();
        p.sidecars[0].ports = vec![8000, 4317, 4317, 0];
        let mut other = Sidecar::new("other", OTEL);
        other.ports = vec![4317, 9090];
        p.sidecars.push(other);
        let e = errors(&p);
        has(
            &e,
            "service.sidecars[0].ports",
            "8000",
            "a port no other container of the task uses (the containers share the task's \
             network namespace): 8000 is `api`'s",
        );
        has(
            &e,
            "service.sidecars[0].ports",
            "4317",
            "each port declared once",
        );
        has(&e, "service.sidecars[0].ports", "0", "1-65535");
        has(
            &e,
            "service.sidecars[1].ports",
            "4317",
            "4317 is `otel-collector`'s",
        );
        assert_eq!(e.0.len(), 4, "{e}");
    }

    #[test]
    fn fails_on_memory_and_cpu_beyond_the_task_and_its_half() {
        let mut p = props();
        p.sidecars[0].memory_reservation_mib = 5;
        p.sidecars[0].memory_limit_mib = Some(4);
        p.sidecars[0].cpu = 1024;
        let mut big = Sidecar::new("big", OTEL);
        big.memory_reservation_mib = 600;
        big.memory_limit_mib = Some(2048);
        p.sidecars.push(big);
        let e = errors(&p);
        has(
            &e,
            "service.sidecars[0].memory_reservation_mib",
            "5",
            "6-1024 MiB",
        );
        has(
            &e,
            "service.sidecars[0].memory_limit_mib",
            "4",
            "from the memory reservation (5 MiB) to the task's memory (1024 MiB)",
        );
        has(&e, "service.sidecars[0].cpu", "1024", "0-512 CPU units");
        has(
            &e,
            "service.sidecars[1].memory_limit_mib",
            "2048",
            "to the task's memory (1024 MiB)",
        );
        has(
            &e,
            "service.sidecars",
            "\"605 MiB reserved\"",
            "at most half the task's memory together (512 of 1024 MiB)",
        );
        has(
            &e,
            "service.sidecars",
            "\"1024 CPU units reserved\"",
            "at most half the task's CPU together (256 of 512 units)",
        );
        assert_eq!(e.0.len(), 6, "{e}");
    }

    #[test]
    fn fails_on_a_sidecars_image_command_environment_and_health_check() {
        let mut p = props();
        p.sidecars[0].image = "".into();
        p.sidecars[0].command = Some(vec![]);
        p.sidecars[0].environment.insert("1X".into(), "v".into());
        p.sidecars[0].health_check.as_mut().unwrap().retries = 0;
        let e = errors(&p);
        has(
            &e,
            "service.sidecars[0].image",
            "\"\"",
            "an image reference",
        );
        has(&e, "service.sidecars[0].command", "[]", "at least one");
        has(&e, "service.sidecars[0].environment", "\"1X\"", "");
        has(&e, "service.sidecars[0].health_check.retries", "0", "1-10");
        assert_eq!(e.0.len(), 4, "{e}");
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::private_worker_service::{PrivateWorkerService, PrivateWorkerServiceProps};
    use crate::service::test_support::platform;
    use crate::task_size::TaskSize;
    use crate::testing::synth;
    use serde_json::json;

    #[test]
    fn sidecars_follow_the_app_container_and_carry_their_start_order() {
        let t = synth(|stack| {
            let platform = platform(stack);
            let mut p = PrivateWorkerServiceProps::new("worker", TaskSize::HALF_1, "repo/app:1")
                .with_health_command("true");
            let mut collector = Sidecar::new("otel-collector", "repo/otel:1");
            collector.ports = vec![4317];
            collector.cpu = 64;
            collector.memory_reservation_mib = 128;
            collector.memory_limit_mib = Some(256);
            collector
                .environment
                .insert("OTEL_LOG_LEVEL".into(), "info".into());
            collector.health_check = Some(ContainerHealthCheck::new(["CMD", "/healthcheck"]));
            let mut setup = Sidecar::new("setup", "repo/setup:1");
            setup.command = Some(vec!["init".into()]);
            p.service.sidecars = vec![collector, setup];
            p.service.depends_on = vec![
                ContainerDependsOn::new("otel-collector", DependencyCondition::Healthy),
                ContainerDependsOn::new("setup", DependencyCondition::Success),
            ];
            PrivateWorkerService::new(stack, "Worker", &platform, p).unwrap();
        });
        let containers = &t.one("AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"];
        let names: Vec<&str> = containers
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["worker", "otel-collector", "setup"]);
        let app = &containers[0];
        assert_eq!(app["Essential"], true);
        assert_eq!(
            app["DependsOn"],
            json!([
                {"ContainerName": "otel-collector", "Condition": "HEALTHY"},
                {"ContainerName": "setup", "Condition": "SUCCESS"}
            ])
        );
        let collector = &containers[1];
        assert_eq!(collector["Essential"], false);
        assert_eq!(collector["Cpu"], 64);
        assert_eq!(collector["MemoryReservation"], 128);
        assert_eq!(collector["Memory"], 256);
        assert_eq!(
            collector["PortMappings"],
            json!([{"ContainerPort": 4317, "Protocol": "tcp"}])
        );
        assert_eq!(
            collector["HealthCheck"]["Command"],
            json!(["CMD", "/healthcheck"])
        );
        assert_eq!(
            collector["Environment"],
            json!([{"Name": "OTEL_LOG_LEVEL", "Value": "info"}])
        );
        assert!(collector.get("DependsOn").is_none());
        // Every container logs to the service's one log group, under its own stream prefix.
        let options = &collector["LogConfiguration"]["Options"];
        assert_eq!(options["awslogs-stream-prefix"], "otel-collector");
        assert_eq!(
            options["awslogs-group"],
            app["LogConfiguration"]["Options"]["awslogs-group"]
        );
        assert_eq!(containers[2]["Command"], json!(["init"]));
        assert_eq!(containers[2]["Essential"], false);
        assert_eq!(containers[2]["MemoryReservation"], 64);
    }
}
