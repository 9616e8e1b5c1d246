//! Guardrails, resource policies and explanations on the committed golden templates (the real
//! tracker stacks, synthesized through aws-cdk-lib by `make golden`): each test edits one setting
//! as a code change would and checks what the review makes of it.

use std::path::Path;

use serde_json::{json, Value};
use tracker_review::report::{Action, Change, Report, Risk};
use tracker_review::{review_templates_named, Source};

fn golden(stack: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stacks/golden")
        .join(format!("{stack}.template.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The logical id of the only (or first) resource of `type_` whose id contains `part`.
fn id_of(t: &Value, type_: &str, part: &str) -> String {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(id, r)| r["Type"] == type_ && id.contains(part))
        .unwrap_or_else(|| panic!("no {type_} {part}"))
        .0
        .clone()
}

fn review(stack: &str, old: &Value, new: &Value) -> Report {
    review_templates_named(
        stack,
        Source::TemplateDiff {
            baseline: "golden".into(),
            template: "edited".into(),
        },
        old,
        new,
    )
}

/// Reviews `stack`'s golden template against itself with `edit` applied to the new one.
fn edited(stack: &str, edit: impl FnOnce(&mut Value)) -> Report {
    let old = golden(stack);
    let mut new = old.clone();
    edit(&mut new);
    review(stack, &old, &new)
}

fn change<'a>(r: &'a Report, id: &str) -> &'a Change {
    r.changes
        .iter()
        .find(|c| c.logical_id == id)
        .unwrap_or_else(|| panic!("{id} unchanged:\n{}", text(r)))
}

fn text(r: &Report) -> String {
    r.render(tracker_review::Format::Text)
}

fn guard_messages(c: &Change) -> Vec<(Risk, String)> {
    c.guardrails
        .iter()
        .map(|g| (g.risk, g.message.clone()))
        .collect()
}

#[test]
fn emptying_the_web_acl_rules_widens() {
    let t = golden("TrackerStaging");
    let acl = id_of(&t, "AWS::WAFv2::WebACL", "");
    let r = edited("TrackerStaging", |n| {
        n["Resources"][&acl]["Properties"]["Rules"] = json!([]);
    });
    let c = change(&r, &acl);
    assert_eq!(c.action, Action::Modify);
    let g = guard_messages(c);
    assert_eq!(g.len(), 1, "{}", text(&r));
    assert_eq!(g[0].0, Risk::Widening);
    assert!(
        g[0].1
            .contains("RateLimitPerIp, AWSManagedRulesCommonRuleSet"),
        "{}",
        text(&r)
    );
    assert_eq!(r.exit_code(), tracker_review::EXIT_WIDENING);
    assert!(text(&r).contains("guardrail weakened (widening): a blocking WAF rule"));
}

#[test]
fn a_web_acl_default_action_from_block_to_allow_widens() {
    let mut old = golden("TrackerStaging");
    let acl = id_of(&old, "AWS::WAFv2::WebACL", "");
    let new = old.clone();
    old["Resources"][&acl]["Properties"]["DefaultAction"] = json!({"Block": {}});
    let r = review("TrackerStaging", &old, &new);
    assert!(guard_messages(change(&r, &acl))[0]
        .1
        .contains("Block -> Allow"));
    assert_eq!(r.exit_code(), tracker_review::EXIT_WIDENING);
}

#[test]
fn removing_a_buckets_public_access_block_widens() {
    let t = golden("TrackerStaging");
    let bucket = id_of(&t, "AWS::S3::Bucket", "DocsBucket");
    let r = edited("TrackerStaging", |n| {
        n["Resources"][&bucket]["Properties"]
            .as_object_mut()
            .unwrap()
            .remove("PublicAccessBlockConfiguration");
    });
    let g = guard_messages(change(&r, &bucket));
    assert_eq!(g.len(), 4, "{}", text(&r));
    assert!(g.iter().all(|(risk, m)| *risk == Risk::Widening
        && m.contains("public access block")
        && m.contains("-> (removed)")));
    assert_eq!(r.exit_code(), tracker_review::EXIT_WIDENING);
}

#[test]
fn turning_off_the_data_hosts_termination_protection_is_a_data_loss_risk() {
    let t = golden("TrackerStagingData");
    let host = id_of(&t, "AWS::EC2::Instance", "Data");
    let r = edited("TrackerStagingData", |n| {
        n["Resources"][&host]["Properties"]["DisableApiTermination"] = json!(false);
    });
    let c = change(&r, &host);
    assert_eq!(c.action, Action::Modify);
    assert_eq!(c.risk(), Risk::DataLoss, "{}", text(&r));
    assert!(guard_messages(c)[0]
        .1
        .contains("termination protection is turned off"));
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);
}

#[test]
fn weakened_retention_of_the_data_volume_is_a_data_loss_risk() {
    let t = golden("TrackerStagingData");
    let vol = id_of(&t, "AWS::EC2::Volume", "Data");
    let r = edited("TrackerStagingData", |n| {
        let v = n["Resources"][&vol].as_object_mut().unwrap();
        v.remove("DeletionPolicy");
        v.insert("UpdateReplacePolicy".into(), json!("Delete"));
    });
    let c = change(&r, &vol);
    assert_eq!(c.action, Action::Modify);
    let g = guard_messages(c);
    assert_eq!(g.len(), 2, "{}", text(&r));
    assert!(g[0]
        .1
        .contains("DeletionPolicy Snapshot -> Delete (default)"));
    assert!(g[1].1.contains("UpdateReplacePolicy Snapshot -> Delete"));
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);
}

#[test]
fn shorter_log_and_backup_retention_are_data_loss_risks() {
    let t = golden("TrackerStagingData");
    let plan = id_of(&t, "AWS::Backup::BackupPlan", "");
    let logs = id_of(&t, "AWS::Logs::LogGroup", "");
    let r = edited("TrackerStagingData", |n| {
        n["Resources"][&plan]["Properties"]["BackupPlan"]["BackupPlanRule"][0]["Lifecycle"]
            ["DeleteAfterDays"] = json!(1);
        n["Resources"][&logs]["Properties"]["RetentionInDays"] = json!(1);
    });
    assert!(
        guard_messages(change(&r, &plan))[0].1.contains(
            "backup retention is shortened (BackupPlanRule/0/Lifecycle/DeleteAfterDays: 7 -> 1)"
        ) || guard_messages(change(&r, &plan))[0].1.contains("7 -> 1")
    );
    assert!(guard_messages(change(&r, &logs))[0]
        .1
        .contains("log retention is shortened"));
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);
}

#[test]
fn deleting_a_kms_key_in_use_is_data_loss_unless_it_is_retained() {
    let mut old = golden("TrackerStagingData");
    let key = id_of(&old, "AWS::KMS::Key", "AlertsKey");
    let mut new = old.clone();
    new["Resources"].as_object_mut().unwrap().remove(&key);
    // Retained (the golden's DeletionPolicy): the key stays, nothing is lost.
    let r = review("TrackerStagingData", &old, &new);
    assert!(change(&r, &key).guardrails.is_empty(), "{}", text(&r));
    // Deleted: what it encrypts (the alert topic) becomes unreadable.
    old["Resources"][&key]["DeletionPolicy"] = json!("Delete");
    let r = review("TrackerStaging", &old, &new);
    let c = change(&r, &key);
    assert_eq!(c.risk(), Risk::DataLoss, "{}", text(&r));
    let g = guard_messages(c);
    assert!(
        g[0].1.contains("scheduled for deletion") && g[0].1.contains("AlertsTopic"),
        "{g:?}"
    );
}

/// A widened resource policy in types the review used to skip: an EFS file-system policy and a
/// backup vault's access policy.
#[test]
fn widened_file_system_and_backup_vault_policies_widen() {
    let t = golden("TrackerStagingData");
    let fs = id_of(&t, "AWS::EFS::FileSystem", "");
    let vault = id_of(&t, "AWS::Backup::BackupVault", "");
    let r = edited("TrackerStagingData", |n| {
        let stmts = n["Resources"][&fs]["Properties"]["FileSystemPolicy"]["Statement"]
            .as_array_mut()
            .unwrap();
        stmts.push(json!({"Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": "elasticfilesystem:ClientMount", "Resource": "*"}));
        n["Resources"][&vault]["Properties"]["AccessPolicy"] = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*",
                "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}]});
    });
    let w = &change(&r, &fs).widening;
    assert!(
        w.iter()
            .any(|x| x.contains("`elasticfilesystem:ClientMount`") && x.contains("anyone")),
        "{w:?}"
    );
    let w = &change(&r, &vault).widening;
    assert!(
        w.iter()
            .any(|x| x.contains("`backup:DeleteRecoveryPoint` on * to anyone")),
        "{w:?}"
    );
    assert_eq!(r.exit_code(), tracker_review::EXIT_WIDENING);
    // Dropping a condition widens too.
    let old = golden("TrackerStagingData");
    let mut new = old.clone();
    let stmts = new["Resources"][&fs]["Properties"]["FileSystemPolicy"]["Statement"]
        .as_array_mut()
        .unwrap();
    let with_condition = stmts
        .iter_mut()
        .find(|s| s.get("Condition").is_some() && s["Effect"] == "Allow")
        .expect("a conditional allow in the file-system policy");
    with_condition.as_object_mut().unwrap().remove("Condition");
    let r = review("TrackerStagingData", &old, &new);
    assert!(!change(&r, &fs).widening.is_empty(), "{}", text(&r));
}

#[test]
fn user_data_and_cloud_map_renames_are_explained_interruptions() {
    let t = golden("TrackerStagingData");
    let host = id_of(&t, "AWS::EC2::Instance", "Data");
    let db = id_of(&t, "AWS::ServiceDiscovery::Service", "DbName");
    let r = edited("TrackerStagingData", |n| {
        n["Resources"][&host]["Properties"]["UserData"] =
            json!({"Fn::Base64": "#!/bin/bash\necho new"});
        n["Resources"][&db]["Properties"]["Name"] = json!("database");
    });
    let h = change(&r, &host);
    assert_eq!(h.action, Action::Modify);
    assert!(
        h.notes
            .iter()
            .any(|n| n
                .starts_with("interruption: user data changes: CloudFormation stops and starts")),
        "{}",
        text(&r)
    );
    let d = change(&r, &db);
    assert_eq!(d.action, Action::Replace);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("\"db\" becomes \"database\"")
                && n.contains("the DNS name clients use (db.<namespace>) disappears")),
        "{}",
        text(&r)
    );
}

#[test]
fn replacing_a_custom_named_resource_will_fail() {
    let t = golden("TrackerStagingData");
    let vault = id_of(&t, "AWS::Backup::BackupVault", "");
    let r = edited("TrackerStagingData", |n| {
        n["Resources"][&vault]["Properties"]["EncryptionKeyArn"] =
            json!("arn:aws:kms:eu-west-1:111111111111:key/other");
    });
    let c = change(&r, &vault);
    assert_eq!(c.action, Action::Replace);
    assert!(
        c.notes.iter().any(|n| n.starts_with(
            "will fail: CloudFormation cannot replace a custom-named resource (BackupVaultName"
        )),
        "{}",
        text(&r)
    );
}

#[test]
fn a_condition_that_turns_a_resource_off_deletes_it() {
    let t = golden("TrackerStagingData");
    let logs = id_of(&t, "AWS::Logs::LogGroup", "");
    let with_condition = |default: Value| {
        let mut n = t.clone();
        n["Parameters"]["KeepLogs"] = json!({"Type": "String", "Default": default});
        n["Conditions"] = json!({"Keep": {"Fn::Equals": [{"Ref": "KeepLogs"}, "yes"]},
                                 "Regional": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}});
        n["Resources"][&logs]["Condition"] = json!("Keep");
        n
    };
    // False with the parameter's default: CloudFormation deletes the log group (data loss).
    let r = review("TrackerStagingData", &t, &with_condition(json!("no")));
    let c = change(&r, &logs);
    assert_eq!(c.action, Action::Delete, "{}", text(&r));
    assert_eq!(c.risk(), Risk::DataLoss);
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("Condition Keep is false")));
    // True: it stays.
    let r = review("TrackerStagingData", &t, &with_condition(json!("yes")));
    let c = change(&r, &logs);
    assert_eq!(c.action, Action::Modify);
    assert!(c.notes.iter().any(|n| n.contains("Condition Keep holds")));
    // A pseudo parameter: unknown offline, a warning.
    let mut n = with_condition(json!("yes"));
    n["Resources"][&logs]["Condition"] = json!("Regional");
    let r = review("TrackerStagingData", &t, &n);
    let c = change(&r, &logs);
    assert!(
        c.notes
            .iter()
            .any(|n| n.starts_with("warning: its new Condition Regional")),
        "{}",
        text(&r)
    );
}

#[test]
fn a_rename_with_the_same_properties_is_recognised() {
    let old = golden("TrackerStagingData");
    let vault = id_of(&old, "AWS::Backup::BackupVault", "");
    let mut new = old.clone();
    let mut moved = new["Resources"]
        .as_object_mut()
        .unwrap()
        .remove(&vault)
        .unwrap();
    moved["Metadata"]["aws:cdk:path"] = json!("TrackerStagingData/Backups/Store/Resource");
    new["Resources"]["BackupsVaultAAAA0000"] = moved;
    let r = review("TrackerStagingData", &old, &new);
    let gone = change(&r, &vault);
    assert_eq!(gone.action, Action::Delete);
    assert!(
        gone.notes.iter().any(|n| n.contains(
            "looks moved or renamed to TrackerStagingData/Backups/Store/Resource (BackupsVaultAAAA0000; same type and the same properties)"
        )),
        "{}",
        text(&r)
    );
}

/// The staging data stack's golden with `edit` applied, reviewed through `run` from a cloud
/// assembly whose manifest gives the stack's environment as `cdk synth` writes it (`environment`
/// `None`: no manifest, the environment is unknown).
fn reviewed_in_assembly(environment: Option<&str>, edit: impl FnOnce(&mut Value)) -> Report {
    let stack = "TrackerStagingData";
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cdk.out");
    std::fs::create_dir(&out).unwrap();
    let old = golden(stack);
    let mut new = old.clone();
    edit(&mut new);
    std::fs::write(dir.path().join("old.json"), old.to_string()).unwrap();
    std::fs::write(out.join(format!("{stack}.template.json")), new.to_string()).unwrap();
    if let Some(env) = environment {
        let manifest = json!({"version": "48.0.0", "artifacts": {stack: {
            "type": "aws:cloudformation:stack", "environment": env,
            "properties": {"templateFile": format!("{stack}.template.json")}}}});
        std::fs::write(out.join("manifest.json"), manifest.to_string()).unwrap();
    }
    tracker_review::run(&tracker_review::Options {
        stack: stack.into(),
        baseline: Some(tracker_review::Baseline::Path("old.json".into())),
        template: None,
        change_set: None,
        region: None,
        root: dir.path().to_path_buf(),
    })
    .unwrap()
}

/// A condition on the region: a log group made conditional on another region is deleted in
/// this stack's region (read from the cloud assembly), and only warned about without it.
#[test]
fn a_condition_on_the_stacks_region_is_decided_from_the_assembly() {
    let t = golden("TrackerStagingData");
    let lg = id_of(&t, "AWS::Logs::LogGroup", "");
    let edit = |n: &mut Value| {
        n["Conditions"] =
            json!({"InUsWest2": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-west-2"]}});
        n["Resources"][&lg]["Condition"] = json!("InUsWest2");
    };
    let r = reviewed_in_assembly(Some("aws://111111111111/eu-west-1"), edit);
    let c = change(&r, &lg);
    assert_eq!(c.action, Action::Delete, "{}", text(&r));
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("Condition InUsWest2 is false")));
    let r = reviewed_in_assembly(None, edit);
    let c = change(&r, &lg);
    assert_eq!(c.action, Action::Modify, "{}", text(&r));
    assert!(c
        .notes
        .iter()
        .any(|n| n.starts_with("warning: its new Condition InUsWest2 depends on values")));
    // In us-west-2 the condition holds: the log group stays.
    let r = reviewed_in_assembly(Some("aws://111111111111/us-west-2"), edit);
    assert!(change(&r, &lg)
        .notes
        .iter()
        .any(|n| n.contains("Condition InUsWest2 holds")));
}

/// A guarded setting moved to a parameter: judged with the parameter's default, warned about
/// when the parameter has none.
#[test]
fn a_guarded_setting_from_a_parameter_is_judged_with_its_default() {
    let t = golden("TrackerStagingData");
    let lg = id_of(&t, "AWS::Logs::LogGroup", "");
    let days = t["Resources"][&lg]["Properties"]["RetentionInDays"]
        .as_u64()
        .expect("the golden log group has a retention");
    assert!(days > 1);
    let with_default = |default: Option<u64>| {
        let lg = lg.clone();
        move |n: &mut Value| {
            let mut p = json!({"Type": "Number"});
            if let Some(d) = default {
                p["Default"] = json!(d);
            }
            n["Parameters"]["LogDays"] = p;
            n["Resources"][&lg]["Properties"]["RetentionInDays"] = json!({"Ref": "LogDays"});
        }
    };
    let r = edited("TrackerStagingData", with_default(Some(1)));
    let g = guard_messages(change(&r, &lg));
    assert_eq!(g.len(), 1, "{}", text(&r));
    assert_eq!(g[0].0, Risk::DataLoss);
    assert!(
        g[0].1.contains(&format!("RetentionInDays: {days} -> 1")),
        "{}",
        g[0].1
    );
    // The same default as before: nothing weakened, nothing to warn about.
    let r = edited("TrackerStagingData", with_default(Some(days)));
    assert!(
        r.changes.iter().all(|c| c.guardrails.is_empty()),
        "{}",
        text(&r)
    );
    // No default: not judged, but said.
    let r = edited("TrackerStagingData", with_default(None));
    let c = change(&r, &lg);
    assert!(c.guardrails.is_empty());
    assert!(
        c.notes.iter().any(|n| n
            .starts_with("warning: guarded setting RetentionInDays: only known at deploy time")),
        "{}",
        text(&r)
    );
}

/// Moving a service to other subnets or security groups is no replacement, but every task is
/// replaced by a new deployment: said as an interruption.
#[test]
fn a_services_network_change_is_an_interruption() {
    let t = golden("TrackerStaging");
    let svc = id_of(&t, "AWS::ECS::Service", "");
    let r = edited("TrackerStaging", |n| {
        let sgs = &mut n["Resources"][&svc]["Properties"]["NetworkConfiguration"]
            ["AwsvpcConfiguration"]["SecurityGroups"];
        sgs.as_array_mut()
            .expect("the service has security groups")
            .push(json!("sg-0123456789abcdef0"));
    });
    let c = change(&r, &svc);
    assert_eq!(c.action, Action::Modify, "{}", text(&r));
    assert!(
        c.notes.iter().any(|n| n
            == "interruption: the network configuration changes: ECS starts a new deployment that replaces every task"),
        "{}",
        text(&r)
    );
}
