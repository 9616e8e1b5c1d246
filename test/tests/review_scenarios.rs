//! The review's catalogue of change scenarios on the real tracker stacks: each a pair of templates
//! synthesized through aws-cdk-lib from the stacks with one setting (context key) changed, and the
//! classification the review must give it.
//!
//! (Scenarios no setting can express, because the settings refuse them — a renamed construct, a
//! security-group rule opened to 0.0.0.0/0 — are covered on construct-built stacks, each alone,
//! in `review/tests/synthesized.rs`.)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Map, Value};
use tracker_review::report::{Action, Change, Report, Risk};
use tracker_review::review_templates;
use tracker_stacks::{cdk_json_context, synth_to, AppSettings};

fn base_context() -> Map<String, Value> {
    cdk_json_context(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../cdk.json")).unwrap()
}

/// `stack`'s template synthesized with cdk.json's context plus `overrides`.
fn synthesize(overrides: &[(&str, Value)], stack: &str) -> Value {
    let mut ctx = base_context();
    for (k, v) in overrides {
        ctx.insert((*k).to_string(), v.clone());
    }
    let settings = AppSettings::from_context(&ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    synth_to(&settings, &ctx, dir.path()).unwrap_or_else(|e| panic!("synthesis failed: {e}"));
    let text = std::fs::read_to_string(dir.path().join(format!("{stack}.template.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn baseline(stack: &str) -> &'static Value {
    static STACKS: OnceLock<Mutex<BTreeMap<String, &'static Value>>> = OnceLock::new();
    let mut cache = STACKS.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(stack.to_string())
        .or_insert_with(|| Box::leak(Box::new(synthesize(&[], stack))))
}

fn review(overrides: &[(&str, Value)], stack: &str) -> Report {
    review_templates(baseline(stack), &synthesize(overrides, stack))
}

fn at<'a>(report: &'a Report, path_prefix: &str, ty: &str) -> Vec<&'a Change> {
    report
        .changes
        .iter()
        .filter(|c| {
            c.resource_type == ty
                && c.construct_path
                    .as_deref()
                    .is_some_and(|p| p.starts_with(path_prefix))
        })
        .collect()
}

fn show(report: &Report) -> String {
    report.render(tracker_review::report::Format::Text)
}

#[test]
fn an_identical_synthesis_reviews_as_no_change() {
    let report = review(&[], "TrackerStaging");
    assert!(report.changes.is_empty(), "{}", show(&report));
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn a_cosmetic_tag_change_modifies_in_place_and_is_safe() {
    // The data stack: where the stateful resources are.
    let report = review(&[("tags", json!("owner=platform"))], "TrackerStagingData");
    assert!(!report.changes.is_empty(), "a new tag changes nothing?");
    // Stateful resources are tagged in place; nothing is lost or widened.
    for ty in [
        "AWS::EC2::Volume",
        "AWS::EFS::FileSystem",
        "AWS::S3::Bucket",
        "AWS::EC2::Instance",
    ] {
        for c in report.changes.iter().filter(|c| c.resource_type == ty) {
            assert_eq!(
                c.action,
                Action::Modify,
                "{ty} {}: {}",
                c.logical_id,
                show(&report)
            );
        }
    }
    // Nothing at all is replaced, deleted or widened.
    for c in &report.changes {
        assert_eq!(
            c.action,
            Action::Modify,
            "{}: {}",
            c.logical_id,
            show(&report)
        );
        assert!(c.widening.is_empty(), "{}: {}", c.logical_id, show(&report));
    }
    assert_eq!(report.verdict(), Risk::None, "{}", show(&report));
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn a_new_stack_description_changes_no_resource() {
    let report = review(
        &[(
            "staging.description",
            json!("tracker staging, owned by the platform team"),
        )],
        "TrackerStaging",
    );
    assert!(report.changes.is_empty(), "{}", show(&report));
    assert_eq!(report.verdict(), Risk::None);
    assert_eq!(report.exit_code(), 0);
}

#[test]
fn a_bigger_data_volume_modifies_it_in_place() {
    let report = review(
        &[("staging.db.volumeGiB", json!(100))],
        "TrackerStagingData",
    );
    let volume = at(
        &report,
        "TrackerStagingData/Data/DataVolume",
        "AWS::EC2::Volume",
    );
    assert_eq!(volume.len(), 1, "{}", show(&report));
    assert_eq!(volume[0].action, Action::Modify);
    assert!(volume[0].data_loss.is_none());
    assert_ne!(report.verdict(), Risk::DataLoss, "{}", show(&report));
}

#[test]
fn a_changed_availability_zone_replaces_the_data_host_and_its_volume_as_data_loss() {
    // The AZ lookup recorded in context, in another order: the first private subnet, where the
    // data host and its volume live, moves to another AZ.
    let report = review(
        &[(
            "availability-zones:account=111111111111:region=eu-west-1",
            json!(["eu-west-1b", "eu-west-1a", "eu-west-1c"]),
        )],
        "TrackerStagingData",
    );
    let volume = at(
        &report,
        "TrackerStagingData/Data/DataVolume",
        "AWS::EC2::Volume",
    );
    assert_eq!(volume.len(), 1, "{}", show(&report));
    assert_eq!(volume[0].action, Action::Replace);
    assert!(volume[0].data_loss.is_some());
    assert_eq!(report.verdict(), Risk::DataLoss);
    assert_eq!(report.exit_code(), tracker_review::report::EXIT_DATA_LOSS);
    // Data loss is reported first.
    assert_eq!(
        report.changes[0].risk(),
        Risk::DataLoss,
        "{}",
        show(&report)
    );
}

#[test]
fn turning_on_ecs_exec_in_production_is_a_widening_iam_change() {
    let report = review(&[("production.ecsExec", json!(true))], "TrackerProduction");
    let widening: Vec<&Change> = report
        .changes
        .iter()
        .filter(|c| !c.widening.is_empty())
        .collect();
    assert!(!widening.is_empty(), "{}", show(&report));
    assert!(
        widening
            .iter()
            .any(|c| c.widening.iter().any(|w| w.contains("ssmmessages"))),
        "{}",
        show(&report)
    );
    assert_eq!(report.verdict(), Risk::Widening, "{}", show(&report));
    assert_eq!(report.exit_code(), tracker_review::report::EXIT_WIDENING);
}

#[test]
fn removing_a_service_deletes_it_and_flags_its_log_group() {
    let report = review(
        &[("staging.disabledServices", json!(["notification-service"]))],
        "TrackerStaging",
    );
    let service = at(
        &report,
        "TrackerStaging/NotificationService/",
        "AWS::ECS::Service",
    );
    assert_eq!(service.len(), 1, "{}", show(&report));
    assert_eq!(service[0].action, Action::Delete);
    let logs = at(
        &report,
        "TrackerStaging/NotificationService/",
        "AWS::Logs::LogGroup",
    );
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].action, Action::Delete);
    assert!(logs[0].data_loss.is_some(), "{}", show(&report));
    assert_eq!(report.verdict(), Risk::DataLoss);
}

#[test]
fn removing_a_service_or_changing_the_image_leaves_the_data_stack_untouched() {
    // The split's point: a service change is not an update of the stack that holds the data.
    for overrides in [
        vec![("staging.disabledServices", json!(["notification-service"]))],
        vec![("imageTag", json!("v9.9.9"))],
    ] {
        let report = review(&overrides, "TrackerStagingData");
        assert!(
            report.changes.is_empty(),
            "{overrides:?}: {}",
            show(&report)
        );
    }
}
