//! Export lock-in, and the way out the README documents: when a services stack stops using a data
//! stack's value, `Stack::export_value` (aws-cdk-lib's `exportValue`, through the bindings) keeps
//! the very export the reference made, so the data stack's update does not remove an export the
//! deployed services stack still imports.

use cdk_from_rust::aws_cdk_lib::aws_s3::Bucket;
use cdk_from_rust::aws_cdk_lib::{App, CfnOutput, CfnOutputProps, Stack};
use serde_json::Value;

/// The data stack's exports (name -> value) of an app where the services stack uses the bucket
/// (`used`) or the data stack pins its name with `export_value` instead.
fn data_exports(used: bool) -> Vec<(String, Value)> {
    let (program, ()) = cdk_from_rust::record(|| {
        let app = App::new();
        let data = Stack::new(app, "Data");
        let services = Stack::new(app, "Services");
        let bucket = Bucket::new(data, "Store");
        if used {
            CfnOutput::new(
                services,
                "StoreName",
                CfnOutputProps::new(bucket.bucket_name()),
            );
        } else {
            data.export_value(bucket.bucket_name());
        }
        cdk_from_rust::synthesize(&app);
    });
    let dir = tempfile::tempdir().unwrap();
    let runner = cdk_from_rust::runner::Runner {
        outdir: dir.path().to_path_buf(),
        ..Default::default()
    };
    runner.run(&program).unwrap();
    let t: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("Data.template.json")).unwrap(),
    )
    .unwrap();
    t["Outputs"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, o)| {
            let name = o["Export"]["Name"].as_str()?;
            Some((name.to_string(), o["Value"].clone()))
        })
        .collect()
}

#[test]
fn export_value_keeps_the_export_a_removed_reference_made() {
    let referenced = data_exports(true);
    assert_eq!(referenced.len(), 1, "{referenced:?}");
    assert!(
        referenced[0].0.starts_with("Data:ExportsOutputRefStore"),
        "{referenced:?}"
    );
    // The reference gone, the pin keeps the same export (name and value).
    assert_eq!(data_exports(false), referenced);
}
