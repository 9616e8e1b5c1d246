//! `PrivateWorkerService`: a Fargate service with no load balancer, in the private subnets with no
//! public IP, for background workers (tracker fetcher, geofence, notifications, ...).
//!
//! Creates (on top of the shared [`service`](crate::service) lowering): Spot-weighted capacity by
//! default, and scaling on CPU or on an SQS queue's depth; the work queue it `consumes` (a
//! `WorkQueue` of the platform) grants its task role the receive,
//! delete and change-visibility actions and sets `<QUEUE>_QUEUE_URL`. A *singleton* (a scheduler, a
//! materialized-view refresher) runs exactly one task and never two at once: desired 1, minimum
//! healthy 0 %, maximum 100 % (the old task stops before the new one starts), on-demand Fargate
//! only, no autoscaling.

use cdk_from_rust::aws_cdk_lib::aws_applicationautoscaling::{
    AdjustmentType, BasicStepScalingPolicyProps, BasicStepScalingPolicyPropsRequired,
    EnableScalingProps, ScalingInterval,
};
use cdk_from_rust::aws_cdk_lib::aws_ec2::SecurityGroup;
use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    ContainerDefinition, CpuUtilizationScalingProps, FargateService, FargateTaskDefinition,
};
use cdk_from_rust::aws_cdk_lib::aws_logs::LogGroup;
use cdk_from_rust::aws_cdk_lib::aws_sqs::IQueue;
use cdk_from_rust::aws_cdk_lib::Duration;
use cdk_from_rust::constructs::Construct;

use crate::platform::Platform;
use crate::schedule;
use crate::service::{
    self, CapacityProvider, CapacityShare, ContainerHealthCheck, Image, ServiceProps,
    SPOT_NOTICE_SECS,
};
use crate::task_size::TaskSize;
use crate::validation::{Check, ValidationErrors};
use crate::work_queue::{self, WorkQueue};

const KIND: &str = "PrivateWorkerService";

/// How a worker scales.
#[derive(Clone, Debug)]
pub enum WorkerScaling {
    /// A fixed `service.desired_count`.
    None,
    /// Target tracking on average CPU utilization, between `min` (at least 1: CPU is not
    /// measured without tasks) and `max` tasks.
    Cpu {
        min: u32,
        max: u32,
        /// Target average CPU, 1-100 %.
        target_percent: u32,
    },
    /// Step scaling on the queue's visible messages, between `min` (0 allowed: an empty queue
    /// needs no workers) and `max` tasks: one task more while at least `messages_per_task`
    /// messages wait, three more from 5 x `messages_per_task`, one task fewer while the queue is
    /// empty.
    QueueDepth {
        queue: IQueue,
        min: u32,
        max: u32,
        /// The backlog one task is expected to handle, at least 1.
        messages_per_task: u32,
    },
}

/// Props of [`PrivateWorkerService`].
#[derive(Clone, Debug)]
pub struct PrivateWorkerServiceProps {
    /// The container, deployment and wiring settings shared by every service.
    /// [`PrivateWorkerServiceProps::new`] sets one task, 100/200 %, and FARGATE (base 1, weight 1)
    /// plus FARGATE_SPOT (weight 3), so one task is always on-demand and three in four beyond it
    /// run on Spot; no ports (a pure Service Connect client) unless some are added; a 120 s stop
    /// timeout (all of Spot's interruption notice). A worker has no load balancer to check it:
    /// set `service.health_check` (a command that fails when the worker is stuck, e.g. a
    /// heartbeat file older than its loop) or `service.health_check_waiver` with the reason.
    pub service: ServiceProps,
    /// Scaling. When [`WorkerScaling::None`] (the default), `service.desired_count` tasks run.
    pub scaling: WorkerScaling,
    /// Exactly one task, never two at once. Requires desired count 1, min healthy 0 %, max
    /// healthy 100 %, no FARGATE_SPOT and no scaling; [`PrivateWorkerServiceProps::singleton`]
    /// sets all of these. Default off.
    pub singleton: bool,
    /// The work queue (declared in the platform's
    /// [`QueueRegistry`](crate::work_queue::QueueRegistry)) this worker consumes: the task role
    /// may receive, delete and change the visibility of its messages (and decrypt them), and
    /// `<QUEUE>_QUEUE_URL` is set. Scaling on its depth is [`WorkerScaling::on_queue`]. Default:
    /// `None`.
    pub consumes: Option<String>,
}

impl PrivateWorkerServiceProps {
    /// A worker `name` with every documented default (Spot-weighted, no scaling, not singleton).
    pub fn new(name: &str, task_size: TaskSize, image: impl Into<Image>) -> Self {
        let mut service = ServiceProps::new(name, task_size, image);
        service.stop_timeout_secs = SPOT_NOTICE_SECS;
        service.capacity = vec![
            CapacityShare::new(CapacityProvider::Fargate, 1).with_base(1),
            CapacityShare::new(CapacityProvider::FargateSpot, 3),
        ];
        PrivateWorkerServiceProps {
            service,
            scaling: WorkerScaling::None,
            singleton: false,
            consumes: None,
        }
    }

    /// A singleton worker: one task on on-demand Fargate, 0/100 % (the old task stops before the
    /// new one starts), no scaling.
    pub fn singleton(name: &str, task_size: TaskSize, image: impl Into<Image>) -> Self {
        let mut props = Self::new(name, task_size, image);
        props.service.desired_count = 1;
        props.service.min_healthy_percent = 0;
        props.service.max_healthy_percent = 100;
        props.service.capacity = CapacityShare::fargate_only();
        props.singleton = true;
        props
    }

    /// These props with `service.health_check` set to a `CMD-SHELL` check running `command`
    /// (every 30 s, 5 s timeout, 3 retries, no start period).
    pub fn with_health_command(mut self, command: &str) -> Self {
        self.service.health_check = Some(ContainerHealthCheck::new(["CMD-SHELL", command]));
        self
    }

    /// Every violation of these props (no platform needed).
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new(KIND, id);
        self.validate_into(&mut c);
        c.finish()
    }

    fn validate_into(&self, c: &mut Check) {
        self.service.validate(c, "service.");
        if let Some(queue) = &self.consumes {
            let variable = work_queue::url_variable(queue);
            c.require(
                !self.service.environment.contains_key(&variable),
                "service.environment",
                &variable,
                "a name not set from `consumes` (<QUEUE>_QUEUE_URL is set from the consumed queue)",
            );
        }
        c.require(
            !self.service.deployment.shifts_traffic(),
            "service.deployment",
            self.service.deployment.name(),
            "rolling: blue/green, linear and canary deployments shift load-balancer traffic, and \
             a worker has no load balancer",
        );
        let desired = self.service.desired_count;
        match &self.scaling {
            WorkerScaling::None => {}
            WorkerScaling::Cpu {
                min,
                max,
                target_percent,
            } => {
                c.require(
                    *min >= 1 && *min <= desired,
                    "scaling.min",
                    min,
                    format!(
                        "1 to service.desired_count ({desired}); CPU is not measured without tasks"
                    ),
                );
                self.check_max(c, *min, *max);
                c.require(
                    (1..=100).contains(target_percent),
                    "scaling.target_percent",
                    target_percent,
                    "1-100 %",
                );
            }
            WorkerScaling::QueueDepth {
                min,
                max,
                messages_per_task,
                ..
            } => {
                c.require(
                    *min <= desired,
                    "scaling.min",
                    min,
                    format!("0 to service.desired_count ({desired})"),
                );
                self.check_max(c, *min, *max);
                c.require(
                    *messages_per_task >= 1,
                    "scaling.messages_per_task",
                    messages_per_task,
                    "at least 1 message",
                );
            }
        }
        if let Some(off) = &self.service.off_hours {
            off.validate(c, "service.off_hours.", self.working_capacity().1);
        }
        if self.singleton {
            const WHY: &str = "for a singleton (exactly one task, no overlap)";
            c.require(
                desired == 1,
                "service.desired_count",
                desired,
                format!("1 {WHY}"),
            );
            c.require(
                self.service.min_healthy_percent == 0,
                "service.min_healthy_percent",
                self.service.min_healthy_percent,
                format!("0 {WHY}"),
            );
            c.require(
                self.service.max_healthy_percent == 100,
                "service.max_healthy_percent",
                self.service.max_healthy_percent,
                format!("100 {WHY}"),
            );
            let providers: Vec<&str> = self
                .service
                .capacity
                .iter()
                .map(|s| s.provider.name())
                .collect();
            c.require(
                !providers.contains(&"FARGATE_SPOT"),
                "service.capacity",
                &providers,
                format!("FARGATE only {WHY}: a Spot interruption would leave it not running"),
            );
            c.require(
                matches!(self.scaling, WorkerScaling::None),
                "scaling",
                scaling_name(&self.scaling),
                format!("WorkerScaling::None {WHY}"),
            );
        } else {
            c.require(
                desired >= 1 || matches!(self.scaling, WorkerScaling::QueueDepth { .. }),
                "service.desired_count",
                desired,
                "at least 1 (0 only with queue-depth scaling)",
            );
        }
    }

    /// The (min, max) task count in working hours: the scaling bounds, else the desired count.
    pub fn working_capacity(&self) -> (u32, u32) {
        match &self.scaling {
            WorkerScaling::None => (self.service.desired_count, self.service.desired_count),
            WorkerScaling::Cpu { min, max, .. } | WorkerScaling::QueueDepth { min, max, .. } => {
                (*min, *max)
            }
        }
    }

    fn check_max(&self, c: &mut Check, min: u32, max: u32) {
        let desired = self.service.desired_count;
        c.require(
            max >= 1 && max >= desired && max >= min,
            "scaling.max",
            max,
            format!("at least 1, service.desired_count ({desired}) and scaling.min ({min})"),
        );
    }
}

impl WorkerScaling {
    /// Step scaling on the visible messages of `queue` (see [`WorkerScaling::QueueDepth`]).
    pub fn on_queue(queue: &WorkQueue, min: u32, max: u32, messages_per_task: u32) -> Self {
        WorkerScaling::QueueDepth {
            queue: queue.queue.into(),
            min,
            max,
            messages_per_task,
        }
    }
}

fn scaling_name(s: &WorkerScaling) -> &'static str {
    match s {
        WorkerScaling::None => "None",
        WorkerScaling::Cpu { .. } => "Cpu",
        WorkerScaling::QueueDepth { .. } => "QueueDepth",
    }
}

/// A private Fargate worker service.
#[derive(Clone, Copy, Debug)]
pub struct PrivateWorkerService {
    pub service: FargateService,
    pub task_definition: FargateTaskDefinition,
    pub container: ContainerDefinition,
    pub security_group: SecurityGroup,
    pub log_group: LogGroup,
}

impl PrivateWorkerService {
    /// Validates `props` (all problems at once, including undeclared dependencies and a taken
    /// name) and adds the worker to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: PrivateWorkerServiceProps,
    ) -> Result<PrivateWorkerService, ValidationErrors> {
        let mut c = Check::new(KIND, id);
        props.validate_into(&mut c);
        let resolved = service::resolve(platform, &mut c, &props.service, "service.");
        let consumed = platform
            .queues
            .resolve(&mut c, "consumes", props.consumes.as_slice());
        c.finish()?;

        let scope = Construct::new(scope, id);
        let min_running = match &props.scaling {
            WorkerScaling::None => props.service.desired_count,
            WorkerScaling::Cpu { min, .. } | WorkerScaling::QueueDepth { min, .. } => *min,
        };
        let parts = service::build(
            scope,
            KIND,
            id,
            platform,
            &props.service,
            &resolved,
            min_running,
        )?;
        for queue in consumed {
            queue.grant_consume(parts.task_definition.task_role());
            if !props.service.sends_to.contains(&queue.name) {
                parts
                    .container
                    .add_environment(queue.url_variable(), queue.url());
            }
        }
        let mut graphs = parts.graphs.clone();
        if let WorkerScaling::QueueDepth { queue, .. } = &props.scaling {
            graphs.push((
                "Queue depth".into(),
                vec![queue.metric_approximate_number_of_messages_visible().into()],
            ));
        }
        platform
            .dashboard
            .add_row(&format!("{} (worker)", props.service.name), graphs);
        let scaling = match &props.scaling {
            WorkerScaling::None => None,
            WorkerScaling::Cpu {
                min,
                max,
                target_percent,
            } => {
                let target = parts
                    .service
                    .auto_scale_task_count(EnableScalingProps::new(*max).min_capacity(*min));
                target.scale_on_cpu_utilization(
                    "Cpu",
                    CpuUtilizationScalingProps::new(*target_percent),
                );
                Some(target)
            }
            WorkerScaling::QueueDepth {
                queue,
                min,
                max,
                messages_per_task,
            } => {
                let m = *messages_per_task;
                let target = parts
                    .service
                    .auto_scale_task_count(EnableScalingProps::new(*max).min_capacity(*min));
                target.scale_on_metric(
                    "QueueDepth",
                    BasicStepScalingPolicyProps::new(BasicStepScalingPolicyPropsRequired {
                        metric: queue.metric_approximate_number_of_messages_visible(),
                        scaling_steps: [
                            ScalingInterval::new(-1).upper(0),
                            ScalingInterval::new(1).lower(m),
                            ScalingInterval::new(3).lower(m * 5),
                        ],
                    })
                    .adjustment_type(AdjustmentType::ChangeInCapacity)
                    .cooldown(Duration::seconds(60)),
                );
                Some(target)
            }
        };
        if let Some(off) = &props.service.off_hours {
            schedule::apply_off_hours(parts.service, scaling, props.working_capacity(), off);
        }
        Ok(PrivateWorkerService {
            service: parts.service,
            task_definition: parts.task_definition,
            container: parts.container,
            security_group: parts.security_group,
            log_group: parts.log_group,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_rejects, assert_rejects_value};

    fn props() -> PrivateWorkerServiceProps {
        with_heartbeat(PrivateWorkerServiceProps::new(
            "tracker-fetcher",
            TaskSize::HALF_1,
            "repo/app:1",
        ))
    }

    #[test]
    fn fails_on_a_traffic_shifting_deployment() {
        let mut p = with_heartbeat(PrivateWorkerServiceProps::new(
            "jobs",
            TaskSize::HALF_1,
            "repo/app:1",
        ));
        p.service.deployment = crate::deployment::Deployment::blue_green();
        let err = p.validate("Jobs").unwrap_err();
        crate::testing::assert_rejects_value(
            &err,
            KIND,
            "Jobs",
            "service.deployment",
            "\"blue-green\"",
            "a worker has no load balancer",
        );
    }

    #[test]
    fn fails_on_a_worker_without_a_health_check_naming_service_and_field() {
        let p = PrivateWorkerServiceProps::new("tracker-fetcher", TaskSize::HALF_1, "repo/app:1");
        let err = p.validate("Fetcher").unwrap_err();
        assert_rejects_value(
            &err,
            KIND,
            "Fetcher",
            "service.health_check",
            "None",
            "or `health_check_waiver` with the reason",
        );
        assert!(
            err.to_string().contains("PrivateWorkerService \"Fetcher\""),
            "{err}"
        );
    }

    #[test]
    fn a_worker_stops_within_the_spot_notice() {
        let p = props();
        assert_eq!(p.service.stop_timeout_secs, 120);
    }

    fn assert_violation(p: &PrivateWorkerServiceProps, field: &str, value: &str, allowed: &str) {
        let err = p.validate("Fetcher").unwrap_err();
        assert_rejects_value(&err, KIND, "Fetcher", field, value, allowed);
    }

    #[test]
    fn defaults_are_valid() {
        props().validate("Fetcher").unwrap();
        with_heartbeat(PrivateWorkerServiceProps::singleton(
            "scheduler",
            TaskSize::QUARTER_HALF,
            "repo/app:1",
        ))
        .validate("Scheduler")
        .unwrap();
        let mut p = props();
        p.scaling = WorkerScaling::Cpu {
            min: 1,
            max: 4,
            target_percent: 70,
        };
        p.validate("Fetcher").unwrap();
    }

    #[test]
    fn fails_on_cpu_scaling_bounds_and_target() {
        let mut p = props();
        p.service.desired_count = 2;
        p.scaling = WorkerScaling::Cpu {
            min: 0,
            max: 1,
            target_percent: 101,
        };
        assert_violation(&p, "scaling.min", "0", "1 to service.desired_count (2)");
        assert_violation(&p, "scaling.max", "1", "service.desired_count (2)");
        assert_violation(&p, "scaling.target_percent", "101", "1-100");
    }

    #[test]
    fn fails_on_queue_scaling_bounds_and_messages_per_task() {
        let err = crate::service::test_support::recorded(|stack| {
            let queue = cdk_from_rust::aws_cdk_lib::aws_sqs::Queue::new(stack, "Q");
            let mut p = props();
            p.service.desired_count = 0;
            p.scaling = WorkerScaling::QueueDepth {
                queue: queue.into(),
                min: 1,
                max: 0,
                messages_per_task: 0,
            };
            p.validate("Fetcher").unwrap_err()
        });
        let has = |field: &str, value: &str, allowed: &str| {
            assert_rejects_value(&err, KIND, "Fetcher", field, value, allowed);
        };
        has("scaling.min", "1", "0 to service.desired_count (0)");
        has(
            "scaling.max",
            "0",
            "at least 1, service.desired_count (0) and scaling.min (1)",
        );
        has("scaling.messages_per_task", "0", "at least 1 message");
        // A queue worker may start with no tasks.
        assert!(!err.0.iter().any(|x| x.field == "service.desired_count"));
    }

    #[test]
    fn fails_on_zero_desired_count_without_queue_scaling() {
        let mut p = props();
        p.service.desired_count = 0;
        assert_violation(&p, "service.desired_count", "0", "at least 1");
    }

    #[test]
    fn fails_on_singleton_with_overlap_spot_or_scaling() {
        let mut p = PrivateWorkerServiceProps::singleton("scheduler", TaskSize::HALF_1, "a:1");
        p.service.desired_count = 2;
        p.service.min_healthy_percent = 50;
        p.service.max_healthy_percent = 200;
        p.service.capacity = props().service.capacity;
        p.scaling = WorkerScaling::Cpu {
            min: 1,
            max: 3,
            target_percent: 60,
        };
        assert_violation(&p, "service.desired_count", "2", "1 for a singleton");
        assert_violation(&p, "service.min_healthy_percent", "50", "0 for a singleton");
        assert_violation(
            &p,
            "service.max_healthy_percent",
            "200",
            "100 for a singleton",
        );
        assert_violation(
            &p,
            "service.capacity",
            "[\"FARGATE\", \"FARGATE_SPOT\"]",
            "FARGATE only",
        );
        assert_violation(
            &p,
            "scaling",
            "\"Cpu\"",
            "WorkerScaling::None for a singleton",
        );
    }

    #[test]
    fn reports_several_errors_together() {
        let mut p = props();
        p.service.name = "Tracker Fetcher".into();
        p.service.command = Some(vec![]);
        p.scaling = WorkerScaling::Cpu {
            min: 1,
            max: 2,
            target_percent: 0,
        };
        let err = p.validate("Fetcher").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["service.name", "service.command", "scaling.target_percent"]
        );
    }

    #[test]
    fn reports_props_a_taken_name_and_unknown_dependencies_together() {
        let err = crate::service::test_support::recorded(|stack| {
            let platform = crate::service::test_support::platform(stack);
            PrivateWorkerService::new(stack, "First", &platform, props()).unwrap();
            let mut p = props();
            p.service.command = Some(vec![]);
            p.service.connects_to = vec!["db:5432".parse().unwrap()];
            PrivateWorkerService::new(stack, "Fetcher", &platform, p).unwrap_err()
        });
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["service.command", "service.name", "service.connects_to"],
            "{err}"
        );
        let line = assert_rejects(
            &err,
            KIND,
            "Fetcher",
            "service.name",
            crate::validation::NAME_NOT_TAKEN,
        );
        assert!(
            line.contains("= \"tracker-fetcher\" is not allowed"),
            "{line}"
        );
    }

    #[test]
    fn fails_on_off_hours_above_the_working_capacity() {
        let mut p = props();
        let mut off = crate::schedule::OffHours::new(
            "Europe/Berlin",
            "cron(0 20 ? * MON-FRI *)",
            "cron(0 7 ? * MON-FRI *)",
            0,
        );
        off.max = 2;
        p.service.off_hours = Some(off);
        assert_violation(
            &p,
            "service.off_hours.max",
            "2",
            "at most the service's working maximum (1)",
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::service::test_support::platform;
    use crate::service::HEALTH_CHECK_WAIVER_METADATA;
    use crate::testing::synth;
    use serde_json::json;

    #[test]
    fn a_waiver_is_written_into_the_service_metadata_and_the_check_into_the_container() {
        let t = synth(|stack| {
            let platform = platform(stack);
            let mut p = PrivateWorkerServiceProps::new("batch", TaskSize::HALF_1, "repo/app:1");
            p.service.health_check_waiver = Some("exits after each batch".into());
            PrivateWorkerService::new(stack, "Batch", &platform, p).unwrap();
            let p = with_heartbeat(PrivateWorkerServiceProps::new(
                "beat",
                TaskSize::HALF_1,
                "repo/app:1",
            ));
            PrivateWorkerService::new(stack, "Beat", &platform, p).unwrap();
        });
        let batch = t.at_path("AWS::ECS::Service", "/Batch/")[0];
        assert_eq!(
            batch["Metadata"][HEALTH_CHECK_WAIVER_METADATA],
            "exits after each batch"
        );
        let beat = t.at_path("AWS::ECS::Service", "/Beat/")[0];
        assert!(beat["Metadata"].get(HEALTH_CHECK_WAIVER_METADATA).is_none());
        let container = &t.at_path("AWS::ECS::TaskDefinition", "/Beat/")[0]["Properties"]
            ["ContainerDefinitions"][0];
        assert_eq!(container["StopTimeout"], 120);
        assert_eq!(
            container["HealthCheck"]["Command"],
            json!(["CMD-SHELL", HEARTBEAT])
        );
        let container = &t.at_path("AWS::ECS::TaskDefinition", "/Batch/")[0]["Properties"]
            ["ContainerDefinitions"][0];
        assert!(container.get("HealthCheck").is_none());
    }

    #[test]
    fn worker_runs_private_on_spot_and_scales_on_queue_depth() {
        let t = synth(|stack| {
            let platform = platform(stack);
            let queue = cdk_from_rust::aws_cdk_lib::aws_sqs::Queue::new(stack, "Jobs");
            let mut p = with_heartbeat(PrivateWorkerServiceProps::new(
                "notification-service",
                TaskSize::HALF_1,
                "repo/app:1",
            ));
            p.service.command = Some(vec!["celery".into(), "worker".into()]);
            p.scaling = WorkerScaling::QueueDepth {
                queue: queue.into(),
                min: 0,
                max: 5,
                messages_per_task: 100,
            };
            PrivateWorkerService::new(stack, "Notifications", &platform, p).unwrap();
        });
        let svc = &t.one("AWS::ECS::Service")["Properties"];
        assert_eq!(
            svc["CapacityProviderStrategy"],
            json!([
                {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 3}
            ])
        );
        assert_eq!(
            svc["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"],
            "DISABLED"
        );
        assert!(svc.get("LoadBalancers").is_none());
        // A pure client: Service Connect on, nothing published.
        assert_eq!(svc["ServiceConnectConfiguration"]["Enabled"], true);
        assert!(svc["ServiceConnectConfiguration"].get("Services").is_none());
        let container = &t.one("AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"][0];
        assert_eq!(container["Command"], json!(["celery", "worker"]));

        let target = &t.one("AWS::ApplicationAutoScaling::ScalableTarget")["Properties"];
        assert_eq!(target["MinCapacity"], 0);
        assert_eq!(target["MaxCapacity"], 5);
        let alarms = t.resources("AWS::CloudWatch::Alarm");
        assert!(alarms.iter().any(|(_, a)| {
            a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
                && a["Properties"]["Threshold"] == 100
        }));
        let steps: Vec<_> = t
            .resources("AWS::ApplicationAutoScaling::ScalingPolicy")
            .into_iter()
            .map(|(_, p)| &p["Properties"]["StepScalingPolicyConfiguration"])
            .collect();
        assert_eq!(steps.len(), 2, "a scale-in and a scale-out policy");
    }

    #[test]
    fn singleton_never_overlaps_and_does_not_scale() {
        let t = synth(|stack| {
            let platform = platform(stack);
            let p = with_heartbeat(PrivateWorkerServiceProps::singleton(
                "materialized-view-service",
                TaskSize::QUARTER_HALF,
                "repo/app:1",
            ));
            PrivateWorkerService::new(stack, "Views", &platform, p).unwrap();
        });
        let svc = &t.one("AWS::ECS::Service")["Properties"];
        assert_eq!(svc["DesiredCount"], 1);
        let dc = &svc["DeploymentConfiguration"];
        assert_eq!(dc["MinimumHealthyPercent"], 0);
        assert_eq!(dc["MaximumPercent"], 100);
        assert_eq!(
            svc["CapacityProviderStrategy"],
            json!([{"CapacityProvider": "FARGATE", "Weight": 1}])
        );
        assert!(t
            .resources("AWS::ApplicationAutoScaling::ScalableTarget")
            .is_empty());
    }

    #[test]
    fn off_hours_add_scheduled_actions_and_the_running_alarm_follows_the_desired_count() {
        let down = "cron(0 20 ? * MON-FRI *)";
        let up = "cron(0 7 ? * MON-FRI *)";
        let t = synth(|stack| {
            let platform = platform(stack);
            // A fixed worker: a scalable target is made for it, fixed at its desired count.
            let mut p = with_heartbeat(PrivateWorkerServiceProps::new(
                "tracker-fetcher",
                TaskSize::HALF_1,
                "repo/app:1",
            ));
            p.service.desired_count = 2;
            p.service.off_hours =
                Some(crate::schedule::OffHours::new("Europe/Berlin", down, up, 0));
            PrivateWorkerService::new(stack, "Fixed", &platform, p).unwrap();
            // A CPU-scaled worker keeps its target; off hours cap it at 1.
            let mut p = with_heartbeat(PrivateWorkerServiceProps::new(
                "unified-geofence",
                TaskSize::HALF_1,
                "repo/app:1",
            ));
            p.service.desired_count = 2;
            p.scaling = WorkerScaling::Cpu {
                min: 2,
                max: 4,
                target_percent: 60,
            };
            p.service.off_hours = Some(crate::schedule::OffHours::new("UTC", down, up, 1));
            PrivateWorkerService::new(stack, "Scaled", &platform, p).unwrap();
            // A singleton stopped at night: never more than one task.
            let mut p = with_heartbeat(PrivateWorkerServiceProps::singleton(
                "materialized-view-service",
                TaskSize::QUARTER_HALF,
                "repo/app:1",
            ));
            p.service.off_hours = Some(crate::schedule::OffHours::new("UTC", down, up, 0));
            PrivateWorkerService::new(stack, "Single", &platform, p).unwrap();
        });
        let target = |path: &str| {
            let targets = t.at_path("AWS::ApplicationAutoScaling::ScalableTarget", path);
            assert_eq!(targets.len(), 1, "{path}");
            targets[0]["Properties"].clone()
        };
        let fixed = target("/Fixed/");
        assert_eq!(
            (&fixed["MinCapacity"], &fixed["MaxCapacity"]),
            (&json!(2), &json!(2))
        );
        assert_eq!(
            fixed["ScheduledActions"],
            json!([
                {
                    "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0},
                    "Schedule": down,
                    "ScheduledActionName": "OffHoursDown",
                    "Timezone": "Europe/Berlin"
                },
                {
                    "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 2},
                    "Schedule": up,
                    "ScheduledActionName": "OffHoursUp",
                    "Timezone": "Europe/Berlin"
                }
            ])
        );
        let scaled = target("/Scaled/");
        assert_eq!(
            (&scaled["MinCapacity"], &scaled["MaxCapacity"]),
            (&json!(2), &json!(4))
        );
        let actions = scaled["ScheduledActions"].as_array().unwrap();
        assert_eq!(
            actions[0]["ScalableTargetAction"],
            json!({"MinCapacity": 1, "MaxCapacity": 1})
        );
        assert_eq!(
            actions[1]["ScalableTargetAction"],
            json!({"MinCapacity": 2, "MaxCapacity": 4})
        );
        let single = target("/Single/");
        assert_eq!(single["MaxCapacity"], 1);
        // The running-task alarms compare running with desired, and no data does not breach.
        for path in ["/Fixed/", "/Scaled/", "/Single/"] {
            let alarm = &t.at_path(
                "AWS::CloudWatch::Alarm",
                &format!("{path}RunningTasksAlarm"),
            )[0]["Properties"];
            assert_eq!(alarm["TreatMissingData"], "notBreaching", "{path}");
            assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
            let expression = alarm["Metrics"][0]["Expression"].as_str().unwrap();
            assert!(
                expression.starts_with("IF(FILL(desired, 0) < ")
                    && expression.ends_with("- FILL(running, 0)"),
                "{expression}"
            );
            assert!(
                alarm["AlarmActions"].is_array(),
                "{path}: reaches the topic"
            );
        }
    }
}

#[cfg(test)]
const HEARTBEAT: &str = "test -n \"$(find /tmp/heartbeat -mmin -2)\"";

/// `props` with a heartbeat-file health check (tests).
#[cfg(test)]
fn with_heartbeat(mut props: PrivateWorkerServiceProps) -> PrivateWorkerServiceProps {
    props.service.health_check = Some(crate::service::ContainerHealthCheck::new([
        "CMD-SHELL",
        HEARTBEAT,
    ]));
    props
}
