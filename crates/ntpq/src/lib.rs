//! ntpq, the classic NTP mode 6 query program: options, the command loop and the exchange
//! with the server, behind an [`Io`] trait so tests can replay recorded datagrams.
//!
//! `run(args, io)` behaves like classic ntpq 4.2.8 (`ntpq [-46dinpw] [-c cmd]... [host...]`),
//! with two extensions:
//!
//! - `--port N` queries UDP port `N` instead of 123;
//! - `--json` makes `peers` (and `lpeers`, `apeers`, `opeers`), `associations`,
//!   `readvar`/`rv` and `mrulist` print JSON instead of the classic tables. Field names are
//!   stable:
//!   - peers: an array of `{"assid", "tally", "remote", "refid", "stratum", "type", "when",
//!     "poll", "reach", "delay", "offset", "jitter"}` (`when`/`poll` in seconds, `when` null
//!     when never heard, `reach` as a number, `delay`/`offset`/`jitter` in milliseconds as
//!     numbers; for `opeers` `refid` holds the local address and `jitter` the dispersion);
//!   - associations: an array of `{"ind", "assid", "status", "conf", "reach", "auth",
//!     "condition", "last_event", "count"}` (`status` as the 4-digit hex text);
//!   - readvar: `{"assid", "status", "status_text", "variables": {name: value}}` (values
//!     as the server sent them, string quotes removed);
//!   - mrulist: an array of `{"lstint", "avgint", "restrict", "flag", "mode", "version",
//!     "count", "port", "address", "host"}`.
#![forbid(unsafe_code)]

mod commands;
pub mod format;
pub mod sysio;

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use std::collections::HashMap;

use ntp_control::mode6::client::{ClientError, Received, Request, Session};
use ntp_wire::mode6::{ControlResponse, Opcode, CTL_MAX_DATA_LEN};
use ntp_wire::{MacAlgorithm, NtpTimestamp, SymmetricKey};

/// Address family restriction for resolving host names (`-4`, `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Any family.
    Any,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// Everything ntpq does outside its own memory: the UDP exchange, the clock, name lookups,
/// the terminal and the output streams.
pub trait Io {
    /// Resolve `host` and direct the following datagrams to it on `port`. Returns the
    /// address used.
    ///
    /// # Errors
    /// A message for the user when the name does not resolve or no socket can be opened.
    fn open(&mut self, host: &str, port: u16, family: Family) -> Result<SocketAddr, String>;
    /// Send one datagram to the current host.
    ///
    /// # Errors
    /// The socket's error.
    fn send(&mut self, datagram: &[u8]) -> std::io::Result<()>;
    /// Wait up to `timeout` for one datagram from the current host; `Ok(None)` on timeout.
    ///
    /// # Errors
    /// The socket's error.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<Option<usize>>;
    /// The wall clock (for the `when` column and the era of printed timestamps).
    fn now(&mut self) -> NtpTimestamp;
    /// Seconds east of UTC of local time at Unix time `unix` (0 for UTC).
    fn utc_offset(&mut self, unix: i64) -> i64;
    /// The host name of an address, if it has one (ntpq prints addresses numerically
    /// otherwise).
    fn reverse_lookup(&mut self, ip: IpAddr) -> Option<String>;
    /// Ask the user for a line. With `echo` (the `Keyid: ` question) classic writes the prompt
    /// to stderr and reads the controlling terminal, else standard input; without `echo` (a
    /// password) it uses `getpass()`: prompt and no-echo read on the terminal, else stderr
    /// and standard input. `None` at end of input.
    fn prompt(&mut self, prompt: &str, echo: bool) -> Option<String>;
    /// Read one command line from standard input; `None` at end of input.
    fn read_line(&mut self) -> Option<String>;
    /// True when standard input and standard error are terminals (classic then goes
    /// interactive without `-i`).
    fn is_interactive_terminal(&mut self) -> bool;
    /// The contents of a local file (for `config-from-file`).
    ///
    /// # Errors
    /// The file system's error.
    fn read_file(&mut self, path: &str) -> std::io::Result<String>;
    /// Create (truncate) a local file for `command > file` output redirection.
    ///
    /// # Errors
    /// The file system's error.
    fn create_file(&mut self, path: &str) -> std::io::Result<Box<dyn Write>>;
    /// Standard output.
    fn out(&mut self) -> &mut dyn Write;
    /// Standard error.
    fn err(&mut self) -> &mut dyn Write;
}

/// Write to the Io's stdout, ignoring write errors as ntpq's `printf` does.
macro_rules! out {
    ($q:expr, $($arg:tt)*) => {{
        // Formatted first: the arguments may borrow the state that `output()` borrows.
        let text = format!($($arg)*);
        let _ = $q.output().write_all(text.as_bytes());
    }};
}
/// Write to the Io's stderr.
macro_rules! err {
    ($q:expr, $($arg:tt)*) => {{
        let _ = write!($q.io.err(), $($arg)*);
    }};
}
pub(crate) use {err, out};

/// A cached association (ntpq's `assoc_cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Assoc {
    pub assid: u16,
    pub status: u16,
}

/// ntpq's state between commands.
pub(crate) struct Ntpq<'a> {
    pub io: &'a mut dyn Io,
    pub session: Session,
    pub current_host: String,
    pub current_host_is_num: bool,
    pub have_host: bool,
    pub hosts: Vec<String>,
    pub port: u16,
    pub show_hostnames: bool,
    pub raw: bool,
    pub old_rv: bool,
    pub wide: bool,
    pub drefid_hash: bool,
    pub json: bool,
    pub keyid: u32,
    pub keytype: MacAlgorithm,
    /// Keys given with `passwd` or at the prompt, by key id (classic's trusted key table).
    pub keys: HashMap<u32, SymmetricKey>,
    pub always_auth: bool,
    pub debug: i32,
    pub delay_ms: i64,
    pub interactive: bool,
    pub assoc_cache: Vec<Assoc>,
    pub varlist: Vec<(String, Option<String>)>,
    /// Set by `quit` (0) or a fatal error (1): stop and exit with this status.
    pub exit: Option<i32>,
    /// Where the current command's output goes after `> file`.
    pub redirect: Option<Box<dyn Write>>,
}

/// Why a query produced no response (the message was already printed).
#[derive(Debug, Clone)]
pub(crate) struct Failed(pub Option<ClientError>);

/// C `atoi`: leading blanks, optional sign, digits; 0 when there are none.
pub(crate) fn atoi(text: &str) -> i64 {
    let t = text.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, t.get(1..).unwrap_or_default()),
        Some(b'+') => (false, t.get(1..).unwrap_or_default()),
        _ => (false, t),
    };
    let digits: String = rest
        .chars()
        .take_while(char::is_ascii_digit)
        .take(18)
        .collect();
    let v: i64 = digits.parse().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

impl Ntpq<'_> {
    /// The current command's output: stdout, or the file of a `> file` redirection.
    pub fn output(&mut self) -> &mut dyn Write {
        match self.redirect.as_mut() {
            Some(w) => w.as_mut(),
            None => self.io.out(),
        }
    }

    /// Number of hosts given on the command line (classic's `numhosts`).
    pub fn numhosts(&self) -> usize {
        self.hosts.len()
    }

    /// Classic `getkeyid()`: prompt `Keyid: ` and read a number (0 when nothing usable).
    pub fn prompt_keyid(&mut self) -> u32 {
        let line = self.io.prompt("Keyid: ", true).unwrap_or_default();
        let line: String = line.chars().take(19).collect();
        u32::try_from(atoi(&line)).unwrap_or(0)
    }

    /// Remember `password` as the key for the current key id and type.
    pub fn set_password(&mut self, password: &[u8]) {
        let key = SymmetricKey::new(self.keyid, self.keytype, password);
        self.keys.insert(self.keyid, key);
    }

    /// Make sure a key is set for an authenticated request, prompting like classic
    /// `sendrequest()`.
    fn ensure_key(&mut self) -> Result<(), Failed> {
        if self.keyid == 0 {
            let id = self.prompt_keyid();
            if id == 0 || id > 65535 {
                err!(self, "Invalid key identifier\n");
                return Err(Failed(None));
            }
            self.keyid = id;
        }
        if !self.keys.contains_key(&self.keyid) {
            let prompt = format!("{} Password: ", self.keytype.name());
            let pass = self.io.prompt(&prompt, false).unwrap_or_default();
            if pass.is_empty() {
                err!(self, "Invalid password\n");
                return Err(Failed(None));
            }
            self.set_password(pass.as_bytes());
        }
        let key = self.keys.get(&self.keyid).cloned();
        self.session.set_key(key);
        Ok(())
    }

    /// Print a query error the classic way (`show_error_msg`).
    pub fn report(&mut self, e: &ClientError, assoc: u16) {
        if self.numhosts() > 1 {
            err!(self, "server={} ", self.current_host);
        }
        err!(self, "{}\n", e.message(assoc));
    }

    /// ntpq's `doquery()`: one request and its response, with the retry and the error
    /// messages.
    pub fn query(
        &mut self,
        opcode: Opcode,
        assoc: u16,
        data: Vec<u8>,
        auth: bool,
    ) -> Result<ControlResponse, Failed> {
        self.query_ex(opcode, assoc, data, auth, false)
    }

    /// ntpq's `doqueryex()`: as [`Self::query`], printing server and timeout errors only
    /// when not `quiet`.
    pub fn query_ex(
        &mut self,
        opcode: Opcode,
        assoc: u16,
        data: Vec<u8>,
        auth: bool,
        quiet: bool,
    ) -> Result<ControlResponse, Failed> {
        if !self.have_host {
            err!(self, "***No host open, use `host' command\n");
            return Err(Failed(None));
        }
        if data.len() > CTL_MAX_DATA_LEN {
            self.session.skip_sequence();
            err!(
                self,
                "***Internal error!  qsize ({}) too large\n",
                data.len()
            );
            return Err(Failed(None));
        }
        let authenticate = auth || self.always_auth;
        if authenticate && self.ensure_key().is_err() {
            // Classic takes the sequence number before it asks for the key.
            self.session.skip_sequence();
            return Err(Failed(None));
        }
        let request = Request {
            opcode,
            assoc_id: assoc,
            data,
            authenticate,
        };
        let mut wire = match self.session.begin(request) {
            Ok(w) => w,
            Err(e) => {
                if !quiet {
                    self.report(&e, assoc);
                }
                return Err(Failed(Some(e)));
            }
        };
        let mut buf = vec![0u8; 65536];
        loop {
            if self.debug >= 3 {
                out!(self, "Sending {} octets\n", wire.len());
            }
            if let Err(e) = self.io.send(&wire) {
                err!(self, "ntpq: write to {} failed: {e}\n", self.current_host);
                return Err(Failed(None));
            }
            let mut resend = None;
            while resend.is_none() {
                let wait = self.session.wait_time();
                match self.io.recv(&mut buf, wait) {
                    Ok(Some(n)) => {
                        let datagram = buf.get(..n).unwrap_or_default();
                        match self.session.handle_datagram(datagram) {
                            Ok(Received::Complete(resp)) => return Ok(resp),
                            Ok(Received::Pending) => {
                                // Classic's debug output for dropped datagrams is on stdout.
                                if self.debug > 0 {
                                    if let Some(why) = self.session.ignored().last().cloned() {
                                        out!(self, "{why}\n");
                                    }
                                }
                            }
                            Ok(Received::Retry {
                                datagram,
                                count,
                                available,
                            }) => {
                                out!(
                                    self,
                                    "Response packet claims {count} octets payload, above {available} received\n"
                                );
                                resend = Some(datagram);
                            }
                            Err(e) => {
                                if let ClientError::Truncated { count, available } = e {
                                    out!(
                                        self,
                                        "Response packet claims {count} octets payload, above {available} received\n"
                                    );
                                }
                                if !quiet {
                                    self.report(&e, assoc);
                                }
                                return Err(Failed(Some(e)));
                            }
                        }
                    }
                    Ok(None) => {
                        let partial = self.session.has_partial();
                        match self.session.handle_timeout() {
                            Ok(again) => resend = Some(again),
                            Err(e) => {
                                if partial {
                                    err!(
                                        self,
                                        "{}: timed out with incomplete data\n",
                                        self.current_host
                                    );
                                } else {
                                    err!(
                                        self,
                                        "{}: timed out, nothing received\n",
                                        self.current_host
                                    );
                                }
                                if !quiet {
                                    self.report(&e, assoc);
                                }
                                return Err(Failed(Some(e)));
                            }
                        }
                    }
                    Err(e) => {
                        err!(self, "ntpq: read: {e}\n");
                        return Err(Failed(None));
                    }
                }
            }
            if let Some(again) = resend {
                wire = again;
            }
        }
    }

    /// ntpq's `nntohost`: a host name (when shown and known) or the numeric address;
    /// refclock addresses as `NAME(u)`.
    pub fn nntohost(&mut self, addr: &SocketAddr) -> String {
        let ip = addr.ip();
        if !self.show_hostnames || ip.is_unspecified() {
            return format::stoa(addr);
        }
        if format::is_refclock(&ip) {
            return format::refnumtoa(&ip);
        }
        self.io
            .reverse_lookup(ip)
            .unwrap_or_else(|| format::stoa(addr))
    }

    /// ntpq's `nntohostp`: `nntohost` plus `:port` (numeric form `sptoa`; refclocks without
    /// a port).
    pub fn nntohostp(&mut self, addr: &SocketAddr) -> String {
        let ip = addr.ip();
        if !self.show_hostnames || ip.is_unspecified() {
            return format::sptoa(addr);
        }
        if format::is_refclock(&ip) {
            return format::refnumtoa(&ip);
        }
        let host = self
            .io
            .reverse_lookup(ip)
            .unwrap_or_else(|| format::stoa(addr));
        format!("{host}:{}", addr.port())
    }

    /// Local-time `prettydate` of a timestamp.
    pub fn pretty_date(&mut self, ts: NtpTimestamp) -> String {
        let (now, _) = self.io.now().to_unix();
        let io = &mut *self.io;
        format::pretty_date(ts, now, |u| io.utc_offset(u))
    }

    /// ntpq's `openhost()`.
    pub fn open_host(&mut self, host: &str, family: Family) -> bool {
        match self.io.open(host, self.port, family) {
            Ok(addr) => {
                // Classic shows the canonical name, or the address for numeric hosts.
                let bare = host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .unwrap_or(host);
                if bare.parse::<IpAddr>().is_ok() {
                    self.current_host = format::stoa(&addr);
                    self.current_host_is_num = true;
                } else {
                    self.current_host = host.to_owned();
                    self.current_host_is_num = false;
                }
                self.have_host = true;
                self.assoc_cache.clear();
                true
            }
            Err(msg) => {
                err!(self, "{msg}\n");
                false
            }
        }
    }
}

/// Parsed command line.
struct Options {
    commands: Vec<String>,
    hosts: Vec<(String, Family)>,
    interactive: bool,
    numeric: bool,
    wide: bool,
    old_rv: bool,
    debug: i32,
    drefid_hash: bool,
    port: u16,
    json: bool,
}

const USAGE: &str = "ntpq - standard NTP query program - Ver. 4.2.8p18 (Rust)\n\
Usage:  ntpq [ -<flag> [<val>] | --<name>[{=| }<val>] ]... [ host ...]\n\
  Flg Arg Option-Name    Description\n\
   -4 no  ipv4           Force IPv4 name resolution\n\
                                - prohibits the option 'ipv6'\n\
   -6 no  ipv6           Force IPv6 name resolution\n\
                                - prohibits the option 'ipv4'\n\
   -c Str command        run a command and exit\n\
                                - may appear multiple times\n\
   -d no  debug-level    Increase debug verbosity level\n\
                                - may appear multiple times\n\
   -D Num set-debug-level Set the debug verbosity level\n\
                                - may appear multiple times\n\
   -i no  interactive    Force ntpq to operate in interactive mode\n\
                                - prohibits these options:\n\
                                command\n\
                                peers\n\
   -n no  numeric        numeric host addresses\n\
      no  old-rv         Always output status line with readvar\n\
   -p no  peers          Print a list of the peers\n\
                                - prohibits the option 'interactive'\n\
   -r KWd refid          Set default display type for S2+ refids\n\
   -w no  wide           Display the full 'remote' value\n\
      Num port           Query this UDP port instead of 123 (extension)\n\
      no  json           JSON output for peers, associations, readvar, mrulist (extension)\n\
      opt version        output version information and exit\n\
   -? no  help           display extended usage information and exit\n\
\n\
Options are specified by doubled hyphens and their name or by a single\n\
hyphen and the flag character.\n";

fn parse_options(args: &[String], io: &mut dyn Io) -> Result<Options, i32> {
    let mut o = Options {
        commands: Vec::new(),
        hosts: Vec::new(),
        interactive: false,
        numeric: false,
        wide: false,
        old_rv: false,
        debug: 0,
        drefid_hash: false,
        port: 123,
        json: false,
    };
    let mut peers = false;
    let mut family = Family::Any;
    let mut i = 1;
    let mut operands_only = false;
    let usage_err = |io: &mut dyn Io, msg: &str| {
        let _ = writeln!(io.err(), "ntpq: {msg}");
        let _ = writeln!(
            io.err(),
            "ntpq - standard NTP query program - Ver. 4.2.8p18 (Rust)"
        );
        let _ = writeln!(
            io.err(),
            "Usage:  ntpq [ -<flag> [<val>] | --<name>[{{=| }}<val>] ]... [ host ...]"
        );
        let _ = writeln!(io.err(), "Try 'ntpq --help' for more information.");
        1
    };
    while let Some(arg) = args.get(i) {
        i += 1;
        if operands_only || !arg.starts_with('-') || arg == "-" {
            o.hosts.push((arg.clone(), family));
            continue;
        }
        if arg == "--" {
            operands_only = true;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let value = |i: &mut usize| -> Option<String> {
                inline.clone().or_else(|| {
                    let v = args.get(*i).cloned();
                    *i += 1;
                    v
                })
            };
            match name {
                "ipv4" => family = Family::V4,
                "ipv6" => family = Family::V6,
                "command" => match value(&mut i) {
                    Some(v) => o.commands.push(v),
                    None => return Err(usage_err(io, "option 'command' requires an argument")),
                },
                "debug-level" => o.debug += 1,
                "set-debug-level" => {
                    o.debug = value(&mut i).and_then(|v| v.parse().ok()).unwrap_or(0)
                }
                "interactive" => o.interactive = true,
                "numeric" => o.numeric = true,
                "old-rv" => o.old_rv = true,
                "peers" => {
                    peers = true;
                    o.commands.push("peers".to_owned());
                }
                "refid" => match value(&mut i).as_deref() {
                    Some("hash") => o.drefid_hash = true,
                    Some("ipv4") => o.drefid_hash = false,
                    _ => return Err(usage_err(io, "invalid refid keyword")),
                },
                "wide" => o.wide = true,
                "unconnected" => {}
                "json" => o.json = true,
                "port" => match value(&mut i).and_then(|v| v.parse::<u16>().ok()) {
                    Some(p) if p != 0 => o.port = p,
                    _ => return Err(usage_err(io, "option 'port' needs a port number 1-65535")),
                },
                "version" => {
                    let _ = writeln!(
                        io.out(),
                        "ntpq 4.2.8p18 (Rust ntp suite {})",
                        env!("CARGO_PKG_VERSION")
                    );
                    return Err(0);
                }
                "help" => {
                    let _ = write!(io.out(), "{USAGE}");
                    return Err(0);
                }
                _ => return Err(usage_err(io, &format!("illegal option -- {name}"))),
            }
            continue;
        }
        // A cluster of short flags: -pn, -c cmd, -ccmd, -D 3.
        let flags = arg.get(1..).unwrap_or_default();
        for (pos, c) in flags.char_indices() {
            let rest = flags.get(pos + c.len_utf8()..).unwrap_or_default();
            let take_value = |i: &mut usize| -> Option<String> {
                if rest.is_empty() {
                    let v = args.get(*i).cloned();
                    *i += 1;
                    v
                } else {
                    Some(rest.to_owned())
                }
            };
            match c {
                '4' => family = Family::V4,
                '6' => family = Family::V6,
                'd' => o.debug += 1,
                'i' => o.interactive = true,
                'n' => o.numeric = true,
                'p' => {
                    peers = true;
                    o.commands.push("peers".to_owned());
                }
                'w' => o.wide = true,
                'u' => {}
                'c' => {
                    match take_value(&mut i) {
                        Some(v) => o.commands.push(v),
                        None => return Err(usage_err(io, "option 'command' requires an argument")),
                    }
                    break;
                }
                'D' => {
                    o.debug = take_value(&mut i).and_then(|v| v.parse().ok()).unwrap_or(0);
                    break;
                }
                'r' => {
                    match take_value(&mut i).as_deref() {
                        Some("hash") => o.drefid_hash = true,
                        Some("ipv4") => o.drefid_hash = false,
                        _ => return Err(usage_err(io, "invalid refid keyword")),
                    }
                    break;
                }
                '?' => {
                    let _ = write!(io.out(), "{USAGE}");
                    return Err(0);
                }
                other => return Err(usage_err(io, &format!("illegal option -- {other}"))),
            }
        }
    }
    if o.interactive && (peers || !o.commands.is_empty()) {
        return Err(usage_err(
            io,
            "the 'interactive' option conflicts with the 'command' and 'peers' options",
        ));
    }
    Ok(o)
}

/// Run ntpq with `args` (including the program name in `args[0]`); returns the exit status.
pub fn run(args: &[String], io: &mut dyn Io) -> i32 {
    let o = match parse_options(args, io) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let mut hosts = o.hosts.clone();
    if hosts.is_empty() {
        hosts.push(("localhost".to_owned(), Family::Any));
    }
    let interactive = o.interactive || (o.commands.is_empty() && io.is_interactive_terminal());
    let mut q = Ntpq {
        io,
        session: Session::new(),
        current_host: String::new(),
        current_host_is_num: false,
        have_host: false,
        hosts: hosts.iter().map(|(h, _)| h.clone()).collect(),
        port: o.port,
        show_hostnames: !o.numeric,
        raw: false,
        old_rv: o.old_rv,
        wide: o.wide,
        drefid_hash: o.drefid_hash,
        json: o.json,
        keyid: 0,
        keytype: MacAlgorithm::Md5,
        keys: HashMap::new(),
        always_auth: false,
        debug: o.debug,
        delay_ms: 20,
        interactive,
        assoc_cache: Vec::new(),
        varlist: Vec::new(),
        exit: None,
        redirect: None,
    };
    if o.commands.is_empty() {
        if let Some((host, fam)) = hosts.first() {
            q.open_host(host, *fam);
        }
        loop {
            if q.interactive {
                out!(q, "ntpq> ");
                let _ = q.io.out().flush();
            }
            let Some(line) = q.io.read_line() else {
                // Classic's line reader ends the prompt line at end of input.
                err!(q, "\n");
                break;
            };
            commands::docmd(&mut q, &line);
            let _ = q.io.out().flush();
            if let Some(code) = q.exit {
                return code;
            }
        }
        return 0;
    }
    for (ihost, (host, fam)) in hosts.iter().enumerate() {
        if q.open_host(host, *fam) {
            if ihost > 0 {
                out!(q, "\n");
            }
            for (icmd, cmd) in o.commands.iter().enumerate() {
                if icmd > 0 {
                    out!(q, "\n");
                }
                commands::docmd(&mut q, cmd);
                if let Some(code) = q.exit {
                    let _ = q.io.out().flush();
                    return code;
                }
            }
        }
    }
    let _ = q.io.out().flush();
    0
}
