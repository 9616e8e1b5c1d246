//! The tracker construct library: the high-level pieces the tracker is made of, on the
//! `cdk-from-rust` bindings. Each construct validates all its props at construction (every
//! problem reported at once, see [`validation`]) and lowers itself onto aws-cdk-lib.

pub mod alerts;
pub mod anisette;
pub mod container_registry;
pub mod deployment;
pub mod hostconfig;
pub mod log_alarms;
pub mod managed_redis;
pub mod monitoring;
pub mod network;
pub mod one_off_task;
pub mod patroni;
pub mod platform;
pub mod private_worker_service;
pub mod public_alb_service;
pub mod schedule;
pub mod scheduled_task;
pub mod service;
pub mod sidecar;
pub mod staging_data_host;
pub mod statefulness;
pub mod static_site;
pub mod task_size;
#[doc(hidden)]
pub mod testing;
pub mod validation;
pub mod wiring;
pub mod work_queue;

use cdk_from_rust::aws_cdk_lib::CfnResource;
use cdk_from_rust::constructs::Node;
use cdk_from_rust::Opaque;

/// The CloudFormation resource (L1) of an aws-cdk-lib L2 construct: its node's default child,
/// checked at replay (an L2 of aws-cdk-lib always has one), for metadata and property overrides.
#[track_caller]
pub(crate) fn l1(node: Node) -> CfnResource {
    Opaque::from(
        node.default_child()
            .expect("an aws-cdk-lib L2 construct has its CloudFormation resource as default child"),
    )
    .cast::<CfnResource>()
}

pub use network::{Network, NetworkProps};
pub use platform::{Platform, PlatformProps};
pub use task_size::TaskSize;
pub use validation::{ValidationErrors, Violation};
