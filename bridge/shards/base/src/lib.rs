// generated from SHARDS in bridge/codegen/src/lib.rs by cdk-from-rust-codegen; do not edit
//! Shard `base` of cdk-from-rust's generated bindings, compiled apart from the other
//! shards: the enabled ones of
//! - `aws_cloudwatch`
//! - `aws_events`
//! - `aws_iam`
//! - `aws_kms`
//! - `aws_logs`
//! - `aws_s3`
//! - `aws_sqs`
//! - `aws_ssm`
//!
//! Depend on `cdk-from-rust`, which re-exports every module.

cdk_from_rust_core::__shard_base!();
