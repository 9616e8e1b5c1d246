//! Host configuration as data: the files the data-plane hosts (`PatroniCluster` nodes, the
//! `StagingDataHost`) run from, rendered from typed values with real serializers, and the shell
//! steps as script files of this crate (`constructs/scripts/*.sh`, included at compile time).
//!
//! - [`HostFile`]: one file of a host (path, mode, owner, content).
//! - [`fill`]: the one substitution of a script's named placeholders (`@@NAME@@`). It fails on a
//!   placeholder left unfilled and on a value given for no placeholder.
//! - Serializers: YAML ([`to_yaml`], Patroni and etcd), INI ([`Ini`], pgBackRest and systemd
//!   units), Valkey's `directive value` lines ([`ValkeyConfig`]), cron ([`CronEntry`]),
//!   `KEY='value'` environment files ([`env_file`]), `pg_hba` entries ([`HbaRule`]) and
//!   PostgreSQL parameters ([`PgValue`]).
//! - [`user_data_script`]: the bash user data that writes a host's files and runs its boot script.
//!
//! Why a bash script and not cloud-init's `#cloud-config` `write_files`: most files belong to
//! users (`postgres`, `etcd`, `valkey`) that only exist once the packages are installed, from
//! repositories the boot script adds, and `write_files` (even `defer: true`) runs before that;
//! the script writes every file as root with its mode and the boot script applies the owners
//! ([`OWNERS_FILE`]) after `apt-get`. A script is also what shellcheck can check, and it can carry
//! the files gzip-compressed (EC2 takes 16 KB of user data) while the one file with
//! CloudFormation values stays plain text.
//!
//! Deploy-time values (volume ids, the bucket, secret ARNs, the region) appear in exactly one
//! file, the host's environment file ([`ENV_FILE`]), as `@@NAME@@` placeholders that the
//! constructs replace with CloudFormation values (`Fn::Join`); every other file is plain text
//! known at synthesis. Passwords are never rendered: the boot scripts read them from Secrets
//! Manager at boot into files of mode 0600.

use std::collections::BTreeSet;
use std::fmt;

use cdk_from_rust::aws_cdk_lib::Fn;
use cdk_from_rust::JsString;
use serde::{Serialize, Serializer};

/// The host's environment file: the deploy-time values (CloudFormation tokens), written first by
/// the user data and read by the boot scripts (`. /etc/tracker/dataplane.env`).
pub const ENV_FILE: &str = "/etc/tracker/dataplane.env";
/// The owners manifest (`owner path` per line), applied by the boot script once the packages
/// have created the users (`postgres`, `etcd`, `valkey`).
pub const OWNERS_FILE: &str = "/etc/tracker/owners";
/// Where the scripts are installed.
pub const SCRIPT_DIR: &str = "/usr/local/lib/tracker";
/// EC2's limit on raw user data, bytes.
pub const USER_DATA_LIMIT: usize = 16 * 1024;

/// One file of a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFile {
    /// Absolute path on the host, e.g. `/etc/patroni/config.yml`.
    pub path: String,
    /// The file mode, e.g. `0o600`.
    pub mode: u32,
    /// `user:group`, e.g. `postgres:postgres`.
    pub owner: String,
    /// The rendered text. Only [`ENV_FILE`] has placeholders (`@@NAME@@`, deploy-time values).
    pub content: String,
}

impl HostFile {
    pub fn new(
        path: impl Into<String>,
        mode: u32,
        owner: impl Into<String>,
        content: impl Into<String>,
    ) -> HostFile {
        HostFile {
            path: path.into(),
            mode,
            owner: owner.into(),
            content: content.into(),
        }
    }

    /// A script of this crate, installed executable (0755, root) under [`SCRIPT_DIR`].
    pub fn script(name: &str, content: String) -> HostFile {
        HostFile::new(format!("{SCRIPT_DIR}/{name}"), 0o755, "root:root", content)
    }
}

/// A script's placeholders did not match the values given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{template}: placeholder(s) left unfilled: [{}]; value(s) given for no placeholder: [{}]",
    unfilled.join(", "),
    unused.join(", ")
)]
pub struct FillError {
    pub template: String,
    pub unfilled: Vec<String>,
    pub unused: Vec<String>,
}

/// The names of the `@@NAME@@` placeholders in `text` (`NAME`: `A-Z`, `0-9`, `_`).
pub fn placeholders(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("@@") {
        let after = &rest[start + 2..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        if len > 0 && after[len..].starts_with("@@") {
            found.insert(after[..len].to_string());
            rest = &after[len + 2..];
        } else {
            rest = after;
        }
    }
    found
}

/// Replaces every `@@NAME@@` of `template` (named `name` in errors) with its value. Fails when a
/// placeholder has no value or a value has no placeholder (both reported at once).
pub fn fill(name: &str, template: &str, values: &[(&str, String)]) -> Result<String, FillError> {
    let present = placeholders(template);
    let given: BTreeSet<String> = values.iter().map(|(k, _)| k.to_string()).collect();
    let unfilled: Vec<String> = present.difference(&given).cloned().collect();
    let unused: Vec<String> = given.difference(&present).cloned().collect();
    if !unfilled.is_empty() || !unused.is_empty() {
        return Err(FillError {
            template: name.to_string(),
            unfilled,
            unused,
        });
    }
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("@@{k}@@"), v);
    }
    Ok(out)
}

/// [`fill`] for the crate's own scripts, whose placeholders are fixed at compile time: a
/// mismatch is a bug of this crate (the unit tests render every script), not bad input.
pub(crate) fn fill_script(name: &str, template: &str, values: &[(&str, String)]) -> String {
    fill(name, template, values).unwrap_or_else(|e| panic!("{e}"))
}

/// Serializes `value` as YAML (Patroni's configuration, etcd's `--config-file`), after a comment
/// line saying where it came from.
pub fn to_yaml<T: Serialize>(header: &str, value: &T) -> String {
    let body = serde_yaml_ng::to_string(value).expect("configuration types serialize to YAML");
    format!("# {header}\n{body}")
}

/// An INI file: `[section]` and `key<sep>value` lines (pgBackRest uses `=`, systemd `=`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ini {
    pub header: String,
    pub sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    pub fn new(header: impl Into<String>) -> Ini {
        Ini {
            header: header.into(),
            sections: Vec::new(),
        }
    }

    /// Adds a section with its entries, in order (a key may repeat, as systemd allows).
    pub fn section<K: Into<String>, V: ToString>(
        mut self,
        name: impl Into<String>,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Ini {
        self.sections.push((
            name.into(),
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.to_string()))
                .collect(),
        ));
        self
    }
}

impl fmt::Display for Ini {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# {}", self.header)?;
        for (i, (name, entries)) in self.sections.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "[{name}]")?;
            for (k, v) in entries {
                writeln!(f, "{k}={v}")?;
            }
        }
        Ok(())
    }
}

/// A PostgreSQL parameter value. In YAML a boolean is a YAML boolean (`true`/`false`: YAML 1.1
/// readers such as Patroni's would read a bare `on` as one anyway, and PostgreSQL accepts
/// `true`); in `postgresql.conf` it is `on`/`off`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgValue {
    Bool(bool),
    Int(i64),
    Str(String),
}

impl Serialize for PgValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PgValue::Bool(b) => s.serialize_bool(*b),
            PgValue::Int(i) => s.serialize_i64(*i),
            PgValue::Str(v) => s.serialize_str(v),
        }
    }
}

impl fmt::Display for PgValue {
    /// The `postgresql.conf` form: `on`, `42`, `'text'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgValue::Bool(b) => f.write_str(if *b { "on" } else { "off" }),
            PgValue::Int(i) => write!(f, "{i}"),
            PgValue::Str(v) => write!(f, "'{}'", v.replace('\'', "''")),
        }
    }
}

impl From<bool> for PgValue {
    fn from(b: bool) -> Self {
        PgValue::Bool(b)
    }
}
impl From<i64> for PgValue {
    fn from(i: i64) -> Self {
        PgValue::Int(i)
    }
}
impl From<u32> for PgValue {
    fn from(i: u32) -> Self {
        PgValue::Int(i64::from(i))
    }
}
impl From<&str> for PgValue {
    fn from(v: &str) -> Self {
        PgValue::Str(v.to_string())
    }
}
impl From<String> for PgValue {
    fn from(v: String) -> Self {
        PgValue::Str(v)
    }
}

/// `postgresql.conf` lines (`name = value`) of typed parameters.
pub fn postgresql_conf(header: &str, params: &[(&str, PgValue)]) -> String {
    let mut out = format!("# {header}\n");
    for (k, v) in params {
        out.push_str(&format!("{k} = {v}\n"));
    }
    out
}

/// The connection type of a `pg_hba` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HbaType {
    Local,
    Host,
    HostSsl,
    HostNoSsl,
}

/// One `pg_hba.conf` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HbaRule {
    pub kind: HbaType,
    pub database: String,
    pub user: String,
    /// CIDR; `None` for `local`.
    pub address: Option<String>,
    /// `peer`, `scram-sha-256`, `reject`, ...
    pub method: String,
}

impl HbaRule {
    pub fn local(database: &str, user: &str, method: &str) -> HbaRule {
        HbaRule {
            kind: HbaType::Local,
            database: database.into(),
            user: user.into(),
            address: None,
            method: method.into(),
        }
    }

    pub fn network(kind: HbaType, database: &str, user: &str, cidr: &str, method: &str) -> HbaRule {
        HbaRule {
            kind,
            database: database.into(),
            user: user.into(),
            address: Some(cidr.into()),
            method: method.into(),
        }
    }
}

impl fmt::Display for HbaRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            HbaType::Local => "local",
            HbaType::Host => "host",
            HbaType::HostSsl => "hostssl",
            HbaType::HostNoSsl => "hostnossl",
        };
        write!(f, "{kind} {} {}", self.database, self.user)?;
        if let Some(a) = &self.address {
            write!(f, " {a}")?;
        }
        write!(f, " {}", self.method)
    }
}

impl Serialize for HbaRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The `pg_hba` rules both data planes use over the network: TLS required (`hostssl`) with
/// SCRAM for `replication_users` (from `replication_cidrs`) and for every database and user from
/// anywhere the security group lets in, and any connection without TLS refused.
pub fn tls_only_hba(replication_cidrs: &[String], replication_user: Option<&str>) -> Vec<HbaRule> {
    let mut rules = vec![HbaRule::local("all", "all", "peer")];
    if let Some(user) = replication_user {
        for cidr in replication_cidrs {
            rules.push(HbaRule::network(
                HbaType::HostSsl,
                "replication",
                user,
                cidr,
                "scram-sha-256",
            ));
        }
    }
    rules.push(HbaRule::network(
        HbaType::HostSsl,
        "all",
        "all",
        "0.0.0.0/0",
        "scram-sha-256",
    ));
    rules.push(HbaRule::network(
        HbaType::HostNoSsl,
        "all",
        "all",
        "0.0.0.0/0",
        "reject",
    ));
    rules
}

/// Valkey's configuration (`directive value` lines; Redis 7 reads the same directives).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValkeyConfig {
    pub port: u16,
    pub protected_mode: bool,
    pub dir: String,
    pub appendonly: bool,
    pub maxmemory_policy: String,
    /// Files included last (their directives win): the boot-time part (`bind` to the host's
    /// address, `requirepass`, `maxmemory`), written at boot with the password.
    pub includes: Vec<String>,
}

impl fmt::Display for ValkeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        writeln!(
            f,
            "# Valkey, rendered by tracker-constructs (hostconfig.rs)"
        )?;
        writeln!(f, "port {}", self.port)?;
        writeln!(f, "protected-mode {}", yes(self.protected_mode))?;
        writeln!(f, "dir {}", self.dir)?;
        writeln!(f, "appendonly {}", yes(self.appendonly))?;
        writeln!(f, "maxmemory-policy {}", self.maxmemory_policy)?;
        for i in &self.includes {
            writeln!(f, "include {i}")?;
        }
        Ok(())
    }
}

/// One `/etc/cron.d` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronEntry {
    /// 5 fields, e.g. `0 1 * * *`.
    pub schedule: String,
    pub user: String,
    pub command: String,
}

impl fmt::Display for CronEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# rendered by tracker-constructs (hostconfig.rs)")?;
        writeln!(f, "SHELL=/bin/bash")?;
        writeln!(
            f,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        )?;
        writeln!(f, "{} {} {}", self.schedule, self.user, self.command)
    }
}

/// `KEY='value'` lines, readable by bash (`.`) and by systemd's `EnvironmentFile=`.
pub fn env_file(header: &str, vars: &[(&str, String)]) -> String {
    let mut out = format!("# {header}\n");
    for (k, v) in vars {
        out.push_str(&format!("{k}='{v}'\n"));
    }
    out
}

/// The owners manifest ([`OWNERS_FILE`]): `owner path` for each file not owned by root.
pub fn owners_manifest(files: &[HostFile]) -> HostFile {
    let mut text =
        String::from("# owner path: applied by the boot script once the packages are installed\n");
    for f in files.iter().filter(|f| f.owner != "root:root") {
        text.push_str(&format!("{} {}\n", f.owner, f.path));
    }
    HostFile::new(OWNERS_FILE, 0o644, "root:root", text)
}

/// The heredoc delimiter of the file-writing scripts; no rendered file may contain it as a line.
const EOF_MARK: &str = "TRACKER_FILE_EOF";
/// Where the user data unpacks the script that writes the other files.
pub const FILES_SCRIPT: &str = "/run/tracker-write-files.sh";

/// A bash script writing `files`: directories (0755), then each file through a quoted heredoc
/// (nothing is expanded) with its mode. Owners are applied later by the boot script, from
/// [`OWNERS_FILE`], once the packages have created the users.
pub fn write_files_script(files: &[HostFile]) -> String {
    let mut out = String::from(
        "#!/bin/bash\n# Writes the host's files (rendered by tracker-constructs).\nset -euo pipefail\n",
    );
    let dirs: BTreeSet<&str> = files
        .iter()
        .filter_map(|f| f.path.rsplit_once('/').map(|(d, _)| d))
        .filter(|d| !d.is_empty())
        .collect();
    if !dirs.is_empty() {
        out.push_str(&format!(
            "mkdir -p {}\n",
            dirs.into_iter().collect::<Vec<_>>().join(" ")
        ));
    }
    for f in files {
        assert!(
            !f.content.lines().any(|l| l == EOF_MARK),
            "{} contains the heredoc delimiter line {EOF_MARK}",
            f.path
        );
        let newline = if f.content.ends_with('\n') { "" } else { "\n" };
        out.push_str(&format!(
            "install -m {:o} /dev/null {path}\ncat > {path} <<'{EOF_MARK}'\n{}{newline}{EOF_MARK}\n",
            f.mode,
            f.content,
            path = f.path
        ));
    }
    out
}

/// gzip (no name, no time stamp: deterministic) then base64 in lines of 76.
fn gzip_base64(text: &str) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    gz.write_all(text.as_bytes()).expect("in memory");
    let bytes = gz.finish().expect("in memory");
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).expect("base64 is ASCII")))
        .collect()
}

/// The bash user data of a host: writes the files that carry deploy-time placeholders in plain
/// text (the environment file), then unpacks and runs [`write_files_script`] of the others,
/// gzip-compressed and base64-encoded (EC2 takes at most 16 KB of user data; the plain text of a
/// node's files is larger), then runs `entry`. The placeholders stay for the caller to join with
/// CloudFormation values ([`join_tokens`]). Deterministic: same files, same bytes.
pub fn user_data_script(title: &str, files: &[HostFile], entry: &str) -> String {
    let (plain, packed): (Vec<HostFile>, Vec<HostFile>) = files
        .iter()
        .cloned()
        .partition(|f| !placeholders(&f.content).is_empty());
    let listing: String = packed
        .iter()
        .map(|f| format!("#   {} ({:o} {})\n", f.path, f.mode, f.owner))
        .collect();
    let plain_script = write_files_script(&plain);
    let plain_body = plain_script
        .split_once("set -euo pipefail\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    format!(
        "#!/bin/bash\n# {title}: first boot. Rendered by tracker-constructs (hostconfig.rs).\n\
         set -euo pipefail\numask 022\n{plain_body}\
         # The other files, written by a gzip-compressed, base64-encoded script:\n{listing}\
         base64 -d <<'TRACKER_PAYLOAD' | gunzip > {FILES_SCRIPT}\n{payload}TRACKER_PAYLOAD\n\
         bash {FILES_SCRIPT}\nexec {entry}\n",
        payload = gzip_base64(&write_files_script(&packed)),
    )
}

/// Splits `text` at the `@@NAME@@` placeholders named in `values` and joins the parts with the
/// CloudFormation values (`Fn::Join`): how the environment file gets its deploy-time values.
/// Every placeholder of `text` must have a value and every value a placeholder (else panics:
/// the names are this crate's constants).
pub fn join_tokens(text: &str, values: &[(&str, JsString)]) -> JsString {
    let names: Vec<(&str, String)> = values.iter().map(|(n, _)| (*n, String::new())).collect();
    fill_script("user data", text, &names);
    let mut parts: Vec<JsString> = Vec::new();
    let mut rest = text;
    loop {
        let next = values
            .iter()
            .filter_map(|(name, v)| rest.find(&format!("@@{name}@@")).map(|at| (at, *name, v)))
            .min_by_key(|(at, _, _)| *at);
        match next {
            Some((at, name, value)) => {
                parts.push(rest[..at].into());
                parts.push(value.clone());
                rest = &rest[at + name.len() + 4..];
            }
            None => {
                parts.push(rest.into());
                break;
            }
        }
    }
    Fn::join("", parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_placeholder() {
        let out = fill(
            "t.sh",
            "a=@@A@@ b=@@B_2@@ again @@A@@ and @@not one@@ @@",
            &[("A", "1".into()), ("B_2", "two".into())],
        )
        .unwrap();
        assert_eq!(out, "a=1 b=two again 1 and @@not one@@ @@");
    }

    #[test]
    fn fill_fails_on_unfilled_and_unused_together() {
        let err = fill(
            "t.sh",
            "@@A@@ @@C@@",
            &[("A", "1".into()), ("B", "2".into())],
        )
        .unwrap_err();
        assert_eq!(err.unfilled, ["C"]);
        assert_eq!(err.unused, ["B"]);
        assert_eq!(
            err.to_string(),
            "t.sh: placeholder(s) left unfilled: [C]; value(s) given for no placeholder: [B]"
        );
    }

    #[test]
    fn pg_values_are_typed_in_yaml_and_in_postgresql_conf() {
        let yaml = to_yaml(
            "t",
            &std::collections::BTreeMap::from([
                ("a", PgValue::Bool(true)),
                ("b", PgValue::Int(5)),
                ("c", PgValue::from("x y")),
            ]),
        );
        assert_eq!(yaml, "# t\na: true\nb: 5\nc: x y\n");
        assert_eq!(
            postgresql_conf("t", &[("ssl", true.into()), ("f", "it's".into())]),
            "# t\nssl = on\nf = 'it''s'\n"
        );
    }

    #[test]
    fn hba_rules_render_as_pg_hba_lines() {
        let rules = tls_only_hba(&["10.0.0.1/32".into()], Some("replicator"));
        let lines: Vec<String> = rules.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "local all all peer",
                "hostssl replication replicator 10.0.0.1/32 scram-sha-256",
                "hostssl all all 0.0.0.0/0 scram-sha-256",
                "hostnossl all all 0.0.0.0/0 reject",
            ]
        );
    }

    #[test]
    fn user_data_writes_each_file_then_runs_the_entry() {
        let files = [
            HostFile::new("/etc/a/env", 0o600, "root:root", "X='@@X@@'\n"),
            HostFile::new("/etc/a/x.conf", 0o640, "root:postgres", "x=1"),
            HostFile::new(
                "/usr/local/lib/tracker/run.sh",
                0o755,
                "root:root",
                "echo $HOME\n",
            ),
        ];
        let text = user_data_script("Test", &files, "/usr/local/lib/tracker/run.sh");
        assert!(text.starts_with("#!/bin/bash\n"));
        // The file with a placeholder in plain text, first.
        assert!(text.contains(
            "mkdir -p /etc/a\ninstall -m 600 /dev/null /etc/a/env\ncat > /etc/a/env <<'TRACKER_FILE_EOF'\nX='@@X@@'\nTRACKER_FILE_EOF\n"
        ));
        assert!(text.contains("#   /etc/a/x.conf (640 root:postgres)\n"));
        assert!(text
            .ends_with("bash /run/tracker-write-files.sh\nexec /usr/local/lib/tracker/run.sh\n"));
        assert_eq!(
            text,
            user_data_script("Test", &files, "/usr/local/lib/tracker/run.sh")
        );
        // The packed part decodes to the script writing the other two files.
        use base64::Engine;
        use std::io::Read;
        let b64: String = text
            .split("<<'TRACKER_PAYLOAD' | gunzip > /run/tracker-write-files.sh\n")
            .nth(1)
            .and_then(|rest| rest.split("TRACKER_PAYLOAD\n").next())
            .unwrap()
            .replace('\n', "");
        let gz = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let mut inner = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut inner)
            .unwrap();
        assert_eq!(inner, write_files_script(&files[1..]));
        assert!(inner.contains(
            "install -m 640 /dev/null /etc/a/x.conf\ncat > /etc/a/x.conf <<'TRACKER_FILE_EOF'\nx=1\nTRACKER_FILE_EOF\n"
        ));
    }
}
