//! `PublicAlbService`: a Fargate service behind the platform's shared public ALB.
//!
//! Creates (on top of the shared [`service`](crate::service) lowering): an IP target group with
//! the health check, a rule on the shared HTTPS listener matching the host headers (and optional
//! path patterns and source-IP allow-list) at the given priority, an ingress rule from the ALB for
//! a separate health-check port, autoscaling on CPU / memory / requests per target, and optionally
//! a WAF web ACL (rate limit + the AWS common and known-bad-inputs rule sets) on the ALB.
//!
//! The WAF caveat: an ALB can have only one web ACL association, and the platform's ALB is shared,
//! so the web ACL is attached to the *whole ALB*. Its rules are scoped down to the service's own
//! host headers, so the rate limit and the managed rule sets act on that service's requests only
//! (an admin panel's strict per-IP limit never throttles the API behind the same ALB). Enable it
//! on at most one service per platform; a second service enabling it fails at synthesis (the
//! association is created in the service's stack with a fixed id, `AlbWebAclAssociation`, so a
//! second one collides there instead of two associations replacing each other at deploy time).
//! It is not created under the ALB: the ALB may live in another stack (a data stack), which must
//! not refer to the service's stack.
//!
//! With a traffic-shifting deployment (`service.deployment` blue/green, linear or canary, see
//! [`crate::deployment`]) it also creates `AlternateTargetGroup` (the same port and health check;
//! ECS registers the new revision's tasks there), `TrafficShiftRole` (assumed by
//! `ecs.amazonaws.com`, with the AWS managed policy
//! `AmazonECSInfrastructureRolePolicyForLoadBalancers`: ECS changes the listener rule's weights
//! with it), and the listener rule forwards to both target groups (weights 100 and 0; ECS moves
//! them). The target alarms then watch both target groups, carry fixed names
//! (`<environment>-<service>-target-5xx-rate`, `<environment>-<service>-unhealthy-targets`) and
//! are the service's deployment alarms: either in ALARM during the shift or the bake time rolls
//! the deployment back. Request-count scaling is refused with these strategies (it tracks one
//! target group, which carries no traffic after every other deployment).

use cdk_from_rust::aws_cdk_lib::aws_applicationautoscaling::EnableScalingProps;
use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{
    ComparisonOperator, IMetric, MathExpression, MathExpressionProps, MetricOptions,
    TreatMissingData,
};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{Port, SecurityGroup};
use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    AlternateTarget, AlternateTargetProps, AlternateTargetPropsRequired, ContainerDefinition,
    CpuUtilizationScalingProps, FargateService, FargateTaskDefinition, ListenerRuleConfiguration,
    LoadBalancerTargetOptions, MemoryUtilizationScalingProps, RequestCountScalingProps,
    RequestCountScalingPropsRequired,
};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2::{
    ApplicationListenerRule, ApplicationListenerRuleProps, ApplicationListenerRulePropsRequired,
    ApplicationProtocol, ApplicationTargetGroup, ApplicationTargetGroupProps, HealthCheck,
    HttpCodeTarget, ListenerAction, ListenerCondition, TargetType, WeightedTargetGroup,
};
use cdk_from_rust::aws_cdk_lib::aws_iam::{ManagedPolicy, Role, RoleProps, ServicePrincipal};
use cdk_from_rust::aws_cdk_lib::aws_logs::LogGroup;
use cdk_from_rust::aws_cdk_lib::aws_wafv2::{
    CfnWebACL, CfnWebACLAllowActionProperty, CfnWebACLAssociation, CfnWebACLAssociationProps,
    CfnWebACLAssociationPropsRequired, CfnWebACLBlockActionProperty,
    CfnWebACLByteMatchStatementProperty, CfnWebACLByteMatchStatementPropertyRequired,
    CfnWebACLDefaultActionProperty, CfnWebACLFieldToMatchProperty,
    CfnWebACLManagedRuleGroupStatementProperty, CfnWebACLManagedRuleGroupStatementPropertyRequired,
    CfnWebACLOrStatementProperty, CfnWebACLOverrideActionProperty, CfnWebACLProps,
    CfnWebACLPropsRequired, CfnWebACLRateBasedStatementProperty,
    CfnWebACLRateBasedStatementPropertyRequired, CfnWebACLRuleActionProperty,
    CfnWebACLRuleProperty, CfnWebACLRulePropertyRequired, CfnWebACLStatementProperty,
    CfnWebACLTextTransformationProperty, CfnWebACLTextTransformationPropertyRequired,
    CfnWebACLVisibilityConfigProperty, CfnWebACLVisibilityConfigPropertyRequired,
    IResolvableOrCfnWebACLRuleProperty,
};
use cdk_from_rust::aws_cdk_lib::{Duration, Stack};
use cdk_from_rust::constructs::Construct;
use cdk_from_rust::JsAny;
use cdk_from_rust::Opaque;

use crate::monitoring::{self, AlarmSpec, AlbAlarmThresholds};
use crate::platform::Platform;
use crate::schedule;
use crate::service::{
    self, CapacityProvider, ContainerHealthCheck, Image, ServiceProps, SPOT_NOTICE_SECS,
};
use crate::task_size::TaskSize;
use crate::validation::{is_dns_label, is_ipv4_cidr, Check, ValidationErrors};

const KIND: &str = "PublicAlbService";

/// The target group's health check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlbHealthCheck {
    /// The path checked, starting with `/`. Default `/health`.
    pub path: String,
    /// The container port checked; must be one of the service's ports. When `None`, the port
    /// traffic is sent to (`target_port`) is checked.
    pub port: Option<u16>,
    /// Seconds between checks, 5-300 and above `timeout_secs`. Default 30.
    pub interval_secs: u32,
    /// Seconds a check may take, 2-120. Default 5.
    pub timeout_secs: u32,
    /// Consecutive successes before a target is healthy, 2-10. Default 2.
    pub healthy_threshold: u32,
    /// Consecutive failures before a target is unhealthy, 2-10. Default 3.
    pub unhealthy_threshold: u32,
    /// The HTTP codes counted as healthy: `200`, `200-299` or `200,302` (codes 200-499).
    /// Default `200`.
    pub matcher: String,
}

impl Default for AlbHealthCheck {
    fn default() -> Self {
        AlbHealthCheck {
            path: "/health".into(),
            port: None,
            interval_secs: 30,
            timeout_secs: 5,
            healthy_threshold: 2,
            unhealthy_threshold: 3,
            matcher: "200".into(),
        }
    }
}

/// Autoscaling of a public service: target tracking on each metric given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlbAutoscaling {
    /// The fewest tasks, at least 1 and at most `service.desired_count`.
    pub min: u32,
    /// The most tasks, at least `service.desired_count` and at least 1.
    pub max: u32,
    /// Target average CPU utilization, 1-100 %. [`AlbAutoscaling::new`] sets 60; when `None`,
    /// CPU does not drive scaling.
    pub cpu_percent: Option<u32>,
    /// Target average memory utilization, 1-100 %. When `None` (the default), memory does not
    /// drive scaling.
    pub memory_percent: Option<u32>,
    /// Target ALB requests per task (per target, per minute), at least 1. When `None` (the
    /// default), request count does not drive scaling.
    pub requests_per_target: Option<u32>,
    /// Seconds between scale-in activities. Default 300.
    pub scale_in_cooldown_secs: u32,
    /// Seconds between scale-out activities. Default 60.
    pub scale_out_cooldown_secs: u32,
}

impl AlbAutoscaling {
    /// Between `min` and `max` tasks, tracking 60 % CPU, scale-in cooldown 300 s, scale-out 60 s.
    pub fn new(min: u32, max: u32) -> Self {
        AlbAutoscaling {
            min,
            max,
            cpu_percent: Some(60),
            memory_percent: None,
            requests_per_target: None,
            scale_in_cooldown_secs: 300,
            scale_out_cooldown_secs: 60,
        }
    }
}

/// A WAF web ACL on the shared ALB whose rules act on this service's host headers only (see the
/// module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlbWaf {
    /// Requests per client IP per 5 minutes before that IP is blocked, 10-2000000000.
    /// [`AlbWaf::default`] sets 1000.
    pub rate_limit_per_5_min: u32,
}

impl Default for AlbWaf {
    fn default() -> Self {
        AlbWaf {
            rate_limit_per_5_min: 1000,
        }
    }
}

/// Props of [`PublicAlbService`].
#[derive(Clone, Debug)]
pub struct PublicAlbServiceProps {
    /// The container, deployment and wiring settings shared by every service.
    /// [`PublicAlbServiceProps::new`] sets one task, 100/200 %, on-demand Fargate (weight 1), the
    /// target port as the only container port, and a 60 s health-check grace period.
    pub service: ServiceProps,
    /// The container port the ALB forwards to; one of `service.ports`.
    pub target_port: u16,
    /// Host names routed to this service (`api.example.com`, `*.example.com`), DNS names.
    /// At least one.
    pub host_headers: Vec<String>,
    /// Path patterns (`/api/*`) narrowing the rule, each starting with `/`. When empty, every
    /// path of the hosts is routed here.
    pub path_patterns: Vec<String>,
    /// The listener rule priority, 1-50000 (lower is evaluated first). Required; unique on the
    /// listener (the caller's concern: ALB rejects duplicates at deploy time).
    pub priority: u32,
    /// The target group's health check. Default: `GET /health` on the target port every 30 s,
    /// 5 s timeout, healthy after 2, unhealthy after 3, expecting 200.
    pub health_check: AlbHealthCheck,
    /// Client IPv4 CIDR blocks allowed through (a `source-ip` rule condition; others fall
    /// through to the listener's 404). When empty, every client is allowed.
    pub source_ip_allow_list: Vec<String>,
    /// A WAF web ACL on the shared ALB. When `None`, no web ACL is created.
    pub waf: Option<AlbWaf>,
    /// Autoscaling. When `None`, the service runs `service.desired_count` tasks.
    pub autoscaling: Option<AlbAutoscaling>,
    /// The thresholds of the target group's alarms (unhealthy targets, 5xx share, p99 latency).
    /// Default: [`AlbAlarmThresholds::default`] (1 target, 5 %, 2000 ms).
    pub alarms: AlbAlarmThresholds,
    /// Seconds the ALB drains a deregistering target, 0-3600. ECS waits for the draining to end
    /// before it sends the container SIGTERM, then waits `service.stop_timeout_secs`; on Fargate
    /// Spot both must fit in the two-minute interruption notice. Default 30.
    pub deregistration_delay_secs: u32,
    /// Names of alarms made outside the construct (a stack's own) that also roll a
    /// traffic-shifting deployment back, beside the construct's unhealthy-target and 5xx-share
    /// alarms. They are set in the same call as the construct's: aws-cdk-lib 2.276 drops the names
    /// of a second `enableDeploymentAlarms` on a service (`alarmNames.concat(...)` unassigned).
    /// Ignored with a rolling deployment. Default: none.
    pub deployment_alarms: Vec<String>,
}

impl PublicAlbServiceProps {
    /// Props for service `name` serving `target_port` for `host` at listener priority `priority`,
    /// with every documented default.
    pub fn new(
        name: &str,
        task_size: TaskSize,
        image: impl Into<Image>,
        target_port: u16,
        host: &str,
        priority: u32,
    ) -> Self {
        let mut service = ServiceProps::new(name, task_size, image);
        service.ports = vec![target_port];
        service.health_check_grace_period_secs = Some(60);
        PublicAlbServiceProps {
            service,
            target_port,
            host_headers: vec![host.to_string()],
            path_patterns: Vec::new(),
            priority,
            health_check: AlbHealthCheck::default(),
            source_ip_allow_list: Vec::new(),
            waf: None,
            autoscaling: None,
            alarms: AlbAlarmThresholds::default(),
            deregistration_delay_secs: 30,
            deployment_alarms: Vec::new(),
        }
    }

    /// The container health check derived from the target group's: the same path on the same
    /// port, fetched with `curl` inside the container (the image must have curl), at the same
    /// interval and timeout, unhealthy after the same number of failures, with the service's grace
    /// period (at most 300 s) as its start period. Used when `service.health_check` is `None` and
    /// no waiver is given.
    pub fn derived_container_health_check(&self) -> ContainerHealthCheck {
        let h = &self.health_check;
        let port = h.port.unwrap_or(self.target_port);
        let mut check = ContainerHealthCheck::new([
            "CMD-SHELL".to_string(),
            format!(
                "curl -fsS -o /dev/null http://localhost:{port}{} || exit 1",
                h.path
            ),
        ]);
        check.interval_secs = h.interval_secs;
        check.timeout_secs = h.timeout_secs;
        check.retries = h.unhealthy_threshold;
        check.start_period_secs = self
            .service
            .health_check_grace_period_secs
            .unwrap_or(0)
            .min(300);
        check
    }

    /// These props with the derived container health check filled in where none is given.
    /// The (min, max) task count in working hours: the autoscaling bounds, else the desired
    /// count.
    pub fn working_capacity(&self) -> (u32, u32) {
        self.autoscaling.as_ref().map_or(
            (self.service.desired_count, self.service.desired_count),
            |a| (a.min, a.max),
        )
    }

    fn effective(&self) -> PublicAlbServiceProps {
        let mut props = self.clone();
        if props.service.health_check.is_none() && props.service.health_check_waiver.is_none() {
            props.service.health_check = Some(self.derived_container_health_check());
        }
        props
    }

    /// Every violation of these props (no platform needed).
    pub fn validate(&self, id: &str) -> Result<(), ValidationErrors> {
        let mut c = Check::new(KIND, id);
        self.effective().validate_into(&mut c);
        c.finish()
    }

    fn validate_into(&self, c: &mut Check) {
        self.service.validate(c, "service.");
        self.alarms.validate(c, "alarms.");
        let on_spot =
            self.service.capacity.iter().any(|s| {
                s.provider == CapacityProvider::FargateSpot && (s.weight > 0 || s.base > 0)
            });
        if on_spot {
            let total = self.deregistration_delay_secs + self.service.stop_timeout_secs;
            c.require(
                total <= SPOT_NOTICE_SECS,
                "deregistration_delay_secs",
                self.deregistration_delay_secs,
                format!(
                    "at most {} s with FARGATE_SPOT capacity: draining plus the stop timeout \
                     ({} s) must fit in Spot's {SPOT_NOTICE_SECS} s interruption notice",
                    SPOT_NOTICE_SECS.saturating_sub(self.service.stop_timeout_secs),
                    self.service.stop_timeout_secs
                ),
            );
        }
        if let (true, Some(r)) = (
            self.service.deployment.shifts_traffic(),
            self.autoscaling
                .as_ref()
                .and_then(|a| a.requests_per_target),
        ) {
            c.fail(
                "autoscaling.requests_per_target",
                r,
                format!(
                    "None with a {} deployment (request-count scaling tracks the primary target \
                     group, which carries no traffic after every other deployment): scale on \
                     cpu_percent or memory_percent",
                    self.service.deployment.name()
                ),
            );
        }
        let ports = ports_text(&self.service.ports);
        c.require(
            self.service.ports.contains(&self.target_port),
            "target_port",
            self.target_port,
            format!("one of service.ports: {ports}"),
        );
        c.require(
            !self.host_headers.is_empty(),
            "host_headers",
            &self.host_headers,
            "at least one host name",
        );
        for h in &self.host_headers {
            c.require(
                is_host_name(h),
                "host_headers",
                h,
                "a DNS name such as api.example.com (or *.example.com)",
            );
        }
        for p in &self.path_patterns {
            c.require(
                p.starts_with('/') && p.len() <= 128,
                "path_patterns",
                p,
                "a path pattern starting with '/', at most 128 characters, e.g. /api/*",
            );
        }
        let values =
            self.host_headers.len() + self.path_patterns.len() + self.source_ip_allow_list.len();
        c.require(
            values <= 5,
            "host_headers + path_patterns + source_ip_allow_list",
            values,
            "at most 5 condition values in one listener rule (ALB quota)",
        );
        c.require(
            (1..=50_000).contains(&self.priority),
            "priority",
            self.priority,
            "1-50000",
        );
        let h = &self.health_check;
        c.require(
            h.path.starts_with('/'),
            "health_check.path",
            &h.path,
            "a path starting with '/', e.g. /health",
        );
        if let Some(port) = h.port {
            c.require(
                self.service.ports.contains(&port),
                "health_check.port",
                port,
                format!("one of service.ports: {ports}"),
            );
        }
        c.require(
            (5..=300).contains(&h.interval_secs) && h.interval_secs > h.timeout_secs,
            "health_check.interval_secs",
            h.interval_secs,
            format!("5-300 seconds and above timeout_secs ({})", h.timeout_secs),
        );
        c.require(
            (2..=120).contains(&h.timeout_secs),
            "health_check.timeout_secs",
            h.timeout_secs,
            "2-120 seconds",
        );
        c.require(
            (2..=10).contains(&h.healthy_threshold),
            "health_check.healthy_threshold",
            h.healthy_threshold,
            "2-10",
        );
        c.require(
            (2..=10).contains(&h.unhealthy_threshold),
            "health_check.unhealthy_threshold",
            h.unhealthy_threshold,
            "2-10",
        );
        c.require(
            is_matcher(&h.matcher),
            "health_check.matcher",
            &h.matcher,
            "HTTP codes 200-499 as `200`, `200-299` or `200,302`",
        );
        for cidr in &self.source_ip_allow_list {
            c.require(
                is_ipv4_cidr(cidr),
                "source_ip_allow_list",
                cidr,
                "IPv4 CIDR blocks such as 203.0.113.0/24",
            );
        }
        if let Some(w) = &self.waf {
            c.require(
                (10..=2_000_000_000).contains(&w.rate_limit_per_5_min),
                "waf.rate_limit_per_5_min",
                w.rate_limit_per_5_min,
                "10-2000000000 requests per IP per 5 minutes",
            );
        }
        let desired = self.service.desired_count;
        match &self.autoscaling {
            None => {
                c.require(
                    desired >= 1,
                    "service.desired_count",
                    desired,
                    "at least 1 (a public service without tasks only answers 503)",
                );
            }
            Some(a) => {
                c.require(
                    a.min >= 1 && a.min <= desired,
                    "autoscaling.min",
                    a.min,
                    format!("1 to service.desired_count ({desired})"),
                );
                c.require(
                    a.max >= 1 && a.max >= desired && a.max >= a.min,
                    "autoscaling.max",
                    a.max,
                    format!(
                        "at least 1, service.desired_count ({desired}) and autoscaling.min ({})",
                        a.min
                    ),
                );
                for (field, v) in [
                    ("autoscaling.cpu_percent", a.cpu_percent),
                    ("autoscaling.memory_percent", a.memory_percent),
                ] {
                    if let Some(v) = v {
                        c.require((1..=100).contains(&v), field, v, "1-100 %");
                    }
                }
                if let Some(r) = a.requests_per_target {
                    c.require(
                        r >= 1,
                        "autoscaling.requests_per_target",
                        r,
                        "at least 1 request per target per minute",
                    );
                }
                c.require(
                    a.cpu_percent.is_some()
                        || a.memory_percent.is_some()
                        || a.requests_per_target.is_some(),
                    "autoscaling",
                    "no metric",
                    "at least one of cpu_percent, memory_percent, requests_per_target",
                );
            }
        }
        for name in &self.deployment_alarms {
            c.require(
                !name.is_empty() && name.len() <= 255,
                "deployment_alarms",
                name,
                "an alarm name of 1-255 characters",
            );
        }
        if let Some(off) = &self.service.off_hours {
            off.validate(c, "service.off_hours.", self.working_capacity().1);
        }
        c.require(
            self.deregistration_delay_secs <= 3600,
            "deregistration_delay_secs",
            self.deregistration_delay_secs,
            "0-3600 seconds",
        );
    }
}

fn ports_text(ports: &[u16]) -> String {
    if ports.is_empty() {
        "(none declared)".into()
    } else {
        ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A DNS name of at least two labels; the first may be `*`.
fn is_host_name(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| is_dns_label(l) || (i == 0 && *l == "*"))
}

/// `200`, `200-299`, `200,302`: HTTP codes 200-499.
fn is_matcher(s: &str) -> bool {
    let code = |c: &str| c.parse::<u16>().is_ok_and(|c| (200..=499).contains(&c));
    !s.is_empty()
        && s.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => code(a) && code(b) && a.parse::<u16>().ok() < b.parse::<u16>().ok(),
            None => code(part),
        })
}

/// A Fargate service behind the shared public ALB.
#[derive(Clone, Copy, Debug)]
pub struct PublicAlbService {
    pub service: FargateService,
    pub task_definition: FargateTaskDefinition,
    pub container: ContainerDefinition,
    pub security_group: SecurityGroup,
    pub log_group: LogGroup,
    pub target_group: ApplicationTargetGroup,
    /// The target group ECS registers a new revision in, with a traffic-shifting deployment.
    pub alternate_target_group: Option<ApplicationTargetGroup>,
    pub listener_rule: ApplicationListenerRule,
    /// The web ACL, when `waf` was set.
    pub web_acl: Option<CfnWebACL>,
}

impl PublicAlbService {
    /// Validates `props` (all problems at once, including undeclared dependencies and a taken
    /// name) and adds the service to `scope`.
    pub fn new(
        scope: impl Into<Construct>,
        id: &str,
        platform: &Platform,
        props: PublicAlbServiceProps,
    ) -> Result<PublicAlbService, ValidationErrors> {
        let props = props.effective();
        let mut c = Check::new(KIND, id);
        props.validate_into(&mut c);
        let resolved = service::resolve(platform, &mut c, &props.service, "service.");
        c.finish()?;

        let scope = Construct::new(scope, id);
        let min_running = props
            .autoscaling
            .as_ref()
            .map_or(props.service.desired_count, |a| a.min);
        let parts = service::build(
            scope,
            KIND,
            id,
            platform,
            &props.service,
            &resolved,
            min_running,
        )?;
        let name = props.service.name.as_str();
        let h = &props.health_check;
        let mut health_check = HealthCheck::new()
            .path(h.path.as_str())
            .interval(Duration::seconds(h.interval_secs))
            .timeout(Duration::seconds(h.timeout_secs))
            .healthy_threshold_count(h.healthy_threshold)
            .unhealthy_threshold_count(h.unhealthy_threshold)
            .healthy_http_codes(h.matcher.as_str());
        if let Some(port) = h.port.filter(|&p| p != props.target_port) {
            health_check = health_check.port(port.to_string());
            parts.security_group.connections().allow_from_with(
                platform.alb,
                Port::tcp(port),
                format!("ALB health check of {name}"),
            );
        }
        let group_props = ApplicationTargetGroupProps::new()
            .vpc(platform.network.vpc)
            .port(props.target_port)
            .protocol(ApplicationProtocol::Http)
            .target_type(TargetType::Ip)
            .deregistration_delay(Duration::seconds(props.deregistration_delay_secs))
            .health_check(health_check);
        let shifts = props.service.deployment.shifts_traffic();
        let target = LoadBalancerTargetOptions::new(name).container_port(props.target_port);
        let target_group = if shifts {
            // The service is attached below, once the listener rule ECS shifts exists.
            ApplicationTargetGroup::new_with(scope, "TargetGroup", group_props.clone())
        } else {
            ApplicationTargetGroup::new_with(
                scope,
                "TargetGroup",
                group_props
                    .clone()
                    .targets([parts.service.load_balancer_target(target.clone())]),
            )
        };
        let alternate_target_group = shifts
            .then(|| ApplicationTargetGroup::new_with(scope, "AlternateTargetGroup", group_props));
        let mut conditions = vec![ListenerCondition::host_headers(
            props.host_headers.iter().map(String::as_str),
        )];
        if !props.path_patterns.is_empty() {
            conditions.push(ListenerCondition::path_patterns(
                props.path_patterns.iter().map(String::as_str),
            ));
        }
        if !props.source_ip_allow_list.is_empty() {
            conditions.push(ListenerCondition::source_ips(
                props.source_ip_allow_list.iter().map(String::as_str),
            ));
        }
        let rule_props = ApplicationListenerRuleProps::new(ApplicationListenerRulePropsRequired {
            listener: platform.https_listener,
            priority: props.priority,
        })
        .conditions(conditions);
        let listener_rule = match alternate_target_group {
            None => ApplicationListenerRule::new(
                scope,
                "ListenerRule",
                rule_props.target_groups([target_group]),
            ),
            Some(alternate) => {
                let rule = ApplicationListenerRule::new(
                    scope,
                    "ListenerRule",
                    rule_props.action(ListenerAction::weighted_forward([
                        WeightedTargetGroup::new(target_group).weight(100),
                        WeightedTargetGroup::new(alternate).weight(0),
                    ])),
                );
                shift_traffic(
                    scope,
                    &props,
                    parts.service,
                    target,
                    (target_group, alternate),
                    rule,
                );
                rule
            }
        };

        let mut scaling = None;
        if let Some(a) = &props.autoscaling {
            let target = parts
                .service
                .auto_scale_task_count(EnableScalingProps::new(a.max).min_capacity(a.min));
            scaling = Some(target);
            let scaling = target;
            let cool_in = Duration::seconds(a.scale_in_cooldown_secs);
            let cool_out = Duration::seconds(a.scale_out_cooldown_secs);
            if let Some(p) = a.cpu_percent {
                scaling.scale_on_cpu_utilization(
                    "Cpu",
                    CpuUtilizationScalingProps::new(p)
                        .scale_in_cooldown(cool_in)
                        .scale_out_cooldown(cool_out),
                );
            }
            if let Some(p) = a.memory_percent {
                scaling.scale_on_memory_utilization(
                    "Memory",
                    MemoryUtilizationScalingProps::new(p)
                        .scale_in_cooldown(cool_in)
                        .scale_out_cooldown(cool_out),
                );
            }
            if let Some(r) = a.requests_per_target {
                scaling.scale_on_request_count(
                    "Requests",
                    RequestCountScalingProps::new(RequestCountScalingPropsRequired {
                        requests_per_target: r,
                        target_group,
                    })
                    .scale_in_cooldown(cool_in)
                    .scale_out_cooldown(cool_out),
                );
            }
        }

        if let Some(off) = &props.service.off_hours {
            schedule::apply_off_hours(parts.service, scaling, props.working_capacity(), off);
        }

        let web_acl = props
            .waf
            .as_ref()
            .map(|w| web_acl(scope, platform, name, &props.host_headers, w));
        let mut graphs = parts.graphs.clone();
        graphs.extend(target_alarms(
            scope,
            platform,
            &props,
            (target_group, alternate_target_group),
            parts.service,
        ));
        platform
            .dashboard
            .add_row(&format!("{name} (public)"), graphs);
        Ok(PublicAlbService {
            service: parts.service,
            task_definition: parts.task_definition,
            container: parts.container,
            security_group: parts.security_group,
            log_group: parts.log_group,
            target_group,
            alternate_target_group,
            listener_rule,
            web_acl,
        })
    }
}

/// Attaches `service` to `primary` with `alternate` as the target group ECS registers a new
/// revision in and `rule` as the production rule it shifts, through `TrafficShiftRole`.
fn shift_traffic(
    scope: Construct,
    props: &PublicAlbServiceProps,
    service: FargateService,
    target: LoadBalancerTargetOptions,
    (primary, alternate): (ApplicationTargetGroup, ApplicationTargetGroup),
    rule: ApplicationListenerRule,
) {
    let role = Role::new(
        scope,
        "TrafficShiftRole",
        RoleProps::new(ServicePrincipal::new("ecs.amazonaws.com"))
            .description(format!(
                "ECS moves the listener rule's traffic of {} between its two target groups \
                 during {} deployments",
                props.service.name,
                props.service.deployment.name()
            ))
            .managed_policies([ManagedPolicy::from_aws_managed_policy_name(
                "AmazonECSInfrastructureRolePolicyForLoadBalancers",
            )]),
    );
    let alternate_target = AlternateTarget::new(
        "Alternate",
        AlternateTargetProps::new(AlternateTargetPropsRequired {
            alternate_target_group: Opaque::from(&alternate),
            production_listener: ListenerRuleConfiguration::application_listener_rule(rule),
        })
        .role(role),
    );
    primary.add_target([service.load_balancer_target(target.alternate_target(alternate_target))]);
    // aws-cdk-lib makes the service depend on the rule (the target group's listener attachment)
    // and the advanced configuration refers to it too: cfn-lint's W3005 (a redundant DependsOn)
    // on aws-cdk-lib's output, accepted on this resource only.
    crate::l1(service.node()).add_metadata(
        "cfn-lint",
        JsAny::from(serde_json::json!({"config": {"ignore_checks": ["W3005"]}})),
    );
}

/// The target groups' alarms (unhealthy targets, 5xx share, p99 latency) under `scope`; returns
/// the service's request graphs. With an alternate target group (a traffic-shifting deployment)
/// each alarm watches both groups, and the unhealthy-target and 5xx alarms, named, are the
/// service's deployment alarms.
fn target_alarms(
    scope: Construct,
    platform: &Platform,
    props: &PublicAlbServiceProps,
    (target_group, alternate): (ApplicationTargetGroup, Option<ApplicationTargetGroup>),
    service: FargateService,
) -> Vec<(String, Vec<IMetric>)> {
    let t = &props.alarms;
    let what = format!("{} {KIND} {}", platform.environment, props.service.name);
    let options = |statistic: &str, minutes: u32| {
        MetricOptions::new()
            .statistic(statistic)
            .period(Duration::minutes(minutes))
    };
    let metrics = target_group.metrics();
    let unhealthy = metrics.unhealthy_host_count_with(options("Minimum", 1));
    let requests = metrics.request_count_with(options("Sum", 5));
    let errors = metrics.http_code_target_with(HttpCodeTarget::Target5xxCount, options("Sum", 5));
    let p99 = metrics.target_response_time_with(options("p99", 5));
    // (unhealthy, requests, error rate, p99), over both groups with an alternate one.
    let (unhealthy, requests, error_rate, p99): (IMetric, IMetric, IMetric, IMetric) =
        match alternate {
            None => (
                unhealthy.into(),
                requests.into(),
                MathExpression::new(
                    MathExpressionProps::new("IF(requests > 0, 100 * errors / requests, 0)")
                        .label("target 5xx %")
                        .period(Duration::minutes(5))
                        .using_metrics([
                            ("requests", IMetric::from(requests)),
                            ("errors", errors.into()),
                        ]),
                )
                .into(),
                p99.into(),
            ),
            Some(alternate) => {
                let other = alternate.metrics();
                // `FILL(x1, 0) + FILL(x2, 0)` (or `text` over x1, x2): ids unique per metric, as
                // the 5xx share nests two of them.
                let expression =
                    |x: &str, text: &str, label: &str, minutes: u32, m: [IMetric; 2]| {
                        let [a, b] = m;
                        let text = text
                            .replace("x1", &format!("{x}1"))
                            .replace("x2", &format!("{x}2"));
                        IMetric::from(MathExpression::new(
                            MathExpressionProps::new(text)
                                .label(label)
                                .period(Duration::minutes(minutes))
                                .using_metrics([(format!("{x}1"), a), (format!("{x}2"), b)]),
                        ))
                    };
                let requests_sum = expression(
                    "r",
                    "FILL(x1, 0) + FILL(x2, 0)",
                    "requests",
                    5,
                    [
                        requests.into(),
                        other.request_count_with(options("Sum", 5)).into(),
                    ],
                );
                let errors_sum = expression(
                    "e",
                    "FILL(x1, 0) + FILL(x2, 0)",
                    "target 5xx",
                    5,
                    [
                        errors.into(),
                        other
                            .http_code_target_with(
                                HttpCodeTarget::Target5xxCount,
                                options("Sum", 5),
                            )
                            .into(),
                    ],
                );
                (
                    expression(
                        "u",
                        "FILL(x1, 0) + FILL(x2, 0)",
                        "unhealthy targets",
                        1,
                        [
                            unhealthy.into(),
                            other
                                .unhealthy_host_count_with(options("Minimum", 1))
                                .into(),
                        ],
                    ),
                    requests_sum,
                    MathExpression::new(
                        MathExpressionProps::new("IF(requests > 0, 100 * errors / requests, 0)")
                            .label("target 5xx %")
                            .period(Duration::minutes(5))
                            .using_metrics([("requests", requests_sum), ("errors", errors_sum)]),
                    )
                    .into(),
                    expression(
                        "p",
                        "MAX([FILL(x1, 0), FILL(x2, 0)])",
                        "p99 response time",
                        5,
                        [
                            p99.into(),
                            other.target_response_time_with(options("p99", 5)).into(),
                        ],
                    ),
                )
            }
        };
    let specs = [
        AlarmSpec {
            id: "UnhealthyTargetsAlarm".into(),
            metric: unhealthy,
            threshold: f64::from(t.unhealthy_targets),
            evaluation_periods: 3,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "{what}: {}+ unhealthy target(s) for 3 minutes: tasks fail the ALB health check \
                 ({} on port {}). Look at the service's events and the tasks' logs.",
                t.unhealthy_targets,
                props.health_check.path,
                props.health_check.port.unwrap_or(props.target_port)
            ),
        },
        AlarmSpec {
            id: "Target5xxRateAlarm".into(),
            metric: error_rate,
            threshold: f64::from(t.target_5xx_percent),
            evaluation_periods: 2,
            comparison: ComparisonOperator::GreaterThanOrEqualToThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "{what}: {} %+ of requests answered 5xx by the service for 10 minutes. Look at \
                 its logs; roll back a bad release.",
                t.target_5xx_percent
            ),
        },
        AlarmSpec {
            id: "LatencyP99Alarm".into(),
            metric: p99,
            threshold: f64::from(t.p99_latency_ms) / 1000.0,
            evaluation_periods: 3,
            comparison: ComparisonOperator::GreaterThanThreshold,
            missing_data: TreatMissingData::NotBreaching,
            description: format!(
                "{what}: 99th percentile response time above {} ms for 15 minutes. Look at \
                 the database and the service's CPU.",
                t.p99_latency_ms
            ),
        },
    ];
    let mut deployment_alarms = Vec::new();
    for spec in specs {
        let id = spec.id.clone();
        let alarm = monitoring::alarm(scope, &platform.alerts, spec);
        let suffix = match id.as_str() {
            "UnhealthyTargetsAlarm" => "unhealthy-targets",
            "Target5xxRateAlarm" => "target-5xx-rate",
            _ => continue,
        };
        if alternate.is_some() {
            // A literal name: the service refers to its deployment alarms by name, and a name
            // token would be the alarm's logical id.
            let alarm_name = format!("{}-{}-{suffix}", platform.environment, props.service.name);
            crate::l1(alarm.node()).add_property_override("AlarmName", alarm_name.as_str());
            service.node().add_dependency([alarm]);
            deployment_alarms.push(alarm_name);
        }
    }
    if !deployment_alarms.is_empty() {
        deployment_alarms.extend(props.deployment_alarms.iter().cloned());
        service.enable_deployment_alarms(deployment_alarms);
    }
    vec![
        ("Requests (5 min)".into(), vec![requests]),
        ("Target 5xx %".into(), vec![error_rate]),
        ("Response time p99".into(), vec![p99]),
    ]
}

/// The WAF statement matching requests for `hosts` (the `Host` header, lower-cased; `*.x` matches
/// any name ending in `.x`).
fn host_statement(hosts: &[String]) -> CfnWebACLStatementProperty {
    let one = |host: &String| {
        let (constraint, value) = match host.strip_prefix('*') {
            Some(suffix) => ("ENDS_WITH", suffix.to_ascii_lowercase()),
            None => ("EXACTLY", host.to_ascii_lowercase()),
        };
        CfnWebACLStatementProperty::new().byte_match_statement(
            CfnWebACLByteMatchStatementProperty::new(CfnWebACLByteMatchStatementPropertyRequired {
                field_to_match: CfnWebACLFieldToMatchProperty::new()
                    .single_header(JsAny::from(serde_json::json!({"Name": "host"}))),
                positional_constraint: constraint,
                text_transformations: vec![CfnWebACLTextTransformationProperty::new(
                    CfnWebACLTextTransformationPropertyRequired {
                        priority: 0,
                        r#type: "LOWERCASE",
                    },
                )
                .into()],
            })
            .search_string(value),
        )
    };
    match hosts {
        [host] => one(host),
        _ => CfnWebACLStatementProperty::new().or_statement(CfnWebACLOrStatementProperty::new(
            hosts.iter().map(|h| one(h).into()).collect::<Vec<_>>(),
        )),
    }
}

/// A regional web ACL (per-IP rate limit, the AWS common and known-bad-inputs rule sets)
/// associated with the shared ALB, its rules scoped down to requests for `hosts`.
fn web_acl(
    scope: Construct,
    platform: &Platform,
    name: &str,
    hosts: &[String],
    waf: &AlbWaf,
) -> CfnWebACL {
    let visibility = |metric: &str| {
        CfnWebACLVisibilityConfigProperty::new(CfnWebACLVisibilityConfigPropertyRequired {
            cloud_watch_metrics_enabled: true,
            metric_name: format!("{name}-{metric}"),
            sampled_requests_enabled: true,
        })
    };
    // An AWS managed rule group acting as published (no rule overridden to count).
    let managed_rule_group = |priority: u32, group: &str, metric: &str| {
        CfnWebACLRuleProperty::new(CfnWebACLRulePropertyRequired {
            name: group,
            priority,
            statement: CfnWebACLStatementProperty::new().managed_rule_group_statement(
                CfnWebACLManagedRuleGroupStatementProperty::new(
                    CfnWebACLManagedRuleGroupStatementPropertyRequired {
                        name: group,
                        vendor_name: "AWS",
                    },
                )
                .scope_down_statement(host_statement(hosts)),
            ),
            visibility_config: visibility(metric),
        })
        .override_action(
            CfnWebACLOverrideActionProperty::new().none(JsAny::from(serde_json::json!({}))),
        )
        .into()
    };
    let rules: Vec<IResolvableOrCfnWebACLRuleProperty> = vec![
        CfnWebACLRuleProperty::new(CfnWebACLRulePropertyRequired {
            name: "RateLimitPerIp",
            priority: 0,
            statement: CfnWebACLStatementProperty::new().rate_based_statement(
                CfnWebACLRateBasedStatementProperty::new(
                    CfnWebACLRateBasedStatementPropertyRequired {
                        aggregate_key_type: "IP",
                        limit: waf.rate_limit_per_5_min,
                    },
                )
                .evaluation_window_sec(300)
                .scope_down_statement(host_statement(hosts)),
            ),
            visibility_config: visibility("rate-limit"),
        })
        .action(CfnWebACLRuleActionProperty::new().block(CfnWebACLBlockActionProperty::new()))
        .into(),
        managed_rule_group(1, "AWSManagedRulesCommonRuleSet", "common-rule-set"),
        // Request patterns known to be malicious, among them the Log4j JNDI lookup
        // (CVE-2021-44228) in headers, URI and body; every rule of the group blocks.
        managed_rule_group(
            2,
            "AWSManagedRulesKnownBadInputsRuleSet",
            "known-bad-inputs",
        ),
    ];
    let acl = CfnWebACL::new(
        scope,
        "WebAcl",
        CfnWebACLProps::new(CfnWebACLPropsRequired {
            default_action: CfnWebACLDefaultActionProperty::new()
                .allow(CfnWebACLAllowActionProperty::new()),
            scope: "REGIONAL",
            visibility_config: visibility("web-acl"),
        })
        .description(format!(
            "{} shared ALB, enabled by {name}: per-IP rate limit, AWS common and known bad \
             inputs rule sets on the hosts of {name}",
            platform.environment
        ))
        .rules(rules),
    );
    // In the service's stack (beside the web ACL, so the ALB's stack never refers to it) with a
    // fixed id: one ALB takes one web ACL, so a second service asking for one collides here at
    // synthesis.
    CfnWebACLAssociation::new(
        Stack::of(scope),
        "AlbWebAclAssociation",
        CfnWebACLAssociationProps::new(CfnWebACLAssociationPropsRequired {
            resource_arn: platform.alb.load_balancer_arn(),
            web_acl_arn: acl.attr_arn(),
        }),
    );
    acl
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::CapacityShare;

    #[test]
    fn the_waf_scope_covers_every_host_and_wildcards_by_suffix() {
        let v = cdk_from_rust::runtime::ToValue::to_value(&host_statement(&[
            "Admin.example.com".to_string(),
            "*.admin.example.com".to_string(),
        ]));
        let text = serde_json::to_string(&v).unwrap();
        for part in [
            "orStatement",
            "EXACTLY",
            "admin.example.com",
            "ENDS_WITH",
            ".admin.example.com",
        ] {
            assert!(text.contains(part), "{part} missing: {text}");
        }
        assert!(
            !text.contains("Admin."),
            "the host is not lower-cased: {text}"
        );
    }

    fn props() -> PublicAlbServiceProps {
        PublicAlbServiceProps::new(
            "api",
            TaskSize::HALF_1,
            "public.ecr.aws/nginx/nginx:1.27",
            8000,
            "api.example.com",
            10,
        )
    }

    fn assert_violation(p: &PublicAlbServiceProps, field: &str, value: &str, allowed: &str) {
        let err = p.validate("Api").unwrap_err();
        let v = err
            .0
            .iter()
            .find(|v| v.field == field && v.value == value)
            .unwrap_or_else(|| panic!("no violation of {field} = {value}: {err}"));
        assert_eq!(v.construct, "PublicAlbService \"Api\"");
        assert!(v.allowed.contains(allowed), "{v}");
        assert!(
            err.to_string()
                .contains(&format!("PublicAlbService \"Api\": `{field}` = {value}")),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_valid() {
        props().validate("Api").unwrap();
        let mut p = props();
        p.service.desired_count = 2;
        p.autoscaling = Some(AlbAutoscaling::new(2, 6));
        p.waf = Some(AlbWaf::default());
        p.source_ip_allow_list = vec!["203.0.113.0/24".into()];
        p.path_patterns = vec!["/api/*".into()];
        p.host_headers.push("*.example.com".into());
        p.validate("Api").unwrap();
    }

    #[test]
    fn fails_on_target_port_not_declared() {
        let mut p = props();
        p.target_port = 9000;
        assert_violation(&p, "target_port", "9000", "one of service.ports: 8000");
    }

    #[test]
    fn fails_on_missing_and_bad_host_headers() {
        let mut p = props();
        p.host_headers = vec![];
        assert_violation(&p, "host_headers", "[]", "at least one host name");
        p.host_headers = vec!["Not A Host".into(), "localhost".into()];
        assert_violation(&p, "host_headers", "\"Not A Host\"", "a DNS name");
        assert_violation(&p, "host_headers", "\"localhost\"", "a DNS name");
    }

    #[test]
    fn fails_on_path_pattern_without_slash() {
        let mut p = props();
        p.path_patterns = vec!["api/*".into()];
        assert_violation(&p, "path_patterns", "\"api/*\"", "starting with '/'");
    }

    #[test]
    fn fails_on_too_many_condition_values() {
        let mut p = props();
        p.source_ip_allow_list = (1..=5).map(|i| format!("203.0.113.{i}/32")).collect();
        assert_violation(
            &p,
            "host_headers + path_patterns + source_ip_allow_list",
            "6",
            "at most 5",
        );
    }

    #[test]
    fn fails_on_priority_out_of_range() {
        let mut p = props();
        p.priority = 0;
        assert_violation(&p, "priority", "0", "1-50000");
        p.priority = 50_001;
        assert_violation(&p, "priority", "50001", "1-50000");
    }

    #[test]
    fn fails_on_health_check_path_port_and_matcher() {
        let mut p = props();
        p.health_check.path = "health".into();
        p.health_check.port = Some(9000);
        p.health_check.matcher = "200-199".into();
        assert_violation(&p, "health_check.path", "\"health\"", "starting with '/'");
        assert_violation(
            &p,
            "health_check.port",
            "9000",
            "one of service.ports: 8000",
        );
        assert_violation(&p, "health_check.matcher", "\"200-199\"", "200-499");
        p.health_check.matcher = "600".into();
        assert_violation(&p, "health_check.matcher", "\"600\"", "200-499");
    }

    #[test]
    fn fails_when_interval_does_not_exceed_timeout() {
        let mut p = props();
        p.health_check.interval_secs = 10;
        p.health_check.timeout_secs = 10;
        assert_violation(
            &p,
            "health_check.interval_secs",
            "10",
            "above timeout_secs (10)",
        );
        p.health_check.interval_secs = 400;
        p.health_check.timeout_secs = 1;
        assert_violation(&p, "health_check.interval_secs", "400", "5-300");
        assert_violation(&p, "health_check.timeout_secs", "1", "2-120");
    }

    #[test]
    fn fails_on_thresholds_out_of_range() {
        let mut p = props();
        p.health_check.healthy_threshold = 1;
        p.health_check.unhealthy_threshold = 11;
        assert_violation(&p, "health_check.healthy_threshold", "1", "2-10");
        assert_violation(&p, "health_check.unhealthy_threshold", "11", "2-10");
    }

    #[test]
    fn fails_on_source_ips_that_are_not_ipv4_cidrs() {
        let mut p = props();
        p.source_ip_allow_list = vec!["203.0.113.7".into()];
        assert_violation(&p, "source_ip_allow_list", "\"203.0.113.7\"", "IPv4 CIDR");
    }

    #[test]
    fn fails_on_waf_rate_limit() {
        let mut p = props();
        p.waf = Some(AlbWaf {
            rate_limit_per_5_min: 5,
        });
        assert_violation(&p, "waf.rate_limit_per_5_min", "5", "10-2000000000");
    }

    #[test]
    fn fails_on_zero_desired_count_without_autoscaling() {
        let mut p = props();
        p.service.desired_count = 0;
        assert_violation(&p, "service.desired_count", "0", "at least 1");
    }

    #[test]
    fn fails_on_autoscaling_bounds_percents_and_metrics() {
        let mut p = props();
        p.service.desired_count = 3;
        p.autoscaling = Some(AlbAutoscaling {
            min: 4,
            max: 2,
            cpu_percent: Some(0),
            memory_percent: Some(101),
            requests_per_target: Some(0),
            ..AlbAutoscaling::new(1, 1)
        });
        assert_violation(&p, "autoscaling.min", "4", "1 to service.desired_count (3)");
        assert_violation(&p, "autoscaling.max", "2", "service.desired_count (3)");
        assert_violation(&p, "autoscaling.cpu_percent", "0", "1-100");
        assert_violation(&p, "autoscaling.memory_percent", "101", "1-100");
        assert_violation(&p, "autoscaling.requests_per_target", "0", "at least 1");
        p.autoscaling = Some(AlbAutoscaling {
            min: 0,
            max: 0,
            cpu_percent: None,
            ..AlbAutoscaling::new(1, 1)
        });
        p.service.desired_count = 0;
        assert_violation(&p, "autoscaling.min", "0", "1 to service.desired_count");
        assert_violation(&p, "autoscaling.max", "0", "at least 1");
        assert_violation(
            &p,
            "autoscaling",
            "\"no metric\"",
            "at least one of cpu_percent",
        );
    }

    #[test]
    fn fails_on_request_scaling_and_bad_parameters_with_a_traffic_shifting_deployment() {
        let mut p = props();
        p.service.desired_count = 2;
        p.autoscaling = Some(AlbAutoscaling {
            requests_per_target: Some(500),
            ..AlbAutoscaling::new(2, 4)
        });
        p.service.deployment = crate::deployment::Deployment::Canary {
            step: crate::deployment::TrafficShift {
                percent: 0.05,
                interval_minutes: 10,
            },
            bake_minutes: 1500,
        };
        let err = p.validate("Api").unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        assert_violation(
            &p,
            "autoscaling.requests_per_target",
            "500",
            "None with a canary deployment",
        );
        assert_violation(
            &p,
            "service.deployment.step.percent",
            "0.05",
            "0.1 to 100.0",
        );
        assert_violation(&p, "service.deployment.bake_minutes", "1500", "0-1440");
        // Rolling scales on requests as before.
        p.service.deployment = crate::deployment::Deployment::Rolling;
        p.validate("Api").unwrap();
    }

    #[test]
    fn fails_on_deregistration_delay() {
        let mut p = props();
        p.deregistration_delay_secs = 4000;
        assert_violation(&p, "deregistration_delay_secs", "4000", "0-3600");
    }

    #[test]
    fn fails_when_draining_and_stop_timeout_exceed_the_spot_notice() {
        let mut p = props();
        p.service.capacity = vec![
            CapacityShare::new(CapacityProvider::Fargate, 1).with_base(1),
            CapacityShare::new(CapacityProvider::FargateSpot, 1),
        ];
        p.deregistration_delay_secs = 100;
        assert_violation(
            &p,
            "deregistration_delay_secs",
            "100",
            "at most 90 s with FARGATE_SPOT capacity",
        );
        // On-demand only, the same drain is fine.
        p.service.capacity = CapacityShare::fargate_only();
        p.validate("Api").unwrap();
    }

    #[test]
    fn the_derived_container_check_follows_the_target_group_check() {
        let mut p = props();
        p.health_check.path = "/healthz".into();
        p.health_check.port = Some(9000);
        p.service.ports.push(9000);
        p.health_check.interval_secs = 15;
        p.health_check.unhealthy_threshold = 4;
        let h = p.derived_container_health_check();
        assert_eq!(
            h.command,
            [
                "CMD-SHELL",
                "curl -fsS -o /dev/null http://localhost:9000/healthz || exit 1"
            ]
        );
        assert_eq!((h.interval_secs, h.timeout_secs, h.retries), (15, 5, 4));
        assert_eq!(h.start_period_secs, 60, "the service's grace period");
        p.validate("Api").unwrap();
    }

    #[test]
    fn fails_on_grace_period_shorter_than_container_start_period() {
        let mut p = props();
        let mut h = crate::service::ContainerHealthCheck::new(["CMD", "/check"]);
        h.start_period_secs = 120;
        p.service.health_check = Some(h);
        assert_violation(
            &p,
            "service.health_check_grace_period_secs",
            "60",
            "start period (120 s)",
        );
    }

    #[test]
    fn reports_several_errors_together() {
        let mut p = props();
        p.service.name = "API".into();
        p.priority = 0;
        p.health_check.path = "x".into();
        p.health_check.healthy_threshold = 20;
        p.source_ip_allow_list = vec!["everyone".into()];
        let err = p.validate("Api").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "service.name",
                "priority",
                "health_check.path",
                "health_check.healthy_threshold",
                "source_ip_allow_list"
            ]
        );
        assert!(
            err.to_string().starts_with("5 invalid setting(s):"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;
    use crate::service::test_support::platform;
    use crate::service::ContainerHealthCheck;
    use crate::testing::synth;
    use crate::wiring::{ContainerSecret, Dependency};
    use cdk_from_rust::aws_cdk_lib::aws_secretsmanager::Secret;
    use serde_json::{json, Value};

    fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
        container["Environment"]
            .as_array()?
            .iter()
            .find(|e| e["Name"] == name)
            .map(|e| &e["Value"])
    }

    fn shifting(deployment: crate::deployment::Deployment) -> crate::testing::Template {
        synth(|stack| {
            let platform = platform(stack);
            let mut p = PublicAlbServiceProps::new(
                "frontend",
                TaskSize::QUARTER_HALF,
                "public.ecr.aws/nginx/nginx:1.27",
                3000,
                "app.example.com",
                20,
            );
            p.service.deployment = deployment;
            let svc = PublicAlbService::new(stack, "Frontend", &platform, p).unwrap();
            assert!(svc.alternate_target_group.is_some());
        })
    }

    #[test]
    fn blue_green_adds_the_alternate_group_the_weighted_rule_the_role_and_alarm_rollback() {
        let t = shifting(crate::deployment::Deployment::blue_green());
        let groups = t.resources("AWS::ElasticLoadBalancingV2::TargetGroup");
        assert_eq!(groups.len(), 2);
        let id = |suffix: &str| {
            groups
                .iter()
                .find(|(_, g)| {
                    g["Metadata"]["aws:cdk:path"]
                        .as_str()
                        .unwrap()
                        .ends_with(&format!("/Frontend/{suffix}/Resource"))
                })
                .map(|(id, _)| id.to_string())
                .unwrap_or_else(|| panic!("no {suffix}"))
        };
        let (primary, alternate) = (id("TargetGroup"), id("AlternateTargetGroup"));
        // Both groups check the same path on the same port.
        for (_, g) in &groups {
            assert_eq!(g["Properties"]["Port"], 3000);
            assert_eq!(g["Properties"]["HealthCheckPath"], "/health");
        }
        // The production rule forwards to both, all traffic on the primary.
        let rule = t.one("AWS::ElasticLoadBalancingV2::ListenerRule");
        let rule_id = t.resources("AWS::ElasticLoadBalancingV2::ListenerRule")[0]
            .0
            .clone();
        assert_eq!(
            rule["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"],
            json!([
                {"TargetGroupArn": {"Ref": primary}, "Weight": 100},
                {"TargetGroupArn": {"Ref": alternate}, "Weight": 0}
            ])
        );
        // The service: blue/green, a bake time, no circuit breaker (rolling only), the ECS
        // controller, and the load balancer's advanced configuration.
        let svc = &t.one("AWS::ECS::Service")["Properties"];
        let dc = &svc["DeploymentConfiguration"];
        assert_eq!(dc["Strategy"], "BLUE_GREEN");
        assert_eq!(dc["BakeTimeInMinutes"], 15);
        assert!(dc.get("DeploymentCircuitBreaker").is_none(), "{dc}");
        assert_eq!(svc["DeploymentController"], json!({"Type": "ECS"}));
        let lb = &svc["LoadBalancers"][0];
        assert_eq!(lb["TargetGroupArn"], json!({"Ref": primary}));
        let advanced = &lb["AdvancedConfiguration"];
        assert_eq!(
            advanced["AlternateTargetGroupArn"],
            json!({"Ref": alternate})
        );
        assert_eq!(advanced["ProductionListenerRule"], json!({"Ref": rule_id}));
        let role_id = advanced["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
        let role = &t.0["Resources"][role_id];
        assert!(role["Metadata"]["aws:cdk:path"]
            .as_str()
            .unwrap()
            .ends_with("/Frontend/TrafficShiftRole/Resource"));
        assert_eq!(
            role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
            json!({"Service": "ecs.amazonaws.com"})
        );
        assert!(role["Properties"]["ManagedPolicyArns"]
            .to_string()
            .contains("AmazonECSInfrastructureRolePolicyForLoadBalancers"));
        // Rollback on the service's own alarms, named, watching both target groups.
        assert_eq!(
            dc["Alarms"],
            json!({
                "AlarmNames": ["staging-frontend-unhealthy-targets", "staging-frontend-target-5xx-rate"],
                "Enable": true,
                "Rollback": true
            })
        );
        for (path, name) in [
            (
                "UnhealthyTargetsAlarm",
                "staging-frontend-unhealthy-targets",
            ),
            ("Target5xxRateAlarm", "staging-frontend-target-5xx-rate"),
            ("LatencyP99Alarm", ""),
        ] {
            let alarm = t.at_path("AWS::CloudWatch::Alarm", &format!("/Frontend/{path}/"))[0];
            let text = alarm["Properties"]["Metrics"].to_string();
            assert!(
                text.contains(&primary) && text.contains(&alternate),
                "{path} does not watch both groups: {text}"
            );
            if !name.is_empty() {
                assert_eq!(alarm["Properties"]["AlarmName"], name);
            }
        }
        let service_id = t.resources("AWS::ECS::Service")[0].0.clone();
        let depends = t.0["Resources"][&service_id]["DependsOn"].to_string();
        assert!(depends.contains("Target5xxRateAlarm"), "{depends}");
    }

    #[test]
    fn linear_and_canary_set_their_steps() {
        let t = shifting(crate::deployment::Deployment::linear());
        let dc = &t.one("AWS::ECS::Service")["Properties"]["DeploymentConfiguration"];
        assert_eq!(dc["Strategy"], "LINEAR");
        assert_eq!(
            dc["LinearConfiguration"],
            json!({"StepPercent": 10, "StepBakeTimeInMinutes": 6})
        );
        let t = shifting(crate::deployment::Deployment::Canary {
            step: crate::deployment::TrafficShift {
                percent: 2.5,
                interval_minutes: 20,
            },
            bake_minutes: 30,
        });
        let dc = &t.one("AWS::ECS::Service")["Properties"]["DeploymentConfiguration"];
        assert_eq!(dc["Strategy"], "CANARY");
        assert_eq!(dc["BakeTimeInMinutes"], 30);
        assert_eq!(
            dc["CanaryConfiguration"],
            json!({"CanaryPercent": 2.5, "CanaryBakeTimeInMinutes": 20})
        );
    }

    #[test]
    fn error_log_lines_become_a_metric_and_an_alarm_to_the_alert_topic() {
        let t = synth(|stack| {
            let platform = platform(stack);
            let mut p = PublicAlbServiceProps::new(
                "frontend",
                TaskSize::QUARTER_HALF,
                "public.ecr.aws/nginx/nginx:1.27",
                3000,
                "app.example.com",
                20,
            );
            p.service.log_errors = Some(crate::log_alarms::LogErrorAlarm {
                field: "$.severity".into(),
                values: vec!["FATAL".into()],
                threshold: 3,
            });
            PublicAlbService::new(stack, "Frontend", &platform, p).unwrap();
        });
        let filter = t.one("AWS::Logs::MetricFilter");
        assert!(filter["Metadata"]["aws:cdk:path"]
            .as_str()
            .unwrap()
            .ends_with("/Frontend/ErrorLogFilter/Resource"));
        let group = t.at_path("AWS::Logs::LogGroup", "/Frontend/Logs")[0];
        let group_id = t
            .resources("AWS::Logs::LogGroup")
            .into_iter()
            .find(|(_, g)| *g == group)
            .unwrap()
            .0
            .clone();
        assert_eq!(
            filter["Properties"],
            json!({
                "FilterPattern": "{ ($.severity = \"FATAL\") }",
                "LogGroupName": {"Ref": group_id},
                "MetricTransformations": [{
                    "DefaultValue": 0,
                    "MetricName": "staging/frontend/ErrorLines",
                    "MetricNamespace": "Tracker/Logs",
                    "MetricValue": "1"
                }]
            })
        );
        let alarm =
            &t.at_path("AWS::CloudWatch::Alarm", "/Frontend/ErrorLogAlarm/")[0]["Properties"];
        assert_eq!(alarm["MetricName"], "staging/frontend/ErrorLines");
        assert_eq!(alarm["Namespace"], "Tracker/Logs");
        assert_eq!(alarm["Statistic"], "Sum");
        assert_eq!(alarm["Period"], 300);
        assert_eq!(alarm["Threshold"], 3);
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
        let topic = json!([{"Ref": t.resources("AWS::SNS::Topic")[0].0}]);
        assert_eq!(alarm["AlarmActions"], topic);
        assert_eq!(alarm["OKActions"], topic);
    }

    #[test]
    fn without_a_container_check_the_target_groups_is_derived_and_the_stop_timeout_set() {
        let t = synth(|stack| {
            let platform = platform(stack);
            let p = PublicAlbServiceProps::new(
                "frontend",
                TaskSize::QUARTER_HALF,
                "public.ecr.aws/nginx/nginx:1.27",
                3000,
                "app.example.com",
                20,
            );
            PublicAlbService::new(stack, "Frontend", &platform, p).unwrap();
        });
        let container = &t.one("AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"][0];
        assert_eq!(
            container["HealthCheck"],
            json!({
                "Command": ["CMD-SHELL", "curl -fsS -o /dev/null http://localhost:3000/health || exit 1"],
                "Interval": 30, "Retries": 3, "StartPeriod": 60, "Timeout": 5
            })
        );
        assert_eq!(container["StopTimeout"], 30);
        let tg = &t.one("AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"];
        assert_eq!(tg["HealthCheckPath"], "/health");
    }

    #[test]
    fn public_service_routes_checks_scales_and_wires() {
        let t = synth(|stack| {
            let platform = platform(stack);
            // A fake database endpoint declared before the service.
            crate::service::test_support::declare_db(stack, &platform);
            let secret = Secret::new(stack, "DbPassword");

            let mut p = PublicAlbServiceProps::new(
                "api",
                TaskSize::HALF_1,
                "public.ecr.aws/nginx/nginx:1.27",
                8000,
                "api.example.com",
                10,
            );
            p.path_patterns = vec!["/v1/*".into()];
            p.source_ip_allow_list = vec!["203.0.113.0/24".into()];
            p.service.desired_count = 2;
            p.service.connects_to = vec!["db:5432".parse().unwrap()];
            p.service
                .environment
                .insert("LOG_LEVEL".into(), "info".into());
            p.service.secrets.insert(
                "DB_PASSWORD".into(),
                ContainerSecret::field(secret, "password"),
            );
            let mut hc = ContainerHealthCheck::new(["CMD-SHELL", "curl -f localhost:8000/health"]);
            hc.start_period_secs = 30;
            p.service.health_check = Some(hc);
            p.health_check.path = "/healthz".into();
            p.health_check.interval_secs = 15;
            p.health_check.matcher = "200-299".into();
            p.autoscaling = Some(AlbAutoscaling {
                memory_percent: Some(75),
                requests_per_target: Some(500),
                ..AlbAutoscaling::new(2, 8)
            });
            p.waf = Some(AlbWaf::default());
            let svc = PublicAlbService::new(stack, "Api", &platform, p).unwrap();
            assert!(svc.web_acl.is_some());
            // The service's own endpoint is declared for later consumers.
            let e = platform.registry.get("api").unwrap();
            assert_eq!(
                (e.host.as_literal().unwrap(), e.ports.as_slice()),
                ("api", &[8000][..])
            );
            let _ = Dependency::new("api", 8000);
        });

        // Listener rule: host header, path, source IP, priority, forward to the target group.
        let rule = t.one("AWS::ElasticLoadBalancingV2::ListenerRule");
        assert_eq!(rule["Properties"]["Priority"], 10);
        let conditions = rule["Properties"]["Conditions"].as_array().unwrap();
        let field = |f: &str| conditions.iter().find(|c| c["Field"] == f).unwrap();
        assert_eq!(
            field("host-header")["HostHeaderConfig"]["Values"],
            json!(["api.example.com"])
        );
        assert_eq!(
            field("path-pattern")["PathPatternConfig"]["Values"],
            json!(["/v1/*"])
        );
        assert_eq!(
            field("source-ip")["SourceIpConfig"]["Values"],
            json!(["203.0.113.0/24"])
        );
        assert_eq!(rule["Properties"]["Actions"][0]["Type"], "forward");

        // Target group health check.
        let tg = &t.one("AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"];
        assert_eq!(tg["TargetType"], "ip");
        assert_eq!(tg["Port"], 8000);
        assert_eq!(tg["HealthCheckPath"], "/healthz");
        assert_eq!(tg["HealthCheckIntervalSeconds"], 15);
        assert_eq!(tg["HealthCheckTimeoutSeconds"], 5);
        assert_eq!(tg["HealthyThresholdCount"], 2);
        assert_eq!(tg["UnhealthyThresholdCount"], 3);
        assert_eq!(tg["Matcher"]["HttpCode"], "200-299");

        // Service: deployment, network, exec, capacity, grace period, Service Connect.
        let svc = &t.one("AWS::ECS::Service")["Properties"];
        let dc = &svc["DeploymentConfiguration"];
        assert_eq!(dc["MinimumHealthyPercent"], 100);
        assert_eq!(dc["MaximumPercent"], 200);
        assert_eq!(dc["DeploymentCircuitBreaker"]["Enable"], true);
        assert_eq!(dc["DeploymentCircuitBreaker"]["Rollback"], true);
        assert_eq!(
            svc["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"],
            "DISABLED"
        );
        assert_eq!(svc["EnableExecuteCommand"], true);
        // ECS Exec logs its sessions to the service's own log group: no log write on `*`.
        let task_policy = t.at_path("AWS::IAM::Policy", "TaskRole")[0];
        let statements = task_policy["Properties"]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        let session_log = statements
            .iter()
            .find(|st| st["Action"].to_string().contains("logs:PutLogEvents"))
            .expect("session logging statement");
        // The group's ARN, with and without the log-stream wildcard.
        let resources = session_log["Resource"].as_array().unwrap();
        assert_eq!(resources.len(), 2, "{session_log}");
        assert!(
            resources
                .iter()
                .all(|r| r.to_string().contains("\"ApiLogsCD139AD4\"")),
            "{session_log}"
        );
        for st in statements {
            if st["Resource"] == "*" {
                assert!(
                    !st["Action"].to_string().contains("logs:Put")
                        && !st["Action"].to_string().contains("logs:Create"),
                    "log write on *: {st}"
                );
            }
        }
        assert_eq!(svc["DesiredCount"], 2);
        assert_eq!(svc["HealthCheckGracePeriodSeconds"], 60);
        assert_eq!(
            svc["CapacityProviderStrategy"],
            json!([{"CapacityProvider": "FARGATE", "Weight": 1}])
        );
        let sc = &svc["ServiceConnectConfiguration"];
        assert_eq!(sc["Enabled"], true);
        assert_eq!(sc["Services"][0]["PortName"], "api-8000");
        assert_eq!(
            sc["Services"][0]["ClientAliases"],
            json!([{"DnsName": "api", "Port": 8000}])
        );
        assert_eq!(svc["LoadBalancers"][0]["ContainerPort"], 8000);

        // Container: env (plain + dependency), secrets as Secrets, named port, health check, logs.
        let td = &t.one("AWS::ECS::TaskDefinition")["Properties"];
        assert_eq!(td["Cpu"], "512");
        assert_eq!(td["Memory"], "1024");
        let container = &td["ContainerDefinitions"][0];
        assert_eq!(env_value(container, "LOG_LEVEL").unwrap(), "info");
        assert_eq!(
            env_value(container, "DB_HOST").unwrap(),
            "db.staging.tracker.internal"
        );
        assert_eq!(env_value(container, "DB_PORT").unwrap(), "5432");
        assert!(env_value(container, "DB_PASSWORD").is_none());
        assert_eq!(container["Secrets"][0]["Name"], "DB_PASSWORD");
        assert_eq!(
            container["PortMappings"][0],
            json!({"ContainerPort": 8000, "Name": "api-8000", "Protocol": "tcp"})
        );
        assert_eq!(container["HealthCheck"]["StartPeriod"], 30);
        assert_eq!(container["LogConfiguration"]["LogDriver"], "awslogs");
        let logs = t.at_path("AWS::Logs::LogGroup", "/Api/Logs");
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["DeletionPolicy"], "Retain");
        assert_eq!(logs[0]["Properties"]["RetentionInDays"], 30);
        assert!(t.resources("Custom::LogRetention").is_empty());

        // Scaling: CPU 60 %, memory 75 %, 500 requests per target.
        let target = &t.one("AWS::ApplicationAutoScaling::ScalableTarget")["Properties"];
        assert_eq!(
            (target["MinCapacity"].clone(), target["MaxCapacity"].clone()),
            (json!(2), json!(8))
        );
        let policies = t.resources("AWS::ApplicationAutoScaling::ScalingPolicy");
        let tracking = |metric: &str| {
            policies
                .iter()
                .map(|(_, p)| &p["Properties"]["TargetTrackingScalingPolicyConfiguration"])
                .find(|c| c["PredefinedMetricSpecification"]["PredefinedMetricType"] == metric)
                .unwrap_or_else(|| panic!("no {metric} policy"))
                .clone()
        };
        assert_eq!(
            tracking("ECSServiceAverageCPUUtilization")["TargetValue"],
            60
        );
        assert_eq!(
            tracking("ECSServiceAverageMemoryUtilization")["TargetValue"],
            75
        );
        let requests = tracking("ALBRequestCountPerTarget");
        assert_eq!(requests["TargetValue"], 500);
        assert_eq!(requests["ScaleInCooldown"], 300);
        assert_eq!(requests["ScaleOutCooldown"], 60);

        // Declared dependency: ingress on the db group from the service's group on 5432.
        let ingress: Vec<&Value> = t
            .resources("AWS::EC2::SecurityGroupIngress")
            .into_iter()
            .map(|(_, r)| &r["Properties"])
            .filter(|p| p["FromPort"] == 5432)
            .collect();
        assert_eq!(ingress.len(), 1);
        assert_eq!(ingress[0]["Description"], "api -> db:5432");
        assert!(ingress[0]["GroupId"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .starts_with("DbSg"));
        assert!(ingress[0]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .starts_with("ApiSecurityGroup"));

        // WAF: regional ACL with the rate rule and the common rule set, on the ALB.
        let acl = &t.one("AWS::WAFv2::WebACL")["Properties"];
        assert_eq!(acl["Scope"], "REGIONAL");
        assert_eq!(
            acl["Rules"][0]["Statement"]["RateBasedStatement"]["Limit"],
            1000
        );
        assert_eq!(
            acl["Rules"][1]["Statement"]["ManagedRuleGroupStatement"]["Name"],
            "AWSManagedRulesCommonRuleSet"
        );
        // The Log4j JNDI lookup (CVE-2021-44228) and other known bad inputs, blocking.
        assert_eq!(
            acl["Rules"][2]["Statement"]["ManagedRuleGroupStatement"]["Name"],
            "AWSManagedRulesKnownBadInputsRuleSet"
        );
        assert_eq!(acl["Rules"][2]["OverrideAction"], json!({"None": {}}));
        // Every rule acts on this service's host only: the ALB's other services are untouched.
        let host_only = json!({"ByteMatchStatement": {
            "FieldToMatch": {"SingleHeader": {"Name": "host"}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": "api.example.com",
            "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}});
        assert_eq!(
            acl["Rules"][0]["Statement"]["RateBasedStatement"]["ScopeDownStatement"],
            host_only
        );
        for rule in 1..=2 {
            assert_eq!(
                acl["Rules"][rule]["Statement"]["ManagedRuleGroupStatement"]["ScopeDownStatement"],
                host_only
            );
        }
        let assoc = &t.one("AWS::WAFv2::WebACLAssociation")["Properties"];
        assert!(assoc["ResourceArn"]["Ref"]
            .as_str()
            .unwrap()
            .starts_with("PlatformAlb"));
    }
}
