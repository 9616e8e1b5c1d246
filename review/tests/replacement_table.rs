//! The committed replacement table is what the installed cfn-lint generates.

use tracker_review::spec::{self, Table, SCHEMA_GAPS};

#[test]
fn committed_table_matches_installed_cfn_lint() {
    let venv = spec::workspace_venv();
    let generated = match spec::generate_table(&venv) {
        Ok(t) => t,
        Err(e) => panic!(
            "cannot regenerate the replacement table: {e}\n(run `make setup` to install the pinned cfn-lint into .venv)"
        ),
    };
    let committed = std::fs::read_to_string(spec::table_path()).expect("committed table");
    assert!(
        generated == committed,
        "review/data/create-only-properties.json differs from what the installed cfn-lint \
         generates: run `cargo run -p tracker-review --example write-replacement-table`, review \
         the diff and commit it"
    );
    assert_eq!(
        committed,
        spec::TABLE_JSON,
        "the embedded copy is stale: rebuild"
    );
}

#[test]
fn schema_gaps_are_still_gaps() {
    let raw = Table::parse(spec::TABLE_JSON).unwrap();
    for (type_, paths, _) in SCHEMA_GAPS {
        let have = raw.create_only_strings(type_);
        for p in *paths {
            assert!(
                !have.iter().any(|h| h == p || h == "*"),
                "{type_}.{p} is create-only in cfn-lint's schema now: drop it from SCHEMA_GAPS"
            );
        }
    }
}

#[test]
fn table_knows_nested_and_whole_type_replacements() {
    let t = Table::get();
    assert!(t.cfn_lint.starts_with('1'), "{}", t.cfn_lint);
    let inst = t.create_only_strings("AWS::EC2::Instance");
    assert!(inst.contains(&"AvailabilityZone".to_string()));
    assert!(inst.contains(&"ImageId".to_string()));
    assert!(!inst.contains(&"InstanceType".to_string()));
    // The overlay applies.
    assert!(t
        .create_only_strings("AWS::EC2::Volume")
        .contains(&"AvailabilityZone".to_string()));
    assert!(t.create_only("Custom::Thing").is_none());
    // Nested paths survive.
    let any_nested = [
        "AWS::MSK::Channel",
        "AWS::EC2::LaunchTemplate",
        "AWS::ECS::TaskDefinition",
    ]
    .iter()
    .any(|ty| t.create_only_strings(ty).iter().any(|p| p.contains('/')));
    assert!(any_nested);
}

#[test]
fn committed_policy_table_matches_installed_cfn_lint() {
    let venv = spec::workspace_venv();
    let generated = spec::generate_policy_table(&venv)
        .unwrap_or_else(|e| panic!("cannot regenerate the policy table: {e}\n(run `make setup`)"));
    let committed = std::fs::read_to_string(spec::policy_table_path()).expect("committed table");
    assert!(
        generated == committed,
        "review/data/policy-properties.json differs from what the installed cfn-lint generates: \
         run `cargo run -p tracker-review --example write-replacement-table`, review the diff and \
         commit it"
    );
    assert_eq!(
        committed,
        spec::POLICY_JSON,
        "the embedded copy is stale: rebuild"
    );
}

#[test]
fn policy_table_covers_identity_trust_and_resource_policies_and_nothing_else() {
    let has = |t: &str, p: &str| spec::policy_properties(t).iter().any(|x| x.join("/") == p);
    // Identity, trust, and resource policies of every kind, nested ones too.
    for (t, p) in [
        ("AWS::IAM::ManagedPolicy", "PolicyDocument"),
        ("AWS::IAM::Role", "AssumeRolePolicyDocument"),
        ("AWS::IAM::Role", "Policies/*/PolicyDocument"),
        ("AWS::KMS::Key", "KeyPolicy"),
        ("AWS::EFS::FileSystem", "FileSystemPolicy"),
        ("AWS::Backup::BackupVault", "AccessPolicy"),
        ("AWS::DynamoDB::Table", "ResourcePolicy/PolicyDocument"),
        ("AWS::S3::BucketPolicy", "PolicyDocument"),
        ("AWS::ECR::Repository", "RepositoryPolicyText"),
    ] {
        assert!(has(t, p), "{t} {p} missing");
    }
    // JSON documents named "...Policy" that grant nothing are left out.
    assert!(!has("AWS::SNS::Subscription", "FilterPolicy"));
    assert!(!has("AWS::SQS::Queue", "RedriveAllowPolicy"));
    assert!(!has("AWS::NetworkManager::CoreNetwork", "PolicyDocument"));
    let all = spec::policy_table();
    let types: std::collections::BTreeSet<&String> = all.iter().map(|(t, _)| t).collect();
    assert!(
        types.len() > 60 && all.len() > 70,
        "{} types, {}",
        types.len(),
        all.len()
    );
}
