// generated from SHARDS in bridge/codegen/src/lib.rs by cdk-from-rust-codegen; do not edit
//! Shard `services` of cdk-from-rust's generated bindings, compiled apart from the other
//! shards: the enabled ones of
//! - `aws_applicationautoscaling`
//! - `aws_backup`
//! - `aws_ecr`
//! - `aws_elasticache`
//! - `aws_scheduler`
//! - `aws_sns`
//! - `aws_wafv2`
//!
//! Depend on `cdk-from-rust`, which re-exports every module.

cdk_from_rust_core::__shard_services!();
