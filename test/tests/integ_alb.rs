//! aws-cdk's integration test `integ.alb.ts` (aws-elasticloadbalancingv2) translated to Rust with
//! the bindings' call-site rules, against its JavaScript twin `test/differential/integ_alb.js`:
//! the templates must be byte-identical.

use cdk_from_rust::aws_cdk_lib::aws_cloudwatch::{CreateAlarmOptions, CreateAlarmOptionsRequired};
use cdk_from_rust::aws_cdk_lib::aws_ec2::{Vpc, VpcProps};
use cdk_from_rust::aws_cdk_lib::aws_elasticloadbalancingv2::{
    AddApplicationTargetsProps, ApplicationLoadBalancer, ApplicationLoadBalancerProps,
    BaseApplicationListenerProps, IApplicationLoadBalancerTarget, ListenerCondition,
};
use cdk_from_rust::aws_cdk_lib::{App, Duration, Stack};
use cdk_from_rust::{JsAny, Opaque};
use tracker_tests::{repo_root, synth_js, synth_program, template_json, templates};

/// `new elbv2.IpTarget(ip)`: deprecated, so absent from the `.jsii` and without a binding; the
/// JavaScript class still exists, reached through the escape hatch.
#[track_caller]
fn ip_target(ip: &str) -> IApplicationLoadBalancerTarget {
    Opaque::new_unbound(
        "aws-cdk-lib.aws_elasticloadbalancingv2.IpTarget",
        [JsAny::from(ip)],
    )
    .cast()
}

fn integ_alb() -> cdk_from_rust::program::Program {
    cdk_from_rust::record(|| {
        let app = App::new();
        let stack = Stack::new(app, "aws-cdk-elbv2-integ");
        let vpc = Vpc::new_with(
            stack,
            "VPC",
            VpcProps::new()
                .restrict_default_security_group(false)
                .max_azs(2),
        );
        let lb = ApplicationLoadBalancer::new(
            stack,
            "LB",
            ApplicationLoadBalancerProps::new(vpc).internet_facing(true),
        );
        let listener = lb.add_listener("Listener", BaseApplicationListenerProps::new().port(80));

        let plain = listener.add_targets(
            "Target",
            AddApplicationTargetsProps::new()
                .port(80)
                .targets([ip_target("10.0.128.6")])
                .stickiness_cookie_duration(Duration::minutes(5)),
        );
        let conditional = listener.add_targets(
            "ConditionalTarget",
            AddApplicationTargetsProps::new()
                .priority(10)
                .conditions([ListenerCondition::host_headers(["example.com"])])
                .port(80)
                .targets([ip_target("10.0.128.5")])
                .stickiness_cookie_duration(Duration::minutes(5))
                .stickiness_cookie_name("MyDeliciousCookie")
                .slow_start(Duration::minutes(1)),
        );

        for (group, id) in [
            (plain, "ResponseTimeHigh1"),
            (conditional, "ResponseTimeHigh2"),
        ] {
            group.metric_target_response_time().create_alarm(
                stack,
                id,
                CreateAlarmOptions::new(CreateAlarmOptionsRequired {
                    threshold: 5,
                    evaluation_periods: 2,
                }),
            );
        }
        // `vpc.publicSubnets.forEach(..)`: the list's length is known only when aws-cdk-lib runs,
        // so the Rust says it expects the two subnets `maxAzs: 2` gives (the replay checks).
        for subnet in vpc.public_subnets().expect_len(2) {
            conditional.node().add_dependency([subnet]);
            plain.node().add_dependency([subnet]);
        }
        cdk_from_rust::synthesize(&app);
    })
    .0
}

#[test]
fn integ_alb_translated_to_rust_synthesizes_the_javascript_template() {
    let rust = tempfile::tempdir().unwrap();
    let js = tempfile::tempdir().unwrap();
    synth_program(&integ_alb(), rust.path()).unwrap();
    synth_js(
        &repo_root().join("test/differential/integ_alb.js"),
        js.path(),
    );
    let (r, j) = (templates(rust.path()), templates(js.path()));
    assert_eq!(
        r.keys().collect::<Vec<_>>(),
        vec!["aws-cdk-elbv2-integ.template.json"]
    );
    assert_eq!(r.keys().collect::<Vec<_>>(), j.keys().collect::<Vec<_>>());
    for (name, bytes) in &r {
        assert!(
            bytes == &j[name],
            "{name} differs between the Rust translation and the JavaScript"
        );
    }
    let t = template_json(rust.path(), "aws-cdk-elbv2-integ");
    let count = |ty: &str| {
        t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["Type"] == ty)
            .count()
    };
    assert_eq!(count("AWS::ElasticLoadBalancingV2::TargetGroup"), 2);
    assert_eq!(count("AWS::CloudWatch::Alarm"), 2);
    assert_eq!(count("AWS::ElasticLoadBalancingV2::ListenerRule"), 1);
}
