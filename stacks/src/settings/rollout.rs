//! The settings of how public services deploy (`<service>.deployment*`) and of the alarms on the
//! services' error log lines (`logErrors.*`, `<service>.logErrors.*`): parsed here for
//! [`Settings::apply`](super::Settings), validated with the construct's own rules, every
//! problem named by its context key.
//!
//! | key (prefixed `staging.` / `production.`) | meaning |
//! |---|---|
//! | `<service>.deployment` | `rolling` (default), `blue-green`, `linear` or `canary`, for `api`, `frontend`, `admin` |
//! | `<service>.deployment.bakeMinutes` | minutes both revisions run after the last traffic shift, 0-1440 (default 15; not for rolling) |
//! | `<service>.deployment.stepPercent` | linear: the share moved per step, 3.0-100.0 (default 10); canary: the first share, 0.1-100.0 (default 5); multiples of 0.1 |
//! | `<service>.deployment.stepMinutes` | minutes each step is held, 0-1440 (default linear 6, canary 10) |
//! | `logErrors.field`, `<service>.logErrors.field` | the JSON selector of the log level (default `$.level`) |
//! | `logErrors.values`, `<service>.logErrors.values` | the level values counted as errors (list; default `ERROR,error`) |
//! | `logErrors.threshold`, `<service>.logErrors.threshold` | error lines in 5 minutes that fire the alarm (default 10) |

use serde_json::Value;
use tracker_constructs::deployment::{Deployment, TrafficShift};
use tracker_constructs::log_alarms::LogErrorAlarm;
use tracker_constructs::validation::Check;

use super::{list, number, RawValue, Settings};

/// The services a deployment strategy can be set for (those behind the ALB).
pub const PUBLIC_SERVICES: [&str; 3] = ["api", "frontend", "admin"];

/// The services with an error-log alarm (every service but `anisette-v3`, an upstream image
/// whose logs are not the tracker's JSON lines).
pub const LOG_SERVICES: [&str; 7] = super::OWN_SERVICES;

/// A service's `deployment*` keys as given (unset parameters take the strategy's defaults).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentSetting {
    /// `rolling`, `blue-green`, `linear` or `canary`; `None` when only parameters were given.
    pub strategy: Option<String>,
    pub bake_minutes: Option<u32>,
    pub step_percent: Option<f64>,
    pub step_minutes: Option<u32>,
}

/// Overrides of the error-log alarm, environment-wide or for one service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogErrorOverride {
    pub field: Option<String>,
    pub values: Option<Vec<String>>,
    pub threshold: Option<u32>,
}

impl LogErrorOverride {
    fn apply_to(&self, alarm: &mut LogErrorAlarm) {
        if let Some(f) = &self.field {
            alarm.field = f.clone();
        }
        if let Some(v) = &self.values {
            alarm.values = v.clone();
        }
        if let Some(t) = self.threshold {
            alarm.threshold = t;
        }
    }
}

/// The context key suffix of each construct field (for the messages).
const DEPLOYMENT_FIELDS: [(&str, &str); 3] = [
    ("bake_minutes", "bakeMinutes"),
    ("step.percent", "stepPercent"),
    ("step.interval_minutes", "stepMinutes"),
];

fn decimal(c: &mut Check, field: &str, value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite());
    if n.is_none() {
        c.fail(field, value, "a number such as 10 or 2.5");
    }
    n
}

impl Settings {
    /// Applies `<service>.deployment*` and `[<service>.]logErrors.*`; `false` when `key` is
    /// none of them.
    pub(super) fn apply_rollout(
        &mut self,
        c: &mut Check,
        field: &str,
        key: &str,
        value: &Value,
    ) -> bool {
        if let Some(rest) = key.strip_prefix("logErrors.") {
            return self.apply_log_errors(c, field, None, rest, value);
        }
        let Some((service, rest)) = key.split_once('.') else {
            return false;
        };
        if let Some(rest) = rest.strip_prefix("logErrors.") {
            if !LOG_SERVICES.contains(&service) {
                return false;
            }
            return self.apply_log_errors(c, field, Some(service), rest, value);
        }
        let parameter = match rest {
            "deployment" => None,
            _ => match rest.strip_prefix("deployment.") {
                Some(p) => Some(p),
                None => return false,
            },
        };
        if !PUBLIC_SERVICES.contains(&service) {
            c.fail(
                field,
                key,
                format!(
                    "a deployment strategy for a public service ({}): the other strategies shift \
                     load-balancer traffic, and workers always deploy rolling",
                    PUBLIC_SERVICES.join(", ")
                ),
            );
            return true;
        }
        let setting = self.deployments.entry(service.to_string()).or_default();
        match parameter {
            None => match value.as_str() {
                Some(s) => setting.strategy = Some(s.to_ascii_lowercase().replace('_', "-")),
                None => {
                    c.fail(field, value, "rolling, blue-green, linear or canary");
                }
            },
            Some("bakeMinutes") => setting.bake_minutes = number(c, field, value),
            Some("stepPercent") => setting.step_percent = decimal(c, field, value),
            Some("stepMinutes") => setting.step_minutes = number(c, field, value),
            Some(other) => {
                c.fail(
                    field,
                    other,
                    "a deployment parameter: bakeMinutes, stepPercent or stepMinutes",
                );
            }
        }
        true
    }

    fn apply_log_errors(
        &mut self,
        c: &mut Check,
        field: &str,
        service: Option<&str>,
        parameter: &str,
        value: &Value,
    ) -> bool {
        let slot = match service {
            None => &mut self.log_errors,
            Some(s) => self.service_log_errors.entry(s.to_string()).or_default(),
        };
        match parameter {
            "field" => match value.as_str() {
                Some(s) => slot.field = Some(s.to_string()),
                None => {
                    c.fail(field, value, "a string such as $.level");
                }
            },
            "values" => slot.values = Some(list(c, field, value)),
            "threshold" => slot.threshold = number(c, field, value),
            other => {
                c.fail(
                    field,
                    other,
                    "a log alarm setting: field, values or threshold",
                );
            }
        }
        true
    }

    /// The deployment strategy of `service` (rolling unless `<service>.deployment` says
    /// otherwise), with its parameters; unknown names and misplaced parameters are reported by
    /// [`Settings::validate`] and fall back to rolling here.
    pub fn deployment_of(&self, service: &str) -> Deployment {
        self.deployment_setting(service).ok().unwrap_or_default()
    }

    /// The strategy of `service`, or the problems (context key suffix, value, allowed).
    fn deployment_setting(
        &self,
        service: &str,
    ) -> Result<Deployment, Vec<(String, String, String)>> {
        let Some(s) = self.deployments.get(service) else {
            return Ok(Deployment::Rolling);
        };
        let strategy = s.strategy.as_deref().unwrap_or("rolling");
        let mut d = match strategy {
            "rolling" => Deployment::Rolling,
            "blue-green" | "bluegreen" => Deployment::blue_green(),
            "linear" => Deployment::linear(),
            "canary" => Deployment::canary(),
            other => {
                return Err(vec![(
                    "deployment".into(),
                    format!("{other:?}"),
                    "rolling, blue-green, linear or canary".into(),
                )])
            }
        };
        let mut problems = Vec::new();
        let misplaced = |name: &str, given: bool, ok: bool, problems: &mut Vec<_>| {
            if given && !ok {
                problems.push((
                    format!("deployment.{name}"),
                    format!("(set with {strategy:?})"),
                    format!(
                        "no {name} for a {strategy} deployment (bakeMinutes is for blue-green, \
                         linear and canary; stepPercent and stepMinutes for linear and canary)"
                    ),
                ));
            }
        };
        let stepped = matches!(d, Deployment::Linear { .. } | Deployment::Canary { .. });
        misplaced(
            "bakeMinutes",
            s.bake_minutes.is_some(),
            d.shifts_traffic(),
            &mut problems,
        );
        misplaced(
            "stepPercent",
            s.step_percent.is_some(),
            stepped,
            &mut problems,
        );
        misplaced(
            "stepMinutes",
            s.step_minutes.is_some(),
            stepped,
            &mut problems,
        );
        match &mut d {
            Deployment::Rolling => {}
            Deployment::BlueGreen { bake_minutes } => {
                *bake_minutes = s.bake_minutes.unwrap_or(*bake_minutes);
            }
            Deployment::Linear { step, bake_minutes }
            | Deployment::Canary { step, bake_minutes } => {
                *bake_minutes = s.bake_minutes.unwrap_or(*bake_minutes);
                *step = TrafficShift {
                    percent: s.step_percent.unwrap_or(step.percent),
                    interval_minutes: s.step_minutes.unwrap_or(step.interval_minutes),
                };
            }
        }
        if problems.is_empty() {
            Ok(d)
        } else {
            Err(problems)
        }
    }

    /// The error-log alarm of `service`: the defaults, then `logErrors.*`, then
    /// `<service>.logErrors.*`.
    pub fn log_errors_of(&self, service: &str) -> LogErrorAlarm {
        let mut alarm = LogErrorAlarm::default();
        self.log_errors.apply_to(&mut alarm);
        if let Some(o) = self.service_log_errors.get(service) {
            o.apply_to(&mut alarm);
        }
        alarm
    }

    /// The violations of the deployment and log-alarm settings, named by context key.
    pub(super) fn validate_rollout(&self, c: &mut Check) {
        let env = self.environment.name();
        for service in self.deployments.keys() {
            match self.deployment_setting(service) {
                Err(problems) => {
                    for (key, value, allowed) in problems {
                        c.fail(&format!("{env}.{service}.{key}"), RawValue(value), allowed);
                    }
                }
                Ok(d) => {
                    let mut inner = Check::new("Settings", env);
                    d.validate(&mut inner, "deployment");
                    for v in inner.finish().err().map(|e| e.0).unwrap_or_default() {
                        let suffix = v.field.trim_start_matches("deployment.");
                        let key = DEPLOYMENT_FIELDS
                            .iter()
                            .find(|(f, _)| *f == suffix)
                            .map_or(suffix, |(_, k)| k);
                        c.fail(
                            &format!("{env}.{service}.deployment.{key}"),
                            RawValue(v.value),
                            v.allowed,
                        );
                    }
                }
            }
        }
        // Environment-wide values under `logErrors.*`, a service's own under its key.
        let mut environment_wide = LogErrorAlarm::default();
        self.log_errors.apply_to(&mut environment_wide);
        let scopes = std::iter::once((None, environment_wide)).chain(
            self.service_log_errors
                .keys()
                .map(|s| (Some(s.as_str()), self.log_errors_of(s))),
        );
        for (service, alarm) in scopes {
            let mut inner = Check::new("Settings", env);
            alarm.validate(&mut inner, "logErrors");
            for v in inner.finish().err().map(|e| e.0).unwrap_or_default() {
                let parameter = v.field.trim_start_matches("logErrors.");
                let key = match service {
                    None => format!("{env}.logErrors.{parameter}"),
                    Some(service) => {
                        let own = &self.service_log_errors[service];
                        let set = match parameter {
                            "field" => own.field.is_some(),
                            "values" => own.values.is_some(),
                            _ => own.threshold.is_some(),
                        };
                        if !set {
                            continue;
                        }
                        format!("{env}.{service}.logErrors.{parameter}")
                    }
                };
                c.fail(&key, RawValue(v.value), v.allowed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Environment;
    use serde_json::json;

    fn settings(pairs: &[(&str, Value)]) -> Result<Settings, String> {
        let ctx: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        Settings::from_context(Environment::Staging, &ctx).map_err(|e| e.to_string())
    }

    #[test]
    fn strategies_parse_in_either_spelling_and_parameters_override_the_defaults() {
        let s = settings(&[
            ("staging.api.deployment", json!("BLUE_GREEN")),
            ("staging.api.deployment.bakeMinutes", json!(0)),
            ("staging.frontend.deployment", json!("linear")),
            ("staging.frontend.deployment.stepMinutes", json!("3")),
            ("staging.admin.deployment", json!("canary")),
            ("staging.admin.deployment.stepPercent", json!(0.5)),
        ])
        .unwrap();
        assert_eq!(
            s.deployment_of("api"),
            Deployment::BlueGreen { bake_minutes: 0 }
        );
        assert_eq!(
            s.deployment_of("frontend"),
            Deployment::Linear {
                step: TrafficShift {
                    percent: 10.0,
                    interval_minutes: 3
                },
                bake_minutes: 15
            }
        );
        assert_eq!(
            s.deployment_of("admin"),
            Deployment::Canary {
                step: TrafficShift {
                    percent: 0.5,
                    interval_minutes: 10
                },
                bake_minutes: 15
            }
        );
        // Unset: rolling, and the default log alarm.
        let d = settings(&[]).unwrap();
        assert_eq!(d.deployment_of("api"), Deployment::Rolling);
        assert_eq!(d.log_errors_of("api"), LogErrorAlarm::default());
    }

    #[test]
    fn log_alarm_settings_layer_service_over_environment_over_defaults() {
        let s = settings(&[
            ("staging.logErrors.threshold", json!(3)),
            ("staging.logErrors.values", json!(["ERROR"])),
            (
                "staging.tracker-fetcher.logErrors.field",
                json!("$.log.level"),
            ),
        ])
        .unwrap();
        let fetcher = s.log_errors_of("tracker-fetcher");
        assert_eq!(
            (
                fetcher.field.as_str(),
                fetcher.values.clone(),
                fetcher.threshold
            ),
            ("$.log.level", vec!["ERROR".to_string()], 3)
        );
        assert_eq!(s.log_errors_of("api").field, "$.level");
    }

    #[test]
    fn fails_on_misplaced_parameters_unknown_names_and_services_without_a_log_alarm() {
        let err = settings(&[
            ("staging.api.deployment.stepMinutes", json!(5)),
            ("staging.api.deployment.speed", json!(5)),
            ("staging.frontend.deployment", json!(true)),
            ("staging.admin.deployment.bakeMinutes", json!("soon")),
            ("staging.anisette-v3.logErrors.field", json!("$.level")),
            ("staging.logErrors.colour", json!("red")),
            ("staging.api.logErrors.values", json!([])),
        ])
        .unwrap_err();
        for (key, allowed) in [
            (
                "`staging.api.deployment.stepMinutes` = (set with \"rolling\")",
                "no stepMinutes for a rolling deployment",
            ),
            (
                "`staging.api.deployment.speed` = \"speed\"",
                "bakeMinutes, stepPercent or stepMinutes",
            ),
            (
                "`staging.frontend.deployment` = Bool(true)",
                "rolling, blue-green, linear or canary",
            ),
            ("`staging.admin.deployment.bakeMinutes`", "a whole number"),
            ("`staging.anisette-v3.logErrors.field`", "a known setting"),
            ("`staging.logErrors.colour`", "field, values or threshold"),
            ("`staging.api.logErrors.values` = []", "1-10 values"),
        ] {
            let line = err
                .lines()
                .find(|l| l.contains(key))
                .unwrap_or_else(|| panic!("no error for {key}: {err}"));
            assert!(line.contains(allowed), "{line}");
        }
    }
}
