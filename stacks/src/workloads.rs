//! The settings of work queues and sidecars (context `<environment>.queues` and
//! `<environment>.<service>.sidecars`), parsed and checked for [`Settings`], and applied to the
//! services' props by the stacks.
//!
//! `<environment>.queues`: a JSON object (in `cdk.json`, or as a string with `-c`) from queue name
//! to its declaration:
//!
//! | field | meaning | default |
//! |---|---|---|
//! | `consumer` | the worker that consumes it (required): one of the enabled workers, each consuming at most one queue; it scales on the queue's depth when its `minCount` < `maxCount` (not a singleton), and its `minCount` may be 0 | |
//! | `producers` | the services that send to it: api, frontend, admin or a worker | none |
//! | `retentionSecs` | how long a message waits at most, 60-1209600 | 345600 (4 days) |
//! | `deadLetterRetentionSecs` | the dead-letter queue's retention, more than `retentionSecs` | 1209600 (14 days) |
//! | `visibilityTimeoutSecs` | how long a received message stays hidden, 0-43200 | 300 |
//! | `maxReceiveCount` | receives before a message moves to the dead-letter queue, 1-1000; `visibilityTimeoutSecs` x `maxReceiveCount` < `retentionSecs` | 5 |
//! | `oldestMessageAlarmSecs` | alarm when the oldest message waited this long, 60 to below `retentionSecs` | 900 |
//! | `deadLetterAlarmMessages` | alarm at this many dead letters | 1 |
//! | `messagesPerTask` | the backlog one consumer task handles (queue-depth scaling) | 100 |
//!
//! `<environment>.<service>.sidecars` (a service of `api`, `frontend`, `admin` or a worker): a
//! JSON array of containers added to the service's task:
//!
//! | field | meaning | default |
//! |---|---|---|
//! | `name` | the container's name, a DNS label (required) | |
//! | `image` | the image reference (required), e.g. `public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1` | |
//! | `command` | replaces the image's command | the image's |
//! | `env` | plain environment values (an object) | none |
//! | `essential` | whether the task stops when it stops | `false` |
//! | `cpu` | CPU units reserved | 0 |
//! | `memoryReservationMiB` | memory reserved (soft limit), 6 or more | 64 |
//! | `memoryLimitMiB` | hard memory limit | none |
//! | `ports` | TCP ports it listens on (localhost for the task's other containers) | none |
//! | `healthCommand` | a `CMD-SHELL` health check (every 30 s, 5 s timeout, 3 retries) | none |
//! | `dependsOn` | containers it waits for, `{"<container>": "START\|HEALTHY\|COMPLETE\|SUCCESS"}` (the service's container is named like the service) | none |
//! | `serviceWaitsFor` | the condition of this sidecar the service's own container waits for before it starts | none |
//!
//! The construct rules ([`tracker_constructs::sidecar`], [`tracker_constructs::work_queue`]) are
//! checked here already, reported under these context keys.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;
use tracker_constructs::private_worker_service::WorkerScaling;
use tracker_constructs::service::{ContainerHealthCheck, ServiceProps};
use tracker_constructs::sidecar::{self, ContainerDependsOn, DependencyCondition, Sidecar};
use tracker_constructs::validation::Check;
use tracker_constructs::work_queue::{self, WorkQueue, WorkQueueProps};

use crate::settings::{RawValue, Settings, WORKERS};

/// One queue of `<environment>.queues`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueueSetting {
    /// The worker consuming it.
    pub consumer: String,
    /// The services sending to it. Default: none.
    #[serde(default)]
    pub producers: Vec<String>,
    /// Default: 345600 (4 days).
    pub retention_secs: Option<u32>,
    /// Default: 1209600 (14 days).
    pub dead_letter_retention_secs: Option<u32>,
    /// Default: 300.
    pub visibility_timeout_secs: Option<u32>,
    /// Default: 5.
    pub max_receive_count: Option<u32>,
    /// Default: 900.
    pub oldest_message_alarm_secs: Option<u32>,
    /// Default: 1.
    pub dead_letter_alarm_messages: Option<u32>,
    /// The backlog one consumer task handles. Default: 100.
    pub messages_per_task: Option<u32>,
}

/// The default backlog per consumer task.
pub const MESSAGES_PER_TASK: u32 = 100;

impl QueueSetting {
    /// The construct props of the queue `name`.
    pub fn props(&self, name: &str) -> WorkQueueProps {
        let d = WorkQueueProps::new(name);
        WorkQueueProps {
            retention_secs: self.retention_secs.unwrap_or(d.retention_secs),
            dead_letter_retention_secs: self
                .dead_letter_retention_secs
                .unwrap_or(d.dead_letter_retention_secs),
            visibility_timeout_secs: self
                .visibility_timeout_secs
                .unwrap_or(d.visibility_timeout_secs),
            max_receive_count: self.max_receive_count.unwrap_or(d.max_receive_count),
            oldest_message_alarm_secs: self
                .oldest_message_alarm_secs
                .unwrap_or(d.oldest_message_alarm_secs),
            dead_letter_alarm_messages: self
                .dead_letter_alarm_messages
                .unwrap_or(d.dead_letter_alarm_messages),
            ..d
        }
    }

    /// The backlog one consumer task handles.
    pub fn messages_per_task(&self) -> u32 {
        self.messages_per_task.unwrap_or(MESSAGES_PER_TASK)
    }
}

/// One sidecar of `<environment>.<service>.sidecars`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SidecarSetting {
    pub name: String,
    pub image: String,
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub essential: bool,
    #[serde(default)]
    pub cpu: u32,
    #[serde(rename = "memoryReservationMiB")]
    pub memory_reservation_mib: Option<u32>,
    #[serde(rename = "memoryLimitMiB")]
    pub memory_limit_mib: Option<u32>,
    #[serde(default)]
    pub ports: Vec<u16>,
    pub health_command: Option<String>,
    /// Container name -> condition name.
    #[serde(default)]
    pub depends_on: BTreeMap<String, String>,
    pub service_waits_for: Option<String>,
}

impl SidecarSetting {
    /// The construct's sidecar (conditions already checked by [`validate`]).
    pub fn sidecar(&self) -> Sidecar {
        let mut s = Sidecar::new(&self.name, self.image.as_str());
        s.command = self.command.clone();
        s.environment = self.env.clone();
        s.essential = self.essential;
        s.cpu = self.cpu;
        if let Some(m) = self.memory_reservation_mib {
            s.memory_reservation_mib = m;
        }
        s.memory_limit_mib = self.memory_limit_mib;
        s.ports = self.ports.clone();
        s.health_check = self
            .health_command
            .as_ref()
            .map(|c| ContainerHealthCheck::new(["CMD-SHELL", c.as_str()]));
        s.depends_on = self
            .depends_on
            .iter()
            .filter_map(|(container, condition)| {
                let condition = condition.parse().ok()?;
                Some(ContainerDependsOn::new(container, condition))
            })
            .collect();
        s
    }
}

/// Parses `<environment>.queues` (a JSON object or a string holding one).
pub fn parse_queues(c: &mut Check, field: &str, value: &Value) -> BTreeMap<String, QueueSetting> {
    const ALLOWED: &str = "a JSON object from queue name to {\"consumer\": \"<worker>\", \
        \"producers\": [...], \"retentionSecs\", \"deadLetterRetentionSecs\", \
        \"visibilityTimeoutSecs\", \"maxReceiveCount\", \"oldestMessageAlarmSecs\", \
        \"deadLetterAlarmMessages\", \"messagesPerTask\"}";
    parse_json(c, field, value, ALLOWED).unwrap_or_default()
}

/// Parses `<environment>.<service>.sidecars` (a JSON array or a string holding one).
pub fn parse_sidecars(c: &mut Check, field: &str, value: &Value) -> Vec<SidecarSetting> {
    const ALLOWED: &str = "a JSON array of {\"name\", \"image\", \"command\", \"env\", \
        \"essential\", \"cpu\", \"memoryReservationMiB\", \"memoryLimitMiB\", \"ports\", \
        \"healthCommand\", \"dependsOn\": {\"<container>\": \"START|HEALTHY|COMPLETE|SUCCESS\"}, \
        \"serviceWaitsFor\"}";
    parse_json(c, field, value, ALLOWED).unwrap_or_default()
}

fn parse_json<T: serde::de::DeserializeOwned>(
    c: &mut Check,
    field: &str,
    value: &Value,
    allowed: &str,
) -> Option<T> {
    let parsed = match value {
        Value::String(s) => serde_json::from_str(s),
        other => serde_json::from_value(other.clone()),
    };
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            c.fail(
                field,
                RawValue(value.to_string()),
                format!("{allowed} ({e})"),
            );
            None
        }
    }
}

/// The services that may send to a queue: every service but `anisette-v3` (a third-party
/// image).
const PRODUCERS: [&str; 7] = crate::settings::OWN_SERVICES;

/// The services that may have sidecars: the same (Anisette's task is its construct's).
pub const SIDECAR_SERVICES: [&str; 7] = PRODUCERS;

/// Records every violation of the queue and sidecar settings of `s`, under their context keys.
pub fn validate(s: &Settings, c: &mut Check) {
    let env = s.environment.name();
    let enabled = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| s.enabled(n))
            .map(|n| n.to_string())
            .collect()
    };
    let workers = enabled(&WORKERS);
    let producers = enabled(&PRODUCERS);
    let mut consumed_by: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, q) in &s.queues {
        let key = |f: &str| format!("{env}.queues.{name}.{f}");
        // The construct's rules, under the context keys.
        if let Err(e) = q.props(name).validate(name) {
            for v in e.0 {
                let field = match v.field.as_str() {
                    "name" => format!("{env}.queues.{name}"),
                    other => key(&camel(other)),
                };
                c.fail(&field, RawValue(v.value), v.allowed);
            }
        }
        if !workers.contains(&q.consumer) {
            c.fail(
                &key("consumer"),
                &q.consumer,
                format!("an enabled worker: {}", workers.join(", ")),
            );
        } else if let Some(other) = consumed_by.insert(q.consumer.as_str(), name.as_str()) {
            c.fail(
                &key("consumer"),
                &q.consumer,
                format!(
                    "a worker consuming no other queue (it consumes `{other}`: a worker scales \
                     on one queue's depth)"
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, p) in q.producers.iter().enumerate() {
            let field = format!("{}[{i}]", key("producers"));
            if !producers.contains(p) {
                c.fail(
                    &field,
                    p,
                    format!("an enabled service: {}", producers.join(", ")),
                );
            } else if !seen.insert(p) {
                c.fail(&field, p, "each producer named once");
            }
        }
        c.require(
            q.messages_per_task() >= 1,
            &key("messagesPerTask"),
            q.messages_per_task(),
            "at least 1 message",
        );
        let variable = work_queue::url_variable(name);
        for target in std::iter::once(&q.consumer).chain(&q.producers) {
            if s.environment_of(target).contains_key(&variable) {
                c.fail(
                    &format!("{env}.{target}.env.{variable}"),
                    &variable,
                    format!("a name not set from `{env}.queues` (the queue `{name}`'s URL)"),
                );
            }
        }
    }
    for (service, sidecars) in &s.sidecars {
        let key = format!("{env}.{service}.sidecars");
        if !SIDECAR_SERVICES.contains(&service.as_str()) {
            c.fail(
                &key,
                service,
                format!("a service of {}", SIDECAR_SERVICES.join(", ")),
            );
            continue;
        }
        for (i, sc) in sidecars.iter().enumerate() {
            for (container, condition) in &sc.depends_on {
                if let Err(allowed) = condition.parse::<DependencyCondition>() {
                    c.fail(
                        &format!("{key}[{i}].dependsOn.{container}"),
                        condition,
                        allowed,
                    );
                }
            }
            if let Some(condition) = &sc.service_waits_for {
                if let Err(allowed) = condition.parse::<DependencyCondition>() {
                    c.fail(&format!("{key}[{i}].serviceWaitsFor"), condition, allowed);
                }
            }
            if sc
                .health_command
                .as_ref()
                .is_some_and(|h| h.trim().is_empty())
            {
                c.fail(
                    &format!("{key}[{i}].healthCommand"),
                    &sc.health_command,
                    "a shell command that exits 0 while the sidecar is healthy",
                );
            }
        }
        // The construct's rules (the service's own ports and health check are known only to
        // the stacks; its container is assumed to have a health check here, as every
        // configurable service does).
        let mut props = ServiceProps::new(service, s.sizing(service).task_size(), "image");
        props.health_check = Some(ContainerHealthCheck::new(["CMD", "true"]));
        apply_sidecars(s, &mut props);
        let mut inner = Check::new("Settings", env);
        sidecar::validate(&mut inner, "service.", &props);
        if let Err(e) = inner.finish() {
            // Construct fields, in the field and in what is allowed, as the context keys.
            let rename = |text: &str| {
                text.replace("service.sidecars", &key)
                    .replace("service.depends_on", &format!("{key}[].serviceWaitsFor"))
                    .replace(
                        "service.health_check",
                        &format!("{env}.{service}.healthCommand"),
                    )
                    .replace(".memory_reservation_mib", ".memoryReservationMiB")
                    .replace(".memory_limit_mib", ".memoryLimitMiB")
                    .replace(".depends_on", ".dependsOn")
                    .replace(".environment", ".env")
                    .replace(".health_check", ".healthCommand")
            };
            for v in e.0 {
                c.fail(&rename(&v.field), RawValue(v.value), rename(&v.allowed));
            }
        }
    }
}

/// `retention_secs` -> `retentionSecs`.
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for ch in snake.chars() {
        if ch == '_' {
            upper = true;
        } else if upper {
            out.push(ch.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(ch);
        }
    }
    out
}

/// Sets the sidecars of `props.name` from the settings, and what its container waits for.
pub fn apply_sidecars(s: &Settings, props: &mut ServiceProps) {
    let Some(sidecars) = s.sidecars.get(&props.name) else {
        return;
    };
    props.sidecars = sidecars.iter().map(SidecarSetting::sidecar).collect();
    props.depends_on = sidecars
        .iter()
        .filter_map(|sc| {
            let condition = sc.service_waits_for.as_ref()?.parse().ok()?;
            Some(ContainerDependsOn::new(&sc.name, condition))
        })
        .collect();
}

/// Sets what `props.name` sends to (the queues naming it a producer) and its sidecars.
pub fn apply_to_service(s: &Settings, props: &mut ServiceProps) {
    props.sends_to = s
        .queues
        .iter()
        .filter(|(_, q)| q.producers.contains(&props.name))
        .map(|(name, _)| name.clone())
        .collect();
    apply_sidecars(s, props);
}

/// Whether `service` may have `minCount` 0: it consumes a queue, and so scales on its depth
/// (a singleton consumer still runs its one task: its own rule keeps `desiredCount` 1).
pub fn scales_to_zero(s: &Settings, service: &str) -> bool {
    consumed_by(s, service).is_some()
}

/// The queue `worker` consumes, with its setting.
pub fn consumed_by<'a>(s: &'a Settings, worker: &str) -> Option<(&'a String, &'a QueueSetting)> {
    s.queues.iter().find(|(_, q)| q.consumer == worker)
}

/// Queue-depth scaling of the consumer of `queue` between `min` and `max` tasks.
pub fn queue_scaling(
    queue: &WorkQueue,
    setting: &QueueSetting,
    min: u32,
    max: u32,
) -> WorkerScaling {
    WorkerScaling::on_queue(queue, min, max, setting.messages_per_task())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Environment;
    use serde_json::json;
    use tracker_constructs::validation::ValidationErrors;

    fn settings(ctx: Value) -> Result<Settings, ValidationErrors> {
        let Value::Object(map) = ctx else { panic!() };
        Settings::from_context(Environment::Staging, &map)
    }

    /// Asserts `err` has a violation of the context key `field` = `value` allowing `allowed`.
    fn has(err: &ValidationErrors, field: &str, value: &str, allowed: &str) {
        tracker_constructs::testing::assert_rejects_value(
            err, "Settings", "staging", field, value, allowed,
        );
    }

    #[test]
    fn queues_and_sidecars_parse_from_json_or_a_string_with_their_defaults() {
        let queues = json!({"notifications": {"consumer": "notification-service",
            "producers": ["api", "unified-geofence"], "retentionSecs": 86400}});
        let sidecars = json!([{"name": "otel-collector", "image": "repo/otel:1",
            "ports": [4317], "healthCommand": "/healthcheck", "serviceWaitsFor": "HEALTHY"}]);
        for (q, sc) in [
            (queues.clone(), sidecars.clone()),
            (json!(queues.to_string()), json!(sidecars.to_string())),
        ] {
            let s = settings(json!({"staging.queues": q, "staging.api.sidecars": sc})).unwrap();
            let q = &s.queues["notifications"];
            assert_eq!(q.consumer, "notification-service");
            let props = q.props("notifications");
            assert_eq!(props.retention_secs, 86_400);
            assert_eq!(props.max_receive_count, 5);
            assert_eq!(q.messages_per_task(), MESSAGES_PER_TASK);
            let mut api = ServiceProps::new("api", s.sizing("api").task_size(), "i");
            apply_to_service(&s, &mut api);
            assert_eq!(api.sends_to, ["notifications"]);
            assert_eq!(api.sidecars.len(), 1);
            assert!(!api.sidecars[0].essential);
            assert_eq!(api.sidecars[0].memory_reservation_mib, 64);
            assert_eq!(
                api.depends_on,
                [ContainerDependsOn::new(
                    "otel-collector",
                    DependencyCondition::Healthy
                )]
            );
            assert_eq!(
                consumed_by(&s, "notification-service").map(|(n, _)| n.as_str()),
                Some("notifications")
            );
            assert!(consumed_by(&s, "tracker-fetcher").is_none());
        }
        let defaults = Settings::defaults(Environment::Staging);
        assert!(defaults.queues.is_empty() && defaults.sidecars.is_empty());
    }

    #[test]
    fn fails_on_unknown_consumers_producers_and_bad_ranges_under_their_keys() {
        let err = settings(json!({
            "staging.disabledServices": "admin",
            "staging.queues": {
                "jobs": {"consumer": "api", "producers": ["admin", "anisette-v3", "nope"],
                         "retentionSecs": 30, "maxReceiveCount": 0, "messagesPerTask": 0},
                "mail": {"consumer": "notification-service", "visibilityTimeoutSecs": 600,
                         "maxReceiveCount": 10, "retentionSecs": 3600},
                "push": {"consumer": "notification-service"},
                "Bad_Name": {"consumer": "unified-geofence", "deadLetterRetentionSecs": 60}
            }
        }))
        .unwrap_err();
        let workers = "an enabled worker: tracker-fetcher, unified-geofence, \
                       notification-service, materialized-view-service";
        has(&err, "staging.queues.jobs.consumer", "\"api\"", workers);
        let services = "an enabled service: api, frontend, tracker-fetcher";
        has(
            &err,
            "staging.queues.jobs.producers[0]",
            "\"admin\"",
            services,
        );
        has(
            &err,
            "staging.queues.jobs.producers[1]",
            "\"anisette-v3\"",
            services,
        );
        has(
            &err,
            "staging.queues.jobs.producers[2]",
            "\"nope\"",
            services,
        );
        has(
            &err,
            "staging.queues.jobs.retentionSecs",
            "30",
            "60-1209600 seconds",
        );
        has(&err, "staging.queues.jobs.maxReceiveCount", "0", "1-1000");
        has(
            &err,
            "staging.queues.jobs.messagesPerTask",
            "0",
            "at least 1 message",
        );
        has(
            &err,
            "staging.queues.mail.maxReceiveCount",
            "10",
            "10 receives x 600 s visibility timeout = 6000 s is not less than retention_secs",
        );
        has(
            &err,
            "staging.queues.push.consumer",
            "\"notification-service\"",
            "a worker consuming no other queue (it consumes `mail`",
        );
        has(
            &err,
            "staging.queues.Bad_Name",
            "\"Bad_Name\"",
            "a DNS label",
        );
        has(
            &err,
            "staging.queues.Bad_Name.deadLetterRetentionSecs",
            "60",
            "more than retention_secs (345600)",
        );
    }

    #[test]
    fn fails_on_an_unparsable_queue_or_sidecar_and_an_unknown_field() {
        let err = settings(json!({
            "staging.queues": "{not json",
            "staging.api.sidecars": [{"name": "x", "image": "i", "memory": 5}],
            "staging.anisette-v3.sidecars": [],
        }))
        .unwrap_err();
        has(
            &err,
            "staging.queues",
            "\"{not json\"",
            "a JSON object from queue name",
        );
        has(
            &err,
            "staging.api.sidecars",
            r#"[{"name":"x","image":"i","memory":5}]"#,
            "unknown field `memory`",
        );
        // Anisette's task is its construct's: not a sidecar target, an unknown key.
        has(
            &err,
            "staging.anisette-v3.sidecars",
            "\"anisette-v3.sidecars\"",
            "<service>.sidecars for a service in api",
        );
    }

    #[test]
    fn fails_on_sidecar_rules_under_their_context_keys() {
        let err = settings(json!({
            "staging.frontend.sidecars": [
                {"name": "otel", "image": "repo/otel:1", "serviceWaitsFor": "HEALTHY",
                 "memoryReservationMiB": 300, "dependsOn": {"router": "READY"}},
                {"name": "router", "image": "repo/router:1", "essential": true,
                 "ports": [24224], "dependsOn": {"frontend": "START", "ghost": "START"}},
                {"name": "init", "image": "repo/init:1", "essential": true,
                 "serviceWaitsFor": "SUCCESS", "ports": [24224], "healthCommand": " "}
            ]
        }))
        .unwrap_err();
        let key = "staging.frontend.sidecars";
        has(
            &err,
            &format!("{key}[0].dependsOn.router"),
            "\"READY\"",
            "one of START, HEALTHY",
        );
        has(
            &err,
            &format!("{key}[2].healthCommand"),
            "Some(\" \")",
            "a shell command",
        );
        has(
            &err,
            &format!("{key}[].serviceWaitsFor"),
            "\"otel:HEALTHY\"",
            "HEALTHY only on a container with a health check: give `otel` one \
             (staging.frontend.sidecars[0].healthCommand)",
        );
        has(
            &err,
            &format!("{key}[].serviceWaitsFor"),
            "\"init:SUCCESS\"",
            "SUCCESS only on a non-essential container: `init` is essential",
        );
        has(
            &err,
            &format!("{key}[1].dependsOn"),
            "\"ghost:START\"",
            "one of the task's containers: frontend, init, otel, router",
        );
        has(
            &err,
            &format!("{key}[2].ports"),
            "24224",
            "24224 is `router`'s",
        );
        has(
            &err,
            key,
            "\"428 MiB reserved\"",
            "at most half the task's memory together (256 of 512 MiB)",
        );
    }

    #[test]
    fn only_a_queue_consumer_may_scale_to_zero() {
        let queue = json!({"jobs": {"consumer": "notification-service"}});
        let s = settings(json!({
            "staging.queues": queue,
            "staging.notification-service.minCount": 0,
            "staging.notification-service.desiredCount": 0,
            "staging.notification-service.maxCount": 3,
        }))
        .unwrap();
        assert!(scales_to_zero(&s, "notification-service"));
        let err = settings(json!({
            "staging.queues": queue,
            "staging.unified-geofence.minCount": 0,
            "staging.unified-geofence.desiredCount": 0,
            "staging.notification-service.minCount": 0,
            "staging.notification-service.desiredCount": 0,
            "staging.notification-service.maxCount": 0,
        }))
        .unwrap_err();
        has(
            &err,
            "staging.unified-geofence.desiredCount",
            "\"min 0 / desired 0 / max 1\"",
            "(minCount 0 only for the consumer of a queue, which scales on its depth)",
        );
        has(
            &err,
            "staging.notification-service.desiredCount",
            "\"min 0 / desired 0 / max 0\"",
            "1 <= minCount <= desiredCount <= maxCount",
        );
        assert_eq!(err.0.len(), 2, "{err}");
    }

    #[test]
    fn fails_on_a_configured_variable_named_like_a_queue_url() {
        let err = settings(json!({
            "staging.queues": {"jobs": {"consumer": "notification-service", "producers": ["api"]}},
            "staging.api.env.JOBS_QUEUE_URL": "https://example.com",
        }))
        .unwrap_err();
        has(
            &err,
            "staging.api.env.JOBS_QUEUE_URL",
            "\"JOBS_QUEUE_URL\"",
            "a name not set from `staging.queues` (the queue `jobs`'s URL)",
        );
        assert_eq!(err.0.len(), 1, "{err}");
    }
}
