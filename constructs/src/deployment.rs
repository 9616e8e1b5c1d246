//! How ECS replaces a service's tasks on a deployment: [`Deployment`].
//!
//! - [`Deployment::Rolling`] (the default): ECS starts new tasks and stops old ones within the
//!   service's minimum / maximum healthy percents; the deployment circuit breaker rolls back a
//!   deployment whose tasks do not reach a steady state.
//! - [`Deployment::BlueGreen`], [`Deployment::Linear`], [`Deployment::Canary`] (ECS native, public
//!   services only): ECS starts the whole new revision (green) beside the old one (blue), registers
//!   it in the service's *alternate* target group, and moves the production listener rule's
//!   traffic from the primary target group to the alternate one: at once (blue/green), in equal
//!   steps (linear) or a first share then the rest (canary), each step held for its interval.
//!   After the last shift both revisions run for the bake time, then the old one stops. A
//!   deployment alarm in ALARM during the shift or the bake time rolls the traffic back to the old
//!   revision: these strategies have no circuit breaker (ECS applies it to rolling deployments
//!   only), so the service's target alarms are its deployment alarms.
//!
//! [`PublicAlbService`](crate::public_alb_service::PublicAlbService) creates what they need (the
//! alternate target group, the weighted listener rule, the role ECS shifts traffic with); the
//! shared [`service`](crate::service) lowering sets the strategy on the `FargateService`.

use cdk_from_rust::aws_cdk_lib::aws_ecs::{
    DeploymentController, DeploymentControllerType, DeploymentStrategy, FargateServiceProps,
    TrafficShiftConfig,
};
use cdk_from_rust::aws_cdk_lib::Duration;

use crate::validation::Check;

/// The most minutes ECS accepts for a bake time or a step interval (24 hours).
pub const MAX_MINUTES: u32 = 1440;

/// The bake time [`Deployment::blue_green`], [`Deployment::linear`] and [`Deployment::canary`]
/// set: 15 minutes, long enough for the target 5xx alarm (two 5-minute periods) to fire before
/// the old revision stops.
pub const DEFAULT_BAKE_MINUTES: u32 = 15;

/// One traffic step of a linear or canary deployment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrafficShift {
    /// The share of production traffic moved per step (linear) or first (canary), in percent, a
    /// multiple of 0.1: linear 3.0-100.0, canary 0.1-100.0.
    pub percent: f64,
    /// Minutes each step is held before the next, 0-1440.
    pub interval_minutes: u32,
}

/// How a service's tasks are replaced on a deployment (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Deployment {
    /// Replace tasks within the healthy percents; circuit breaker with rollback. The default.
    #[default]
    Rolling,
    /// All traffic to the new revision at once, then `bake_minutes` (0-1440) with both running.
    BlueGreen { bake_minutes: u32 },
    /// Traffic in equal steps of `step.percent` every `step.interval_minutes`, then the bake.
    Linear {
        step: TrafficShift,
        bake_minutes: u32,
    },
    /// `step.percent` of the traffic for `step.interval_minutes`, then the rest, then the bake.
    Canary {
        step: TrafficShift,
        bake_minutes: u32,
    },
}

impl Deployment {
    /// Blue/green with a bake time of [`DEFAULT_BAKE_MINUTES`].
    pub fn blue_green() -> Self {
        Deployment::BlueGreen {
            bake_minutes: DEFAULT_BAKE_MINUTES,
        }
    }

    /// Linear with ECS's defaults (10 % every 6 minutes) and a bake time of
    /// [`DEFAULT_BAKE_MINUTES`].
    pub fn linear() -> Self {
        Deployment::Linear {
            step: TrafficShift {
                percent: 10.0,
                interval_minutes: 6,
            },
            bake_minutes: DEFAULT_BAKE_MINUTES,
        }
    }

    /// Canary with ECS's defaults (5 % for 10 minutes) and a bake time of
    /// [`DEFAULT_BAKE_MINUTES`].
    pub fn canary() -> Self {
        Deployment::Canary {
            step: TrafficShift {
                percent: 5.0,
                interval_minutes: 10,
            },
            bake_minutes: DEFAULT_BAKE_MINUTES,
        }
    }

    /// The name used in settings and messages: `rolling`, `blue-green`, `linear`, `canary`.
    pub fn name(&self) -> &'static str {
        match self {
            Deployment::Rolling => "rolling",
            Deployment::BlueGreen { .. } => "blue-green",
            Deployment::Linear { .. } => "linear",
            Deployment::Canary { .. } => "canary",
        }
    }

    /// Whether ECS shifts load-balancer traffic between two target groups (every strategy but
    /// rolling).
    pub fn shifts_traffic(&self) -> bool {
        !matches!(self, Deployment::Rolling)
    }

    /// The bake time, for the strategies that have one.
    pub fn bake_minutes(&self) -> Option<u32> {
        match self {
            Deployment::Rolling => None,
            Deployment::BlueGreen { bake_minutes }
            | Deployment::Linear { bake_minutes, .. }
            | Deployment::Canary { bake_minutes, .. } => Some(*bake_minutes),
        }
    }

    /// Records the violations of this strategy's parameters as `field.<parameter>`.
    pub fn validate(&self, c: &mut Check, field: &str) {
        if let Some(bake) = self.bake_minutes() {
            c.require(
                bake <= MAX_MINUTES,
                &format!("{field}.bake_minutes"),
                bake,
                format!("0-{MAX_MINUTES} minutes (ECS's maximum bake time, 24 hours)"),
            );
        }
        let (step, low) = match self {
            Deployment::Linear { step, .. } => (step, 3.0),
            Deployment::Canary { step, .. } => (step, 0.1),
            _ => return,
        };
        let tenths = step.percent * 10.0;
        c.require(
            step.percent >= low - 1e-9
                && step.percent <= 100.0 + 1e-9
                && (tenths - tenths.round()).abs() < 1e-6,
            &format!("{field}.step.percent"),
            step.percent,
            format!(
                "a multiple of 0.1 from {low:.1} to 100.0 percent for a {} deployment",
                self.name()
            ),
        );
        c.require(
            step.interval_minutes <= MAX_MINUTES,
            &format!("{field}.step.interval_minutes"),
            step.interval_minutes,
            format!("0-{MAX_MINUTES} minutes"),
        );
    }

    /// `props` with the strategy, its bake time and traffic steps set (unchanged for rolling).
    /// The deployment controller is ECS in every case (it is what the circuit breaker implies
    /// for rolling services, so switching strategies never changes it).
    pub fn apply(&self, props: FargateServiceProps) -> FargateServiceProps {
        let shift = |s: &TrafficShift| {
            TrafficShiftConfig::new()
                .step_percent(s.percent)
                .step_bake_time(Duration::minutes(s.interval_minutes))
        };
        let props = match self {
            Deployment::Rolling => return props,
            Deployment::BlueGreen { .. } => {
                props.deployment_strategy(DeploymentStrategy::BlueGreen)
            }
            Deployment::Linear { step, .. } => props
                .deployment_strategy(DeploymentStrategy::Linear)
                .linear_configuration(shift(step)),
            Deployment::Canary { step, .. } => props
                .deployment_strategy(DeploymentStrategy::Canary)
                .canary_configuration(shift(step)),
        };
        props
            .deployment_controller(
                DeploymentController::new().r#type(DeploymentControllerType::Ecs),
            )
            .bake_time(Duration::minutes(self.bake_minutes().unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_rejects_value;

    fn errors(d: Deployment) -> Result<(), crate::ValidationErrors> {
        let mut c = Check::new("Test", "svc");
        d.validate(&mut c, "deployment");
        c.finish()
    }

    #[test]
    fn defaults_are_valid() {
        for d in [
            Deployment::Rolling,
            Deployment::blue_green(),
            Deployment::linear(),
            Deployment::canary(),
        ] {
            errors(d).unwrap();
        }
    }

    #[test]
    fn fails_on_bake_times_steps_and_intervals_out_of_range_all_at_once() {
        let err = errors(Deployment::Linear {
            step: TrafficShift {
                percent: 2.5,
                interval_minutes: 1441,
            },
            bake_minutes: 2000,
        })
        .unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        assert_rejects_value(
            &err,
            "Test",
            "svc",
            "deployment.bake_minutes",
            "2000",
            "0-1440 minutes",
        );
        assert_rejects_value(
            &err,
            "Test",
            "svc",
            "deployment.step.percent",
            "2.5",
            "a multiple of 0.1 from 3.0 to 100.0 percent for a linear deployment",
        );
        assert_rejects_value(
            &err,
            "Test",
            "svc",
            "deployment.step.interval_minutes",
            "1441",
            "0-1440 minutes",
        );
    }

    #[test]
    fn fails_on_a_canary_share_that_is_not_a_multiple_of_a_tenth_or_above_100() {
        for bad in [0.05, 12.34, 100.5, 0.0] {
            let err = errors(Deployment::Canary {
                step: TrafficShift {
                    percent: bad,
                    interval_minutes: 10,
                },
                bake_minutes: 15,
            })
            .unwrap_err();
            assert_rejects_value(
                &err,
                "Test",
                "svc",
                "deployment.step.percent",
                &format!("{bad:?}"),
                "from 0.1 to 100.0 percent for a canary deployment",
            );
        }
        // 0.1 and 2.5 are fine for a canary (not for linear).
        for ok in [0.1, 2.5, 100.0] {
            errors(Deployment::Canary {
                step: TrafficShift {
                    percent: ok,
                    interval_minutes: 0,
                },
                bake_minutes: 0,
            })
            .unwrap();
        }
    }
}
