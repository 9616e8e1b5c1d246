//! Test support: synthesize constructs through the real aws-cdk-lib and read the template back.

use cdk_from_rust::aws_cdk_lib::{App, Stack};
use serde_json::Value;

/// A synthesized template, with helpers to find resources.
pub struct Template(pub Value);

impl Template {
    /// Every resource of `type_` as (logical id, resource).
    pub fn resources(&self, type_: &str) -> Vec<(&String, &Value)> {
        self.0["Resources"]
            .as_object()
            .map(|r| r.iter().filter(|(_, v)| v["Type"] == type_).collect())
            .unwrap_or_default()
    }

    /// The only resource of `type_`; panics if there is not exactly one.
    pub fn one(&self, type_: &str) -> &Value {
        let r = self.resources(type_);
        assert_eq!(
            r.len(),
            1,
            "expected exactly one {type_}, found {}",
            r.len()
        );
        r[0].1
    }

    /// Resources of `type_` whose construct path (metadata `aws:cdk:path`) contains `part`.
    pub fn at_path(&self, type_: &str, part: &str) -> Vec<&Value> {
        self.resources(type_)
            .into_iter()
            .filter(|(_, v)| {
                v["Metadata"]["aws:cdk:path"]
                    .as_str()
                    .is_some_and(|p| p.contains(part))
            })
            .map(|(_, v)| v)
            .collect()
    }
}

/// The account and region of the test stack; its availability zones are seeded in the context
/// (as `cdk synth` with credentials would record them), so no lookup is attempted.
pub const ACCOUNT: &str = "111111111111";
pub const REGION: &str = "eu-west-1";

/// Records `build` inside a fresh App and env-bound Stack `Test`, synthesizes it, and returns the
/// template. Construct-path metadata is on, as under the CDK CLI.
pub fn synth(build: impl FnOnce(Stack)) -> Template {
    let (program, ()) = cdk_from_rust::record(|| {
        let azs = serde_json::json!([
            format!("{REGION}a"),
            format!("{REGION}b"),
            format!("{REGION}c")
        ]);
        let app = App::new_with(
            cdk_from_rust::aws_cdk_lib::AppProps::new()
                .context([
                    (
                        "aws:cdk:enable-path-metadata".to_string(),
                        serde_json::json!(true),
                    ),
                    (
                        format!("availability-zones:account={ACCOUNT}:region={REGION}"),
                        azs,
                    ),
                ])
                .analytics_reporting(false),
        );
        let env = cdk_from_rust::aws_cdk_lib::Environment::new()
            .account(ACCOUNT)
            .region(REGION);
        let stack = Stack::new_with(
            app,
            "Test",
            cdk_from_rust::aws_cdk_lib::StackProps::new().env(env),
        );
        build(stack);
        cdk_from_rust::synthesize(&app);
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let runner = cdk_from_rust::runner::Runner {
        outdir: dir.path().to_path_buf(),
        ..Default::default()
    };
    if let Err(e) = runner.run(&program) {
        panic!("synthesis failed: {e}");
    }
    let text =
        std::fs::read_to_string(dir.path().join("Test.template.json")).expect("template written");
    Template(serde_json::from_str(&text).expect("template is JSON"))
}

/// Asserts that `err` (a [`ValidationErrors`](crate::validation::ValidationErrors) or its text)
/// reports the construct `kind` `id`, its `field`, and an allowed text containing `allowed`, as
/// one line `<kind> "<id>": `<field>` = <value> is not allowed: <allowed>`. Returns that line, so
/// a test can check the value too.
pub fn assert_rejects(
    err: impl std::fmt::Display,
    kind: &str,
    id: &str,
    field: &str,
    allowed: &str,
) -> String {
    let text = err.to_string();
    let head = format!("{kind} {id:?}: `{field}` = ");
    text.lines()
        .map(|line| line.trim_start().trim_start_matches("- "))
        .find(|line| {
            line.starts_with(&head)
                && line
                    .split_once(" is not allowed: ")
                    .is_some_and(|(_, a)| a.contains(allowed))
        })
        .unwrap_or_else(|| {
            panic!("no violation of {kind} {id:?} `{field}` allowing {allowed:?} in:\n{text}")
        })
        .to_string()
}

/// [`assert_rejects`], and the rejected value as rendered (`"db:5433"`, `0`) is `value`.
pub fn assert_rejects_value(
    err: impl std::fmt::Display,
    kind: &str,
    id: &str,
    field: &str,
    value: &str,
    allowed: &str,
) -> String {
    let line = assert_rejects(err, kind, id, field, allowed);
    assert!(
        line.contains(&format!("= {value} is not allowed")),
        "{line}"
    );
    line
}

/// Asserts `result` failed with exactly one violation, the one [`assert_rejects_value`] describes.
pub fn assert_only_rejection<T: std::fmt::Debug>(
    result: Result<T, crate::validation::ValidationErrors>,
    kind: &str,
    id: &str,
    field: &str,
    value: &str,
    allowed: &str,
) -> String {
    let err = result.unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
    assert_rejects_value(&err, kind, id, field, value, allowed)
}
