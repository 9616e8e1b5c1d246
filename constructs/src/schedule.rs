//! Schedules: the expression and time-zone rules shared by scheduled scaling ([`OffHours`]) and
//! [`ScheduledTask`](crate::scheduled_task::ScheduledTask), and the lowering of off-hours scaling
//! onto a service's scalable task count.
//!
//! Expressions are AWS's: `cron(minutes hours day-of-month month day-of-week year)` (six fields;
//! one of day-of-month and day-of-week is `?`), `rate(<n> minute|minutes|hour|hours|day|days)`
//! and `at(yyyy-mm-ddThh:mm:ss)`. Time zones are IANA names (`Europe/Berlin`, `UTC`).
//!
//! [`apply_off_hours`] adds two scheduled actions to a service's scalable target (aws-cdk-lib
//! writes them into the `AWS::ApplicationAutoScaling::ScalableTarget`'s `ScheduledActions`):
//! `OffHoursDown` (capacity `min`-`max` from `down`) and `OffHoursUp` (the service's working
//! capacity from `up`), both in the schedule's time zone. A service without autoscaling gets a
//! scalable target fixed at its desired count (`Service/TaskCount/Target`).

use cdk_from_rust::aws_cdk_lib::aws_applicationautoscaling::{
    EnableScalingProps, ScalingSchedule, Schedule,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{FargateService, ScalableTaskCount};
use cdk_from_rust::aws_cdk_lib::TimeZone;

use crate::validation::Check;

/// What a time zone must be (for error messages).
pub const TIME_ZONE_ALLOWED: &str = "an IANA time zone name such as Europe/Berlin, \
     America/New_York or UTC (Area/Location, Area one of Africa, America, Antarctica, Arctic, \
     Asia, Atlantic, Australia, Europe, Indian, Pacific, Etc)";

const AREAS: [&str; 11] = [
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
    "Etc",
];

/// Whether `s` has the shape of an IANA time zone name: `UTC`, `GMT`, or `Area/Location[/Sub]`
/// with a known area and segments of letters, digits, `_`, `+` and `-` starting with a letter
/// (or, under `Etc`, `GMT+1` style names).
pub fn is_time_zone(s: &str) -> bool {
    if s == "UTC" || s == "GMT" {
        return true;
    }
    let mut parts = s.split('/');
    let area = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    AREAS.contains(&area)
        && (1..=2).contains(&rest.len())
        && rest.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_uppercase())
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
        })
}

/// The kinds of schedule expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpressionKind {
    /// `cron(...)`: recurring at wall-clock times.
    Cron,
    /// `rate(...)`: recurring every interval.
    Rate,
    /// `at(...)`: once.
    At,
}

impl ExpressionKind {
    fn example(self) -> &'static str {
        match self {
            ExpressionKind::Cron => "cron(0 3 * * ? *)",
            ExpressionKind::Rate => "rate(6 hours)",
            ExpressionKind::At => "at(2026-01-31T03:00:00)",
        }
    }
}

/// What an expression of one of `kinds` must be (for error messages).
pub fn expression_allowed(kinds: &[ExpressionKind]) -> String {
    let mut parts = Vec::new();
    for k in kinds {
        parts.push(match k {
            ExpressionKind::Cron => {
                "cron(minutes hours day-of-month month day-of-week year) with six fields in \
                 range and `?` in exactly one of day-of-month and day-of-week"
            }
            ExpressionKind::Rate => {
                "rate(<n> <unit>) with n >= 1 and unit minute/hour/day (plural when n > 1)"
            }
            ExpressionKind::At => "at(yyyy-mm-ddThh:mm:ss)",
        });
    }
    let examples: Vec<&str> = kinds.iter().map(|k| k.example()).collect();
    format!("{}, e.g. {}", parts.join(", or "), examples.join(" or "))
}

/// The kind of `expr` when it is a well-formed expression of one of `kinds`.
pub fn expression_kind(expr: &str, kinds: &[ExpressionKind]) -> Option<ExpressionKind> {
    let inner = |prefix: &str| {
        expr.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .map(str::to_string)
    };
    let kind = if let Some(body) = inner("cron(") {
        is_cron(&body).then_some(ExpressionKind::Cron)
    } else if let Some(body) = inner("rate(") {
        is_rate(&body).then_some(ExpressionKind::Rate)
    } else if let Some(body) = inner("at(") {
        is_at(&body).then_some(ExpressionKind::At)
    } else {
        None
    }?;
    kinds.contains(&kind).then_some(kind)
}

/// Records a violation of `field` unless `expr` is an expression of one of `kinds`.
pub fn check_expression(c: &mut Check, field: &str, expr: &str, kinds: &[ExpressionKind]) {
    c.require(
        expression_kind(expr, kinds).is_some(),
        field,
        expr,
        expression_allowed(kinds),
    );
}

/// Records a violation of `field` unless `tz` is an IANA time zone name.
pub fn check_time_zone(c: &mut Check, field: &str, tz: &str) {
    c.require(is_time_zone(tz), field, tz, TIME_ZONE_ALLOWED);
}

fn is_rate(body: &str) -> bool {
    let mut parts = body.split(' ');
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if n.starts_with('0') || !n.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(n) = n.parse::<u32>() else {
        return false;
    };
    let singular = ["minute", "hour", "day"];
    let plural = ["minutes", "hours", "days"];
    match n {
        0 => false,
        1 => singular.contains(&unit),
        _ => plural.contains(&unit),
    }
}

fn is_at(body: &str) -> bool {
    let Some((date, time)) = body.split_once('T') else {
        return false;
    };
    let nums = |s: &str, sep: char, lens: &[usize]| -> Option<Vec<u32>> {
        let parts: Vec<&str> = s.split(sep).collect();
        (parts.len() == lens.len()
            && parts
                .iter()
                .zip(lens)
                .all(|(p, &l)| p.len() == l && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| parts.iter().map(|p| p.parse().unwrap_or(0)).collect())
    };
    match (nums(date, '-', &[4, 2, 2]), nums(time, ':', &[2, 2, 2])) {
        (Some(d), Some(t)) => {
            (1..=12).contains(&d[1])
                && (1..=31).contains(&d[2])
                && t[0] <= 23
                && t[1] <= 59
                && t[2] <= 59
        }
        _ => false,
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One cron field: its range and the names it accepts.
struct Field {
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
}

impl Field {
    fn value(&self, s: &str) -> Option<u32> {
        if let Some(i) = self.names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Some(self.lo + i as u32);
        }
        let n: u32 = s.parse().ok()?;
        (s.bytes().all(|b| b.is_ascii_digit()) && (self.lo..=self.hi).contains(&n)).then_some(n)
    }

    /// `*`, `a`, `a-b`, each optionally `/step`.
    fn item(&self, s: &str) -> bool {
        let (range, step) = match s.split_once('/') {
            Some((r, st)) => (r, Some(st)),
            None => (s, None),
        };
        if let Some(st) = step {
            if !st.parse::<u32>().is_ok_and(|n| n >= 1) || !st.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
        }
        if range == "*" {
            return true;
        }
        match range.split_once('-') {
            Some((a, b)) => self.value(a).is_some() && self.value(b).is_some(),
            None => self.value(range).is_some(),
        }
    }
}

fn is_cron(body: &str) -> bool {
    let fields: Vec<&str> = body.split(' ').collect();
    let [minutes, hours, dom, month, dow, year] = fields[..] else {
        return false;
    };
    let f = |lo, hi, names| Field { lo, hi, names };
    let list = |s: &str, field: &Field, special: &dyn Fn(&str) -> bool| {
        !s.is_empty()
            && s.split(',')
                .all(|item| field.item(item) || (special(item) && !s.contains(',')))
    };
    let none = |_: &str| false;
    let dom_field = f(1, 31, &[]);
    let dow_field = f(1, 7, &WEEKDAYS);
    let dom_special = |s: &str| {
        s == "L"
            || s == "LW"
            || s.strip_suffix('W')
                .is_some_and(|d| dom_field.value(d).is_some())
    };
    let dow_special = |s: &str| {
        s == "L"
            || s.strip_suffix('L')
                .is_some_and(|d| dow_field.value(d).is_some())
            || s.split_once('#').is_some_and(|(d, n)| {
                dow_field.value(d).is_some() && n.parse::<u32>().is_ok_and(|n| (1..=5).contains(&n))
            })
    };
    // Exactly one of day-of-month and day-of-week is `?`.
    let days_ok = match (dom == "?", dow == "?") {
        (true, false) => list(dow, &dow_field, &dow_special),
        (false, true) => list(dom, &dom_field, &dom_special),
        _ => false,
    };
    days_ok
        && list(minutes, &f(0, 59, &[]), &none)
        && list(hours, &f(0, 23, &[]), &none)
        && list(month, &f(1, 12, &MONTHS), &none)
        && list(year, &f(1970, 2199, &[]), &none)
}

/// Off-hours scaling of one service: from `down` until `up` (cron expressions in `time_zone`),
/// the service runs between `min` and `max` tasks; from `up`, its working capacity again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffHours {
    /// The IANA time zone of `down` and `up` (daylight saving followed). Required.
    pub time_zone: String,
    /// When the service scales down: a `cron(...)` expression. Required.
    pub down: String,
    /// When the service scales back up: a `cron(...)` expression. Required.
    pub up: String,
    /// The fewest tasks off hours (0 stops the service). Required.
    pub min: u32,
    /// The most tasks off hours, at least `min` and at most the service's working maximum.
    /// [`OffHours::new`] sets `min` (a fixed count off hours).
    pub max: u32,
}

impl OffHours {
    /// Down at `down`, up at `up` (in `time_zone`), `min` tasks off hours.
    pub fn new(time_zone: &str, down: &str, up: &str, min: u32) -> Self {
        OffHours {
            time_zone: time_zone.into(),
            down: down.into(),
            up: up.into(),
            min,
            max: min,
        }
    }

    /// Records every violation in `c`, fields prefixed with `prefix` (`service.off_hours.`);
    /// `working_max` is the most tasks the service runs in working hours.
    pub fn validate(&self, c: &mut Check, prefix: &str, working_max: u32) {
        let f = |name: &str| format!("{prefix}{name}");
        check_time_zone(c, &f("time_zone"), &self.time_zone);
        check_expression(c, &f("down"), &self.down, &[ExpressionKind::Cron]);
        check_expression(c, &f("up"), &self.up, &[ExpressionKind::Cron]);
        c.require(
            self.down != self.up,
            &f("up"),
            &self.up,
            "a time other than `down` (the service would be scaled down and up at once)",
        );
        c.require(
            self.max >= self.min && self.max <= working_max,
            &f("max"),
            self.max,
            format!(
                "at least min ({}) and at most the service's working maximum ({working_max}): \
                 off hours scale down, not up",
                self.min
            ),
        );
    }
}

/// Adds the off-hours scheduled actions to `service`: on `scaling` when the service already
/// autoscales, else on a scalable target fixed at `working` (min, max) made for it. `working` is
/// what `OffHoursUp` restores.
pub fn apply_off_hours(
    service: FargateService,
    scaling: Option<ScalableTaskCount>,
    working: (u32, u32),
    off: &OffHours,
) -> ScalableTaskCount {
    let scaling = scaling.unwrap_or_else(|| {
        service.auto_scale_task_count(EnableScalingProps::new(working.1).min_capacity(working.0))
    });
    for (id, expression, (min, max)) in [
        ("OffHoursDown", &off.down, (off.min, off.max)),
        ("OffHoursUp", &off.up, working),
    ] {
        scaling.scale_on_schedule(
            id,
            ScalingSchedule::new(Schedule::expression(expression.as_str()))
                .time_zone(TimeZone::of(off.time_zone.as_str()))
                .min_capacity(min)
                .max_capacity(max),
        );
    }
    scaling
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejects_value;
    use ExpressionKind::*;

    #[test]
    fn cron_rate_and_at_shapes() {
        for ok in [
            "cron(0 20 ? * MON-FRI *)",
            "cron(0 7 ? * MON-FRI *)",
            "cron(0 3 * * ? *)",
            "cron(*/15 0-6,22-23 ? * 2#1 2026-2030)",
            "cron(0 12 L * ? *)",
            "cron(0 12 15W 1,7 ? *)",
            "cron(0 12 ? JAN-MAR 6L *)",
        ] {
            assert_eq!(expression_kind(ok, &[Cron]), Some(Cron), "{ok}");
        }
        for bad in [
            "cron(0 20 * * MON-FRI *)",    // neither day field is `?`
            "cron(0 20 ? * ? *)",          // both are
            "cron(60 20 ? * MON *)",       // minute out of range
            "cron(0 24 ? * MON *)",        // hour out of range
            "cron(0 20 ? * MON)",          // five fields
            "cron(0 20 ? * FUNDAY *)",     // not a weekday
            "cron(0 20 32 * ? *)",         // day 32
            "cron(0 20 ? * MON *) ",       // trailing blank
            "cron(0  20 ? * MON *)",       // empty field
            "cron(0 */0 ? * MON *)",       // step 0
            "0 20 ? * MON-FRI *",          // no cron(...)
            "cron(0 20 ? * MON-FRI 1969)", // year before 1970
        ] {
            assert_eq!(expression_kind(bad, &[Cron, Rate, At]), None, "{bad}");
        }
        for ok in [
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 day)",
            "rate(12 hours)",
        ] {
            assert_eq!(expression_kind(ok, &[Rate]), Some(Rate), "{ok}");
        }
        for bad in [
            "rate(0 minutes)",
            "rate(1 minutes)",
            "rate(2 hour)",
            "rate(05 days)",
            "rate(1 week)",
        ] {
            assert_eq!(expression_kind(bad, &[Rate]), None, "{bad}");
        }
        assert_eq!(expression_kind("at(2026-01-31T03:00:00)", &[At]), Some(At));
        assert_eq!(expression_kind("at(2026-13-31T03:00:00)", &[At]), None);
        // A kind not asked for is refused.
        assert_eq!(expression_kind("rate(1 day)", &[Cron]), None);
    }

    #[test]
    fn time_zone_shapes() {
        for ok in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+1",
        ] {
            assert!(is_time_zone(ok), "{ok}");
        }
        for bad in [
            "",
            "CET",
            "Berlin",
            "Europe/",
            "europe/berlin",
            "Mars/Olympus",
            "Europe/Berlin ",
        ] {
            assert!(!is_time_zone(bad), "{bad}");
        }
    }

    fn errors(o: &OffHours, working_max: u32) -> crate::ValidationErrors {
        let mut c = Check::new("Test", "svc");
        o.validate(&mut c, "off_hours.", working_max);
        c.finish().unwrap_err()
    }

    #[test]
    fn off_hours_defaults_are_valid() {
        let mut c = Check::new("Test", "svc");
        OffHours::new(
            "Europe/Berlin",
            "cron(0 20 ? * MON-FRI *)",
            "cron(0 7 ? * MON-FRI *)",
            0,
        )
        .validate(&mut c, "off_hours.", 1);
        c.finish().unwrap();
    }

    #[test]
    fn fails_on_off_hours_time_zone_expressions_and_counts_all_together() {
        let mut o = OffHours::new("Berlin", "rate(1 day)", "cron(0 7 ? * MON-FRI)", 2);
        o.max = 1;
        let e = errors(&o, 3);
        let fields: Vec<&str> = e.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "off_hours.time_zone",
                "off_hours.down",
                "off_hours.up",
                "off_hours.max"
            ]
        );
        assert_rejects_value(
            &e,
            "Test",
            "svc",
            "off_hours.time_zone",
            "\"Berlin\"",
            "IANA time zone",
        );
        assert_rejects_value(
            &e,
            "Test",
            "svc",
            "off_hours.down",
            "\"rate(1 day)\"",
            "cron(minutes hours",
        );
        assert_rejects_value(&e, "Test", "svc", "off_hours.max", "1", "at least min (2)");
    }

    #[test]
    fn fails_when_off_hours_scale_up_or_down_and_up_coincide() {
        let cron = "cron(0 20 ? * MON-FRI *)";
        let o = OffHours {
            max: 4,
            ..OffHours::new("UTC", cron, cron, 0)
        };
        let e = errors(&o, 2);
        assert_rejects_value(
            &e,
            "Test",
            "svc",
            "off_hours.up",
            &format!("{cron:?}"),
            "a time other than `down`",
        );
        assert_rejects_value(
            &e,
            "Test",
            "svc",
            "off_hours.max",
            "4",
            "at most the service's working maximum (2)",
        );
    }
}
