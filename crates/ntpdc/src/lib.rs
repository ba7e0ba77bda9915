//! ntpdc: a drop-in clone of classic ntpdc 4.2.8 (mode 7 queries), as a library with a thin
//! binary around it.
//!
//! [`run`] takes the command line and an [`Io`] that does everything outside the program: the
//! UDP exchange with the server, the clock (for authenticated timestamps), terminal prompts,
//! name lookups, the local time zone and the output streams. The binary plugs in a real UDP
//! socket; tests plug in recorded datagrams and compare the output byte for byte with classic
//! ntpdc's.
//!
//! # Command line
//!
//! `ntpdc [-46dilnps] [-c cmd]... [-D n] [--port N] [--json] [host ...]` as classic: `-c`
//! (repeatable) runs commands, `-i` forces the `ntpdc> ` prompt, `-l`/`-p`/`-s` add
//! `listpeers`/`peers`/`dmpeers`, `-n` prints addresses instead of names. Without commands the
//! commands are read from standard input (with the prompt on stderr when interactive).
//!
//! Extensions: `--port N` talks to port `N` instead of 123; `--json` prints machine-readable
//! JSON (one document per command) for `sysinfo`, `peers`/`dmpeers`, `listpeers`,
//! `showpeer`, `pstats`, `sysstats`, `iostats`, `memstats`, `timerstats`, `loopinfo`,
//! `kerninfo`, `authinfo`, `ctlstats`, `reslist` and `ifstats`; other commands keep their
//! classic text. Field names are stable:
//!
//! - `sysinfo`: `system_peer`, `system_peer_mode`, `leap` (0..3), `stratum`, `precision`,
//!   `root_delay` (s), `root_dispersion` (s), `reference_id`, `reference_time` (hex l_fp),
//!   `system_flags` (array of words), `jitter` (s), `stability` (ppm), `broadcast_delay` (s),
//!   `auth_delay` (s).
//! - `peers`/`dmpeers`: an array of `{tally, remote, local, hmode, stratum, poll, reach,
//!   delay, offset, dispersion, flags}` (seconds; `reach` as a number, `flags` as words).
//! - `listpeers`: an array of `{mode, remote, address}`.
//! - `showpeer`: an array of `{remote, local, hmode, pmode, stratum, precision, leap, refid,
//!   root_delay, root_dispersion, ppoll, hpoll, keyid, version, association, reach, unreach,
//!   flash, boffset, ttl, flags, reference_time, originate_timestamp, receive_timestamp,
//!   transmit_timestamp, filter_delay, filter_offset, filter_order, offset, delay,
//!   error_bound, filter_error}` (timestamps as hex l_fp, times in seconds).
//! - `pstats`: an array of `{remote, local, time_last_received, time_until_next_send,
//!   reachability_change, packets_sent, packets_received, bad_authentication, bogus_origin,
//!   duplicate, bad_dispersion, bad_reference_time, candidate_order, flags}`.
//! - `reslist`: an array of `{address, mask, count, flags}` (flags as words).
//! - `ifstats`/`ifreload`: an array of `{index, action, address, mask, broadcast, enabled,
//!   name, flags, last_ttl, multicast_addresses, received, sent, dropped, scope_id, peers,
//!   uptime}`.
//! - `sysstats`: `time_since_restart`, `time_since_reset`, `packets_received`,
//!   `packets_processed`, `current_version`, `previous_version`, `declined`, `access_denied`,
//!   `bad_length_or_format`, `bad_authentication`, `rate_exceeded` (absent from old servers).
//! - the other reports: their classic labels in snake case.
//!
//! Commands that change the server (`addpeer`, `reset`, `restrict`, `trustedkey`, ...) are
//! sent authenticated like classic's (they prompt for `Keyid: ` and the password when no key
//! is set) and print `done!` when the server acknowledges them. `clkbug` is not supported.
#![forbid(unsafe_code)]

mod config;
pub mod fmt;
mod ops;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use ntp_control::mode7::client::{Exchange, Query, QueryError, QueryEvent, Response, Session};
use ntp_wire::mode7::LFp;
use ntp_wire::{MacAlgorithm, SymmetricKey};

/// Address family restriction (`-4` / `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Either.
    Any,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

/// Everything ntpdc does outside its own memory.
pub trait Io {
    /// Resolve `host` (a name or an address) for `family`.
    fn resolve(&mut self, host: &str, family: Family) -> Option<IpAddr>;
    /// Reverse lookup for printing (`None` prints the address).
    fn reverse(&mut self, addr: IpAddr) -> Option<String>;
    /// Open the UDP association with the server (replaces any previous one).
    ///
    /// # Errors
    /// The text classic would print on failure.
    fn connect(&mut self, addr: IpAddr, port: u16) -> Result<(), String>;
    /// Send one datagram to the server, after discarding anything still queued.
    ///
    /// # Errors
    /// The OS error text.
    fn send(&mut self, datagram: &[u8]) -> Result<(), String>;
    /// Wait up to `timeout` for one datagram from the server; `None` on timeout.
    fn recv(&mut self, timeout: Duration) -> Option<Vec<u8>>;
    /// The current time as an NTP timestamp (for authenticated requests).
    fn now(&mut self) -> LFp;
    /// Seconds east of UTC at the given Unix time (the local zone of `prettydate`).
    fn utc_offset(&mut self, unix: i64) -> i64;
    /// Read a command line from standard input (`None` at end of input).
    fn read_command(&mut self) -> Option<String>;
    /// Read a key id (`echo` true: classic has already written the prompt to stderr) or a
    /// password (`echo` false: show `prompt` like `getpass(3)`, on the terminal or else on
    /// stderr, and read without echo) from the terminal, or standard input without one.
    fn read_secret(&mut self, prompt: &str, echo: bool) -> Option<String>;
    /// True when standard input and standard error are terminals.
    fn is_terminal(&mut self) -> bool;
    /// Write to standard output.
    fn stdout(&mut self, text: &str);
    /// Write to standard error.
    fn stderr(&mut self, text: &str);
    /// Create (truncate) the file a command's output is redirected to (`sysinfo > file`).
    ///
    /// # Errors
    /// The OS error text (classic prints `***Error opening FILE: TEXT`).
    fn create_output(&mut self, path: &str) -> Result<(), String> {
        Err(format!("cannot redirect to {path} here"))
    }
    /// Append a redirected command's output to the file created by `create_output`.
    fn append_output(&mut self, path: &str, text: &str) {
        let _ = (path, text);
    }
}

/// Default NTP port.
const NTP_PORT: u16 = 123;

/// One argument type of a command (`NTP_STR`, `NTP_ADD`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgType {
    Str,
    Addr,
    Int,
    UInt,
    IpVersion,
}

/// An argument slot: type, optional, description for the usage line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgSpec {
    ty: ArgType,
    opt: bool,
    desc: &'static str,
}

const fn arg(ty: ArgType, opt: bool, desc: &'static str) -> ArgSpec {
    ArgSpec { ty, opt, desc }
}

/// A parsed argument.
#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub(crate) string: String,
    pub(crate) addr: Option<IpAddr>,
    pub(crate) ival: i64,
}

/// A command table entry.
pub(crate) struct Command {
    pub(crate) name: &'static str,
    pub(crate) args: &'static [ArgSpec],
    pub(crate) comment: &'static str,
    pub(crate) run: fn(&mut Ntpdc, &mut dyn Io, &[Arg]),
}

/// Classic `MAXARGS` and `MOREARGS`.
const MAXARGS: usize = 4;
const MOREARGS: usize = 10;

/// The program state (classic's globals).
pub struct Ntpdc {
    session: Session,
    port: u16,
    family: Family,
    show_hostnames: bool,
    json: bool,
    debug: i32,
    interactive: bool,
    current_host: Option<String>,
    keyid: u32,
    keyid_entered: bool,
    keytype: MacAlgorithm,
    keys: HashMap<u32, SymmetricKey>,
    quit: bool,
    out: String,
}

impl Ntpdc {
    fn new() -> Self {
        Ntpdc {
            session: Session::new(),
            port: NTP_PORT,
            family: Family::Any,
            show_hostnames: true,
            json: false,
            debug: 0,
            interactive: false,
            current_host: None,
            keyid: 0,
            keyid_entered: false,
            keytype: MacAlgorithm::Md5,
            keys: HashMap::new(),
            quit: false,
            out: String::new(),
        }
    }

    /// Append to the command's standard output.
    pub(crate) fn print(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// `nntohost`: a name (or `LOCAL(0)` for refclocks) unless `-n`.
    pub(crate) fn nntohost(&self, io: &mut dyn Io, addr: IpAddr) -> String {
        if !self.show_hostnames || addr.is_unspecified() {
            addr.to_string()
        } else if let (true, IpAddr::V4(a)) = (fmt::is_refclock(addr), addr) {
            fmt::refnumtoa(a)
        } else {
            io.reverse(addr).unwrap_or_else(|| addr.to_string())
        }
    }

    /// `prettydate` in the local zone.
    pub(crate) fn prettydate(&self, io: &mut dyn Io, ts: LFp) -> String {
        let now = io.now();
        let pivot = fmt::ntp_to_unix(now.seconds(), 0x8000_0000);
        let secs = (ts.0 >> 32) as u32;
        let unix = fmt::ntp_to_unix(secs, pivot);
        let off = io.utc_offset(unix);
        fmt::prettydate(ts.0, pivot, |_| off)
    }

    fn open_host(&mut self, io: &mut dyn Io, name: &str) -> bool {
        let hname = match name.strip_prefix('[') {
            Some(rest) => match rest.split_once(']') {
                Some((inner, _)) => inner,
                None => return false,
            },
            None => name,
        };
        let Some(addr) = io.resolve(hname, self.family) else {
            io.stderr("Name or service not known\n");
            return false;
        };
        let display = if hname.parse::<IpAddr>().is_ok() {
            addr.to_string()
        } else {
            hname.to_string()
        };
        if self.debug > 2 {
            io.stdout(&format!("Opening host {display}\n"));
        }
        if let Err(e) = io.connect(addr, self.port) {
            io.stderr(&format!("ntpdc: connect: {e}\n"));
            return false;
        }
        self.current_host = Some(display);
        self.session.reset_host();
        true
    }

    /// The key to MAC an authenticated request with, prompting like classic `sendrequest()`.
    /// `Err(())` when the user gave no usable key (classic sends nothing).
    fn auth_key(&mut self, io: &mut dyn Io) -> Result<Option<SymmetricKey>, ()> {
        if self.keyid_entered && self.keyid == 0 {
            return Ok(None);
        }
        if self.keyid == 0 {
            let id = get_keyid(io, "Keyid: ");
            if id == 0 {
                io.stderr("Invalid key identifier\n");
                return Err(());
            }
            self.keyid = id;
        }
        if !self.keys.contains_key(&self.keyid) {
            let prompt = format!("{} Password: ", self.keytype.name());
            let pass = io.read_secret(&prompt, false).unwrap_or_default();
            if pass.is_empty() {
                io.stderr("Invalid password\n");
                return Err(());
            }
            self.use_key(pass.as_bytes());
        }
        Ok(self.keys.get(&self.keyid).cloned())
    }

    fn use_key(&mut self, pass: &[u8]) {
        self.keys.insert(
            self.keyid,
            SymmetricKey::new(self.keyid, self.keytype, pass),
        );
    }

    /// Classic `doquery()`: send, collect, print the error message unless quiet. `Err(None)`
    /// means nothing was sent.
    pub(crate) fn doquery(
        &mut self,
        io: &mut dyn Io,
        mut query: Query,
    ) -> Result<Response, Option<QueryError>> {
        if self.current_host.is_none() {
            io.stderr("***No host open, use `host' command\n");
            return Err(None);
        }
        if query.auth {
            query.key = self.auth_key(io).map_err(|()| None)?;
        }
        let quiet = query.quiet.clone();
        let now = io.now();
        let debug = self.debug > 0;
        let mut ex = Exchange::start(&mut self.session, query, now);
        loop {
            while let Some(ev) = ex.poll_event() {
                match ev {
                    QueryEvent::Send(bytes) => {
                        if let Err(e) = io.send(&bytes) {
                            let host = self.current_host.clone().unwrap_or_default();
                            io.stderr(&format!("ntpdc: write to {host} failed: {e}\n"));
                            return Err(None);
                        }
                    }
                    QueryEvent::Warning(w) => io.stderr(&format!("{w}\n")),
                    QueryEvent::Debug(text) => {
                        if debug {
                            self.out.push_str(&text);
                        }
                    }
                }
            }
            if ex.outcome().is_some() {
                break;
            }
            let wait = ex.wait_for();
            match io.recv(wait) {
                Some(d) => {
                    let now = io.now();
                    ex.handle_datagram(&d, now);
                }
                None => ex.handle_timeout(),
            }
        }
        let host = self.current_host.clone().unwrap_or_default();
        match ex.into_outcome() {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => {
                match &e {
                    QueryError::Timeout => {
                        io.stderr(&format!("{host}: timed out, nothing received\n"))
                    }
                    QueryError::Incomplete => {
                        io.stderr(&format!("{host}: timed out with incomplete data\n"))
                    }
                    _ => {}
                }
                let silent = matches!(&e, QueryError::Server(code) if quiet.contains(code));
                if !silent {
                    if let Some(m) = e.message() {
                        io.stderr(&format!("{m}\n"));
                    }
                }
                Err(Some(e))
            }
            None => Err(None),
        }
    }

    fn docmd(&mut self, io: &mut dyn Io, line: &str) {
        if line.len() >= 512 {
            io.stderr(&format!(
                "***Command ignored, more than 511 characters:\n{line}\n"
            ));
            return;
        }
        let tokens: Vec<&str> = line
            .split([' ', '\t', '\n', '\r'])
            .filter(|t| !t.is_empty())
            .take(1 + 1 + MAXARGS + MOREARGS + 2)
            .collect();
        let Some(first) = tokens.first() else {
            return;
        };
        let cmd = match find_command(first) {
            Found::One(c) => c,
            Found::None => {
                io.stderr(&format!("***Command `{first}' unknown\n"));
                return;
            }
            Found::Many => {
                io.stderr(&format!("***Command `{first}' ambiguous\n"));
                return;
            }
        };
        let mut args: Vec<Arg> = Vec::new();
        let mut ti = 1;
        let mut i = 0;
        while i < MAXARGS && i < cmd.args.len() {
            let spec = cmd.args[i];
            let Some(tok) = tokens.get(i + ti) else {
                if !spec.opt {
                    io.stderr(&usage(cmd));
                    return;
                }
                break;
            };
            if spec.opt && tok.starts_with('>') {
                break;
            }
            match self.getarg(io, tok, spec.ty) {
                GetArg::Skip => {
                    ti += 1;
                    continue;
                }
                GetArg::Fail => return,
                GetArg::Ok(a) => args.push(a),
            }
            i += 1;
        }
        while i < MAXARGS + MOREARGS {
            let Some(tok) = tokens.get(i + ti) else {
                break;
            };
            if tok.starts_with('>') {
                break;
            }
            match self.getarg(io, tok, ArgType::Str) {
                GetArg::Skip => {
                    ti += 1;
                    continue;
                }
                GetArg::Fail => return,
                GetArg::Ok(a) => args.push(a),
            }
            i += 1;
        }
        let mut redirect = None;
        if let Some(tok) = tokens.get(i + ti).filter(|t| t.starts_with('>')) {
            let name = match tok.get(1..).filter(|r| !r.is_empty()) {
                Some(rest) => rest.to_string(),
                None => match tokens.get(i + ti + 1) {
                    Some(next) => next.to_string(),
                    None => {
                        io.stderr("***No file for redirect\n");
                        return;
                    }
                },
            };
            if let Err(e) = io.create_output(&name) {
                io.stderr(&format!("***Error opening {name}: {e}\n"));
                return;
            }
            redirect = Some(name);
        }
        self.out.clear();
        (cmd.run)(self, io, &args);
        let out = std::mem::take(&mut self.out);
        match redirect {
            Some(name) => io.append_output(&name, &out),
            None if !out.is_empty() => io.stdout(&out),
            None => {}
        }
    }

    fn getarg(&mut self, io: &mut dyn Io, tok: &str, ty: ArgType) -> GetArg {
        let mut a = Arg {
            string: tok.to_string(),
            addr: None,
            ival: 0,
        };
        match ty {
            ArgType::Str => {}
            ArgType::Addr => {
                if tok == "-6" || tok == "-4" {
                    return GetArg::Skip;
                }
                let bare = tok
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .map(|(h, _)| h)
                    .unwrap_or(tok);
                match bare
                    .parse::<IpAddr>()
                    .ok()
                    .or_else(|| io.resolve(bare, Family::Any))
                {
                    Some(addr) => a.addr = Some(addr),
                    None => {
                        io.stderr(&format!("***Can't find host {tok}\n"));
                        return GetArg::Fail;
                    }
                }
            }
            ArgType::Int | ArgType::UInt => {
                let (neg, digits) = match tok.strip_prefix('-') {
                    Some(d) => (true, d),
                    None => (false, tok),
                };
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    io.stderr(&format!("***Illegal integer value {tok}\n"));
                    return GetArg::Fail;
                }
                let v = digits.bytes().fold(0i64, |acc, b| {
                    acc.wrapping_mul(10).wrapping_add(i64::from(b - b'0'))
                });
                if neg {
                    if ty == ArgType::UInt {
                        io.stderr(&format!("***Value {tok} should be unsigned\n"));
                        return GetArg::Fail;
                    }
                    a.ival = -v;
                } else {
                    a.ival = v;
                }
            }
            ArgType::IpVersion => match tok {
                "-6" => a.ival = 6,
                "-4" => a.ival = 4,
                _ => {
                    io.stderr("***Version must be either 4 or 6\n");
                    return GetArg::Fail;
                }
            },
        }
        GetArg::Ok(a)
    }
}

enum GetArg {
    Ok(Arg),
    Skip,
    Fail,
}

enum Found {
    One(&'static Command),
    None,
    Many,
}

/// Classic `findcmd`: exact match wins, else a unique prefix over both tables.
fn find_command(word: &str) -> Found {
    let mut near = None;
    let mut n = 0;
    for table in [BUILTINS, ops::OPCMDS] {
        for c in table {
            if c.name.starts_with(word) {
                if c.name.len() == word.len() {
                    return Found::One(c);
                }
                n += 1;
                near = Some(c);
            }
        }
    }
    match (n, near) {
        (1, Some(c)) => Found::One(c),
        (0, _) => Found::None,
        _ => Found::Many,
    }
}

/// Classic `printusage`.
fn usage(cmd: &Command) -> String {
    let mut s = format!("usage: {}", cmd.name);
    let mut opt46 = false;
    for a in cmd.args.iter().take(MAXARGS) {
        if !opt46 && a.ty == ArgType::Addr {
            s.push_str(" [ -4|-6 ]");
            opt46 = true;
        }
        if a.opt {
            s.push_str(&format!(" [ {} ]", a.desc));
        } else {
            s.push_str(&format!(" {}", a.desc));
        }
    }
    s.push('\n');
    s
}

/// Classic `getkeyid`: prompt on stderr, read a line, `atoi`.
fn get_keyid(io: &mut dyn Io, prompt: &str) -> u32 {
    io.stderr(prompt);
    let line = io.read_secret(prompt, true).unwrap_or_default();
    let line: String = line.chars().take(19).collect();
    atoi(&line) as u32
}

/// C `atoi`: optional whitespace and sign, then digits.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = rest
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, b| {
            acc.wrapping_mul(10).wrapping_add(i64::from(b - b'0'))
        });
    if neg {
        -v
    } else {
        v
    }
}

use ArgType::{Int, Str, UInt};

static BUILTINS: &[Command] = &[
    Command {
        name: "?",
        args: &[arg(Str, true, "command")],
        comment: "tell the use and syntax of commands",
        run: help,
    },
    Command {
        name: "help",
        args: &[arg(Str, true, "command")],
        comment: "tell the use and syntax of commands",
        run: help,
    },
    Command {
        name: "timeout",
        args: &[arg(UInt, true, "msec")],
        comment: "set the primary receive time out",
        run: timeout,
    },
    Command {
        name: "delay",
        args: &[arg(Int, true, "msec")],
        comment: "set the delay added to encryption time stamps",
        run: delay,
    },
    Command {
        name: "host",
        args: &[arg(Str, true, "-4|-6"), arg(Str, true, "hostname")],
        comment: "specify the host whose NTP server we talk to",
        run: host,
    },
    Command {
        name: "passwd",
        args: &[arg(Str, true, "")],
        comment: "specify a password to use for authenticated requests",
        run: passwd,
    },
    Command {
        name: "hostnames",
        args: &[arg(Str, true, "yes|no")],
        comment: "specify whether hostnames or net numbers are printed",
        run: hostnames,
    },
    Command {
        name: "debug",
        args: &[arg(Str, true, "no|more|less")],
        comment: "set/change debugging level",
        run: setdebug,
    },
    Command {
        name: "quit",
        args: &[],
        comment: "exit ntpdc",
        run: quit,
    },
    Command {
        name: "exit",
        args: &[],
        comment: "exit ntpdc",
        run: quit,
    },
    Command {
        name: "keyid",
        args: &[arg(UInt, true, "key#")],
        comment: "set/show keyid to use for authenticated requests",
        run: keyid,
    },
    Command {
        name: "keytype",
        args: &[arg(Str, true, "(md5|des)")],
        comment: "set/show key authentication type for authenticated requests (des|md5)",
        run: keytype,
    },
    Command {
        name: "version",
        args: &[],
        comment: "print version number",
        run: version,
    },
];

fn help(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let Some(a) = args.first() else {
        let mut words: Vec<&str> = BUILTINS
            .iter()
            .chain(ops::OPCMDS.iter())
            .map(|c| c.name)
            .filter(|n| !n.starts_with('?'))
            .collect();
        words.sort_unstable();
        let col = words.iter().map(|w| w.len()).max().unwrap_or(0) + 1;
        let cols = (78 / col).max(1);
        let rows = words.len().div_ceil(cols);
        st.print("ntpdc commands:\n");
        for row in 0..rows {
            let mut line = String::new();
            for w in words.iter().skip(row).step_by(rows.max(1)) {
                let cut: String = w.chars().take(col - 1).collect();
                line.push_str(&format!("{cut:<col$}"));
            }
            st.print(&format!("{line}\n"));
        }
        return;
    };
    match find_command(&a.string) {
        Found::None => io.stderr(&format!("Command `{}' is unknown\n", a.string)),
        Found::Many => io.stderr(&format!("Command `{}' is ambiguous\n", a.string)),
        Found::One(c) => {
            st.print(&format!("function: {}\n", c.comment));
            st.print(&usage(c));
        }
    }
}

fn timeout(st: &mut Ntpdc, _io: &mut dyn Io, args: &[Arg]) {
    match args.first() {
        None => {
            let ms = st.session.timeout().as_millis();
            st.print(&format!("primary timeout {ms} ms\n"));
        }
        Some(a) => st
            .session
            .set_timeout(Duration::from_millis(a.ival.max(0) as u64)),
    }
}

fn delay(st: &mut Ntpdc, _io: &mut dyn Io, args: &[Arg]) {
    match args.first() {
        None => {
            let ms = st.session.delay_ms();
            st.print(&format!("delay {ms} ms\n"));
        }
        Some(a) => st.session.set_delay_ms(a.ival),
    }
}

fn host(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    let Some(first) = args.first() else {
        match &st.current_host {
            Some(h) => {
                let h = h.clone();
                st.print(&format!("current host is {h}\n"));
            }
            None => st.print("no current host\n"),
        }
        return;
    };
    let mut name = first;
    if args.len() == 2 {
        match first.string.as_str() {
            "-4" => st.family = Family::V4,
            "-6" => st.family = Family::V6,
            _ => {
                host_remains(st);
                return;
            }
        }
        name = &args[1];
    }
    let name = name.string.clone();
    if st.open_host(io, &name) {
        let h = st.current_host.clone().unwrap_or_default();
        st.print(&format!("current host set to {h}\n"));
    } else {
        host_remains(st);
    }
}

fn host_remains(st: &mut Ntpdc) {
    match st.current_host.clone() {
        Some(h) => st.print(&format!("current host remains {h}\n")),
        None => st.print("still no current host\n"),
    }
}

fn passwd(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    if st.keyid == 0 {
        st.keyid = get_keyid(io, "Keyid: ");
        if st.keyid == 0 {
            st.print("Keyid must be defined\n");
            return;
        }
    }
    let pass = match args.first() {
        Some(a) => a.string.clone(),
        None => {
            let prompt = format!("{} Password: ", st.keytype.name());
            let p = io.read_secret(&prompt, false).unwrap_or_default();
            if p.is_empty() {
                st.print("Password unchanged\n");
                return;
            }
            p
        }
    };
    st.use_key(pass.as_bytes());
}

fn hostnames(st: &mut Ntpdc, io: &mut dyn Io, args: &[Arg]) {
    match args.first().map(|a| a.string.as_str()) {
        None if st.show_hostnames => st.print("hostnames being shown\n"),
        None => st.print("hostnames not being shown\n"),
        Some("yes") => st.show_hostnames = true,
        Some("no") => st.show_hostnames = false,
        Some(_) => io.stderr("What?\n"),
    }
}

fn setdebug(st: &mut Ntpdc, _io: &mut dyn Io, args: &[Arg]) {
    match args.first().map(|a| a.string.as_str()) {
        None => {
            let d = st.debug;
            st.print(&format!("debug level is {d}\n"));
            return;
        }
        Some("no") => st.debug = 0,
        Some("more") => st.debug += 1,
        Some("less") => st.debug -= 1,
        Some(_) => {
            st.print("What?\n");
            return;
        }
    }
    let d = st.debug;
    st.print(&format!("debug level set to {d}\n"));
}

fn quit(st: &mut Ntpdc, _io: &mut dyn Io, _args: &[Arg]) {
    st.quit = true;
}

fn keyid(st: &mut Ntpdc, _io: &mut dyn Io, args: &[Arg]) {
    match args.first() {
        None if st.keyid == 0 && !st.keyid_entered => st.print("no keyid defined\n"),
        None if st.keyid == 0 => st.print("no keyid will be sent\n"),
        None => {
            let k = st.keyid;
            st.print(&format!("keyid is {k}\n"));
        }
        Some(a) => {
            st.keyid = a.ival as u32;
            st.keyid_entered = true;
        }
    }
}

fn keytype(st: &mut Ntpdc, _io: &mut dyn Io, args: &[Arg]) {
    match args.first() {
        None => {
            let (name, len) = (st.keytype.name(), st.keytype.digest_len());
            st.print(&format!("keytype is {name} with {len} octet digests\n"));
        }
        Some(a) => match MacAlgorithm::from_name(&a.string) {
            Some(alg) => st.keytype = alg,
            None => st.print("keytype must be 'md5' or a digest type provided by OpenSSL\n"),
        },
    }
}

fn version(st: &mut Ntpdc, _io: &mut dyn Io, _args: &[Arg]) {
    st.print(&format!(
        "ntpdc {} (ntp-rs-suite, mode 7 compatible with ntpdc 4.2.8)\n",
        env!("CARGO_PKG_VERSION")
    ));
}

const USAGE: &str = concat!(
    "ntpdc - vendor-specific NTPD control program - Ver. 4.2.8 (ntp-rs-suite)\n",
    "Usage:  ntpdc [ -<flag> [<val>] | --<name>[{=| }<val>] ]... [ host ...]\n",
    "  Flg Arg Option-Name    Description\n",
    "   -4 no  ipv4           Force IPv4 name resolution\n",
    "   -6 no  ipv6           Force IPv6 name resolution\n",
    "   -c Str command        run a command and exit\n",
    "   -d no  debug-level    Increase debug verbosity level\n",
    "   -D Num set-debug-level Set the debug verbosity level\n",
    "   -i no  interactive    Force ntpdc to operate in interactive mode\n",
    "   -l no  listpeers      Print a list of the peers\n",
    "   -n no  numeric        Numeric host addresses\n",
    "   -p no  peers          Print a list of the peers\n",
    "   -s no  showpeers      Show a list of the peers\n",
    "   -u no  unconnected    (accepted, ignored)\n",
    "      Num port           Server port (default 123)\n",
    "      no  json           JSON output for the main reports\n",
    "      opt version        output version information and exit\n",
    "   -? no  help           display extended usage information and exit\n",
);

/// Run ntpdc with `args` (without the program name); returns the exit status.
pub fn run(args: &[String], io: &mut dyn Io) -> i32 {
    let mut st = Ntpdc::new();
    let mut cmds: Vec<String> = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    let (mut listpeers, mut peers, mut showpeers) = (false, false, false);
    let mut it = args.iter().peekable();
    let mut only_hosts = false;
    while let Some(a) = it.next() {
        if only_hosts || !a.starts_with('-') || a == "-" {
            hosts.push(a.clone());
            continue;
        }
        if a == "--" {
            only_hosts = true;
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let mut value = |io: &mut dyn Io| -> Option<String> {
                inline.clone().or_else(|| it.next().cloned()).or_else(|| {
                    io.stderr(&format!("ntpdc: option `--{name}' requires an argument\n"));
                    None
                })
            };
            match name {
                "ipv4" => st.family = Family::V4,
                "ipv6" => st.family = Family::V6,
                "command" => match value(io) {
                    Some(v) => cmds.push(v),
                    None => return 1,
                },
                "debug-level" => st.debug += 1,
                "set-debug-level" => match value(io) {
                    Some(v) => st.debug = atoi(&v) as i32,
                    None => return 1,
                },
                "interactive" => st.interactive = true,
                "listpeers" => listpeers = true,
                "numeric" => st.show_hostnames = false,
                "peers" => peers = true,
                "showpeers" => showpeers = true,
                "unconnected" => {}
                "json" => st.json = true,
                "port" => match value(io).and_then(|v| v.parse::<u16>().ok()) {
                    Some(p) => st.port = p,
                    None => {
                        io.stderr("ntpdc: --port needs a port number (0-65535)\n");
                        return 1;
                    }
                },
                "version" => {
                    version(&mut st, io, &[]);
                    io.stdout(&st.out);
                    return 0;
                }
                "help" => {
                    io.stdout(USAGE);
                    return 0;
                }
                _ => {
                    io.stderr(&format!("ntpdc: illegal option -- {name}\n{USAGE}"));
                    return 1;
                }
            }
            continue;
        }
        let flags: Vec<char> = a.chars().skip(1).collect();
        let mut k = 0;
        while let Some(&f) = flags.get(k) {
            k += 1;
            let rest: String = flags.iter().skip(k).collect();
            let mut take_value = |io: &mut dyn Io| -> Option<String> {
                if !rest.is_empty() {
                    Some(rest.clone())
                } else {
                    it.next().cloned().or_else(|| {
                        io.stderr(&format!("ntpdc: option requires an argument -- {f}\n"));
                        None
                    })
                }
            };
            match f {
                '4' => st.family = Family::V4,
                '6' => st.family = Family::V6,
                'c' => match take_value(io) {
                    Some(v) => {
                        cmds.push(v);
                        break;
                    }
                    None => return 1,
                },
                'D' => match take_value(io) {
                    Some(v) => {
                        st.debug = atoi(&v) as i32;
                        break;
                    }
                    None => return 1,
                },
                'd' => st.debug += 1,
                'i' => st.interactive = true,
                'l' => listpeers = true,
                'n' => st.show_hostnames = false,
                'p' => peers = true,
                's' => showpeers = true,
                'u' => {}
                '?' => {
                    io.stdout(USAGE);
                    return 0;
                }
                other => {
                    io.stderr(&format!("ntpdc: illegal option -- {other}\n{USAGE}"));
                    return 1;
                }
            }
        }
    }
    if listpeers {
        cmds.push("listpeers".into());
    }
    if peers {
        cmds.push("peers".into());
    }
    if showpeers {
        cmds.push("dmpeers".into());
    }
    if hosts.is_empty() {
        hosts.push("localhost".into());
    }
    if cmds.is_empty() && !st.interactive && io.is_terminal() {
        st.interactive = true;
    }
    if cmds.is_empty() {
        let first = hosts[0].clone();
        st.open_host(io, &first);
        while !st.quit {
            // Classic's line reader without an editing library prompts on stderr, and
            // writes a newline there at end of input.
            if st.interactive {
                io.stderr("ntpdc> ");
            }
            let Some(line) = io.read_command() else {
                io.stderr("\n");
                break;
            };
            st.docmd(io, &line);
        }
    } else {
        let many = hosts.len() > 1;
        'hosts: for h in &hosts {
            if st.open_host(io, h) {
                for c in &cmds {
                    if many {
                        io.stdout(&format!("--- {h} ---\n"));
                    }
                    st.docmd(io, c);
                    if st.quit {
                        break 'hosts;
                    }
                }
            }
        }
    }
    0
}
