//! Change-set input: what `--change-set-file` accepts and refuses (exit 4, saying what was found
//! instead), and what a change set with property values lets the review judge without a
//! baseline. The templates are the committed golden templates (real synthesized stacks).

use std::path::Path;

use serde_json::{json, Value};
use tracker_review::report::{Action, Risk};
use tracker_review::{run, Baseline, ChangeSetSource, ErrorKind, Options, Report, ReviewError};

const STACK: &str = "TrackerStagingData";

fn golden() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stacks/golden")
        .join(format!("{STACK}.template.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn id_of(t: &Value, type_: &str) -> String {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, r)| r["Type"] == type_)
        .unwrap()
        .0
        .clone()
}

/// Reviews `file` (written as given) as the change set of [`STACK`], with the golden template as
/// the new template and `baseline` as the baseline (none: no baseline).
fn review_file(file: &str, baseline: Option<&Value>) -> Result<Report, ReviewError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cs.json"), file).unwrap();
    std::fs::write(dir.path().join("new.json"), golden().to_string()).unwrap();
    if let Some(b) = baseline {
        std::fs::write(dir.path().join("old.json"), b.to_string()).unwrap();
    }
    run(&Options {
        stack: STACK.into(),
        baseline: baseline.map(|_| Baseline::Path("old.json".into())),
        template: Some("new.json".into()),
        change_set: Some(ChangeSetSource::File("cs.json".into())),
        region: None,
        root: dir.path().to_path_buf(),
    })
}

fn change_set(changes: Value) -> Value {
    json!({"ChangeSetName": "release", "StackName": STACK, "Status": "CREATE_COMPLETE",
           "ExecutionStatus": "AVAILABLE", "Changes": changes})
}

fn refused(file: &str) -> String {
    let e = review_file(file, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input, "{e}");
    assert_eq!(e.exit_code(), tracker_review::EXIT_INPUT);
    e.to_string()
}

#[test]
fn fails_a_template_given_as_a_change_set() {
    let msg = refused(&golden().to_string());
    assert!(
        msg.contains("missing or wrong `ChangeSetName`")
            && msg.contains("found a CloudFormation template"),
        "{msg}"
    );
}

#[test]
fn fails_an_empty_object() {
    let msg = refused("{}");
    assert!(
        msg.contains("`ChangeSetName` (a non-empty string), `StackName` (a non-empty string), `Status` (a non-empty string), `Changes` (an array)")
            && msg.contains("found an empty object"),
        "{msg}"
    );
}

#[test]
fn fails_the_output_of_list_change_sets() {
    let msg = refused(
        r#"{"Summaries": [{"ChangeSetName": "release", "StackName": "TrackerStagingData"}]}"#,
    );
    assert!(
        msg.contains("found the output of `list-change-sets`"),
        "{msg}"
    );
}

#[test]
fn fails_a_file_that_is_not_json() {
    let msg = refused("Changes:\n  - nope\n");
    assert!(msg.contains("not JSON"), "{msg}");
}

#[test]
fn fails_a_saved_partial_page() {
    let mut cs = change_set(json!([]));
    cs["NextToken"] = json!("page-2");
    let msg = refused(&cs.to_string());
    assert!(
        msg.contains("one page of a paginated change set (NextToken is set)")
            && msg.contains("without --max-items or --no-paginate"),
        "{msg}"
    );
}

#[test]
fn fails_another_stacks_change_set() {
    let mut cs = change_set(json!([]));
    cs["StackName"] =
        json!("arn:aws:cloudformation:eu-west-1:111111111111:stack/TrackerStaging/abc");
    let msg = refused(&cs.to_string());
    assert!(
        msg.contains("it is a change set of stack TrackerStaging, not of TrackerStagingData"),
        "{msg}"
    );
}

#[test]
fn fails_nested_change_sets_offline() {
    let cs = change_set(
        json!([{"Type": "Resource", "ResourceChange": {"Action": "Modify",
        "LogicalResourceId": "Nested", "ResourceType": "AWS::CloudFormation::Stack",
        "Replacement": "False",
        "ChangeSetId": "arn:aws:cloudformation:eu-west-1:111111111111:changeSet/nested/1"}}]),
    );
    let msg = refused(&cs.to_string());
    assert!(
        msg.contains(
            "nested change sets (arn:aws:cloudformation:eu-west-1:111111111111:changeSet/nested/1)"
        ),
        "{msg}"
    );
}

/// A change set that is still being created is not reviewable: exit 5, as documented.
#[test]
fn a_change_set_in_progress_is_not_reviewable() {
    let mut cs = change_set(json!([]));
    cs["Status"] = json!("CREATE_IN_PROGRESS");
    let e = review_file(&cs.to_string(), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aws);
    assert_eq!(e.exit_code(), tracker_review::EXIT_AWS);
}

/// With `--include-property-values`, the change set's own before/after values show the widening;
/// no baseline template is needed.
#[test]
fn property_values_judge_widening_and_guardrails_without_a_baseline() {
    let t = golden();
    let vault = id_of(&t, "AWS::Backup::BackupVault");
    let host = id_of(&t, "AWS::EC2::Instance");
    let before = json!({"Properties": t["Resources"][&vault]["Properties"]});
    let mut after = before.clone();
    after["Properties"]["AccessPolicy"] = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}]});
    let host_before = json!({"Properties": {"DisableApiTermination": true}});
    let host_after = json!({"Properties": {"DisableApiTermination": false}});
    let entry = |id: &str, ty: &str, b: &Value, a: &Value| {
        json!({"Type": "Resource", "ResourceChange": {"Action": "Modify",
            "LogicalResourceId": id, "ResourceType": ty, "Replacement": "False",
            "Scope": ["Properties"], "Details": [],
            "BeforeContext": b.to_string(), "AfterContext": a.to_string()}})
    };
    let cs = change_set(json!([
        entry(&vault, "AWS::Backup::BackupVault", &before, &after),
        entry(&host, "AWS::EC2::Instance", &host_before, &host_after),
    ]));
    let r = review_file(&cs.to_string(), None).unwrap();
    let text = r.render(tracker_review::Format::Text);
    let v = r.changes.iter().find(|c| c.logical_id == vault).unwrap();
    assert!(
        v.widening
            .iter()
            .any(|w| w.contains("`backup:DeleteRecoveryPoint` on * to anyone")),
        "{text}"
    );
    let h = r.changes.iter().find(|c| c.logical_id == host).unwrap();
    assert_eq!(h.risk(), Risk::DataLoss, "{text}");
    assert!(!text.contains("cannot tell"), "{text}");
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);

    // The same change set without values (and no baseline) says it cannot tell.
    let bare = change_set(
        json!([{"Type": "Resource", "ResourceChange": {"Action": "Modify",
        "LogicalResourceId": vault, "ResourceType": "AWS::Backup::BackupVault",
        "Replacement": "False", "Scope": ["Properties"], "Details": []}}]),
    );
    let r = review_file(&bare.to_string(), None).unwrap();
    assert!(r.changes[0].notes.iter().any(|n| n.contains("cannot tell")));
    assert_eq!(r.exit_code(), 0);
    // With a baseline that has the narrower policy, the template diff finds the widening.
    let mut old = t.clone();
    let mut new_tpl = t.clone();
    new_tpl["Resources"][&vault]["Properties"] = after["Properties"].clone();
    old["Resources"][&vault]["Properties"] = before["Properties"].clone();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cs.json"), bare.to_string()).unwrap();
    std::fs::write(dir.path().join("new.json"), new_tpl.to_string()).unwrap();
    std::fs::write(dir.path().join("old.json"), old.to_string()).unwrap();
    let r = run(&Options {
        stack: STACK.into(),
        baseline: Some(Baseline::Path("old.json".into())),
        template: Some("new.json".into()),
        change_set: Some(ChangeSetSource::File("cs.json".into())),
        region: None,
        root: dir.path().to_path_buf(),
    })
    .unwrap();
    assert_eq!(r.exit_code(), tracker_review::EXIT_WIDENING);
}

#[test]
fn dynamic_and_sync_with_actual_are_named_apart() {
    let t = golden();
    let host = id_of(&t, "AWS::EC2::Instance");
    let vault = id_of(&t, "AWS::Backup::BackupVault");
    let cs = change_set(json!([
        {"Type": "Resource", "ResourceChange": {"Action": "Dynamic", "LogicalResourceId": host,
         "ResourceType": "AWS::EC2::Instance", "Scope": [], "Details": []}},
        {"Type": "Resource", "ResourceChange": {"Action": "SyncWithActual", "LogicalResourceId": vault,
         "ResourceType": "AWS::Backup::BackupVault", "Scope": [], "Details": []}}
    ]));
    let r = review_file(&cs.to_string(), Some(&t)).unwrap();
    let notes = |id: &str| {
        r.changes
            .iter()
            .find(|c| c.logical_id == id)
            .unwrap()
            .notes
            .clone()
    };
    assert!(notes(&host).contains(&tracker_review::changeset::DYNAMIC.to_string()));
    assert!(notes(&vault).contains(&tracker_review::changeset::SYNC_WITH_ACTUAL.to_string()));
    assert!(!notes(&host).contains(&tracker_review::changeset::SYNC_WITH_ACTUAL.to_string()));
    assert!(r.changes.iter().all(|c| c.action == Action::Modify));
}
