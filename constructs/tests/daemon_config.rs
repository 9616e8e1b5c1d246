//! The rendered configuration files, read by the real daemons' own checks (Debian packages
//! installed by `make test-packages`): `patroni --validate-config` on a node's Patroni YAML, and
//! pgBackRest parsing its INI (any option it does not know is a warning, turned into a failure
//! here). The data-plane suite (`test/`) runs the daemons themselves.

use std::process::Command;

use tracker_constructs::hostconfig::HostFile;
use tracker_constructs::patroni::{
    cluster_name, render_node_files, NodeConfig, PatroniClusterProps, PATRONI_CONFIG,
    PGBACKREST_CONFIG,
};

fn node_files() -> (String, Vec<HostFile>) {
    let p = PatroniClusterProps::new(
        [("eu-west-1", "ami-0123456789abcdef0")],
        ["10.0.16.10", "10.0.32.10", "10.0.48.10"],
    );
    let scope = cluster_name("production", "Database");
    let files = render_node_files(&NodeConfig {
        scope: &scope,
        index: 0,
        props: &p,
    });
    (scope, files)
}

fn content(files: &[HostFile], path: &str) -> String {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .content
        .clone()
}

fn tool(name: &str) -> Command {
    if Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        panic!(
            "`{name}` is missing: install the Debian test packages (`make test-packages`, which \
             `make test` runs)"
        );
    }
    Command::new(name)
}

/// The one substitution this machine needs: PostgreSQL's binaries are those of the installed
/// major (the validator checks that `bin_dir` exists), not 17's.
fn local_bin_dir() -> String {
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("postgres").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.pop()
        .unwrap_or_else(|| {
            panic!(
                "no /usr/lib/postgresql/<major>/bin/postgres: install the Debian test packages \
                 (`make test-packages`, which `make test` runs)"
            )
        })
        .to_string_lossy()
        .into_owned()
}

#[test]
fn patroni_validates_the_rendered_configuration() {
    let (_, files) = node_files();
    let yaml =
        content(&files, PATRONI_CONFIG).replace("/usr/lib/postgresql/17/bin", &local_bin_dir());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, yaml).unwrap();
    let mut cmd = tool("patroni");
    // The passwords come from the environment, as from /etc/patroni/secrets.env on a node.
    for kind in ["SUPERUSER", "REPLICATION", "REWIND", "RESTAPI"] {
        cmd.env(format!("PATRONI_{kind}_PASSWORD"), "test-password");
    }
    let out = cmd.arg("--validate-config").arg(&path).output().unwrap();
    assert!(
        out.status.success(),
        "patroni --validate-config rejects the rendered configuration:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pgbackrest_knows_every_option_of_the_rendered_configuration() {
    let (scope, files) = node_files();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("pgbackrest.conf");
    std::fs::write(&conf, content(&files, PGBACKREST_CONFIG)).unwrap();
    let include = dir.path().join("conf.d");
    std::fs::create_dir(&include).unwrap();
    // What the boot script writes to conf.d/repo.conf, pointed at a closed local port: `info`
    // parses the configuration, then fails to reach the repository (expected).
    std::fs::write(
        include.join("repo.conf"),
        "[global]\nrepo1-s3-bucket=backups\nrepo1-s3-region=eu-west-1\n\
         repo1-s3-endpoint=127.0.0.1\nrepo1-storage-port=1\nrepo1-s3-uri-style=path\n\
         repo1-s3-key-type=shared\nrepo1-s3-key=test\nrepo1-s3-key-secret=test\n",
    )
    .unwrap();
    let out = tool("pgbackrest")
        .arg(format!("--config={}", conf.display()))
        .arg(format!("--config-include-path={}", include.display()))
        .arg(format!("--log-path={}", dir.path().display()))
        .args([&format!("--stanza={scope}"), "--io-timeout=1", "info"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("stanza: {scope}")) && !text.contains("invalid option"),
        "pgBackRest did not accept the rendered configuration:\n{text}"
    );
}
