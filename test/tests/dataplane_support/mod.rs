//! Process machinery of the data-plane suite (`tests/dataplane.rs`): daemons in their own process
//! groups, stopped (with the PostgreSQL postmasters Patroni detaches) by a guard on drop, also when
//! an assertion fails; bounded waits with clear messages; a minimal HTTP status probe; psql.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The binaries the suite runs, with the Debian package each comes from.
pub const REQUIRED_BINARIES: [(&str, &str); 11] = [
    ("/usr/lib/postgresql/15/bin/postgres", "postgresql-15"),
    ("/usr/lib/postgresql/15/bin/pg_ctl", "postgresql-15"),
    (
        "/usr/share/postgresql/15/extension/postgis.control",
        "postgresql-15-postgis-3",
    ),
    ("/usr/bin/patroni", "patroni"),
    ("/usr/bin/etcd", "etcd-server"),
    ("/usr/bin/etcdctl", "etcd-client"),
    ("/usr/bin/pgbackrest", "pgbackrest"),
    ("/usr/bin/redis-server", "redis-server"),
    ("/usr/bin/redis-cli", "redis-tools (with redis-server)"),
    ("/usr/bin/stunnel4", "stunnel4"),
    ("/usr/bin/openssl", "openssl"),
];

/// Fails (never skips) when a daemon or tool is missing or the suite is not root.
/// `venv_moto`: moto's server in the project venv, when the test needs S3.
pub fn require_environment(venv_moto: Option<&Path>) {
    let mut missing: Vec<String> = REQUIRED_BINARIES
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(path, package)| format!("{path} (Debian package {package})"))
        .collect();
    if let Some(venv_moto) = venv_moto.filter(|p| !p.exists()) {
        missing.push(format!(
            "{} (the project venv: `make setup`)",
            venv_moto.display()
        ));
    }
    assert!(
        missing.is_empty(),
        "the data-plane suite needs these and they are missing:\n  {}\nrun `make test-packages` \
         (and `make setup` for the venv); the suite never skips",
        missing.join("\n  ")
    );
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the data-plane suite runs daemons as the `postgres` user and must run as root (CI does)"
    );
}

/// Serializes the suite: one lock within this test binary (tests run in threads) and one across
/// processes (another worktree running the same suite would use the same addresses and ports).
pub struct SuiteLock {
    _thread: MutexGuard<'static, ()>,
    _file: File,
}

static THREAD_LOCK: Mutex<()> = Mutex::new(());

pub fn lock_suite() -> SuiteLock {
    let thread = THREAD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/tracker-dataplane-suite.lock")
        .expect("open /tmp/tracker-dataplane-suite.lock");
    file.lock().expect("lock /tmp/tracker-dataplane-suite.lock");
    SuiteLock {
        _thread: thread,
        _file: file,
    }
}

/// The uid and gid of a system user, from /etc/passwd.
pub fn user_ids(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .map(|f| (f[2].parse().unwrap(), f[3].parse().unwrap()))
        .unwrap_or_else(|| panic!("no user {name}: run `make test-packages`"))
}

/// Writes `content` to `path` with `mode`, owned by `owner` (uid, gid); creates parents.
pub fn write_file(path: &Path, content: &str, mode: u32, owner: (u32, u32)) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1)).unwrap();
}

/// Creates `path` (and parents) with `mode`, owned by `owner`.
pub fn make_dir(path: &Path, mode: u32, owner: (u32, u32)) {
    std::fs::create_dir_all(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1)).unwrap();
}

/// Panics with a clear message unless every address can be bound now.
pub fn require_free(addrs: &[SocketAddr]) {
    let taken: Vec<String> = addrs
        .iter()
        .filter(|a| TcpListener::bind(a).is_err())
        .map(|a| a.to_string())
        .collect();
    assert!(
        taken.is_empty(),
        "ports the data-plane suite needs are taken: {} (a stray daemon from an earlier run? \
         check `ss -ltnp`)",
        taken.join(", ")
    );
}

/// Polls `probe` every 250 ms until it returns `Some`, or panics after `timeout` with `what`
/// and the last diagnostic `context()` gives.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!(
                "timed out after {} s waiting for {what}\n{}",
                timeout.as_secs(),
                context()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `GET path` over plain HTTP/1.0: the status code, or `None` when nothing answers.
pub fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    http_get(addr, path).map(|(code, _)| code)
}

/// `GET path` over plain HTTP/1.0: status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    http(addr, "GET", path, &addr.to_string())
}

/// `method path` over plain HTTP/1.0 with the given `Host`, no body: status code and body.
pub fn http(addr: SocketAddr, method: &str, path: &str, host: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

/// Runs `cmd`, returning its output; panics when it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd` and panics with its output unless it succeeds; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts PostgreSQL on `data_dir` with `pg_ctl` (`cmd`: pg_ctl with its user and environment),
/// logging to `log`, with extra server `options` (`-c name=value ...`), waiting up to 60 s; on
/// failure panics with the server log's tail.
pub fn pg_ctl_start(mut cmd: Command, data_dir: &Path, log: &Path, options: &str) {
    cmd.arg("-D")
        .arg(data_dir)
        .arg("-l")
        .arg(log)
        .args(["-w", "-t", "60", "-o", options, "start"]);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}\n--- {} ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        log.display(),
        tail(log, 30)
    );
}

/// A PostgreSQL connection string for psql.
#[derive(Clone, Debug)]
pub struct Conn {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub dbname: String,
    pub sslmode: String,
}

impl Conn {
    pub fn with(&self, f: impl FnOnce(&mut Conn)) -> Conn {
        let mut c = self.clone();
        f(&mut c);
        c
    }

    fn command(&self, sql: &str) -> Command {
        let mut cmd = Command::new("/usr/lib/postgresql/15/bin/psql");
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("PGPASSWORD", &self.password)
            .env("PGCONNECT_TIMEOUT", "5")
            .arg(format!(
                "host={} port={} user={} dbname={} sslmode={}",
                self.host, self.port, self.user, self.dbname, self.sslmode
            ))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        cmd
    }

    /// Runs `sql`; stdout (trimmed) or stderr as the error.
    pub fn try_query(&self, sql: &str) -> Result<String, String> {
        let out = run(&mut self.command(sql));
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// Runs `sql` and panics (naming the server) when it fails.
    pub fn query(&self, sql: &str) -> String {
        self.try_query(sql).unwrap_or_else(|e| {
            panic!(
                "psql as {} on {}:{}/{} failed: {e}\nSQL: {sql}",
                self.user, self.host, self.port, self.dbname
            )
        })
    }
}

/// One daemon this suite started, in its own process group.
struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Everything the suite started. On drop (also on panic): every daemon's process group gets
/// SIGTERM, then SIGKILL after a grace period; every PostgreSQL data directory with a live
/// `postmaster.pid` (Patroni detaches the postmaster) is stopped immediately; then the suite
/// waits (bounded) until every watched port is free again.
#[derive(Default)]
pub struct Daemons {
    daemons: Vec<Daemon>,
    data_dirs: Vec<PathBuf>,
    ports: Vec<SocketAddr>,
}

/// Sends `signal` to the process group `pgid`.
fn signal_group(pgid: u32, signal: i32) {
    // SAFETY: kill has no memory preconditions; a negative pid addresses the group.
    unsafe {
        libc::kill(-(pgid as i32), signal);
    }
}

/// Whether `pid` is alive (a zombie counts as gone).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state follows the parenthesized command name.
            let state = stat
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start())
                .unwrap_or("");
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// The postmaster PID of a data directory, if its `postmaster.pid` names a live process.
pub fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    alive(pid).then_some(pid)
}

/// Stops a postmaster at once (SIGQUIT: immediate shutdown) and waits for it, up to 15 s.
pub fn stop_postmaster_immediately(data_dir: &Path) {
    if let Some(pid) = postmaster_pid(data_dir) {
        // SAFETY: kill has no memory preconditions.
        unsafe {
            libc::kill(pid, libc::SIGQUIT);
        }
        let start = Instant::now();
        while alive(pid) && start.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(100));
        }
        if alive(pid) {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

impl Daemons {
    /// Starts `cmd` as daemon `name` in its own process group, stdout and stderr to `log`.
    pub fn spawn(&mut self, name: &str, mut cmd: Command, log: &Path) -> u32 {
        let file = File::create(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        // If the test process is killed outright (no drop runs), the kernel kills the daemon.
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        let pid = child.id();
        self.daemons.push(Daemon {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        });
        pid
    }

    /// Also stops this data directory's postmaster on drop.
    pub fn watch_data_dir(&mut self, dir: &Path) {
        self.data_dirs.push(dir.to_path_buf());
    }

    /// Waits for these ports to be free on drop.
    pub fn watch_ports(&mut self, addrs: &[SocketAddr]) {
        self.ports.extend_from_slice(addrs);
    }

    /// Whether daemon `name` is still running.
    pub fn running(&mut self, name: &str) -> bool {
        self.daemons
            .iter_mut()
            .find(|d| d.name == name)
            .map(|d| matches!(d.child.try_wait(), Ok(None)))
            .unwrap_or(false)
    }

    /// Sends `signal` to daemon `name`'s process group and waits (up to `grace`) for it to exit;
    /// then SIGKILL. The daemon is forgotten afterwards (it may be started again).
    pub fn stop(&mut self, name: &str, signal: i32, grace: Duration) {
        let at = self
            .daemons
            .iter()
            .position(|d| d.name == name)
            .unwrap_or_else(|| panic!("no daemon {name}"));
        let mut d = self.daemons.remove(at);
        stop_daemon(&mut d, signal, grace);
    }

    /// The last lines of daemon `name`'s log (for failure messages).
    pub fn log_tail(&self, name: &str, lines: usize) -> String {
        let Some(d) = self.daemons.iter().find(|d| d.name == name) else {
            return format!("(no daemon {name})");
        };
        tail(&d.log, lines)
    }

    /// The last lines of every daemon's log whose name starts with `prefix`.
    pub fn logs(&self, prefix: &str, lines: usize) -> String {
        self.daemons
            .iter()
            .filter(|d| d.name.starts_with(prefix))
            .map(|d| {
                format!(
                    "--- {} ({}) ---\n{}",
                    d.name,
                    d.log.display(),
                    tail(&d.log, lines)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The last `lines` lines of a file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn stop_daemon(d: &mut Daemon, signal: i32, grace: Duration) {
    let pgid = d.child.id();
    signal_group(pgid, signal);
    let start = Instant::now();
    while start.elapsed() < grace {
        if let Ok(Some(_)) = d.child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Whatever is left in the group (the daemon or its children) is killed.
    signal_group(pgid, libc::SIGKILL);
    let _ = d.child.wait();
}

impl Drop for Daemons {
    fn drop(&mut self) {
        // Patroni first, while etcd still answers (it stops its PostgreSQL and releases its
        // keys), then the rest; within each group all at once.
        let (mut patroni, mut rest): (Vec<Daemon>, Vec<Daemon>) = std::mem::take(&mut self.daemons)
            .into_iter()
            .partition(|d| d.name.starts_with("patroni"));
        for group in [&mut patroni, &mut rest] {
            for d in group.iter() {
                signal_group(d.child.id(), libc::SIGTERM);
            }
            for d in group.iter_mut() {
                stop_daemon(d, libc::SIGTERM, Duration::from_secs(20));
            }
        }
        for dir in &self.data_dirs {
            stop_postmaster_immediately(dir);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if self.ports.iter().all(|a| TcpListener::bind(a).is_ok()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let taken: Vec<String> = self
            .ports
            .iter()
            .filter(|a| TcpListener::bind(a).is_err())
            .map(|a| a.to_string())
            .collect();
        eprintln!(
            "warning: ports still taken after teardown: {}",
            taken.join(", ")
        );
    }
}

/// Processes whose command line mentions `needle` (to prove nothing is left behind).
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me || !alive(pid as i32) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(format!("{pid}: {}", cmdline.trim()));
        }
    }
    found
}

/// Parses `KEY=VALUE` lines (comments and blanks ignored).
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// Prints a timing line the lead can quote.
pub fn report(what: &str, elapsed: Duration) {
    println!("TIMING {what}: {:.1} s", elapsed.as_secs_f64());
}
