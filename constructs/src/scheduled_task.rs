//! `ScheduledTask`: a Fargate task run on a schedule by EventBridge Scheduler, in the private
//! subnets with no public IP: nightly maintenance commands, periodic reports, clean-ups. A job that
//! runs now and then no longer needs a long-running singleton service.
//!
//! Creates, under the construct id:
//! - the task itself, exactly as [`OneOffTask`] makes it (`Logs`, `SecurityGroup`,
//!   `TaskDefinition` with the container [`CONTAINER_NAME`], and the output `RunTaskCommand` to
//!   run it by hand now);
//! - `DeadLetterQueue`: an SQS queue (SSE-SQS encryption, TLS required, 14 days' retention) that
//!   receives each invocation EventBridge Scheduler could not deliver after its retries;
//! - `Group`: a schedule group of its own, so the Scheduler metrics (dimension `ScheduleGroup`)
//!   are this task's alone; removed with the stack (it holds no data);
//! - `Schedule`: the EventBridge Scheduler schedule (expression, time zone, flexible time window,
//!   retry policy, dead-letter queue) whose target runs the task definition on Fargate in the
//!   cluster (`ecs:RunTask`, through a role aws-cdk-lib makes that may run this task definition
//!   and pass its two roles only);
//! - alarms to the alert topic: `TargetErrorsAlarm` (RunTask failed, e.g. no capacity or a bad
//!   configuration: `AWS/Scheduler` `TargetErrorCount`), `DroppedAlarm` (an invocation dropped
//!   without reaching the queue: `InvocationDroppedCount`), `DeadLetterAlarm` (a message in the
//!   dead-letter queue: every retry failed);
//! - `FailedRule`: an EventBridge rule sending to the alert topic each task of the family that
//!   stopped with a non-zero exit code or failed to start (the schedule only knows that RunTask
//!   succeeded, not how the command ended);
//! - a dashboard row (invocations, errors, dead-letter depth).
//!
//! [`CONTAINER_NAME`]: crate::one_off_task::CONTAINER_NAME

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    ComparisonOperator, IMetric, MetricOptions, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{SubnetSelection, SubnetType};
use cdk_from_rust::aws_cdk_lib::aws_events::EventPattern;
use cdk_from_rust::aws_cdk_lib::aws_scheduler::{
    Schedule, ScheduleExpression, ScheduleGroup, ScheduleGroupProps, ScheduleProps,
    SchedulePropsRequired, TimeWindow,
};
use cdk_from_rust::aws_cdk_lib::aws_scheduler_targets::{EcsRunFargateTask, FargateTaskProps};
use cdk_from_rust::aws_cdk_lib::aws_sqs::{Queue, QueueEncryption, QueueProps};
use cdk_from_rust::aws_cdk_lib::{Duration, RemovalPolicy, TimeZone};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsAny;

use crate::monitoring::{self, AlarmSpec};
use crate::one_off_task::{OneOffTask, OneOffTaskProps, CONTAINER_NAME};
use crate::platform::Platform;
use crate::schedule::{check_expression, check_time_zone, ExpressionKind};
use crate::validation::{Check, ValidationErrors};
use crate::wiring::{Dependency, Endpoint, Registry};

const KIND: &str = "ScheduledTask";

/// The expressions a scheduled task accepts.
pub const EXPRESSIONS: [ExpressionKind; 3] = [
    ExpressionKind::Cron,
    ExpressionKind::Rate,
    ExpressionKind::At,
];

/// When and how EventBridge Scheduler runs the task (what the settings give per scheduled
/// command; validated on its own by [`ScheduleOptions::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleOptions {
    /// When: `cron(...)`, `rate(...)` or `at(...)` (see [`crate::schedule`]). Required.
    pub expression: String,
    /// The IANA time zone of a `cron` or `at` expression (daylight saving followed).
    /// [`ScheduleOptions::new`] sets `UTC`.
    pub time_zone: String,
    /// Minutes within which Scheduler may start the task after the scheduled time (spreads
    /// load), 1-1440; 0 turns the window off (the task starts on time). [`ScheduleOptions::new`]
    /// sets 0.
    pub flexible_window_minutes: u32,
    /// How often Scheduler retries a RunTask that failed, 0-185. [`ScheduleOptions::new`] sets 2.
    pub retry_attempts: u32,
    /// How long Scheduler keeps retrying an invocation, 60-86400 seconds; then it goes to the
    /// dead-letter queue. [`ScheduleOptions::new`] sets 3600.
    pub max_event_age_secs: u32,
    /// Whether the schedule is on. [`ScheduleOptions::new`] sets `true`.
    pub enabled: bool,
}

impl ScheduleOptions {
    /// `expression` in UTC, on time, 2 retries within an hour, enabled.
    pub fn new(expression: &str) -> Self {
        ScheduleOptions {
            expression: expression.into(),
            time_zone: "UTC".into(),
            flexible_window_minutes: 0,
            retry_attempts: 2,
            max_event_age_secs: 3600,
            enabled: true,
        }
    }

    /// Records every violation in `c`, fields prefixed with `prefix`.
    pub fn validate(&self, c: &mut Check, prefix: &str) {
        let f = |name: &str| format!("{prefix}{name}");
        check_expression(c, &f("expression"), &self.expression, &EXPRESSIONS);
        check_time_zone(c, &f("time_zone"), &self.time_zone);
        c.require(
            self.flexible_window_minutes <= 1440,
            &f("flexible_window_minutes"),
            self.flexible_window_minutes,
            "0 (off: start on time) or 1-1440 minutes",
        );
        c.require(
            self.retry_attempts <= 185,
            &f("retry_attempts"),
            self.retry_attempts,
            "0-185 retries (EventBridge Scheduler's limit)",
        );
        c.require(
            (60..=86_400).contains(&self.max_event_age_secs),
            &f("max_event_age_secs"),
            self.max_event_age_secs,
            "60-86400 seconds (1 minute to 24 hours)",
        );
    }
}

/// Props of [`ScheduledTask`].
#[derive(Clone, Debug)]
pub struct ScheduledTaskProps {
    /// The task: image, command, size, environment, secrets, dependencies, family (the rules of
    /// [`OneOffTaskProps`]; the family defaults to `<environment>-<id in lower case>`).
    pub task: OneOffTaskProps,
    /// When and how it runs.
    pub schedule: ScheduleOptions,
}

impl ScheduledTaskProps {
    /// `task` run on `expression` with the defaults of [`ScheduleOptions::new`].
    pub fn new(task: OneOffTaskProps, expression: &str) -> Self {
        ScheduledTaskProps {
            task,
            schedule: ScheduleOptions::new(expression),
        }
    }

    /// Every violation of these props for the construct `id` in `environment` (the task's as
    /// `task.<field>`, the schedule's as `schedule.<field>`); else the resolved dependencies.
    pub fn validate(
        &self,
        id: &str,
        environment: &str,
        registry: &Registry,
    ) -> Result<Vec<(Dependency, Endpoint)>, ValidationErrors> {
        let mut c = Check::new(KIND, id);
        let resolved = match self.task.validate(id, environment, registry) {
            Ok(r) => r,
            Err(e) => {
                c.absorb("task", Err(e));
                Vec::new()
            }
        };
        self.schedule.validate(&mut c, "schedule.");
        c.finish().map(|()| resolved)
    }
}

/// A task definition run on a schedule, with its dead-letter queue and alarms.
#[derive(Clone, Debug)]
pub struct ScheduledTask {
    /// The task definition, security group and log group.
    pub task: OneOffTask,
    pub schedule: Schedule,
    pub group: ScheduleGroup,
    pub dead_letter_queue: Queue,
}

impl ScheduledTask {
    /// Validates `props` (all problems at once, dependencies against the platform's registry)
    /// and adds the scheduled task to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: ScheduledTaskProps,
    ) -> Result<ScheduledTask, ValidationErrors> {
        let resolved = props.validate(id, &platform.environment, &platform.registry)?;
        let scope = Construct::new(scope, id);
        let task = OneOffTask::build(scope, id, platform, &props.task, &resolved);
        let family = task.family.clone();
        let o = &props.schedule;

        let dead_letter_queue = Queue::new_with(
            scope,
            "DeadLetterQueue",
            QueueProps::new()
                .encryption(QueueEncryption::SqsManaged)
                .enforce_ssl(true)
                .retention_period(Duration::days(14)),
        );
        let group = ScheduleGroup::new_with(
            scope,
            "Group",
            ScheduleGroupProps::new().removal_policy(RemovalPolicy::Destroy),
        );
        let target = EcsRunFargateTask::new(
            platform.cluster,
            FargateTaskProps::new(task.task_definition)
                .vpc_subnets(SubnetSelection::new().subnet_type(SubnetType::PrivateWithEgress))
                .security_groups([task.security_group])
                .assign_public_ip(false)
                .dead_letter_queue(dead_letter_queue)
                .retry_attempts(o.retry_attempts)
                .max_event_age(Duration::seconds(o.max_event_age_secs)),
        );
        let window = if o.flexible_window_minutes == 0 {
            TimeWindow::off()
        } else {
            TimeWindow::flexible(Duration::minutes(o.flexible_window_minutes))
        };
        let schedule = Schedule::new(
            scope,
            "Schedule",
            ScheduleProps::new(SchedulePropsRequired {
                schedule: ScheduleExpression::expression_with(
                    o.expression.as_str(),
                    TimeZone::of(o.time_zone.as_str()),
                ),
                target,
            })
            .schedule_group(group)
            .time_window(window)
            .enabled(o.enabled)
            .description(format!("Runs {family} ({} {})", o.expression, o.time_zone)),
        );

        let what = format!("{} {KIND} {family}", platform.environment);
        let five_minutes = |statistic: &str| {
            MetricOptions::new()
                .statistic(statistic)
                .period(Duration::minutes(5))
        };
        let errors = group.metric_target_errors_with(five_minutes("Sum"));
        let dropped = group.metric_dropped_with(five_minutes("Sum"));
        let dead_letters = dead_letter_queue
            .metric_approximate_number_of_messages_visible_with(five_minutes("Maximum"));
        let specs = [
            AlarmSpec {
                id: "TargetErrorsAlarm".into(),
                metric: errors.into(),
                threshold: 1.0,
                evaluation_periods: 1,
                comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
                missing_data: TreatMissingData::NotBreaching,
                description: format!(
                    "{what}: EventBridge Scheduler could not start the task (RunTask failed: no \
                     capacity, a missing task definition or role, a throttle); it retries up to \
                     {} time(s). Look at the schedule's target and the cluster.",
                    o.retry_attempts
                ),
            },
            AlarmSpec {
                id: "DroppedAlarm".into(),
                metric: dropped.into(),
                threshold: 1.0,
                evaluation_periods: 1,
                comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
                missing_data: TreatMissingData::NotBreaching,
                description: format!(
                    "{what}: EventBridge Scheduler dropped an invocation without delivering it \
                     to the dead-letter queue: a scheduled run did not happen."
                ),
            },
            AlarmSpec {
                id: "DeadLetterAlarm".into(),
                metric: dead_letters.into(),
                threshold: 1.0,
                evaluation_periods: 1,
                comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
                missing_data: TreatMissingData::NotBreaching,
                description: format!(
                    "{what}: a scheduled run failed after every retry; its invocation is in the \
                     dead-letter queue (the message says why). Fix the cause, run the task by \
                     hand (the RunTaskCommand output) if the run matters, then delete the \
                     message."
                ),
            },
        ];
        for spec in specs {
            monitoring::alarm(scope, &platform.alerts, spec);
        }
        monitoring::event_rule(
            scope,
            "FailedRule",
            &platform.alerts,
            EventPattern::new()
                .source(["aws.ecs"])
                .detail_type(["ECS Task State Change"])
                .detail([
                    (
                        "group",
                        JsAny::from(serde_json::json!([format!("family:{family}")])),
                    ),
                    ("lastStatus", JsAny::from(serde_json::json!(["STOPPED"]))),
                    (
                        "$or",
                        JsAny::from(serde_json::json!([
                            {"containers": {
                                "name": [CONTAINER_NAME],
                                "exitCode": [{"anything-but": 0}]
                            }},
                            {"stopCode": ["TaskFailedToStart"]}
                        ])),
                    ),
                ]),
            &format!("{what}: a run exited non-zero or failed to start"),
        );
        platform.dashboard.add_row(
            &format!("{family} (scheduled task)"),
            vec![
                (
                    "Invocations".into(),
                    vec![
                        IMetric::from(group.metric_attempts_with(five_minutes("Sum"))),
                        errors.into(),
                        dropped.into(),
                    ],
                ),
                ("Dead-letter queue".into(), vec![dead_letters.into()]),
            ],
        );
        Ok(ScheduledTask {
            task,
            schedule,
            group,
            dead_letter_queue,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejects_value;

    const IMAGE: &str = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2";

    fn props() -> ScheduledTaskProps {
        ScheduledTaskProps::new(
            OneOffTaskProps::new(IMAGE, ["python", "manage.py", "clearsessions"]),
            "cron(0 3 * * ? *)",
        )
    }

    fn errors(p: &ScheduledTaskProps) -> ValidationErrors {
        p.validate("Nightly", "staging", &Registry::default())
            .unwrap_err()
    }

    #[test]
    fn defaults_are_valid() {
        props()
            .validate("Nightly", "staging", &Registry::default())
            .unwrap();
        for expression in ["rate(6 hours)", "at(2026-01-31T03:00:00)"] {
            let mut p = props();
            p.schedule.expression = expression.into();
            p.validate("Nightly", "staging", &Registry::default())
                .unwrap();
        }
    }

    #[test]
    fn fails_on_a_bad_expression_and_time_zone() {
        let mut p = props();
        p.schedule.expression = "cron(0 3 * * * *)".into();
        p.schedule.time_zone = "CET".into();
        let e = errors(&p);
        assert_rejects_value(
            &e,
            KIND,
            "Nightly",
            "schedule.expression",
            "\"cron(0 3 * * * *)\"",
            "`?` in exactly one of day-of-month and day-of-week",
        );
        assert_rejects_value(
            &e,
            KIND,
            "Nightly",
            "schedule.time_zone",
            "\"CET\"",
            "an IANA time zone name",
        );
    }

    #[test]
    fn fails_on_window_retries_and_event_age_out_of_range() {
        let mut p = props();
        p.schedule.flexible_window_minutes = 1441;
        p.schedule.retry_attempts = 186;
        p.schedule.max_event_age_secs = 59;
        let e = errors(&p);
        assert_rejects_value(
            &e,
            KIND,
            "Nightly",
            "schedule.flexible_window_minutes",
            "1441",
            "1-1440 minutes",
        );
        assert_rejects_value(
            &e,
            KIND,
            "Nightly",
            "schedule.retry_attempts",
            "186",
            "0-185",
        );
        assert_rejects_value(
            &e,
            KIND,
            "Nightly",
            "schedule.max_event_age_secs",
            "59",
            "60-86400",
        );
    }

    #[test]
    fn fails_on_the_task_and_the_schedule_together_under_its_own_name() {
        let mut p = props();
        p.task.command.clear();
        p.task.connects_to = vec![Dependency::new("db", 5432)];
        p.schedule.expression = "daily".into();
        let e = errors(&p);
        let fields: Vec<&str> = e.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["task.command", "task.connects_to", "schedule.expression"]
        );
        assert!(
            e.0.iter()
                .all(|v| v.construct == "ScheduledTask \"Nightly\""),
            "{e}"
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::service::test_support::{declare_db, platform};
    use crate::testing::synth;
    use serde_json::json;

    #[test]
    fn runs_the_task_on_fargate_in_private_subnets_with_retries_a_dead_letter_queue_and_alarms() {
        let t = synth(|stack| {
            let platform = platform(stack);
            declare_db(stack, &platform);
            let mut task = OneOffTaskProps::new(
                "111111111111.dkr.ecr.eu-west-1.amazonaws.com/tracker/api:v1.4.2",
                ["python", "manage.py", "clearsessions"],
            );
            task.connects_to = vec![Dependency::new("db", 5432)];
            let mut p = ScheduledTaskProps::new(task, "cron(0 3 * * ? *)");
            p.schedule.time_zone = "Europe/Berlin".into();
            p.schedule.flexible_window_minutes = 15;
            let scheduled = ScheduledTask::new(stack, "Nightly", &platform, p).unwrap();
            assert_eq!(scheduled.task.family, "staging-nightly");
        });
        let s = &t.one("AWS::Scheduler::Schedule")["Properties"];
        assert_eq!(s["ScheduleExpression"], "cron(0 3 * * ? *)");
        assert_eq!(s["ScheduleExpressionTimezone"], "Europe/Berlin");
        assert_eq!(
            s["FlexibleTimeWindow"],
            json!({"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15})
        );
        assert_eq!(s["State"], "ENABLED");
        let target = &s["Target"];
        assert_eq!(
            target["RetryPolicy"],
            json!({"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2})
        );
        assert!(target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .starts_with("NightlyDeadLetterQueue"));
        let ecs = &target["EcsParameters"];
        assert_eq!(ecs["LaunchType"], "FARGATE");
        let net = &ecs["NetworkConfiguration"]["AwsvpcConfiguration"];
        assert_eq!(net["AssignPublicIp"], "DISABLED");
        let subnets = net["Subnets"].to_string();
        assert!(subnets.contains("privateSubnet"), "{subnets}");
        assert!(!subnets.contains("publicSubnet"), "{subnets}");
        assert_eq!(net["SecurityGroups"].as_array().unwrap().len(), 1);
        // Its own group: the Scheduler metrics are the task's alone.
        let group = t.one("AWS::Scheduler::ScheduleGroup");
        assert_eq!(s["GroupName"], group["Properties"]["Name"]);
        assert_eq!(group["DeletionPolicy"], "Delete");

        let q = &t.one("AWS::SQS::Queue");
        assert_eq!(q["Properties"]["SqsManagedSseEnabled"], true);
        assert_eq!(q["Properties"]["MessageRetentionPeriod"], 1_209_600);
        let qp = t.one("AWS::SQS::QueuePolicy")["Properties"]["PolicyDocument"].to_string();
        assert!(qp.contains("aws:SecureTransport"), "{qp}");

        // The three alarms reach the topic; the rule watches the family's stopped tasks.
        let alarms: Vec<String> = t
            .resources("AWS::CloudWatch::Alarm")
            .iter()
            .filter(|(_, a)| {
                a["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .unwrap()
                    .contains("/Nightly/")
            })
            .map(|(_, a)| {
                assert!(a["Properties"]["AlarmActions"].is_array());
                a["Properties"]["MetricName"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(alarms.len(), 3, "{alarms:?}");
        for m in [
            "TargetErrorCount",
            "InvocationDroppedCount",
            "ApproximateNumberOfMessagesVisible",
        ] {
            assert!(alarms.iter().any(|a| a == m), "{m}: {alarms:?}");
        }
        let rules = t.at_path("AWS::Events::Rule", "/Nightly/FailedRule");
        assert_eq!(rules.len(), 1);
        let pattern = &rules[0]["Properties"]["EventPattern"];
        assert_eq!(
            pattern["detail"]["group"],
            json!(["family:staging-nightly"])
        );
        assert_eq!(
            pattern["detail"]["$or"][0]["containers"]["exitCode"],
            json!([{"anything-but": 0}])
        );

        // The role Scheduler assumes may run this task definition and pass its roles.
        let roles = t.resources("AWS::IAM::Role");
        assert!(roles
            .iter()
            .any(|(_, r)| r["Properties"]["AssumeRolePolicyDocument"]
                .to_string()
                .contains("scheduler.amazonaws.com")));
        // The task reaches the database.
        let ingress = t.resources("AWS::EC2::SecurityGroupIngress");
        assert!(ingress
            .iter()
            .any(|(_, r)| r["Properties"]["Description"] == "Nightly -> db:5432"));
    }
}
