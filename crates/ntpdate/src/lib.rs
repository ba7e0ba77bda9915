//! ntpdate: the classic one-shot client (`ntpdate [-46bBdqsuv] ... server ...`) with classic's
//! options, output and exit codes, and modern reply checks (random transmit timestamps,
//! strict source, origin and MAC checks).
//!
//! [`run`] does one whole run against injected [`Io`] (network, resolver, syslog, time
//! zone...), a [`Clock`] and output writers, so tests replay captured datagrams against a
//! simulated clock and compare the exact text. Clock changes go through
//! [`ClockAction::apply`] only. The filter and selection are classic's fixed-point code
//! ([`session`]); the clock boundary is `ntp-core`'s, the drivers `ntp-clock`'s.
#![forbid(unsafe_code)]

pub mod cli;
pub mod fixed;
pub mod io;
pub mod session;
pub mod sys;

use std::io::Write;
use std::net::SocketAddr;

use ntp_core::{Clock, ClockAction};
use ntp_wire::{MacAlgorithm, SymmetricKey};

pub use cli::{Family, Options};
pub use io::{Io, Level, OpenError, ResolveError};
pub use session::{Received, Rejected, Session};

/// The version notice printed with `-v` or `-d`.
pub const VERSION: &str = concat!(
    "ntpdate ",
    env!("CARGO_PKG_VERSION"),
    " (ntp-rs-suite; classic 4.2.8p18 compatible)"
);

/// Largest datagram read (a header, extension fields and a MAC fit easily).
const RECV_BUF: usize = 2048;

/// Everything a run talks to besides its arguments.
pub struct Env<'a, C: Clock> {
    /// Network, resolver, files, randomness, time zone and syslog.
    pub io: &'a mut dyn Io,
    /// The clock read for timestamps and adjusted at the end.
    pub clock: &'a mut C,
    /// Standard output (`-q`/`-d` text, notices).
    pub stdout: &'a mut dyn Write,
    /// Standard error (errors, usage).
    pub stderr: &'a mut dyn Write,
    /// The pid shown in log lines.
    pub pid: u32,
    /// The version notice (`-v`, `-d`).
    pub version: String,
}

/// Classic `msyslog`: syslog with `-s`, else the terminal with the time and
/// `ntpdate[pid]: ` prefix, errors to stderr and the rest to stdout.
struct Logger {
    syslog: bool,
    debug: bool,
    prog: String,
}

impl Logger {
    fn log<C: Clock>(&self, env: &mut Env<'_, C>, level: Level, msg: &str) {
        if self.syslog {
            // Classic's mask: up to LOG_INFO, or LOG_DEBUG with -d.
            if level <= Level::Info || self.debug {
                env.io.syslog(level, msg);
            }
            return;
        }
        let unix = env.clock.now().map(|t| t.to_unix().0).unwrap_or(0);
        let prefix = fixed::humanlogtime(unix, env.io.utc_offset(unix));
        let line = format!("{prefix}{}[{}]: {msg}\n", self.prog, env.pid);
        let w: &mut dyn Write = if level <= Level::Err {
            &mut *env.stderr
        } else {
            &mut *env.stdout
        };
        let _ = w.write_all(line.as_bytes());
        let _ = w.flush();
    }
}

fn key_from_file<C: Clock>(
    opts: &Options,
    id: u32,
    env: &mut Env<'_, C>,
    log: &Logger,
) -> Result<SymmetricKey, i32> {
    let text = match env.io.read_file(&opts.key_file) {
        Ok(t) => t,
        Err(_) => {
            log.log(
                env,
                Level::Err,
                &format!("no key file <{}>, exiting", opts.key_file),
            );
            return Err(1);
        }
    };
    let keys = match ntp_conf::parse_keys(&text, &opts.key_file) {
        Ok(k) => k.keys,
        Err(diags) => {
            for d in &diags.0 {
                log.log(env, Level::Err, &d.to_string());
            }
            Vec::new()
        }
    };
    let Some(key) = u16::try_from(id)
        .ok()
        .and_then(|id16| keys.iter().find(|k| k.id == id16))
    else {
        log.log(env, Level::Err, &format!("authentication key {id} unknown"));
        return Err(1);
    };
    let algorithm = match key.kind {
        ntp_conf::KeyType::Md5 => MacAlgorithm::Md5,
        ntp_conf::KeyType::Sha1 => MacAlgorithm::Sha1,
        ntp_conf::KeyType::Aes128Cmac => MacAlgorithm::AesCmac128,
        other => {
            log.log(
                env,
                Level::Err,
                &format!(
                    "authentication key {id} has type {}, which ntpdate does not support (MD5, SHA1, AES128CMAC)",
                    other.name()
                ),
            );
            return Err(1);
        }
    };
    Ok(SymmetricKey::new(id, algorithm, key.secret.expose()))
}

/// Resolve every server argument (classic `addserver`), or the exit status.
fn resolve_all<C: Clock>(
    opts: &Options,
    env: &mut Env<'_, C>,
    log: &Logger,
) -> Result<Vec<SocketAddr>, i32> {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for name in &opts.servers {
        match env.io.resolve(name, opts.port, opts.family) {
            Ok(list) => {
                for a in list {
                    // The same address twice could never be told apart by its replies.
                    if !addrs.contains(&a) {
                        addrs.push(a);
                    }
                }
            }
            Err(ResolveError::ResolverFailed { message, code }) => {
                let _ = write!(
                    env.stderr,
                    "Exiting, name server cannot be used: {message} ({code})"
                );
                log.log(
                    env,
                    Level::Err,
                    &format!("name server cannot be used: {message} ({code})"),
                );
                return Err(1);
            }
            Err(ResolveError::NotFound { message, code }) => {
                let _ = writeln!(env.stderr, "Error resolving {name}: {message} ({code})");
                log.log(
                    env,
                    Level::Err,
                    &format!("Can't find host {name}: {message} ({code})"),
                );
            }
        }
    }
    Ok(addrs)
}

/// Run ntpdate with `args` (`args[0]` is the program name); returns the exit status
/// (0 a server was selected, 1 failure, 2 usage error).
pub fn run<C: Clock>(args: &[String], env: &mut Env<'_, C>) -> i32 {
    let opts = match cli::parse(args) {
        Ok(o) => o,
        Err(e) => {
            for m in &e.messages {
                let _ = writeln!(env.stderr, "{m}");
            }
            let _ = writeln!(env.stderr, "{}", e.usage);
            return 2;
        }
    };
    let prog = opts
        .progname
        .rsplit('/')
        .next()
        .unwrap_or("ntpdate")
        .to_string();
    let log = Logger {
        syslog: opts.syslog,
        debug: opts.debug > 0,
        prog,
    };
    if opts.debug > 0 || opts.verbose {
        let v = env.version.clone();
        log.log(env, Level::Notice, &v);
    }
    let addrs = match resolve_all(&opts, env, &log) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if addrs.is_empty() {
        log.log(env, Level::Err, "no servers can be used, exiting");
        return 1;
    }
    let auth = match opts.auth_key {
        Some(id) => match key_from_file(&opts, id, env, &log) {
            Ok(key) => Some(session::Auth {
                key,
                delay: opts.auth_delay,
            }),
            Err(code) => return code,
        },
        None => None,
    };
    let mut families: Vec<Family> = Vec::new();
    for a in &addrs {
        let f = if a.is_ipv4() { Family::V4 } else { Family::V6 };
        if !families.contains(&f) {
            families.push(f);
        }
    }
    let local_port = opts.needs_ntp_port().then_some(cli::NTP_PORT);
    if let Err(e) = env.io.open(&families, local_port) {
        match e {
            OpenError::InUse => {
                log.log(env, Level::Err, "the NTP socket is in use, exiting");
                log.log(
                    env,
                    Level::Err,
                    "use -u to query from an unprivileged port while an NTP daemon runs",
                );
            }
            OpenError::PermissionDenied => {
                log.log(env, Level::Err, "bind() fails: Permission denied");
                log.log(
                    env,
                    Level::Err,
                    "port 123 needs privileges; use -u to query from an unprivileged port",
                );
            }
            OpenError::Other(err) => {
                log.log(env, Level::Err, &format!("bind() fails: {err}"));
            }
        }
        return 1;
    }
    let start = env.io.monotonic();
    let mut sess = Session::new(&opts, &addrs, auth, start);
    poll_servers(&mut sess, env, &log);
    clock_adjust(&opts, &mut sess, env, &log)
}

/// The main loop: send due requests, wait for replies until every server is complete.
fn poll_servers<C: Clock>(sess: &mut Session, env: &mut Env<'_, C>, log: &Logger) {
    let mut buf = vec![0u8; RECV_BUF];
    let debug = sess.debug > 0;
    loop {
        let now = env.io.monotonic();
        for i in sess.due(now) {
            let t1 = match env.clock.now() {
                Ok(t) => t,
                Err(e) => {
                    log.log(env, Level::Err, &format!("cannot read the clock: {e}"));
                    sess.servers[i].next_event = None;
                    continue;
                }
            };
            let nonce = env.io.random_u64();
            if let Some(bytes) = sess.transmit(i, now, t1, nonce) {
                let to = sess.servers[i].addr;
                if debug {
                    let _ = writeln!(env.stdout, "transmit({})", to.ip());
                }
                if let Err(e) = env.io.send(to, &bytes) {
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::OutOfMemory
                    ) {
                        log.log(env, Level::Err, &format!("sendto({}): {e}", to.ip()));
                    }
                }
            }
        }
        if sess.is_done() {
            return;
        }
        let Some(deadline) = sess.next_deadline() else {
            return;
        };
        let wait = deadline.saturating_sub(env.io.monotonic());
        // A timeout or a socket error (classic ignores those too) falls through: the next
        // pass sends or completes whoever is due.
        if let Ok(Some((n, from))) = env.io.recv(&mut buf, wait) {
            let Ok(t4) = env.clock.now() else { continue };
            if debug {
                let _ = writeln!(env.stdout, "receive({})", from.ip());
            }
            let now = env.io.monotonic();
            let data = buf.get(..n).unwrap_or(&buf);
            let authenticating = sess.auth.is_some();
            match sess.receive(from, data, t4, now) {
                Received::Sample { .. } => {
                    if debug && authenticating {
                        let _ = writeln!(env.stdout, "receive: authentication passed");
                    }
                }
                Received::RateLimited { .. } => log.log(
                    env,
                    Level::Err,
                    &format!("{} rate limit response from server.", from.ip()),
                ),
                Received::Rejected(r) => {
                    if debug {
                        if let Some(t) = r.trace() {
                            let _ = writeln!(env.stdout, "{t}");
                        }
                    }
                }
            }
        }
    }
}

/// Classic `clock_adjust()`: filter, select, print, then step or slew (never with `-q` or
/// `-d`). Returns the exit status.
fn clock_adjust<C: Clock>(
    opts: &Options,
    sess: &mut Session,
    env: &mut Env<'_, C>,
    log: &Logger,
) -> i32 {
    sess.filter();
    let mut text = String::new();
    let chosen = sess.select(&mut text);
    if opts.debug > 0 || opts.query_only {
        if opts.debug > 0 {
            text.push('\n');
        }
        let io = &*env.io;
        sess.print_servers(&mut text, &|u| io.utc_offset(u));
    }
    let _ = env.stdout.write_all(text.as_bytes());
    let _ = env.stdout.flush();
    let Some(idx) = chosen else {
        log.log(
            env,
            Level::Err,
            "no server suitable for synchronization found",
        );
        return 1;
    };
    let server = &sess.servers[idx];
    let (ip, offset) = (server.addr.ip(), server.offset);
    let step = session::should_step(server.soffset, opts.adjust);
    let verb = if step { "step" } else { "adjust" };
    let line = format!(
        "{verb} time server {ip} offset {} sec",
        fixed::lfptoa(offset, 6)
    );
    let change_clock = !opts.query_only && opts.debug == 0;
    if change_clock {
        if let Some(action) = session::clock_action(offset, step) {
            if let Err(e) = action.apply(env.clock) {
                if matches!(action, ClockAction::Step(_)) {
                    // Classic quirk: a failed step only loses its line; the status stays 0.
                    log.log(env, Level::Err, &format!("Can't set time of day: {e}"));
                    return 0;
                }
                log.log(
                    env,
                    Level::Err,
                    &format!("Can't adjust the time of day: {e}"),
                );
                return 1;
            }
        }
    }
    log.log(env, Level::Notice, &line);
    0
}
