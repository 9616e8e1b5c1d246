//! The bridge end to end, through the real aws-cdk-lib: differential against JavaScript,
//! determinism, and errors mapped back to Rust call sites.

use cdk_from_rust::aws_cdk_lib::aws_s3::{Bucket, BucketProps};
use cdk_from_rust::aws_cdk_lib::aws_sqs::{Queue, QueueProps};
use cdk_from_rust::aws_cdk_lib::{Annotations, App, Duration, Stack};
use cdk_from_rust::runner::{Problem, RunError};
use tracker_tests::{repo_root, synth_js, synth_program, template_json, templates};

fn sample_program() -> cdk_from_rust::program::Program {
    cdk_from_rust::record(|| {
        let app = App::new();
        tracker_stacks::sample::sample(&app);
        cdk_from_rust::synthesize(&app);
    })
    .0
}

/// Replays `program`, which aws-cdk-lib must reject at an operation; asserts that the first
/// problem is at `line` of this file and that no assembly is left; returns the error and that
/// problem.
fn rejected_at_line(program: &cdk_from_rust::program::Program, line: u32) -> (RunError, Problem) {
    let out = tempfile::tempdir().unwrap();
    let err = synth_program(program, out.path()).unwrap_err();
    let RunError::Operation { problems, .. } = &err else {
        panic!("expected an operation error, got {err}")
    };
    let site = problems[0]
        .site
        .as_ref()
        .expect("the problem has a Rust site");
    assert_eq!(
        (site.file.as_str(), site.line),
        ("test/tests/bridge_end_to_end.rs", line),
        "{err}"
    );
    assert!(!out.path().join("manifest.json").exists());
    let first = problems[0].clone();
    (err, first)
}

#[test]
fn rust_and_javascript_samples_synthesize_byte_identical_templates() {
    let rust = tempfile::tempdir().unwrap();
    let js = tempfile::tempdir().unwrap();
    synth_program(&sample_program(), rust.path()).unwrap();
    synth_js(&repo_root().join("test/differential/sample.js"), js.path());
    let (r, j) = (templates(rust.path()), templates(js.path()));
    assert_eq!(
        r.keys().collect::<Vec<_>>(),
        vec!["SampleStack.template.json"]
    );
    assert_eq!(r.keys().collect::<Vec<_>>(), j.keys().collect::<Vec<_>>());
    for (name, bytes) in &r {
        assert!(
            bytes == &j[name],
            "{name} differs between the Rust and the JavaScript sample"
        );
    }
    // And the sample really exercises what the differential test is meant to cover.
    let t = template_json(rust.path(), "SampleStack");
    let types: Vec<&str> = t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["Type"].as_str().unwrap())
        .collect();
    for expected in [
        "AWS::EC2::VPC",
        "AWS::ECS::Cluster",
        "AWS::ECS::TaskDefinition",
        "AWS::ECS::Service",
        "AWS::EFS::AccessPoint",
        "AWS::SecretsManager::Secret",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        "AWS::CloudWatch::Alarm",
    ] {
        assert!(types.contains(&expected), "the sample has no {expected}");
    }
}

#[test]
fn synthesizing_twice_gives_byte_identical_templates() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth_program(&sample_program(), a.path()).unwrap();
    synth_program(&sample_program(), b.path()).unwrap();
    assert_eq!(templates(a.path()), templates(b.path()));
    assert_eq!(
        sample_program(),
        sample_program(),
        "recording is deterministic too"
    );
}

#[test]
fn a_list_of_another_length_than_expected_fails_at_the_rust_line_that_iterates_it() {
    let mut line = 0;
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "Lists");
        let vpc = cdk_from_rust::aws_cdk_lib::aws_ec2::Vpc::new_with(
            stack,
            "Vpc",
            cdk_from_rust::aws_cdk_lib::aws_ec2::VpcProps::new().max_azs(2),
        );
        line = line!() + 1;
        for subnet in vpc.public_subnets().expect_len(3) {
            Bucket::new_with(
                stack,
                "B",
                BucketProps::new().bucket_name(subnet.subnet_id()),
            );
        }
        cdk_from_rust::synthesize(&app);
    });
    let (err, problem) = rejected_at_line(&program, line);
    assert!(
        problem
            .message
            .contains("the list has 2 elements, but the Rust code expects 3 (expect_len)"),
        "{err}"
    );
}

#[test]
fn an_operation_aws_cdk_lib_rejects_is_reported_at_its_rust_call_site() {
    let mut line = 0;
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "Clash");
        Queue::new(stack, "Jobs");
        line = line!() + 1;
        Queue::new_with(
            stack,
            "Jobs",
            QueueProps::new().visibility_timeout(Duration::seconds(30)),
        );
        cdk_from_rust::synthesize(&app);
    });
    let (err, problem) = rejected_at_line(&program, line);
    assert!(
        problem
            .message
            .contains("There is already a Construct with name 'Jobs'"),
        "{err}"
    );
    assert_eq!(problem.path.as_deref(), Some("Clash/Jobs"));
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("test/tests/bridge_end_to_end.rs:{line}")),
        "{shown}"
    );
    assert!(
        shown.len() < 2000,
        "no minified source dump in the message: {shown}"
    );
}

#[test]
fn synthesis_errors_name_the_rust_site_and_leave_no_assembly_behind() {
    let mut line = 0;
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "Annotated");
        line = line!() + 1;
        let bucket = Bucket::new_with(stack, "Data", BucketProps::new().versioned(true));
        Annotations::of(bucket).add_error("this bucket is not allowed here");
        cdk_from_rust::synthesize(&app);
    });
    let out = tempfile::tempdir().unwrap();
    // A stale template from an earlier run must not survive a failed synthesis.
    std::fs::write(out.path().join("Annotated.template.json"), "{}").unwrap();
    std::fs::write(out.path().join("synth.lock"), "").unwrap();
    let err = synth_program(&program, out.path()).unwrap_err();
    let RunError::Synthesis { problems, .. } = &err else {
        panic!("expected a synthesis error, got {err}")
    };
    let p = problems
        .iter()
        .find(|p| p.message.contains("not allowed here"))
        .expect("the annotation is reported");
    let site = p.site.as_ref().unwrap();
    assert_eq!(
        (site.file.as_str(), site.line),
        ("test/tests/bridge_end_to_end.rs", line)
    );
    assert!(
        templates(out.path()).is_empty(),
        "no template is left looking valid"
    );
    assert!(!out.path().join("manifest.json").exists());
    assert!(
        out.path().join("synth.lock").exists(),
        "the CDK CLI's lock files are kept"
    );
}

/// Typed results (issue 11 item 5): a struct result read field by field (`StructRef`), and
/// arrays made by aws-cdk-lib passed where a list is taken, to a method and into a struct field,
/// with no escape hatch; the replayed template holds the tokens aws-cdk-lib resolved.
#[test]
fn struct_results_and_arrays_from_aws_cdk_lib_pass_where_lists_are_taken() {
    use cdk_from_rust::aws_cdk_lib::aws_ec2::{SubnetSelection, Vpc, VpcProps};
    use cdk_from_rust::aws_cdk_lib::{CfnOutput, CfnOutputProps, Fn};
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "TypedResults");
        let vpc = Vpc::new_with(
            stack,
            "Vpc",
            VpcProps::new()
                .max_azs(2)
                .nat_gateways(0)
                .restrict_default_security_group(false),
        );
        // A JsArray into a struct's list field, and the struct result's fields read typed.
        let selected =
            vpc.select_subnets_with(SubnetSelection::new().subnets(vpc.isolated_subnets()));
        CfnOutput::new(
            stack,
            "SubnetIds",
            CfnOutputProps::new(Fn::join(",", selected.subnet_ids())),
        );
        CfnOutput::new(
            stack,
            "FirstZone",
            CfnOutputProps::new(Fn::select(0, selected.availability_zones())),
        );
        cdk_from_rust::synthesize(&app);
    });
    let out = tempfile::tempdir().unwrap();
    synth_program(&program, out.path()).unwrap();
    let t = template_json(out.path(), "TypedResults");
    let join = &t["Outputs"]["SubnetIds"]["Value"]["Fn::Join"];
    assert_eq!(join[0], ",");
    let refs: Vec<&str> = join[1]
        .as_array()
        .unwrap_or_else(|| panic!("a list of subnet refs: {join}"))
        .iter()
        .map(|r| r["Ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), 2, "{refs:?}");
    for r in &refs {
        assert!(
            r.starts_with("VpcIsolatedSubnet"),
            "an isolated subnet: {r}"
        );
        assert_eq!(t["Resources"][*r]["Type"], "AWS::EC2::Subnet");
    }
    // availabilityZones of a selection are plain strings in aws-cdk-lib (resolved from the
    // stack's environment-agnostic zones), so select 0 gives the first zone token.
    assert!(
        !t["Outputs"]["FirstZone"]["Value"].is_null(),
        "{}",
        t["Outputs"]
    );
    // The Program: the struct field read is a `get` of `subnetIds` on the `selectSubnets` result.
    let json = serde_json::to_value(&program).unwrap();
    let ops = json["ops"].as_array().unwrap();
    let select = ops
        .iter()
        .position(|o| o["method"] == "selectSubnets")
        .expect("selectSubnets recorded");
    assert!(
        ops.iter()
            .any(|o| o["op"] == "get" && o["target"] == select && o["property"] == "subnetIds"),
        "subnetIds read from the selection"
    );
}

/// An optional result (`JsOptional`) the code relies on: `expect` records the check, and when
/// aws-cdk-lib returned nothing (a cluster without a Cloud Map namespace) the replay fails at the
/// `expect` line with its message, not at a later operation with op numbers.
#[test]
fn a_missing_optional_result_fails_at_the_rust_line_that_expects_it() {
    use cdk_from_rust::aws_cdk_lib::aws_ecs::Cluster;
    use cdk_from_rust::aws_cdk_lib::{CfnOutput, CfnOutputProps};
    let mut line = 0;
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "NoNamespace");
        let cluster = Cluster::new(stack, "Cluster");
        line = line!() + 3;
        let namespace = cluster
            .default_cloud_map_namespace()
            .expect("the cluster is made with a namespace");
        CfnOutput::new(
            stack,
            "Namespace",
            CfnOutputProps::new(namespace.namespace_arn()),
        );
        cdk_from_rust::synthesize(&app);
    });
    let (err, problem) = rejected_at_line(&program, line);
    let message = &problem.message;
    assert!(
        message.contains("get defaultCloudMapNamespace")
            && message.contains("is undefined: the cluster is made with a namespace"),
        "{err}"
    );
}
