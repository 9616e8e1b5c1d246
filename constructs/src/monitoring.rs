//! Alarms and dashboard rows the constructs derive from what they know about themselves.
//!
//! Every alarm a construct creates goes through [`alarm`], which sends it to the environment's
//! alert topic ([`Alerts::notify`]), so none can be created without an action. The thresholds are
//! props with documented defaults ([`ServiceAlarmThresholds`], [`AlbAlarmThresholds`]), taken
//! from the public ECS practice notes the design follows (high CPU at 80 % for 3 minutes, an
//! unhealthy target at all).
//!
//! Each construct also adds a row of graphs to the environment's [`DashboardRows`] (on the
//! `Platform`); the stack turns the rows into one CloudWatch dashboard.

use std::cell::RefCell;

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    Alarm, AlarmProps, AlarmPropsRequired, ComparisonOperator, Dashboard, DashboardProps,
    GraphWidget, GraphWidgetProps, IMetric, IWidget, MathExpression, MathExpressionProps, Metric,
    MetricProps, MetricPropsRequired, TextWidget, TextWidgetProps, TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{ICluster, IService};
use cdk_from_rust::aws_cdk_lib::aws_events::{EventPattern, Rule, RuleProps};
use cdk_from_rust::aws_cdk_lib::aws_events_targets::SnsTopic;
use cdk_from_rust::aws_cdk_lib::Duration;
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::{JsAny, JsNumber};

use crate::alerts::Alerts;
use crate::validation::Check;

/// One alarm: what it watches and when it fires.
#[derive(Clone, Debug)]
pub struct AlarmSpec {
    /// The alarm's construct id under the construct that owns it (public API: its logical id).
    pub id: String,
    pub metric: IMetric,
    pub threshold: f64,
    /// Consecutive periods of the metric that must breach.
    pub evaluation_periods: u32,
    pub comparison: ComparisonOperator,
    pub missing_data: TreatMissingData,
    /// What it means and what to do: the text a person reads in the notification.
    pub description: String,
}

/// Creates the alarm under `scope` and sends its ALARM and OK states to `alerts`.
pub fn alarm(scope: Construct, alerts: &Alerts, spec: AlarmSpec) -> Alarm {
    let alarm = Alarm::new(
        scope,
        spec.id.as_str(),
        AlarmProps::new(AlarmPropsRequired {
            evaluation_periods: spec.evaluation_periods,
            metric: spec.metric,
            threshold: JsNumber::from(spec.threshold),
        })
        .comparison_operator(spec.comparison)
        .treat_missing_data(spec.missing_data)
        .alarm_description(spec.description),
    );
    alerts.notify(alarm)
}

/// Thresholds of the alarms every ECS service gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceAlarmThresholds {
    /// Average CPU utilization (percent of the task's CPU) above which, for 3 consecutive
    /// minutes, the service alarms; 1-100. Default: 80.
    pub cpu_percent: u32,
    /// Average memory utilization (percent of the task's memory) above which, for 3 consecutive
    /// minutes, the service alarms; 1-100. Default: 85 (a task at its limit is killed).
    pub memory_percent: u32,
}

impl Default for ServiceAlarmThresholds {
    fn default() -> Self {
        ServiceAlarmThresholds {
            cpu_percent: 80,
            memory_percent: 85,
        }
    }
}

impl ServiceAlarmThresholds {
    /// Records the violations of these thresholds, fields prefixed with `prefix`.
    pub fn validate(&self, c: &mut Check, prefix: &str) {
        for (field, value) in [
            ("cpu_percent", self.cpu_percent),
            ("memory_percent", self.memory_percent),
        ] {
            c.require(
                (1..=100).contains(&value),
                &format!("{prefix}{field}"),
                value,
                "1-100 %",
            );
        }
    }
}

/// Thresholds of the alarms of a service behind the ALB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlbAlarmThresholds {
    /// Unhealthy targets (minimum over a minute) at or above which, for 3 consecutive minutes,
    /// the service alarms; at least 1. Default: 1.
    pub unhealthy_targets: u32,
    /// The share of requests answered with a 5xx by the targets, percent over 5 minutes, at or
    /// above which the service alarms (two periods in a row); 1-100. Default: 5.
    pub target_5xx_percent: u32,
    /// The 99th percentile of the target response time, milliseconds over 5 minutes, above
    /// which the service alarms (three periods in a row); 1-120000. Default: 2000.
    pub p99_latency_ms: u32,
}

impl Default for AlbAlarmThresholds {
    fn default() -> Self {
        AlbAlarmThresholds {
            unhealthy_targets: 1,
            target_5xx_percent: 5,
            p99_latency_ms: 2000,
        }
    }
}

impl AlbAlarmThresholds {
    /// Records the violations of these thresholds, fields prefixed with `prefix`.
    pub fn validate(&self, c: &mut Check, prefix: &str) {
        c.require(
            self.unhealthy_targets >= 1,
            &format!("{prefix}unhealthy_targets"),
            self.unhealthy_targets,
            "at least 1",
        );
        c.require(
            (1..=100).contains(&self.target_5xx_percent),
            &format!("{prefix}target_5xx_percent"),
            self.target_5xx_percent,
            "1-100 %",
        );
        c.require(
            (1..=120_000).contains(&self.p99_latency_ms),
            &format!("{prefix}p99_latency_ms"),
            self.p99_latency_ms,
            "1-120000 ms",
        );
    }
}

/// The running-task count of `service` (Container Insights), minimum per minute.
pub fn running_tasks(cluster: impl Into<ICluster>, service: impl Into<IService>) -> Metric {
    let (cluster, service) = (cluster.into(), service.into());
    Metric::new(
        MetricProps::new(MetricPropsRequired {
            metric_name: "RunningTaskCount",
            namespace: "ECS/ContainerInsights",
        })
        .dimensions_map([
            ("ClusterName", cluster.cluster_name()),
            ("ServiceName", service.service_name()),
        ])
        .statistic("Minimum")
        .period(Duration::minutes(1)),
    )
}

/// The alarm on a service running fewer than `min` tasks for 3 minutes (`id` `RunningTasksAlarm`
/// under `scope`). No data counts as breaching: a service with no task reports nothing.
pub fn running_tasks_alarm(
    scope: Construct,
    alerts: &Alerts,
    running: Metric,
    min: u32,
    what: &str,
) -> Alarm {
    alarm(
        scope,
        alerts,
        AlarmSpec {
            id: "RunningTasksAlarm".into(),
            metric: running.into(),
            threshold: f64::from(min),
            evaluation_periods: 3,
            comparison: ComparisonOperator::LessThanThreshold,
            missing_data: TreatMissingData::Breaching,
            description: format!(
                "{what}: fewer than {min} running task(s) for 3 minutes. Look at the service's \
                 events and stopped tasks (aws ecs describe-services / list-tasks \
                 --desired-status STOPPED) for the reason: a failing health check, an image that \
                 cannot be pulled, a crash on start."
            ),
        },
    )
}

/// The running-task alarm of a service scaled down on a schedule (`id` `RunningTasksAlarm` under
/// `scope`, like [`running_tasks_alarm`]): fires when, for 3 minutes, fewer tasks run than the
/// smaller of the desired count and `min` (Container Insights `RunningTaskCount` against
/// `DesiredTaskCount`, math `IF(desired < min, desired, min) - running >= 1`). A service scaled
/// to zero reports no metric; no data counts as zero and does not breach.
pub fn running_below_desired_alarm(
    scope: Construct,
    alerts: &Alerts,
    (cluster, service): (impl Into<ICluster>, impl Into<IService>),
    min: u32,
    what: &str,
) -> Alarm {
    let (cluster, service) = (cluster.into(), service.into());
    let desired = Metric::new(
        MetricProps::new(MetricPropsRequired {
            metric_name: "DesiredTaskCount",
            namespace: "ECS/ContainerInsights",
        })
        .dimensions_map([
            ("ClusterName", cluster.cluster_name()),
            ("ServiceName", service.service_name()),
        ])
        .statistic("Maximum")
        .period(Duration::minutes(1)),
    );
    let missing = MathExpression::new(
        MathExpressionProps::new(format!(
            "IF(FILL(desired, 0) < {min}, FILL(desired, 0), {min}) - FILL(running, 0)"
        ))
        .label("tasks missing")
        .period(Duration::minutes(1))
        .using_metrics([
            ("desired", IMetric::from(desired)),
            ("running", running_tasks(cluster, service).into()),
        ]),
    );
    alarm(
        scope,
        alerts,
        AlarmSpec {
            id: "RunningTasksAlarm".into(),
            metric: missing.into(),
            threshold: 1.0,
            evaluation_periods: 3,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "{what}: fewer running tasks than desired (up to {min}) for 3 minutes; the \
                 service scales down on a schedule, so the desired count is the measure. Look at \
                 the service's events and stopped tasks (aws ecs describe-services / list-tasks \
                 --desired-status STOPPED) for the reason: a failing health check, an image that \
                 cannot be pulled, a crash on start."
            ),
        },
    )
}

/// An EventBridge rule under `scope` sending the events matching `pattern` to the alert topic.
pub fn event_rule(
    scope: Construct,
    id: &str,
    alerts: &Alerts,
    pattern: EventPattern,
    description: &str,
) -> Rule {
    Rule::new_with(
        scope,
        id,
        RuleProps::new()
            .description(description)
            .event_pattern(pattern)
            .targets([SnsTopic::new(alerts.topic)]),
    )
}

/// The rule telling people that a deployment of `service` failed (the circuit breaker stopped it
/// and rolled it back), `DeploymentFailedRule` under `scope`.
pub fn deployment_failed_rule(
    scope: Construct,
    alerts: &Alerts,
    service: impl Into<IService>,
    what: &str,
) -> Rule {
    event_rule(
        scope,
        "DeploymentFailedRule",
        alerts,
        EventPattern::new()
            .source(["aws.ecs"])
            .detail_type(["ECS Deployment State Change"])
            .resources([service.into().service_arn()])
            .detail([(
                "eventName",
                JsAny::from(serde_json::json!(["SERVICE_DEPLOYMENT_FAILED"])),
            )]),
        &format!("{what}: a deployment failed and was rolled back"),
    )
}

/// The rule telling people that an AWS Backup job of the account and region failed, expired or
/// was aborted (the staging host's snapshots, EFS's automatic backups), `BackupJobFailedRule`
/// under `scope`.
pub fn backup_failed_rule(scope: Construct, alerts: &Alerts, environment: &str) -> Rule {
    event_rule(
        scope,
        "BackupJobFailedRule",
        alerts,
        EventPattern::new()
            .source(["aws.backup"])
            .detail_type(["Backup Job State Change"])
            .detail([(
                "state",
                JsAny::from(serde_json::json!(["FAILED", "EXPIRED", "ABORTED"])),
            )]),
        &format!("{environment}: an AWS Backup job failed, expired or was aborted"),
    )
}

/// The rows of the environment's dashboard, added by each construct as it is built.
#[derive(Debug, Default)]
pub struct DashboardRows {
    rows: RefCell<Vec<(String, Vec<IWidget>)>>,
}

impl DashboardRows {
    /// Adds a row titled `title` with one graph per `(title, metrics)` pair.
    pub fn add_row(&self, title: &str, graphs: Vec<(String, Vec<IMetric>)>) {
        let width = (24 / graphs.len().max(1)).max(6) as u32;
        let widgets = graphs
            .into_iter()
            .map(|(graph, metrics)| {
                IWidget::from(GraphWidget::new(
                    GraphWidgetProps::new()
                        .title(graph)
                        .left(metrics)
                        .width(width)
                        .height(6),
                ))
            })
            .collect();
        self.rows.borrow_mut().push((title.to_string(), widgets));
    }

    /// The titles of the rows added so far, in order.
    pub fn titles(&self) -> Vec<String> {
        self.rows.borrow().iter().map(|(t, _)| t.clone()).collect()
    }

    /// The dashboard `name` under `scope`: a heading and the graphs of each row, in the order
    /// the rows were added. `None` when no row was added.
    pub fn build(&self, scope: impl Into<Construct>, id: &str, name: &str) -> Option<Dashboard> {
        let rows = self.rows.borrow();
        if rows.is_empty() {
            return None;
        }
        let mut widgets: Vec<Vec<IWidget>> = Vec::new();
        for (title, graphs) in rows.iter() {
            widgets.push(vec![IWidget::from(TextWidget::new(
                TextWidgetProps::new(format!("### {title}"))
                    .width(24)
                    .height(1),
            ))]);
            widgets.push(graphs.clone());
        }
        Some(Dashboard::new_with(
            scope,
            id,
            DashboardProps::new().dashboard_name(name).widgets(widgets),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anisette::{AnisetteProps, AnisetteWithEfs};
    use crate::managed_redis::{ManagedRedis, ManagedRedisProps, RedisAlarmThresholds};
    use crate::private_worker_service::{
        PrivateWorkerService, PrivateWorkerServiceProps, WorkerScaling,
    };
    use crate::public_alb_service::{PublicAlbService, PublicAlbServiceProps};
    use crate::service::test_support::platform;
    use crate::task_size::TaskSize;
    use crate::testing::{assert_rejects_value, synth, Template};
    use serde_json::Value;

    const DIGEST: &str = "dadoum/anisette-v3-server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// (construct path suffix after the construct id, metric name, threshold, comparison) of every
    /// alarm for people under `Test/<id>/` (not the alarms of its autoscaling policies).
    fn alarms_of(t: &Template, id: &str) -> Vec<(String, String, f64, String)> {
        let mut found: Vec<_> = t
            .at_path("AWS::CloudWatch::Alarm", &format!("Test/{id}/"))
            .into_iter()
            .filter(|a| {
                !a["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .unwrap()
                    .contains("/TaskCount/")
            })
            .map(|a| {
                let path = a["Metadata"]["aws:cdk:path"].as_str().unwrap();
                let name = a["Properties"]["MetricName"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| "(math)".into());
                (
                    path.split(&format!("/{id}/")).nth(1).unwrap().to_string(),
                    name,
                    a["Properties"]["Threshold"].as_f64().unwrap(),
                    a["Properties"]["ComparisonOperator"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }

    fn topic_ref(t: &Template) -> Value {
        serde_json::json!([{ "Ref": t.resources("AWS::SNS::Topic")[0].0 }])
    }

    #[test]
    fn each_service_kind_gets_its_alarms_and_a_dashboard_row_all_to_the_alert_topic() {
        let mut titles = Vec::new();
        let t = synth(|stack| {
            let platform = platform(stack);
            let api = PublicAlbServiceProps::new(
                "api",
                TaskSize::HALF_1,
                "repo/api:1",
                8000,
                "api.example.com",
                10,
            );
            PublicAlbService::new(stack, "Api", &platform, api).unwrap();
            let worker = PrivateWorkerServiceProps::singleton("beat", TaskSize::HALF_1, "repo/w:1")
                .with_health_command("true");
            PrivateWorkerService::new(stack, "Beat", &platform, worker).unwrap();
            let queue = cdk_from_rust::aws_cdk_lib::aws_sqs::Queue::new(stack, "JobQueue");
            let mut on_queue = PrivateWorkerServiceProps::new("jobs", TaskSize::HALF_1, "repo/w:1")
                .with_health_command("true");
            on_queue.scaling = WorkerScaling::QueueDepth {
                queue: queue.into(),
                min: 0,
                max: 3,
                messages_per_task: 10,
            };
            PrivateWorkerService::new(stack, "Jobs", &platform, on_queue).unwrap();
            AnisetteWithEfs::new(stack, "Anisette", &platform, AnisetteProps::new(DIGEST)).unwrap();
            ManagedRedis::new(stack, "Redis", &platform, ManagedRedisProps::new()).unwrap();
            titles = platform.dashboard.titles();
            platform.dashboard.build(stack, "Dashboard", "tracker-test");
        });
        let ids = |id: &str| -> Vec<String> {
            alarms_of(&t, id)
                .into_iter()
                .map(|(p, ..)| p.split('/').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids("Api"),
            [
                "CpuAlarm",
                "ErrorLogAlarm",
                "LatencyP99Alarm",
                "MemoryAlarm",
                "RunningTasksAlarm",
                "Target5xxRateAlarm",
                "UnhealthyTargetsAlarm"
            ]
        );
        let api = alarms_of(&t, "Api");
        assert!(api.contains(&(
            "CpuAlarm/Resource".into(),
            "CPUUtilization".into(),
            80.0,
            "GreaterThanThreshold".into()
        )));
        assert!(api.contains(&(
            "LatencyP99Alarm/Resource".into(),
            "TargetResponseTime".into(),
            2.0,
            "GreaterThanThreshold".into()
        )));
        assert!(api.contains(&(
            "Target5xxRateAlarm/Resource".into(),
            "(math)".into(),
            5.0,
            "GreaterThanOrEqualToThreshold".into()
        )));
        // A singleton must run its one task.
        assert!(alarms_of(&t, "Beat").contains(&(
            "RunningTasksAlarm/Resource".into(),
            "RunningTaskCount".into(),
            1.0,
            "LessThanThreshold".into()
        )));
        // A queue worker may scale to zero: no running-task alarm.
        assert_eq!(ids("Jobs"), ["CpuAlarm", "ErrorLogAlarm", "MemoryAlarm"]);
        assert_eq!(
            ids("Anisette"),
            [
                "EfsBurstCreditsAlarm",
                "EfsIoLimitAlarm",
                "RunningTasksAlarm"
            ]
        );
        // Two nodes, four alarms each.
        let redis = alarms_of(&t, "Redis");
        assert_eq!(redis.len(), 8, "{redis:?}");
        assert!(redis.contains(&(
            "Node2ReplicationLagAlarm/Resource".into(),
            "ReplicationLag".into(),
            f64::from(RedisAlarmThresholds::default().replication_lag_secs),
            "GreaterThanThreshold".into()
        )));
        assert!(redis.contains(&(
            "Node1EvictionsAlarm/Resource".into(),
            "Evictions".into(),
            1.0,
            "GreaterThanOrEqualToThreshold".into()
        )));
        // The platform's ALB alarm; every alarm sends ALARM and OK to the one topic.
        assert_eq!(ids("Platform"), ["Alb5xxAlarm"]);
        let topic = topic_ref(&t);
        for (_, a) in t.resources("AWS::CloudWatch::Alarm") {
            let p = &a["Properties"];
            let scaling = p["AlarmActions"][0]["Ref"]
                .as_str()
                .is_some_and(|r| r.contains("Scaling") || r.contains("QueueDepth"));
            if !scaling {
                assert_eq!(p["AlarmActions"], topic, "{a}");
                assert_eq!(p["OKActions"], topic, "{a}");
            }
        }
        assert_eq!(
            titles,
            [
                "Load balancer",
                "api (public)",
                "beat (worker)",
                "jobs (worker)",
                "anisette-v3 (Anisette)",
                "redis (ElastiCache)"
            ]
        );
        // A failed (rolled back) deployment of any of the four services reaches the topic.
        let rules: Vec<&Value> = t
            .resources("AWS::Events::Rule")
            .into_iter()
            .map(|(_, r)| &r["Properties"])
            .filter(|p| p["EventPattern"]["source"] == serde_json::json!(["aws.ecs"]))
            .collect();
        assert_eq!(rules.len(), 4);
        for r in rules {
            assert_eq!(
                r["EventPattern"]["detail"]["eventName"],
                serde_json::json!(["SERVICE_DEPLOYMENT_FAILED"])
            );
            assert_eq!(r["Targets"][0]["Arn"], topic[0]);
        }
        let body = t.one("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"].to_string();
        for part in [
            "### api (public)",
            "Target 5xx %",
            "RunningTaskCount",
            "ApproximateNumberOfMessagesVisible",
            "EngineCPUUtilization",
            "BurstCreditBalance",
        ] {
            assert!(body.contains(part), "{part} missing from the dashboard");
        }
    }

    #[test]
    fn fails_on_thresholds_out_of_range() {
        let mut c = Check::new("Test", "t");
        ServiceAlarmThresholds {
            cpu_percent: 0,
            memory_percent: 101,
        }
        .validate(&mut c, "alarms.");
        AlbAlarmThresholds {
            unhealthy_targets: 0,
            target_5xx_percent: 0,
            p99_latency_ms: 0,
        }
        .validate(&mut c, "alb.");
        let err = c.finish().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "alarms.cpu_percent",
                "alarms.memory_percent",
                "alb.unhealthy_targets",
                "alb.target_5xx_percent",
                "alb.p99_latency_ms"
            ]
        );
        assert_rejects_value(&err, "Test", "t", "alarms.memory_percent", "101", "1-100 %");
        assert_rejects_value(&err, "Test", "t", "alb.p99_latency_ms", "0", "1-120000 ms");
    }
}
