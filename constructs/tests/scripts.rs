//! The data plane's scripts and user data: shellcheck clean, and under EC2's user-data limit.
//!
//! Runs `shellcheck` (Debian package, installed by `make test-packages`) on every script the
//! constructs render (`*.sh` host files of a production node and of the staging host) and on the
//! assembled bash user data, at shellcheck's default severity.

use std::path::Path;
use std::process::Command;

use tracker_constructs::hostconfig::{self, HostFile, USER_DATA_LIMIT};
use tracker_constructs::patroni::{
    self, render_node_files, render_node_user_data, NodeConfig, PatroniClusterProps,
    NODE_ENV_INPUTS,
};
use tracker_constructs::staging_data_host::{
    render_host_files, render_user_data, StagingDataHostProps, UserDataSettings, USER_DATA_INPUTS,
};

fn props() -> PatroniClusterProps {
    PatroniClusterProps::new(
        [("eu-west-1", "ami-0123456789abcdef0")],
        ["10.0.16.10", "10.0.32.10", "10.0.48.10"],
    )
}

fn staging() -> UserDataSettings {
    UserDataSettings::from(&StagingDataHostProps::new(
        "eu-west-1",
        "ami-0123456789abcdef0",
    ))
}

/// The longest plausible deploy-time value of each input (what CloudFormation joins in).
fn sample(name: &str) -> String {
    match name {
        "AWS_REGION" => "ap-southeast-2".into(),
        "AWS_URL_SUFFIX" => "amazonaws.com".into(),
        n if n.ends_with("VOLUME_ID") => "vol-0123456789abcdef0".into(),
        "BACKUP_BUCKET" => {
            "trackerproduction-databasebackups0123456789-abcdefghijkl".into()
        }
        n if n.ends_with("SECRET_ARN") => format!(
            "arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:Database{}Secret0123ABCD-AbCdEf",
            n.replace('_', "")
        ),
        other => panic!("no sample for {other}"),
    }
}

fn deployed(text: &str, inputs: &[&str]) -> String {
    let values: Vec<(&str, String)> = inputs.iter().map(|n| (*n, sample(n))).collect();
    hostconfig::fill("user data", text, &values).unwrap()
}

fn node_user_data(index: usize) -> String {
    let p = props();
    deployed(
        &render_node_user_data(&NodeConfig {
            scope: &patroni::cluster_name("production", "Database"),
            index,
            props: &p,
        }),
        &NODE_ENV_INPUTS,
    )
}

fn staging_user_data() -> String {
    deployed(&render_user_data(&staging()), &USER_DATA_INPUTS)
}

/// Runs shellcheck on `files` (written side by side, so `source=lib.sh` resolves); panics with
/// its findings.
fn shellcheck(files: &[(String, String)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        paths.push(path);
    }
    let out = Command::new("shellcheck")
        .args(["-x", "-P", "SCRIPTDIR", "--format=gcc"])
        .args(&paths)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `shellcheck` ({e}): install the Debian package shellcheck \
                 (`make test-packages`, which `make test` runs)"
            )
        });
    assert!(
        out.status.success(),
        "shellcheck found problems in the rendered scripts:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scripts(files: &[HostFile]) -> Vec<(String, String)> {
    files
        .iter()
        .filter(|f| f.path.ends_with(".sh"))
        .map(|f| {
            let name = Path::new(&f.path).file_name().unwrap().to_string_lossy();
            (name.into_owned(), f.content.clone())
        })
        .collect()
}

#[test]
fn every_rendered_script_passes_shellcheck() {
    let p = props();
    let mut all = scripts(&render_node_files(&NodeConfig {
        scope: "production-database",
        index: 0,
        props: &p,
    }));
    for (name, content) in scripts(&render_host_files(&staging())) {
        if !all.iter().any(|(n, _)| *n == name) {
            all.push((name, content));
        }
    }
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "lib.sh",
            "make-cert.sh",
            "app-database.sh",
            "patroni-boot.sh",
            "patroni-post-bootstrap.sh",
            "pgbackrest-backup.sh",
            "patroni-metrics.sh",
            "staging-boot.sh",
        ]
    );
    shellcheck(&all);
}

#[test]
fn assembled_user_data_passes_shellcheck() {
    let p = props();
    let node = render_node_files(&NodeConfig {
        scope: "production-database",
        index: 0,
        props: &p,
    });
    shellcheck(&[
        ("node-a-user-data.sh".into(), node_user_data(0)),
        ("staging-user-data.sh".into(), staging_user_data()),
        // The scripts the user data unpacks and runs (compressed in the user data).
        (
            "node-a-write-files.sh".into(),
            hostconfig::write_files_script(&node),
        ),
        (
            "staging-write-files.sh".into(),
            hostconfig::write_files_script(&render_host_files(&staging())),
        ),
    ]);
}

#[test]
fn shellcheck_reports_a_finding() {
    // The check above can fail: an unquoted variable is a finding at the default severity.
    let out = Command::new("shellcheck")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"#!/bin/bash\nrm $1\n")?;
            c.wait_with_output()
        })
        .expect("shellcheck runs");
    assert!(!out.status.success());
}

#[test]
fn user_data_stays_under_the_ec2_limit() {
    let sizes = [
        ("PatroniCluster NodeA", node_user_data(0).len()),
        ("PatroniCluster NodeC", node_user_data(2).len()),
        ("StagingDataHost", staging_user_data().len()),
    ];
    for (what, size) in sizes {
        println!("{what}: {size} bytes of user data (limit {USER_DATA_LIMIT})");
        assert!(
            size < USER_DATA_LIMIT,
            "{what}: {size} bytes of user data, over EC2's {USER_DATA_LIMIT}"
        );
    }
}

#[test]
fn make_cert_makes_a_key_only_its_owner_reads_and_keeps_it() {
    use std::os::unix::fs::PermissionsExt;
    let p = props();
    let files = render_node_files(&NodeConfig {
        scope: "production-database",
        index: 0,
        props: &p,
    });
    let script = files
        .iter()
        .find(|f| f.path.ends_with("/make-cert.sh"))
        .expect("make-cert.sh")
        .content
        .clone();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("make-cert.sh");
    std::fs::write(&path, script).unwrap();
    let me = |flag: &str| {
        let out = Command::new("id").arg(flag).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let owner = format!("{}:{}", me("-un"), me("-gn"));
    let dir = work.path().join("tls");
    let run = || {
        let out = Command::new("bash")
            .arg(&path)
            .arg(&dir)
            .arg(&owner)
            .arg("db.test")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make-cert.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run();
    let key = dir.join("server.key");
    let crt = dir.join("server.crt");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&crt), 0o644);
    assert_eq!(mode(&dir), 0o700);
    let subject = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(&crt)
        .output()
        .expect("openssl");
    assert!(
        String::from_utf8_lossy(&subject.stdout).contains("CN = db.test"),
        "{}",
        String::from_utf8_lossy(&subject.stdout)
    );
    // A second boot keeps the pair.
    let before = std::fs::read(&key).unwrap();
    run();
    assert_eq!(std::fs::read(&key).unwrap(), before);
}
