//! Offline reviews make no network call: with every AWS endpoint the SDK could use (the
//! CloudFormation endpoint and the instance metadata service) pointed at a local listener, a
//! review against template files and a saved change set leaves the listener untouched.

use std::net::TcpListener;

use tracker_review::{run, Baseline, ChangeSetSource, Options};

#[test]
fn offline_reviews_make_no_network_call() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // A process of its own (an integration test binary): no other test reads these.
    for key in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_CLOUDFORMATION",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    ] {
        std::env::set_var(key, &endpoint);
    }
    std::env::set_var("AWS_REGION", "eu-west-1");

    let dir = tempfile::tempdir().unwrap();
    let template = |size: u32| {
        serde_json::json!({"Resources": {"Vol": {"Type": "AWS::EC2::Volume",
            "Properties": {"AvailabilityZone": "eu-west-1a", "Size": size}}}})
        .to_string()
    };
    std::fs::write(dir.path().join("old.json"), template(50)).unwrap();
    std::fs::write(dir.path().join("new.json"), template(60)).unwrap();
    std::fs::write(
        dir.path().join("cs.json"),
        r#"{"ChangeSetName": "cs", "StackName": "S", "Status": "CREATE_COMPLETE",
            "Changes": [{"Type": "Resource", "ResourceChange": {"Action": "Modify",
              "LogicalResourceId": "Vol", "ResourceType": "AWS::EC2::Volume",
              "Replacement": "False"}}]}"#,
    )
    .unwrap();
    let options = |change_set: Option<ChangeSetSource>| Options {
        stack: "S".into(),
        baseline: Some(Baseline::Path("old.json".into())),
        template: Some("new.json".into()),
        change_set,
        region: None,
        root: dir.path().to_path_buf(),
    };
    let templates = run(&options(None)).unwrap();
    assert_eq!(templates.changes.len(), 1);
    let change_set = run(&options(Some(ChangeSetSource::File("cs.json".into())))).unwrap();
    assert_eq!(change_set.changes.len(), 1);

    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("an offline review connected to {endpoint}: {other:?}"),
    }
}
