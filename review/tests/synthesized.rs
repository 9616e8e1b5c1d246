//! Reviews of real synthesized templates: one baseline stack (network, platform, staging data
//! host, a public service, a worker) and variants with one setting changed, each synthesized
//! through the real aws-cdk-lib (a few seconds each, so the baseline is shared).

use std::sync::OnceLock;

use cdk_from_rust::aws_cdk_lib::aws_ec2::{Peer, Port};
use cdk_from_rust::aws_cdk_lib::aws_iam::{PolicyStatement, PolicyStatementProps};
use cdk_from_rust::aws_cdk_lib::Tags;
use serde_json::Value;
use tracker_constructs::private_worker_service::{PrivateWorkerService, PrivateWorkerServiceProps};
use tracker_constructs::public_alb_service::{PublicAlbService, PublicAlbServiceProps};
use tracker_constructs::staging_data_host::{StagingDataHost, StagingDataHostProps};
use tracker_constructs::testing::synth;
use tracker_constructs::{Network, NetworkProps, Platform, PlatformProps, TaskSize};
use tracker_review::{review_templates, Action, Change, Replacement, Report, Risk};

const CERT: &str =
    "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000";
const AMI: &str = "ami-0123456789abcdef0";

/// One setting changed from the baseline.
#[derive(Clone)]
struct Variant {
    tag: bool,
    volume_gib: u32,
    data_id: &'static str,
    open_to_internet: bool,
    drop_allow_list: bool,
    extra_iam_action: bool,
    worker: bool,
    ami: &'static str,
}

const BASELINE: Variant = Variant {
    tag: false,
    volume_gib: 50,
    data_id: "Data",
    open_to_internet: false,
    drop_allow_list: false,
    extra_iam_action: false,
    worker: true,
    ami: AMI,
};

fn build(v: Variant) -> Value {
    synth(move |stack| {
        let network = Network::new(stack, "Network", NetworkProps::default()).unwrap();
        let platform = Platform::new(
            stack,
            "Platform",
            network,
            PlatformProps::new("staging", CERT),
        )
        .unwrap();
        let mut data = StagingDataHostProps::new("eu-west-1", v.ami);
        data.data_volume_gib = v.volume_gib;
        StagingDataHost::new(stack, v.data_id, &platform, data).unwrap();

        let mut api = PublicAlbServiceProps::new(
            "api",
            TaskSize::HALF_1,
            "public.ecr.aws/nginx/nginx:1.27",
            8000,
            "api.example.com",
            10,
        );
        if !v.drop_allow_list {
            api.source_ip_allow_list = vec!["203.0.113.0/24".into()];
        }
        let api = PublicAlbService::new(stack, "Api", &platform, api).unwrap();
        if v.open_to_internet {
            api.security_group
                .add_ingress_rule(Peer::any_ipv4(), Port::tcp(8000));
        }
        if v.extra_iam_action {
            api.task_definition
                .task_role()
                .add_to_principal_policy(PolicyStatement::new_with(
                    PolicyStatementProps::new()
                        .actions(["s3:PutObject"])
                        .resources(["arn:aws:s3:::tracker-exports/*"]),
                ));
        }
        if v.worker {
            PrivateWorkerService::new(
                stack,
                "Fetcher",
                &platform,
                PrivateWorkerServiceProps::new(
                    "tracker-fetcher",
                    TaskSize::HALF_1,
                    "public.ecr.aws/nginx/nginx:1.27",
                )
                .with_health_command("test -f /tmp/worker-heartbeat"),
            )
            .unwrap();
        }
        if v.tag {
            Tags::of(stack).add("CostCenter", "tracker-platform");
        }
    })
    .0
}

fn baseline() -> &'static Value {
    static B: OnceLock<Value> = OnceLock::new();
    B.get_or_init(|| build(BASELINE))
}

fn review(v: Variant) -> Report {
    let new = build(v);
    review_templates(baseline(), &new)
}

/// The changes to resources of `type_` whose construct path contains `part`.
fn at<'a>(r: &'a Report, type_: &str, part: &str) -> Vec<&'a Change> {
    r.changes
        .iter()
        .filter(|c| {
            c.resource_type == type_
                && c.construct_path
                    .as_deref()
                    .is_some_and(|p| p.contains(part))
        })
        .collect()
}

fn one<'a>(r: &'a Report, type_: &str, part: &str) -> &'a Change {
    let found = at(r, type_, part);
    assert_eq!(
        found.len(),
        1,
        "{type_} at {part}:\n{}",
        r.render(tracker_review::Format::Text)
    );
    found[0]
}

#[test]
fn same_template_is_safe_and_empty() {
    let r = review_templates(baseline(), baseline());
    assert!(r.changes.is_empty());
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn tags_are_cosmetic() {
    let r = review(Variant {
        tag: true,
        ..BASELINE
    });
    assert!(!r.changes.is_empty());
    for c in &r.changes {
        assert_eq!(
            c.action,
            Action::Modify,
            "{}",
            r.render(tracker_review::Format::Text)
        );
        assert_eq!(c.risk(), Risk::None);
        assert!(
            c.properties.iter().all(|p| p.path.contains("Tags")),
            "{:?}",
            c.properties
        );
    }
    assert_eq!(r.exit_code(), 0);
    let vol = one(&r, "AWS::EC2::Volume", "/Data/");
    assert_eq!(vol.replacement, Replacement::Never);
}

#[test]
fn larger_data_volume_is_modified_in_place() {
    let r = review(Variant {
        volume_gib: 100,
        ..BASELINE
    });
    let vol = one(&r, "AWS::EC2::Volume", "/Data/");
    assert_eq!(vol.action, Action::Modify);
    assert_eq!(vol.properties[0].path, "Size");
    assert_eq!(vol.properties[0].replacement, Replacement::Never);
    assert_eq!(
        r.exit_code(),
        0,
        "{}",
        r.render(tracker_review::Format::Text)
    );
}

#[test]
fn renamed_data_host_deletes_and_adds_and_is_data_loss() {
    let r = review(Variant {
        data_id: "Database",
        ..BASELINE
    });
    let gone = one(&r, "AWS::EC2::Volume", "/Data/");
    assert_eq!(gone.action, Action::Delete);
    assert_eq!(gone.risk(), Risk::DataLoss);
    let why = gone.data_loss.as_deref().unwrap();
    assert!(
        why.contains("snapshotted (DeletionPolicy: Snapshot)"),
        "{why}"
    );
    assert!(gone.notes[0].contains("renamed to"), "{:?}", gone.notes);
    let added = one(&r, "AWS::EC2::Volume", "/Database/");
    assert_eq!(added.action, Action::Add);
    // The host is compute by its construct's declaration: its deletion interrupts, loses nothing.
    let host = one(&r, "AWS::EC2::Instance", "/Data/");
    assert_eq!(host.action, Action::Delete);
    assert_eq!(host.risk(), Risk::None, "{:?}", host.notes);
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);
    assert!(
        why.contains("the PostgreSQL and Valkey files (declared by its construct)"),
        "{why}"
    );
    // Data loss is reported first.
    assert_eq!(r.changes[0].risk(), Risk::DataLoss);
    let text = r.render(tracker_review::Format::Text);
    assert!(
        text.contains("Data › DataVolume: DELETE — data loss"),
        "{text}"
    );
}

/// A new AMI replaces the data host (`ImageId` is create-only). Its construct declares it
/// replaceable compute (the data is on the volume, which stays): an interruption with the
/// reason, not data loss, in a services stack and in a data stack alike.
#[test]
fn a_replaced_data_host_is_an_interruption_by_its_constructs_declaration() {
    let new = build(Variant {
        ami: "ami-0fedcba9876543210",
        ..BASELINE
    });
    for stack in ["TestStaging", "TestStagingData"] {
        let r = tracker_review::review_templates_named(
            stack,
            tracker_review::Source::TemplateDiff {
                baseline: "old".into(),
                template: "new".into(),
            },
            baseline(),
            &new,
        );
        let text = r.render(tracker_review::Format::Text);
        let host = one(&r, "AWS::EC2::Instance", "/Data/");
        assert_eq!(host.action, Action::Replace, "{text}");
        assert!(
            host.properties.iter().any(|p| p.path == "ImageId"),
            "{text}"
        );
        assert_eq!(host.risk(), Risk::None, "{text}");
        let st = host.statefulness.as_ref().unwrap();
        assert_eq!(st.source, tracker_review::report::Declared::Construct);
        assert!(
            host.notes.iter().any(|n| n.starts_with(
                "interruption, not data loss: replaceable compute (declared by its construct): \
                 PostgreSQL and Valkey keep their files on the data volume"
            )),
            "{text}"
        );
        // The volume is untouched.
        assert!(at(&r, "AWS::EC2::Volume", "/Data/").is_empty(), "{text}");
        assert_eq!(r.exit_code(), 0, "{text}");
    }
}

/// No construct prop chooses the data volume's availability zone (StagingDataHost puts it in
/// the AZ of the first private subnet), so the new template is the baseline with the zone
/// edited, as a change of `max_azs`/subnet order would produce.
#[test]
fn volume_in_another_zone_is_replaced_and_data_loss() {
    let mut new = baseline().clone();
    let (id, vol) = new["Resources"]
        .as_object_mut()
        .unwrap()
        .iter_mut()
        .find(|(_, r)| r["Type"] == "AWS::EC2::Volume")
        .unwrap();
    let id = id.clone();
    assert_eq!(vol["Properties"]["AvailabilityZone"], "eu-west-1a");
    vol["Properties"]["AvailabilityZone"] = "eu-west-1b".into();
    let r = review_templates(baseline(), &new);
    let c = r.changes.iter().find(|c| c.logical_id == id).unwrap();
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.replacement, Replacement::Always);
    assert_eq!(c.properties[0].path, "AvailabilityZone");
    assert_eq!(c.risk(), Risk::DataLoss);
    assert!(c
        .data_loss
        .as_deref()
        .unwrap()
        .contains("snapshotted (UpdateReplacePolicy: Snapshot); the new one starts empty"));
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);

    // The same zone behind a Ref is a conditional replacement.
    vol_az(
        &mut new,
        &id,
        serde_json::json!({"Ref": "SomeZoneParameter"}),
    );
    let r = review_templates(baseline(), &new);
    let c = r.changes.iter().find(|c| c.logical_id == id).unwrap();
    assert_eq!(c.replacement, Replacement::Conditional);
    assert_eq!(c.risk(), Risk::DataLoss);
}

fn vol_az(t: &mut Value, id: &str, az: Value) {
    t["Resources"][id]["Properties"]["AvailabilityZone"] = az;
}

/// The widening statements of `r`'s changes to resources of type `type_prefix`.
fn widening_of<'a>(r: &'a Report, type_prefix: &str) -> Vec<&'a String> {
    r.changes
        .iter()
        .filter(|c| c.resource_type.starts_with(type_prefix))
        .flat_map(|c| &c.widening)
        .collect()
}

/// A widening change and nothing else risky: exit 11, no data loss, reported under WIDENING.
fn assert_only_widening(r: &Report) -> String {
    let text = r.render(tracker_review::Format::Text);
    assert_eq!(r.exit_code(), tracker_review::EXIT_WIDENING, "{text}");
    assert!(
        r.changes.iter().all(|c| c.risk() != Risk::DataLoss),
        "{text}"
    );
    assert!(text.starts_with("Review of "), "{text}");
    assert!(text.contains("\nWIDENING\n"), "{text}");
    text
}

#[test]
fn a_security_group_rule_opened_to_the_internet_widens() {
    let r = review(Variant {
        open_to_internet: true,
        ..BASELINE
    });
    let text = assert_only_widening(&r);
    assert!(
        widening_of(&r, "AWS::EC2::SecurityGroup")
            .iter()
            .any(|w| w.contains("ingress tcp 8000 from 0.0.0.0/0")),
        "{text}"
    );
    // Only the security group's rules widen.
    assert!(
        r.changes
            .iter()
            .filter(|c| !c.widening.is_empty())
            .all(|c| c.resource_type.starts_with("AWS::EC2::SecurityGroup")),
        "{text}"
    );
}

#[test]
fn dropping_the_source_ip_allow_list_widens_the_listener_rule() {
    let r = review(Variant {
        drop_allow_list: true,
        ..BASELINE
    });
    let text = assert_only_widening(&r);
    let rule = one(&r, "AWS::ElasticLoadBalancingV2::ListenerRule", "Api");
    assert_eq!(rule.risk(), Risk::Widening);
    assert!(rule.widening[0].contains("203.0.113.0/24"), "{text}");
}

#[test]
fn a_new_iam_action_widens() {
    let r = review(Variant {
        extra_iam_action: true,
        ..BASELINE
    });
    let text = assert_only_widening(&r);
    assert!(
        widening_of(&r, "AWS::IAM::Policy")
            .iter()
            .any(|w| w.contains("`s3:PutObject` on arn:aws:s3:::tracker-exports/*")),
        "{text}"
    );
    assert!(
        widening_of(&r, "AWS::EC2::SecurityGroup").is_empty(),
        "{text}"
    );
}

#[test]
fn removing_a_service_deletes_it() {
    let r = review(Variant {
        worker: false,
        ..BASELINE
    });
    let svc = one(&r, "AWS::ECS::Service", "Fetcher");
    assert_eq!(svc.action, Action::Delete);
    assert!(r.changes.iter().all(|c| c.action == Action::Delete
        || c.construct_path.is_none()
        || !c.construct_path.as_deref().unwrap().contains("Fetcher")));
    // Its log group goes with it: logs are data.
    let logs = one(&r, "AWS::Logs::LogGroup", "Fetcher");
    assert_eq!(logs.action, Action::Delete);
    eprintln!("{}", r.render(tracker_review::Format::Text));
}

/// `run` as `tracker-cdk review` calls it: files, defaults, errors.
#[test]
fn run_reads_files_and_names_what_is_missing() {
    use tracker_review::{run, Baseline, ChangeSetSource, ErrorKind, Options};
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("cdk.out")).unwrap();
    std::fs::create_dir_all(dir.path().join("stacks/golden")).unwrap();
    let mut moved = baseline().clone();
    for (_, r) in moved["Resources"].as_object_mut().unwrap() {
        if r["Type"] == "AWS::EC2::Volume" {
            r["Properties"]["AvailabilityZone"] = "eu-west-1b".into();
        }
    }
    let write = |rel: &str, v: &Value| {
        std::fs::write(dir.path().join(rel), serde_json::to_string(v).unwrap()).unwrap()
    };
    write("stacks/golden/Test.template.json", baseline());
    write("cdk.out/Test.template.json", &moved);
    let opts = Options {
        stack: "Test".into(),
        baseline: None,
        template: None,
        change_set: None,
        region: None,
        root: dir.path().to_path_buf(),
    };
    let r = run(&opts).unwrap();
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);
    assert!(r
        .render(tracker_review::Format::Text)
        .contains("against golden stacks/golden/Test.template.json"));
    // An explicit baseline file: the same template is safe.
    let same = Options {
        baseline: Some(Baseline::Path("cdk.out/Test.template.json".into())),
        ..opts.clone()
    };
    assert_eq!(run(&same).unwrap().exit_code(), 0);
    // No synthesized template: says which file and what to run.
    let e = run(&Options {
        stack: "Other".into(),
        ..opts.clone()
    })
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input);
    let msg = e.to_string();
    assert!(
        msg.contains("cdk.out/Other.template.json: not found")
            && msg.contains("npx cdk synth Other"),
        "{msg}"
    );
    // Not a template.
    write(
        "cdk.out/Test.template.json",
        &serde_json::json!({"Resources": {"X": {}}}),
    );
    let e = run(&opts).unwrap_err();
    assert!(e.to_string().contains("resource X has no `Type`"), "{e}");
    // A change-set file that is missing.
    let e = run(&Options {
        change_set: Some(ChangeSetSource::File("cs.json".into())),
        ..opts.clone()
    })
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input);
    assert!(e.to_string().contains("describe-change-set"), "{e}");
}

/// Online: what CloudFormation says, reported against the construct of the new template.
#[test]
fn change_set_file_is_classified_against_constructs() {
    use tracker_review::{run, ChangeSetSource, Options};
    let t = baseline();
    let (vol_id, _) = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, r)| r["Type"] == "AWS::EC2::Volume")
        .unwrap();
    let cs = serde_json::json!({
        "ChangeSetName": "review-me", "StackName": "Test", "Status": "CREATE_COMPLETE",
        "ExecutionStatus": "AVAILABLE",
        "Changes": [
            {"Type": "Resource", "ResourceChange": {"Action": "Modify", "LogicalResourceId": vol_id,
             "PhysicalResourceId": "vol-0123", "ResourceType": "AWS::EC2::Volume",
             "Replacement": "True", "PolicyAction": "ReplaceAndSnapshot", "Scope": ["Properties"],
             "Details": [{"Target": {"Attribute": "Properties", "Name": "AvailabilityZone",
               "RequiresRecreation": "Always"}, "Evaluation": "Static",
               "ChangeSource": "DirectModification"}]}},
            {"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": "CDKMetadata",
             "ResourceType": "AWS::CDK::Metadata", "Scope": [], "Details": []}}
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cs.json"), cs.to_string()).unwrap();
    std::fs::write(dir.path().join("new.json"), t.to_string()).unwrap();
    let r = run(&Options {
        stack: "Test".into(),
        baseline: Some("new.json".parse().unwrap()),
        template: Some("new.json".into()),
        change_set: Some(ChangeSetSource::File("cs.json".into())),
        region: None,
        root: dir.path().to_path_buf(),
    })
    .unwrap();
    assert_eq!(r.changes.len(), 1, "CDK metadata is left out");
    let c = &r.changes[0];
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.construct(), "Data › DataVolume");
    assert!(c
        .data_loss
        .as_deref()
        .unwrap()
        .contains("snapshotted (UpdateReplacePolicy: Snapshot)"));
    assert_eq!(r.exit_code(), tracker_review::EXIT_DATA_LOSS);
    assert_eq!(r.to_json()["source"]["kind"], "change-set");
}
