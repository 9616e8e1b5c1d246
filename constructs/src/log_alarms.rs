//! Alarms from a service's own log lines: [`LogErrorAlarm`].
//!
//! The services write one JSON object per line to stdout (`{"level": "ERROR", "message": ...}`);
//! the awslogs driver sends each line to the service's log group. A CloudWatch Logs metric filter
//! (`ErrorLogFilter` under the service) counts the lines whose level field holds one of the error
//! values (1 per line, 0 for every other line), as the metric `<environment>/<service>/ErrorLines`
//! in the namespace [`NAMESPACE`]; an alarm (`ErrorLogAlarm`) fires on too many of them in 5
//! minutes and, like every alarm, sends ALARM and OK to the environment's alert topic. Lines
//! that are not JSON, or have no such field, are not counted.

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    Alarm, ComparisonOperator, IMetric, MetricOptions, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::{
    FilterPattern, LogGroup, MetricFilter, MetricFilterProps, MetricFilterPropsRequired,
};
use cdk_from_rust::aws_cdk_lib::Duration;
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::Opaque;

use crate::alerts::Alerts;
use crate::monitoring::{self, AlarmSpec};
use crate::validation::Check;

/// The CloudWatch namespace of the error-line metrics.
pub const NAMESPACE: &str = "Tracker/Logs";

/// The alarm on a service's error log lines (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogErrorAlarm {
    /// The JSON selector of the level field: `$.` and a dotted path of letters, digits and `_`
    /// (`$.level`, `$.log.level`). Default `$.level`.
    pub field: String,
    /// The values of that field that make a line an error line (compared exactly, so list each
    /// spelling); 1-10 values of printable characters without `"` or `\`. Default `ERROR` and
    /// `error`.
    pub values: Vec<String>,
    /// Error lines within 5 minutes at or above which the alarm fires, at least 1. Default 10.
    pub threshold: u32,
}

impl Default for LogErrorAlarm {
    fn default() -> Self {
        LogErrorAlarm {
            field: "$.level".into(),
            values: vec!["ERROR".into(), "error".into()],
            threshold: 10,
        }
    }
}

/// Whether `s` is a JSON selector the filter syntax takes: `$.a`, `$.a.b_c`.
pub fn is_json_selector(s: &str) -> bool {
    s.strip_prefix("$.").is_some_and(|path| {
        path.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    })
}

impl LogErrorAlarm {
    /// Records the violations of these settings as `field.<name>`.
    pub fn validate(&self, c: &mut Check, field: &str) {
        c.require(
            is_json_selector(&self.field) && self.field.len() <= 128,
            &format!("{field}.field"),
            &self.field,
            "a JSON selector such as $.level or $.log.level ($. and a dotted path of letters, \
             digits and '_', at most 128 characters)",
        );
        c.require(
            (1..=10).contains(&self.values.len()),
            &format!("{field}.values"),
            &self.values,
            "1-10 values, e.g. [\"ERROR\", \"error\"]",
        );
        for v in &self.values {
            c.require(
                !v.is_empty()
                    && v.len() <= 64
                    && !v.contains(['"', '\\'])
                    && !v.chars().any(char::is_control),
                &format!("{field}.values"),
                v,
                "1-64 printable characters without '\"' or '\\'",
            );
        }
        c.require(
            self.threshold >= 1,
            &format!("{field}.threshold"),
            self.threshold,
            "at least 1 error line in 5 minutes",
        );
    }

    /// The metric filter pattern: `{ ($.level = "ERROR") || ($.level = "error") }`.
    pub fn filter_pattern(&self) -> String {
        let terms: Vec<String> = self
            .values
            .iter()
            .map(|v| format!("({} = \"{v}\")", self.field))
            .collect();
        format!("{{ {} }}", terms.join(" || "))
    }

    /// The metric name of `service` in `environment`.
    pub fn metric_name(environment: &str, service: &str) -> String {
        format!("{environment}/{service}/ErrorLines")
    }

    /// The filter on `log_group` and its alarm, under `scope` (ids `ErrorLogFilter`,
    /// `ErrorLogAlarm`); `what` opens the alarm's description. Returns the dashboard graph.
    pub fn create(
        &self,
        scope: Construct,
        alerts: &Alerts,
        log_group: LogGroup,
        (environment, service): (&str, &str),
        what: &str,
    ) -> (Alarm, (String, Vec<IMetric>)) {
        let filter = MetricFilter::new(
            scope,
            "ErrorLogFilter",
            MetricFilterProps::new(MetricFilterPropsRequired {
                filter_pattern: FilterPattern::literal(self.filter_pattern()),
                log_group: Opaque::from(&log_group),
                metric_name: LogErrorAlarm::metric_name(environment, service),
                metric_namespace: NAMESPACE,
            })
            .metric_value("1")
            .default_value(0),
        );
        let lines = filter.metric_with(
            MetricOptions::new()
                .statistic("Sum")
                .period(Duration::minutes(5)),
        );
        let alarm = monitoring::alarm(
            scope,
            alerts,
            AlarmSpec {
                id: "ErrorLogAlarm".into(),
                metric: lines.into(),
                threshold: f64::from(self.threshold),
                evaluation_periods: 1,
                comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
                missing_data: TreatMissingData::NotBreaching,
                description: format!(
                    "{what}: {}+ error log lines ({} = {}) in 5 minutes. Read the service's log \
                     group (CloudWatch Logs Insights: filter {} in [{}]).",
                    self.threshold,
                    self.field,
                    self.values.join(" or "),
                    self.field.trim_start_matches("$."),
                    self.values
                        .iter()
                        .map(|v| format!("\"{v}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        );
        (
            alarm,
            ("Error log lines (5 min)".into(), vec![lines.into()]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejects_value;

    fn errors(a: &LogErrorAlarm) -> crate::ValidationErrors {
        let mut c = Check::new("Test", "svc");
        a.validate(&mut c, "log_errors");
        c.finish().unwrap_err()
    }

    #[test]
    fn the_default_pattern_matches_both_spellings_of_the_level() {
        let a = LogErrorAlarm::default();
        let mut c = Check::new("Test", "svc");
        a.validate(&mut c, "log_errors");
        c.finish().unwrap();
        assert_eq!(
            a.filter_pattern(),
            "{ ($.level = \"ERROR\") || ($.level = \"error\") }"
        );
    }

    #[test]
    fn fails_on_a_bad_selector_values_and_threshold_all_at_once() {
        let err = errors(&LogErrorAlarm {
            field: "level".into(),
            values: vec!["ER\"ROR".into(), String::new()],
            threshold: 0,
        });
        assert_eq!(err.0.len(), 4, "{err}");
        assert_rejects_value(
            &err,
            "Test",
            "svc",
            "log_errors.field",
            "\"level\"",
            "a JSON selector such as $.level",
        );
        let text = err.to_string();
        for value in ["\"ER\\\"ROR\"", "\"\""] {
            assert!(
                text.contains(&format!(
                    "`log_errors.values` = {value} is not allowed: 1-64 printable characters \
                     without '\"' or '\\'"
                )),
                "{value}: {text}"
            );
        }
        assert_rejects_value(
            &err,
            "Test",
            "svc",
            "log_errors.threshold",
            "0",
            "at least 1",
        );
        for bad in ["$.", "$.a..b", "$.a-b", "$level"] {
            assert!(!is_json_selector(bad), "{bad}");
        }
        assert!(is_json_selector("$.log.level_name"));
        let err = errors(&LogErrorAlarm {
            values: vec![],
            ..LogErrorAlarm::default()
        });
        assert_rejects_value(
            &err,
            "Test",
            "svc",
            "log_errors.values",
            "[]",
            "1-10 values",
        );
    }
}
