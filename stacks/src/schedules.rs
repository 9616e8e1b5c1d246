//! The schedule settings of an environment (parsed and validated with the rest of
//! [`Settings`](crate::settings::Settings)):
//!
//! | key | meaning |
//! |---|---|
//! | `offHours` | the environment's off-hours scaling, a JSON object `{"timeZone", "down", "up", "min", "max"}` (`max` defaults to `min`), or `false` for none. Default: staging `{"timeZone": "Europe/Berlin", "down": "cron(0 20 ? * MON-FRI *)", "up": "cron(0 7 ? * MON-FRI *)", "min": 0}` (off from 20:00 to 07:00 on weekdays and from Friday 20:00 to Monday 07:00); production none |
//! | `<service>.offHours` | one service: `false` (always on), `true` (the environment's schedule; what a singleton needs to be scheduled at all), or an object overriding some fields of the environment's. Default: the environment's schedule for `api`, `frontend`, `admin`, `unified-geofence`, `notification-service`; none for the singletons `tracker-fetcher` and `materialized-view-service`; `anisette-v3` and the data plane are never scheduled |
//! | `scheduledTasks` | commands run on a schedule on a service's image: a JSON array of `{"name", "service", "command", "schedule", "timeZone", "flexibleWindowMinutes", "retryAttempts", "maxEventAgeSeconds", "enabled", "cpu", "memoryMiB"}`. Default: none |

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use tracker_constructs::schedule::OffHours;
use tracker_constructs::scheduled_task::ScheduleOptions;
use tracker_constructs::task_size::TaskSize;
use tracker_constructs::validation::{is_dns_label, Check};

use crate::settings::{Settings, MIGRATE};

/// The services off-hours scaling may apply to (every service but `anisette-v3`, whose EFS state
/// has a single writer that must keep running).
pub const OFF_HOURS_SERVICES: [&str; 7] = crate::settings::OWN_SERVICES;

/// The singletons among them: scheduled only when `<service>.offHours` asks.
pub const SINGLETON_WORKERS: [&str; 2] = ["tracker-fetcher", "materialized-view-service"];

/// Staging's default off hours: 20:00 to 07:00 on weekdays and the whole weekend, Berlin time,
/// down to no task.
pub fn staging_off_hours() -> OffHours {
    OffHours::new(
        "Europe/Berlin",
        "cron(0 20 ? * MON-FRI *)",
        "cron(0 7 ? * MON-FRI *)",
        0,
    )
}

/// Fields of an off-hours object, each optional (a service's override).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OffHoursFields {
    pub time_zone: Option<String>,
    pub down: Option<String>,
    pub up: Option<String>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

impl OffHoursFields {
    /// These fields over `base`; `None` when a required field is in neither.
    fn over(&self, base: Option<&OffHours>) -> Option<OffHours> {
        let time_zone = self
            .time_zone
            .clone()
            .or_else(|| base.map(|b| b.time_zone.clone()))?;
        let down = self.down.clone().or_else(|| base.map(|b| b.down.clone()))?;
        let up = self.up.clone().or_else(|| base.map(|b| b.up.clone()))?;
        let min = self.min.or_else(|| base.map(|b| b.min))?;
        // `max` follows `min` when the override sets `min` alone.
        let max = self
            .max
            .or_else(|| if self.min.is_some() { Some(min) } else { None })
            .or_else(|| base.map(|b| b.max))
            .unwrap_or(min);
        Some(OffHours {
            time_zone,
            down,
            up,
            min,
            max,
        })
    }

    fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        for (name, set) in [
            ("timeZone", self.time_zone.is_some()),
            ("down", self.down.is_some()),
            ("up", self.up.is_some()),
            ("min", self.min.is_some()),
        ] {
            if !set {
                m.push(name);
            }
        }
        m
    }
}

/// A service's `<service>.offHours`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceOffHours {
    /// `false`: the service runs around the clock.
    Off,
    /// `true`: the environment's schedule.
    On,
    /// An object: these fields over the environment's schedule.
    Override(OffHoursFields),
}

/// One scheduled command (`scheduledTasks[i]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledCommand {
    /// A DNS label, unique in the environment, not `migrate`: the construct id under
    /// `ScheduledTasks` and the task-definition family `<environment>-<name>`.
    pub name: String,
    /// The service whose image, architecture, environment, secrets and data-plane connections
    /// the task gets (one of the tracker's own services).
    pub service: String,
    /// The command run in the container.
    pub command: Vec<String>,
    /// When and how: `schedule`, `timeZone` (default `UTC`), `flexibleWindowMinutes` (default 0,
    /// off), `retryAttempts` (default 2), `maxEventAgeSeconds` (default 3600), `enabled`
    /// (default `true`).
    pub schedule: ScheduleOptions,
    /// CPU units and memory of the task. Default: the service's.
    pub cpu: Option<u32>,
    pub memory_mib: Option<u32>,
}

/// A JSON object or array given in `cdk.json` or, from `-c`, as a string.
fn json(c: &mut Check, field: &str, value: &Value, allowed: &str) -> Option<Value> {
    match value {
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => {
            match serde_json::from_str::<Value>(s) {
                Ok(v) => Some(v),
                Err(e) => {
                    c.fail(field, s, format!("{allowed} ({e})"));
                    None
                }
            }
        }
        other => Some(other.clone()),
    }
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

fn as_u32(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

const OFF_HOURS_OBJECT: &str = "an object {\"timeZone\": \"Europe/Berlin\", \"down\": \
     \"cron(0 20 ? * MON-FRI *)\", \"up\": \"cron(0 7 ? * MON-FRI *)\", \"min\": 0, \"max\": 0} \
     (max optional)";

fn off_hours_fields(c: &mut Check, field: &str, object: &Map<String, Value>) -> OffHoursFields {
    let mut f = OffHoursFields::default();
    for (key, v) in object {
        let at = format!("{field}.{key}");
        match key.as_str() {
            "timeZone" | "down" | "up" => match v.as_str() {
                Some(text) => {
                    let slot = match key.as_str() {
                        "timeZone" => &mut f.time_zone,
                        "down" => &mut f.down,
                        _ => &mut f.up,
                    };
                    *slot = Some(text.to_string());
                }
                None => drop(c.fail(&at, v, "a string")),
            },
            "min" | "max" => match as_u32(v) {
                Some(n) if key == "min" => f.min = Some(n),
                Some(n) => f.max = Some(n),
                None => drop(c.fail(&at, v, "a whole number of tasks")),
            },
            _ => drop(c.fail(&at, key, "one of timeZone, down, up, min, max")),
        }
    }
    f
}

/// `offHours`: `false` (none) or a complete object.
pub fn parse_off_hours(c: &mut Check, field: &str, value: &Value) -> Option<Option<OffHours>> {
    let value = json(c, field, value, OFF_HOURS_OBJECT)?;
    if as_bool(&value) == Some(false) {
        return Some(None);
    }
    let Value::Object(object) = &value else {
        c.fail(field, &value, format!("false or {OFF_HOURS_OBJECT}"));
        return None;
    };
    let fields = off_hours_fields(c, field, object);
    let missing = fields.missing();
    if !missing.is_empty() {
        c.fail(
            field,
            &value,
            format!("{OFF_HOURS_OBJECT}: missing {}", missing.join(", ")),
        );
        return None;
    }
    Some(fields.over(None))
}

/// `<service>.offHours`: `false`, `true` or an object of some fields.
pub fn parse_service_off_hours(
    c: &mut Check,
    field: &str,
    value: &Value,
) -> Option<ServiceOffHours> {
    let value = json(c, field, value, OFF_HOURS_OBJECT)?;
    match (&value, as_bool(&value)) {
        (_, Some(false)) => Some(ServiceOffHours::Off),
        (_, Some(true)) => Some(ServiceOffHours::On),
        (Value::Object(object), None) => Some(ServiceOffHours::Override(off_hours_fields(
            c, field, object,
        ))),
        _ => {
            c.fail(
                field,
                &value,
                format!(
                    "false (always on), true (the environment's offHours) or some fields of \
                     {OFF_HOURS_OBJECT}"
                ),
            );
            None
        }
    }
}

const SCHEDULED_TASK_FIELDS: &str = "name, service, command, schedule, timeZone, \
     flexibleWindowMinutes, retryAttempts, maxEventAgeSeconds, enabled, cpu, memoryMiB";

/// `scheduledTasks`: a JSON array of scheduled commands.
pub fn parse_scheduled_tasks(c: &mut Check, field: &str, value: &Value) -> Vec<ScheduledCommand> {
    const ALLOWED: &str = "a JSON array of objects {\"name\": \"nightly-cleanup\", \"service\": \
         \"api\", \"command\": [\"python\", \"manage.py\", \"clearsessions\"], \"schedule\": \
         \"cron(0 3 * * ? *)\", ...}";
    let Some(value) = json(c, field, value, ALLOWED) else {
        return Vec::new();
    };
    let Value::Array(items) = &value else {
        c.fail(field, &value, ALLOWED);
        return Vec::new();
    };
    let mut tasks = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Value::Object(object) = item else {
            c.fail(&at, item, ALLOWED);
            continue;
        };
        let mut t = ScheduledCommand {
            name: String::new(),
            service: String::new(),
            command: Vec::new(),
            schedule: ScheduleOptions::new(""),
            cpu: None,
            memory_mib: None,
        };
        for (key, v) in object {
            let f = format!("{at}.{key}");
            let text = |c: &mut Check| match v.as_str() {
                Some(s) => s.to_string(),
                None => {
                    c.fail(&f, v, "a string");
                    String::new()
                }
            };
            let number = |c: &mut Check| {
                let n = as_u32(v);
                if n.is_none() {
                    c.fail(&f, v, "a whole number");
                }
                n
            };
            match key.as_str() {
                "name" => t.name = text(c),
                "service" => t.service = text(c),
                "schedule" => t.schedule.expression = text(c),
                "timeZone" => t.schedule.time_zone = text(c),
                "command" => match serde_json::from_value::<Vec<String>>(v.clone()) {
                    Ok(cmd) => t.command = cmd,
                    Err(_) => drop(c.fail(&f, v, "a JSON array of strings")),
                },
                "flexibleWindowMinutes" => {
                    t.schedule.flexible_window_minutes = number(c).unwrap_or_default()
                }
                "retryAttempts" => t.schedule.retry_attempts = number(c).unwrap_or_default(),
                "maxEventAgeSeconds" => t.schedule.max_event_age_secs = number(c).unwrap_or(60),
                "cpu" => t.cpu = number(c),
                "memoryMiB" => t.memory_mib = number(c),
                "enabled" => match as_bool(v) {
                    Some(b) => t.schedule.enabled = b,
                    None => drop(c.fail(&f, v, "true or false")),
                },
                _ => drop(c.fail(&f, key, format!("one of {SCHEDULED_TASK_FIELDS}"))),
            }
        }
        tasks.push(t);
    }
    tasks
}

/// A violation of a construct's rules, reported under `key` with its value as written.
struct Raw(String);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The construct field names of [`OffHours`] and [`ScheduleOptions`] as context keys.
fn context_name(field: &str) -> &str {
    match field {
        "time_zone" => "timeZone",
        "expression" => "schedule",
        "flexible_window_minutes" => "flexibleWindowMinutes",
        "retry_attempts" => "retryAttempts",
        "max_event_age_secs" => "maxEventAgeSeconds",
        other => other,
    }
}

impl Settings {
    /// The off-hours scaling of `service`: its `<service>.offHours` over the environment's
    /// `offHours`; the environment's for a non-singleton without one; else none.
    pub fn off_hours_of(&self, service: &str) -> Option<OffHours> {
        if !OFF_HOURS_SERVICES.contains(&service) {
            return None;
        }
        match self.service_off_hours.get(service) {
            Some(ServiceOffHours::Off) => None,
            Some(ServiceOffHours::On) => self.off_hours.clone(),
            Some(ServiceOffHours::Override(fields)) => fields.over(self.off_hours.as_ref()),
            None if SINGLETON_WORKERS.contains(&service) => None,
            None => self.off_hours.clone(),
        }
    }

    /// The most tasks `service` runs in working hours.
    fn working_max(&self, service: &str) -> u32 {
        let sizing = self.sizing(service);
        if sizing.autoscales() {
            sizing.max
        } else {
            sizing.desired
        }
    }

    /// Every violation of the schedule settings, named by context key.
    pub(crate) fn validate_schedules(&self, c: &mut Check) {
        let env = self.environment.name();
        let mut reported = BTreeSet::new();
        for (service, setting) in &self.service_off_hours {
            let key = format!("{env}.{service}.offHours");
            if !OFF_HOURS_SERVICES.contains(&service.as_str()) {
                c.fail(
                    &key,
                    service,
                    format!(
                        "a service of {} (anisette-v3 keeps its single writer running)",
                        OFF_HOURS_SERVICES.join(", ")
                    ),
                );
                continue;
            }
            match setting {
                ServiceOffHours::On if self.off_hours.is_none() => drop(c.fail(
                    &key,
                    true,
                    format!("`{env}.offHours` to be set (true uses the environment's schedule)"),
                )),
                ServiceOffHours::Override(f) if f.over(self.off_hours.as_ref()).is_none() => {
                    c.fail(
                        &key,
                        Raw(format!("missing {}", f.missing().join(", "))),
                        format!(
                            "every field of {OFF_HOURS_OBJECT}, since `{env}.offHours` is not set"
                        ),
                    );
                }
                _ => {}
            }
        }
        for service in OFF_HOURS_SERVICES {
            let Some(off) = self.off_hours_of(service).filter(|_| self.enabled(service)) else {
                continue;
            };
            let mut check = Check::new("Settings", env);
            off.validate(&mut check, "", self.working_max(service));
            let Err(e) = check.finish() else { continue };
            let own = match self.service_off_hours.get(service) {
                Some(ServiceOffHours::Override(f)) => f.clone(),
                _ => OffHoursFields::default(),
            };
            for v in e.0 {
                let name = context_name(&v.field);
                let set_by_service = match name {
                    "timeZone" => own.time_zone.is_some(),
                    "down" => own.down.is_some(),
                    "up" => own.up.is_some(),
                    _ => own.min.is_some() || own.max.is_some(),
                };
                // The working maximum is the service's: the max rule is reported per service.
                let key = if set_by_service || name == "max" {
                    format!("{env}.{service}.offHours.{name}")
                } else {
                    format!("{env}.offHours.{name}")
                };
                if reported.insert((key.clone(), v.value.clone())) {
                    c.fail(&key, Raw(v.value), v.allowed);
                }
            }
        }
        self.validate_scheduled_tasks(c);
    }

    fn validate_scheduled_tasks(&self, c: &mut Check) {
        let env = self.environment.name();
        let services: Vec<&str> = crate::settings::CONFIGURABLE
            .iter()
            .copied()
            .filter(|t| *t != MIGRATE)
            .collect();
        let mut names = BTreeSet::new();
        for (i, t) in self.scheduled_tasks.iter().enumerate() {
            let at = |k: &str| format!("{env}.scheduledTasks[{i}].{k}");
            c.require(
                is_dns_label(&t.name) && t.name != MIGRATE && t.name.len() <= 40,
                &at("name"),
                &t.name,
                "a DNS label of at most 40 characters (1-40 of a-z, 0-9 and '-'), not `migrate` \
                 (the migration task's family)",
            );
            c.require(
                names.insert(t.name.clone()),
                &at("name"),
                &t.name,
                "a name no other scheduled task of the environment has",
            );
            c.require(
                services.contains(&t.service.as_str()) && self.enabled(&t.service),
                &at("service"),
                &t.service,
                format!(
                    "a deployed service whose image the task runs: one of {} (not disabled)",
                    services.join(", ")
                ),
            );
            c.require(
                t.command.first().is_some_and(|a| !a.trim().is_empty()),
                &at("command"),
                &t.command,
                "a JSON array of at least one argument, the first not blank, e.g. \
                 [\"python\", \"manage.py\", \"clearsessions\"]",
            );
            if let Some((cpu, memory)) = self.scheduled_task_size(t) {
                if let Err(e) = TaskSize::new(cpu, memory) {
                    c.fail(&at("cpu"), format!("{cpu} / {memory} MiB"), e.to_string());
                }
            }
            let mut check = Check::new("Settings", env);
            t.schedule.validate(&mut check, "");
            if let Err(e) = check.finish() {
                for v in e.0 {
                    c.fail(&at(context_name(&v.field)), Raw(v.value), v.allowed);
                }
            }
        }
    }

    /// The (cpu, memory) of scheduled task `t`: its own, else its service's; `None` when the
    /// service is unknown.
    pub fn scheduled_task_size(&self, t: &ScheduledCommand) -> Option<(u32, u32)> {
        let sizing = self.services.get(&t.service)?;
        Some((
            t.cpu.unwrap_or(sizing.cpu),
            t.memory_mib.unwrap_or(sizing.memory_mib),
        ))
    }
}
