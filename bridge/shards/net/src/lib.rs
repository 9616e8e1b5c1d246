// generated from SHARDS in bridge/codegen/src/lib.rs by cdk-from-rust-codegen; do not edit
//! Shard `net` of cdk-from-rust's generated bindings, compiled apart from the other
//! shards: the enabled ones of
//! - `aws_autoscaling`
//! - `aws_certificatemanager`
//! - `aws_elasticloadbalancingv2`
//! - `aws_route53`
//! - `aws_servicediscovery`
//!
//! Depend on `cdk-from-rust`, which re-exports every module.

cdk_from_rust_core::__shard_net!();
