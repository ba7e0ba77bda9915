//! The ntp.conf parser: turns lexed lines into a typed [`Config`], collecting every
//! diagnostic instead of stopping at the first.
//!
//! The directive set is classic ntpd 4.2.8's (`ntpd/ntp_parser.y`, `ntpd/keyword-gen.c`) plus
//! the NTPsec spellings that map cleanly (`refclock`, CIDR restrict addresses, `unrestrict`,
//! `limit`, `tos maxdisp`, `mru minage`) and our `port N` association option. Values are range
//! checked; Autokey and other known-but-refused directives say why they are refused.

use crate::config::*;
use crate::diag::{did_you_mean, quote, Diagnostic, Diagnostics, Location};
use crate::lexer::{lex, Line, Token};
use crate::loader::Loader;
use crate::restrict::{MatchFlags, RestrictFlags};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Deepest `includefile` nesting accepted (classic `MAXINCLUDELEVEL`).
pub const MAX_INCLUDE_DEPTH: usize = 5;

/// Why Autokey directives and options are refused.
pub const AUTOKEY_REASON: &str = "Autokey is broken by design; use symmetric keys or NTS";

/// Every directive keyword we accept (for suggestions).
/// Why `broadcastclient`, `multicastclient` and `manycastserver` are accepted but do nothing.
const NO_MULTICAST: &str = "accepted for compatibility but not implemented: this daemon neither listens for broadcast/multicast time nor answers manycast (unicast server, pool and peer only)";

const DIRECTIVES: &[&str] = &[
    "server",
    "pool",
    "peer",
    "broadcast",
    "manycastclient",
    "unpeer",
    "unconfig",
    "broadcastclient",
    "multicastclient",
    "manycastserver",
    "mdnstries",
    "broadcastdelay",
    "restrict",
    "unrestrict",
    "delrestrict",
    "discard",
    "limit",
    "mru",
    "fudge",
    "device",
    "phone",
    "refclock",
    "driftfile",
    "nonvolatile",
    "logfile",
    "logconfig",
    "statsdir",
    "statistics",
    "filegen",
    "leapfile",
    "leapsmearinterval",
    "keys",
    "trustedkey",
    "controlkey",
    "requestkey",
    "tinker",
    "tos",
    "enable",
    "disable",
    "interface",
    "nic",
    "includefile",
    "setvar",
    "trap",
    "pidfile",
    "dscp",
    "metrics",
    "rlimit",
    "tick",
    "ttl",
    "pollskewlist",
    "end",
];

/// Known directives that we refuse, with the reason.
const REFUSED: &[(&str, &str)] = &[
    ("crypto", AUTOKEY_REASON),
    ("keysdir", AUTOKEY_REASON),
    ("automax", AUTOKEY_REASON),
    ("revoke", AUTOKEY_REASON),
    ("ident", AUTOKEY_REASON),
    ("autokey", AUTOKEY_REASON),
    (
        "saveconfigdir",
        "saving the running configuration is not offered (remote configuration was a recurring source of CVEs)",
    ),
    ("ntpsigndsocket", "MS-SNTP signing through Samba is not supported"),
    ("reset", "it is a runtime command for ntpq :config, not configuration"),
    ("nts", "NTPsec NTS settings are not supported in ntp.conf"),
    ("calldelay", "it was removed from ntpd 4.2.8 (modem drivers dial on their own)"),
];

const ASSOC_OPTIONS: &[&str] = &[
    "burst", "iburst", "prefer", "noselect", "true", "preempt", "xleave", "xmtnonce", "minpoll",
    "maxpoll", "key", "version", "mode", "ttl", "port",
];

const RESTRICT_WORDS: &[&str] = &[
    "ignore",
    "kod",
    "limited",
    "lowpriotrap",
    "mssntp",
    "noepeer",
    "epeer",
    "nomodify",
    "nomrulist",
    "nopeer",
    "noquery",
    "noserve",
    "notrap",
    "notrust",
    "ntpport",
    "version",
    "flake",
    "serverresponse",
    "interface",
    "mask",
    "ippeerlimit",
];

const SYSTEM_FLAGS: &[(&str, SystemFlag)] = &[
    ("auth", SystemFlag::Auth),
    ("bclient", SystemFlag::Bclient),
    ("calibrate", SystemFlag::Calibrate),
    ("kernel", SystemFlag::Kernel),
    ("mode7", SystemFlag::Mode7),
    ("monitor", SystemFlag::Monitor),
    ("ntp", SystemFlag::Ntp),
    ("stats", SystemFlag::Stats),
    ("peer_clear_digest_early", SystemFlag::PeerClearDigestEarly),
    ("unpeer_crypto_early", SystemFlag::UnpeerCryptoEarly),
    ("unpeer_crypto_nak_early", SystemFlag::UnpeerCryptoNakEarly),
    ("unpeer_digest_early", SystemFlag::UnpeerDigestEarly),
];

const STATS: &[(&str, StatsKind)] = &[
    ("clockstats", StatsKind::Clockstats),
    ("cryptostats", StatsKind::Cryptostats),
    ("loopstats", StatsKind::Loopstats),
    ("peerstats", StatsKind::Peerstats),
    ("rawstats", StatsKind::Rawstats),
    ("sysstats", StatsKind::Sysstats),
    ("protostats", StatsKind::Protostats),
    ("timingstats", StatsKind::Timingstats),
];

const FILEGEN_TYPES: &[(&str, FileGenType)] = &[
    ("none", FileGenType::None),
    ("pid", FileGenType::Pid),
    ("day", FileGenType::Day),
    ("week", FileGenType::Week),
    ("month", FileGenType::Month),
    ("year", FileGenType::Year),
    ("age", FileGenType::Age),
];

/// NTPsec refclock driver names and their classic driver type numbers.
const REFCLOCK_NAMES: &[(&str, u8)] = &[
    ("local", 1),
    ("spectracom", 4),
    ("truetime", 5),
    ("generic", 8),
    ("arbiter", 11),
    ("modem", 18),
    ("nmea", 20),
    ("pps", 22),
    ("hpgps", 26),
    ("shm", 28),
    ("trimble", 29),
    ("oncore", 30),
    ("jjy", 40),
    ("zyfer", 42),
    ("neoclock", 44),
    ("gpsd", 46),
];

/// Highest classic refclock driver type.
const MAX_REFCLOCK_TYPE: u8 = 46;

fn names<T>(table: &[(&'static str, T)]) -> Vec<&'static str> {
    table.iter().map(|(n, _)| *n).collect()
}

fn lookup<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == word).map(|(_, v)| *v)
}

/// Parse ntp.conf `text` named `file_name`; `includefile` goes through `loader`.
///
/// On success the [`Config`] carries the parse-time warnings in `warnings`.
///
/// # Errors
/// Every diagnostic (errors and warnings, in file order) if any error was found.
pub fn parse(text: &str, file_name: &str, loader: &dyn Loader) -> Result<Config, Diagnostics> {
    let mut p = Parser {
        loader,
        diags: Vec::new(),
        config: Config::default(),
        stack: Vec::new(),
        written: Vec::new(),
    };
    p.stack.push(file_name.to_string());
    p.parse_text(text, Arc::from(file_name));
    p.check_written_paths();
    if p.diags.iter().any(Diagnostic::is_error) {
        Err(Diagnostics(p.diags))
    } else {
        p.config.warnings = p.diags;
        Ok(p.config)
    }
}

struct Parser<'l> {
    loader: &'l dyn Loader,
    diags: Vec<Diagnostic>,
    config: Config,
    /// Files being parsed, outermost first (for cycle detection and the depth limit).
    stack: Vec<String>,
    /// Files the daemon will write (directive, path, location), checked against `keys`.
    written: Vec<(&'static str, String, Location)>,
}

/// Parse ntp.conf from raw bytes (as read from disk): invalid UTF-8 is reported with its
/// line and column instead of being replaced.
///
/// # Errors
/// As [`parse`], plus an error for the first invalid UTF-8 sequence.
pub fn parse_bytes(
    bytes: &[u8],
    file_name: &str,
    loader: &dyn Loader,
) -> Result<Config, Diagnostics> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, file_name, loader),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(good.get(line_start..).unwrap_or_default())
                .chars()
                .count()
                + 1;
            let at = Location {
                file: Arc::from(file_name),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            };
            Err(Diagnostics(vec![Diagnostic::error(
                at,
                "invalid UTF-8 in configuration text",
            )]))
        }
    }
}

/// A cursor over the tokens of one line.
struct Cur<'a> {
    line: &'a Line,
    file: &'a Arc<str>,
    pos: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.line.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<&'a Token> {
        let t = self.line.tokens.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }
    fn loc(&self, t: &Token) -> Location {
        Location {
            file: Arc::clone(self.file),
            line: t.line,
            column: t.column,
        }
    }
    /// Where a missing value would have been: one past the end of the line.
    fn end(&self) -> Location {
        Location {
            file: Arc::clone(self.file),
            line: self.line.number,
            column: self.line.end_column.saturating_add(1),
        }
    }
}

/// Strict decimal integer: optional `-`, digits only (no `+`, no hex, no spaces).
fn parse_int(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Strict decimal number: `-?(d+(.d*)?|.d+)([eE][-+]?d+)?`, finite.
fn parse_float(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut mantissa = i - start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let f = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        mantissa += i - f;
    }
    if mantissa == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let e = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == e {
            return None;
        }
    }
    if i != b.len() || text.len() > 40 {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Validate a DNS host name (no resolution).
fn valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parse an address token: IPv4/IPv6 literal, refclock `127.127.t.u`, or host name.
fn parse_address(text: &str) -> Result<Address, String> {
    if text.contains(':') {
        if text.contains('%') {
            return Err(format!(
                "IPv6 scope ids are not supported in {}",
                quote(text)
            ));
        }
        return text
            .parse::<Ipv6Addr>()
            .map(|a| Address::Ip(IpAddr::V6(a)))
            .map_err(|_| {
                let hint = if text.starts_with('[') {
                    " (write IPv6 addresses without brackets)"
                } else {
                    ""
                };
                format!("invalid IPv6 address {}{hint}", quote(text))
            });
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let a: Ipv4Addr = text
            .parse()
            .map_err(|_| format!("invalid IPv4 address {}", quote(text)))?;
        let o = a.octets();
        if o[0] == 127 && o[1] == 127 {
            if o[2] == 0 || o[2] > MAX_REFCLOCK_TYPE {
                return Err(format!(
                    "unknown reference clock type {} in {} (expected 1..{MAX_REFCLOCK_TYPE})",
                    o[2],
                    quote(text)
                ));
            }
            return Ok(Address::Refclock(RefclockId {
                driver: o[2],
                unit: o[3],
            }));
        }
        return Ok(Address::Ip(IpAddr::V4(a)));
    }
    if valid_host_name(text) {
        Ok(Address::Name(text.to_string()))
    } else {
        Err(format!("invalid host name {}", quote(text)))
    }
}

fn is_contiguous(mask: IpAddr) -> Option<u8> {
    let (bits, width) = match mask {
        IpAddr::V4(a) => (u128::from(u32::from(a)) << 96, 32u32),
        IpAddr::V6(a) => (u128::from(a), 128u32),
    };
    let ones = bits.leading_ones();
    // Contiguous: after the leading ones, everything is zero.
    let rest = bits.checked_shl(ones).unwrap_or(0);
    (rest == 0 && ones <= width).then(|| u8::try_from(ones).unwrap_or(0))
}

fn prefix_mask(prefix: u8, v6: bool) -> IpAddr {
    if v6 {
        let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
        IpAddr::V6(Ipv6Addr::from(m))
    } else {
        let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        IpAddr::V4(Ipv4Addr::from(m))
    }
}

impl Parser<'_> {
    /// A log, drift or pid file that is the key file would overwrite the keys
    /// (CVE-2015-7850); refuse it.
    fn check_written_paths(&mut self) {
        let Some(keys) = self.config.keys.clone() else {
            return;
        };
        let clashes: Vec<_> = self
            .written
            .iter()
            .filter(|(_, p, _)| *p == keys)
            .cloned()
            .collect();
        for (directive, path, at) in clashes {
            self.error(
                at,
                format!(
                    "{directive} {} is the keys file; ntpd would overwrite the keys",
                    quote(&path)
                ),
            );
        }
    }

    fn error(&mut self, at: Location, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(at, msg));
    }

    fn warn(&mut self, at: Location, msg: impl Into<String>) {
        self.diags.push(Diagnostic::warning(at, msg));
    }

    fn parse_text(&mut self, text: &str, file: Arc<str>) {
        let lines = lex(text, &file, &mut self.diags);
        for line in &lines {
            let mut cur = Cur {
                line,
                file: &file,
                pos: 0,
            };
            if !self.directive(&mut cur) {
                break;
            }
        }
    }

    /// A required token; reports `missing {what}` at end of line.
    fn need<'a>(&mut self, cur: &mut Cur<'a>, what: &str) -> Option<&'a Token> {
        let t = cur.next();
        if t.is_none() {
            let at = cur.end();
            self.error(at, format!("missing {what}"));
        }
        t
    }

    fn int(&mut self, cur: &mut Cur<'_>, name: &str, lo: i64, hi: i64) -> Option<i64> {
        let expect = format!("an integer {lo}..{hi}");
        let t = self.need(cur, &format!("value for \"{name}\" (expected {expect})"))?;
        let at = cur.loc(t);
        match parse_int(&t.text) {
            None => {
                self.error(
                    at,
                    format!(
                        "invalid value {} for \"{name}\" (expected {expect})",
                        quote(&t.text)
                    ),
                );
                None
            }
            Some(v) if v < lo || v > hi => {
                self.error(
                    at,
                    format!("\"{name}\" {v} is out of range (expected {expect})"),
                );
                None
            }
            Some(v) => Some(v),
        }
    }

    fn int_as<T: TryFrom<i64>>(
        &mut self,
        cur: &mut Cur<'_>,
        name: &str,
        lo: i64,
        hi: i64,
    ) -> Option<T> {
        self.int(cur, name, lo, hi)
            .and_then(|v| T::try_from(v).ok())
    }

    fn float(&mut self, cur: &mut Cur<'_>, name: &str, lo: f64, hi: f64) -> Option<f64> {
        let expect = format!("a number {lo}..{hi}");
        let t = self.need(cur, &format!("value for \"{name}\" (expected {expect})"))?;
        let at = cur.loc(t);
        match parse_float(&t.text) {
            None => {
                self.error(
                    at,
                    format!(
                        "invalid value {} for \"{name}\" (expected {expect})",
                        quote(&t.text)
                    ),
                );
                None
            }
            Some(v) if v < lo || v > hi => {
                self.error(
                    at,
                    format!("\"{name}\" {} is out of range (expected {expect})", t.text),
                );
                None
            }
            Some(v) => Some(v),
        }
    }

    fn string(&mut self, cur: &mut Cur<'_>, what: &str) -> Option<String> {
        self.need(cur, what).map(|t| t.text.clone())
    }

    fn key_id(&mut self, cur: &mut Cur<'_>, name: &str) -> Option<u16> {
        self.int_as(cur, name, 1, 65535)
    }

    /// After an unknown option name, skip its value (the next token, unless it is itself one
    /// of `options`) so one typo gives one diagnostic.
    fn skip_value(cur: &mut Cur<'_>, options: &[&str]) {
        if cur
            .peek()
            .is_some_and(|t| !options.contains(&t.text.as_str()))
        {
            cur.next();
        }
    }

    /// Report anything left on the line.
    fn no_more(&mut self, cur: &mut Cur<'_>, directive: &str) {
        if let Some(t) = cur.next() {
            let at = cur.loc(t);
            self.error(
                at,
                format!(
                    "unexpected {} after \"{directive}\" (expected end of line)",
                    quote(&t.text)
                ),
            );
        }
    }

    /// Set an optional value, reporting a duplicate.
    fn set_once<T>(&mut self, slot: &mut Option<T>, value: Option<T>, at: Location, name: &str) {
        if let Some(v) = value {
            if slot.is_some() {
                self.error(at, format!("\"{name}\" is given more than once"));
            } else {
                *slot = Some(v);
            }
        }
    }

    fn family(&mut self, cur: &mut Cur<'_>) -> Option<Family> {
        match cur.peek().map(|t| t.text.as_str()) {
            Some("-4") => {
                cur.next();
                Some(Family::V4)
            }
            Some("-6") => {
                cur.next();
                Some(Family::V6)
            }
            _ => None,
        }
    }

    fn check_family(&mut self, family: Option<Family>, addr: &Address, at: Location) {
        let Address::Ip(ip) = addr else { return };
        match (family, ip) {
            (Some(Family::V6), IpAddr::V4(_)) => {
                self.error(at, format!("\"-6\" given but {ip} is an IPv4 address"));
            }
            (Some(Family::V4), IpAddr::V6(_)) => {
                self.error(at, format!("\"-4\" given but {ip} is an IPv6 address"));
            }
            _ => {}
        }
    }

    /// Parse one line; returns false on `end`.
    fn directive(&mut self, cur: &mut Cur<'_>) -> bool {
        let Some(first) = cur.next() else { return true };
        let at = cur.loc(first);
        let word = first.text.as_str();
        match word {
            "server" => self.association(cur, AssociationKind::Server, at),
            "pool" => self.association(cur, AssociationKind::Pool, at),
            "peer" => self.association(cur, AssociationKind::Peer, at),
            "broadcast" => self.association(cur, AssociationKind::Broadcast, at),
            "manycastclient" => self.association(cur, AssociationKind::ManycastClient, at),
            "unpeer" | "unconfig" => {
                if let Some(t) = self.need(cur, &format!("address after \"{word}\"")) {
                    match parse_address(&t.text) {
                        Ok(a) => self.config.unpeer.push(a),
                        Err(e) => {
                            let l = cur.loc(t);
                            self.error(l, e);
                        }
                    }
                }
                self.no_more(cur, word);
            }
            "broadcastclient" => {
                if let Some(t) = cur.peek().filter(|t| t.text == "novolley") {
                    let l = cur.loc(t);
                    cur.next();
                    self.warn(l, "\"novolley\" is deprecated and ignored");
                }
                self.config.broadcastclient = true;
                self.warn(at.clone(), NO_MULTICAST);
                self.no_more(cur, word);
            }
            "multicastclient" | "manycastserver" => {
                self.warn(at.clone(), NO_MULTICAST);
                self.group_list(cur, word);
            }
            "mdnstries" => {
                let v = self.int_as(cur, word, 0, 1000);
                self.set_once_cfg(|c| &mut c.mdnstries, v, at, word);
                self.no_more(cur, word);
            }
            "broadcastdelay" => {
                let v = self.float(cur, word, 0.0, 1.0);
                self.set_once_cfg(|c| &mut c.broadcastdelay, v, at, word);
                self.no_more(cur, word);
            }
            "restrict" => self.restrict(cur, RestrictOp::Restrict, at),
            "unrestrict" => self.restrict(cur, RestrictOp::Unrestrict, at),
            "delrestrict" => self.restrict(cur, RestrictOp::Delrestrict, at),
            "discard" => self.discard(cur, word),
            "limit" => self.discard(cur, word),
            "mru" => self.mru(cur, at),
            "fudge" => self.fudge(cur, at),
            "refclock" => self.refclock(cur, at),
            "device" => self.device(cur),
            "phone" => {
                if cur.peek().is_none() {
                    let l = cur.end();
                    self.error(l, "missing phone number after \"phone\"");
                }
                while let Some(t) = cur.next() {
                    self.config.phone.push(t.text.clone());
                }
            }
            "driftfile" => {
                if let Some(path) = self.string(cur, "file name after \"driftfile\"") {
                    self.written.push(("driftfile", path.clone(), at.clone()));
                    let threshold = if cur.peek().is_some() {
                        self.float(cur, "driftfile threshold", 1e-12, 1.0)
                    } else {
                        None
                    };
                    let value = DriftFile {
                        path,
                        threshold,
                        location: at.clone(),
                    };
                    self.set_once_cfg(|c| &mut c.driftfile, Some(value), at, word);
                }
                self.no_more(cur, word);
            }
            "nonvolatile" => {
                let v = self.float(cur, word, 1e-12, 1.0);
                self.set_once_cfg(|c| &mut c.nonvolatile, v, at, word);
                self.no_more(cur, word);
            }
            "logfile" | "statsdir" | "keys" | "pidfile" => {
                let v = self.string(cur, &format!("file name after \"{word}\""));
                if let (Some(path), "logfile" | "pidfile") = (&v, word) {
                    let name = if word == "logfile" {
                        "logfile"
                    } else {
                        "pidfile"
                    };
                    self.written.push((name, path.clone(), at.clone()));
                }
                match word {
                    "logfile" => self.set_once_cfg(|c| &mut c.logfile, v, at, word),
                    "statsdir" => self.set_once_cfg(|c| &mut c.statsdir, v, at, word),
                    "keys" => self.set_once_cfg(|c| &mut c.keys, v, at, word),
                    _ => self.set_once_cfg(|c| &mut c.pidfile, v, at, word),
                }
                self.no_more(cur, word);
            }
            "logconfig" => self.logconfig(cur),
            "statistics" => self.statistics(cur),
            "filegen" => self.filegen(cur),
            "leapfile" => {
                if let Some(path) = self.string(cur, "file name after \"leapfile\"") {
                    let mut hash = None;
                    if let Some(t) = cur.next() {
                        match t.text.as_str() {
                            "checkhash" => hash = Some(LeapHash::Check),
                            "ignorehash" => hash = Some(LeapHash::Ignore),
                            other => {
                                let l = cur.loc(t);
                                self.error(
                                    l,
                                    format!(
                                        "unknown leapfile option {}{} (expected \"checkhash\" or \"ignorehash\")",
                                        quote(other),
                                        did_you_mean(other, &["checkhash", "ignorehash"])
                                    ),
                                );
                            }
                        }
                    }
                    self.set_once_cfg(|c| &mut c.leapfile, Some(LeapFile { path, hash }), at, word);
                }
                self.no_more(cur, word);
            }
            "leapsmearinterval" => {
                let v = self.int_as(cur, word, 0, 86400 * 365);
                self.set_once_cfg(|c| &mut c.leapsmearinterval, v, at, word);
                self.no_more(cur, word);
            }
            "trustedkey" => self.trustedkey(cur),
            "controlkey" | "requestkey" => {
                let v = self.key_id(cur, word).map(|id| (id, at.clone()));
                if word == "controlkey" {
                    self.set_once_cfg(|c| &mut c.controlkey, v, at, word);
                } else {
                    self.set_once_cfg(|c| &mut c.requestkey, v, at, word);
                }
                self.no_more(cur, word);
            }
            "tinker" => self.tinker(cur),
            "tos" => self.tos(cur),
            "enable" | "disable" => self.system_flags(cur, word == "enable", word),
            "interface" | "nic" => self.interface(cur, word),
            "includefile" => self.includefile(cur, at),
            "setvar" => self.setvar(cur),
            "trap" => self.trap(cur),
            "dscp" => {
                let v = self.int_as(cur, word, 0, 63);
                self.set_once_cfg(|c| &mut c.dscp, v, at, word);
                self.no_more(cur, word);
            }
            "metrics" => {
                if let Some(t) = self.need(cur, "ADDRESS:PORT after \"metrics\"") {
                    let l = cur.loc(t);
                    match parse_metrics_address(&t.text) {
                        Ok(a) => self.set_once_cfg(|c| &mut c.metrics, Some(a), at, word),
                        Err(e) => self.error(l, e),
                    }
                }
                self.no_more(cur, word);
            }
            "rlimit" => self.rlimit(cur),
            "tick" => {
                let v = self.float(cur, word, 1e-9, 0.1);
                self.set_once_cfg(|c| &mut c.tick, v, at, word);
                self.no_more(cur, word);
            }
            "ttl" => {
                if cur.peek().is_none() {
                    let l = cur.end();
                    self.error(l, "missing TTL values after \"ttl\"");
                }
                while cur.peek().is_some() {
                    if self.config.ttl.len() == 8 {
                        let t = cur.next();
                        if let Some(t) = t {
                            let l = cur.loc(t);
                            self.error(l, "too many TTL values (at most 8)");
                        }
                        break;
                    }
                    if let Some(v) = self.int_as::<u8>(cur, "ttl", 1, 255) {
                        self.config.ttl.push(v);
                    }
                }
            }
            "pollskewlist" => self.pollskewlist(cur),
            "end" => {
                self.no_more(cur, word);
                return false;
            }
            other => {
                if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == other) {
                    self.error(at, format!("\"{other}\" is not supported: {why}"));
                } else {
                    self.error(
                        at,
                        format!(
                            "unknown directive {}{}",
                            quote(other),
                            did_you_mean(other, DIRECTIVES)
                        ),
                    );
                }
            }
        }
        true
    }

    /// `set_once` on a field of the config.
    fn set_once_cfg<T>(
        &mut self,
        field: impl FnOnce(&mut Config) -> &mut Option<T>,
        value: Option<T>,
        at: Location,
        name: &str,
    ) {
        let Some(v) = value else { return };
        let slot = field(&mut self.config);
        if slot.is_some() {
            self.diags.push(Diagnostic::error(
                at,
                format!("\"{name}\" is given more than once"),
            ));
        } else {
            *slot = Some(v);
        }
    }

    fn association(&mut self, cur: &mut Cur<'_>, kind: AssociationKind, at: Location) {
        let kw = kind.keyword();
        let family = self.family(cur);
        let Some(t) = self.need(cur, &format!("address after \"{kw}\"")) else {
            return;
        };
        let addr_at = cur.loc(t);
        let address = match parse_address(&t.text) {
            Ok(a) => a,
            Err(e) => {
                self.error(addr_at, e);
                return;
            }
        };
        self.check_family(family, &address, addr_at.clone());
        let is_refclock = matches!(address, Address::Refclock(_));
        if is_refclock && kind != AssociationKind::Server {
            self.error(
                addr_at.clone(),
                format!("reference clock address {address} is only valid with \"server\""),
            );
        }
        if kind == AssociationKind::ManycastClient {
            if let Address::Ip(ip) = &address {
                if !ip.is_multicast() {
                    self.error(
                        addr_at.clone(),
                        format!("manycastclient needs a multicast group address, not {ip}"),
                    );
                }
            }
        }
        let mut o = AssociationOptions::default();
        let mut minpoll_at = None;
        let mut maxpoll_at = None;
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let word = t.text.as_str();
            let flag = match word {
                "burst" => Some(&mut o.burst),
                "iburst" => Some(&mut o.iburst),
                "prefer" => Some(&mut o.prefer),
                "noselect" => Some(&mut o.noselect),
                "true" => Some(&mut o.truechimer),
                "preempt" => Some(&mut o.preempt),
                "xleave" => Some(&mut o.xleave),
                "xmtnonce" => Some(&mut o.xmtnonce),
                _ => None,
            };
            if let Some(flag) = flag {
                if *flag {
                    self.error(l, format!("\"{word}\" is given more than once"));
                }
                *flag = true;
                continue;
            }
            match word {
                "minpoll" => {
                    let v = self.int_as(cur, word, 3, 17);
                    minpoll_at = Some(l.clone());
                    self.set_once(&mut o.minpoll, v, l, word);
                }
                "maxpoll" => {
                    let v = self.int_as(cur, word, 3, 17);
                    maxpoll_at = Some(l.clone());
                    self.set_once(&mut o.maxpoll, v, l, word);
                }
                "key" => {
                    let v = self.key_id(cur, word);
                    self.set_once(&mut o.key, v, l, word);
                }
                "version" => {
                    let v = self.int_as(cur, word, 1, 4);
                    self.set_once(&mut o.version, v, l, word);
                }
                "mode" => {
                    let v = self.int_as(cur, word, 0, 255);
                    if !is_refclock && v.is_some() {
                        self.error(
                            l.clone(),
                            "\"mode\" applies only to reference clocks (127.127.t.u)",
                        );
                    }
                    self.set_once(&mut o.mode, v, l, word);
                }
                "ttl" => {
                    let v = self.int_as(cur, word, if is_refclock { 0 } else { 1 }, 255);
                    self.set_once(&mut o.ttl, v, l, word);
                }
                "port" => {
                    let v = self.int_as(cur, word, 1, 65535);
                    if is_refclock && v.is_some() {
                        self.error(l.clone(), "\"port\" does not apply to reference clocks");
                    }
                    self.set_once(&mut o.port, v, l, word);
                }
                "autokey" | "ident" => {
                    if word == "ident" {
                        cur.next();
                    }
                    self.error(l, format!("\"{word}\" is not supported: {AUTOKEY_REASON}"));
                }
                "nts" => {
                    self.error(l, "\"nts\" is not supported: NTPsec NTS settings are not supported in ntp.conf");
                }
                _ => {
                    self.error(
                        l,
                        format!(
                            "unknown {kw} option {}{}",
                            quote(word),
                            did_you_mean(word, ASSOC_OPTIONS)
                        ),
                    );
                }
            }
        }
        if let (Some(min), Some(max)) = (o.minpoll, o.maxpoll) {
            if min > max {
                let l = maxpoll_at.or(minpoll_at).unwrap_or_else(|| at.clone());
                self.error(l, format!("minpoll {min} is greater than maxpoll {max}"));
            }
        }
        self.config.associations.push(Association {
            kind,
            family,
            address,
            options: o,
            location: at,
        });
    }

    fn group_list(&mut self, cur: &mut Cur<'_>, word: &str) {
        if word == "manycastserver" && cur.peek().is_none() {
            let l = cur.end();
            self.error(
                l,
                "missing multicast group address after \"manycastserver\"",
            );
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            match parse_address(&t.text) {
                Ok(Address::Ip(ip)) if !ip.is_multicast() => {
                    self.error(
                        l,
                        format!("\"{word}\" needs multicast group addresses, not {ip}"),
                    );
                }
                Ok(Address::Refclock(r)) => {
                    self.error(
                        l,
                        format!(
                            "\"{word}\" needs multicast group addresses, not {}",
                            r.address()
                        ),
                    );
                }
                Ok(a) => {
                    if word == "multicastclient" {
                        self.config.multicastclient.push(a);
                    } else {
                        self.config.manycastserver.push(a);
                    }
                }
                Err(e) => self.error(l, e),
            }
        }
    }

    fn restrict(&mut self, cur: &mut Cur<'_>, op: RestrictOp, at: Location) {
        let kw = match op {
            RestrictOp::Restrict => "restrict",
            RestrictOp::Unrestrict => "unrestrict",
            RestrictOp::Delrestrict => "delrestrict",
        };
        let family = self.family(cur);
        let Some(t) = self.need(
            cur,
            &format!("address, \"default\" or \"source\" after \"{kw}\""),
        ) else {
            return;
        };
        let addr_at = cur.loc(t);
        let mut target = match t.text.as_str() {
            "default" => RestrictTarget::Default,
            "source" => {
                if family.is_some() {
                    self.error(
                        addr_at.clone(),
                        "\"-4\"/\"-6\" cannot be used with \"source\"",
                    );
                }
                if op == RestrictOp::Delrestrict {
                    // `delrestrict source ADDR` removes a dynamic source entry.
                    let _ = self.need(cur, "address after \"delrestrict source\"");
                    self.no_more(cur, kw);
                    return;
                }
                RestrictTarget::Source
            }
            text => match self.restrict_address(text, family, addr_at.clone()) {
                Some(t) => t,
                None => return,
            },
        };
        let mut line = RestrictLine {
            op,
            family,
            target: RestrictTarget::Default,
            ippeerlimit: None,
            flags: RestrictFlags::empty(),
            match_flags: MatchFlags::empty(),
            epeer: false,
            location: at,
        };
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let word = t.text.as_str();
            if op == RestrictOp::Delrestrict && word != "mask" {
                self.error(
                    l,
                    format!(
                        "unexpected {} after \"delrestrict\" (expected \"mask\" or end of line)",
                        quote(word)
                    ),
                );
                continue;
            }
            match word {
                "mask" => {
                    let Some(m) = self.need(cur, "mask address after \"mask\"") else {
                        continue;
                    };
                    let ml = cur.loc(m);
                    self.restrict_mask(&mut target, &m.text, ml);
                }
                "ippeerlimit" => {
                    let v = self.int_as(cur, word, -1, 32767);
                    self.set_once(&mut line.ippeerlimit, v, l, word);
                }
                "serverresponse" => match cur.next() {
                    Some(f) if f.text == "fuzz" => line.flags.insert(RestrictFlags::SRVRSPFUZ),
                    Some(f) => {
                        let fl = cur.loc(f);
                        self.error(
                            fl,
                            format!(
                                "expected \"fuzz\" after \"serverresponse\", found {}",
                                quote(&f.text)
                            ),
                        );
                    }
                    None => {
                        let el = cur.end();
                        self.error(el, "missing \"fuzz\" after \"serverresponse\"");
                    }
                },
                "epeer" => line.epeer = true,
                other => {
                    if let Some(f) = RestrictFlags::from_keyword(other) {
                        line.flags.insert(f);
                    } else if other == "ntpport" {
                        line.match_flags.insert(MatchFlags::NTPONLY);
                    } else if other == "interface" {
                        line.match_flags.insert(MatchFlags::INTERFACE);
                    } else if matches!(other, "autokey" | "crypto") {
                        self.error(l, format!("\"{other}\" is not supported: {AUTOKEY_REASON}"));
                    } else {
                        self.error(
                            l,
                            format!(
                                "unknown restrict flag {}{}",
                                quote(other),
                                did_you_mean(other, RESTRICT_WORDS)
                            ),
                        );
                    }
                }
            }
        }
        line.target = target;
        self.config.restrictions.push(line);
    }

    fn restrict_address(
        &mut self,
        text: &str,
        family: Option<Family>,
        at: Location,
    ) -> Option<RestrictTarget> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let address = match parse_address(addr_text) {
            Ok(Address::Refclock(r)) => Address::Ip(IpAddr::V4(r.address())),
            Ok(a) => a,
            Err(e) => {
                self.error(at, e);
                return None;
            }
        };
        self.check_family(family, &address, at.clone());
        let mut mask = None;
        if let Some(p) = prefix_text {
            let Address::Ip(ip) = &address else {
                self.error(
                    at,
                    format!(
                        "a CIDR prefix needs an IP address, not the name {}",
                        quote(addr_text)
                    ),
                );
                return None;
            };
            let max = if ip.is_ipv6() { 128 } else { 32 };
            match parse_int(p) {
                Some(n) if (0..=max).contains(&n) => {
                    mask = Some(prefix_mask(u8::try_from(n).unwrap_or(0), ip.is_ipv6()));
                }
                _ => {
                    self.error(
                        at,
                        format!(
                            "invalid prefix length {} in {} (expected 0..{max})",
                            quote(p),
                            quote(text)
                        ),
                    );
                    return None;
                }
            }
        }
        Some(RestrictTarget::Host { address, mask })
    }

    fn restrict_mask(&mut self, target: &mut RestrictTarget, text: &str, at: Location) {
        let RestrictTarget::Host { address, mask } = target else {
            self.error(at, "\"mask\" is only valid after an address");
            return;
        };
        if mask.is_some() {
            self.error(
                at,
                "the mask is given twice (CIDR prefix or an earlier \"mask\")",
            );
            return;
        }
        let m: IpAddr = match text.parse() {
            Ok(m) => m,
            Err(_) => {
                self.error(at, format!("invalid mask {}", quote(text)));
                return;
            }
        };
        if let Address::Ip(ip) = address {
            if ip.is_ipv6() != m.is_ipv6() {
                self.error(
                    at,
                    format!("mask {m} is not the same address family as {ip}"),
                );
                return;
            }
        }
        if is_contiguous(m).is_none() {
            self.error(at, format!("mask {m} is not contiguous"));
            return;
        }
        *mask = Some(m);
    }

    fn discard(&mut self, cur: &mut Cur<'_>, word: &str) {
        let opts: &[&str] = if word == "discard" {
            &["average", "minimum", "monitor"]
        } else {
            &["average", "burst", "kod"]
        };
        if cur.peek().is_none() {
            self.error(
                cur.end(),
                format!(
                    "missing option after \"{word}\" (expected one of {})",
                    opts.join(", ")
                ),
            );
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let name = t.text.as_str();
            let mut d = std::mem::take(&mut self.config.discard);
            match name {
                "average" if opts.contains(&name) => {
                    let v = self.int_as(cur, name, 0, 16);
                    self.set_once(&mut d.average, v, l, name);
                }
                "minimum" if opts.contains(&name) => {
                    let v = self.int_as(cur, name, 0, 60);
                    self.set_once(&mut d.minimum, v, l, name);
                }
                "monitor" if opts.contains(&name) => {
                    let v = self.int_as(cur, name, 0, 1_000_000);
                    self.set_once(&mut d.monitor, v, l, name);
                }
                "burst" if opts.contains(&name) => {
                    let v = self.int_as(cur, name, 1, 1000);
                    self.set_once(&mut d.burst, v, l, name);
                }
                "kod" if opts.contains(&name) => {
                    let v = self.int_as(cur, name, 0, 1000);
                    self.set_once(&mut d.kod, v, l, name);
                }
                _ => {
                    self.error(
                        l,
                        format!(
                            "unknown {word} option {}{}",
                            quote(name),
                            did_you_mean(name, opts)
                        ),
                    );
                    Self::skip_value(cur, opts);
                }
            }
            self.config.discard = d;
        }
    }

    fn mru(&mut self, cur: &mut Cur<'_>, at: Location) {
        const OPTS: &[&str] = &[
            "maxdepth",
            "maxmem",
            "mindepth",
            "maxage",
            "minage",
            "initalloc",
            "initmem",
            "incalloc",
            "incmem",
        ];
        if cur.peek().is_none() {
            self.error(at, "missing option after \"mru\"");
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let name = t.text.as_str();
            if !OPTS.contains(&name) {
                self.error(
                    l,
                    format!(
                        "unknown mru option {}{}",
                        quote(name),
                        did_you_mean(name, OPTS)
                    ),
                );
                Self::skip_value(cur, OPTS);
                continue;
            }
            let v = self.int_as::<u32>(cur, name, 0, 4_000_000);
            let mut m = std::mem::take(&mut self.config.mru);
            let slot = match name {
                "maxdepth" => &mut m.maxdepth,
                "maxmem" => &mut m.maxmem,
                "mindepth" => &mut m.mindepth,
                "maxage" => &mut m.maxage,
                "minage" => &mut m.minage,
                "initalloc" => &mut m.initalloc,
                "initmem" => &mut m.initmem,
                "incalloc" => &mut m.incalloc,
                _ => &mut m.incmem,
            };
            self.set_once(slot, v, l, name);
            self.config.mru = m;
        }
    }

    fn refclock_address(&mut self, cur: &mut Cur<'_>, word: &str) -> Option<RefclockId> {
        let t = self.need(cur, &format!("reference clock address after \"{word}\""))?;
        let l = cur.loc(t);
        match parse_address(&t.text) {
            Ok(Address::Refclock(r)) => Some(r),
            Ok(_) => {
                self.error(
                    l,
                    format!(
                        "\"{word}\" needs a reference clock address 127.127.t.u, found {}",
                        quote(&t.text)
                    ),
                );
                None
            }
            Err(e) => {
                self.error(l, e);
                None
            }
        }
    }

    /// One fudge option (shared by `fudge` and NTPsec `refclock`); false if `word` is not one.
    fn fudge_option(&mut self, cur: &mut Cur<'_>, f: &mut Fudge, word: &str, l: Location) -> bool {
        match word {
            "time1" | "time2" => {
                let v = self.float(cur, word, -1000.0, 1000.0);
                let slot = if word == "time1" {
                    &mut f.time1
                } else {
                    &mut f.time2
                };
                self.set_once(slot, v, l, word);
            }
            "stratum" => {
                let v = self.int_as(cur, word, 0, 15);
                self.set_once(&mut f.stratum, v, l, word);
            }
            "refid" => {
                if let Some(t) = self.need(cur, "value for \"refid\" (expected 1 to 4 characters)")
                {
                    let n = t.text.chars().count();
                    if n == 0 || n > 4 || !t.text.is_ascii() {
                        let tl = cur.loc(t);
                        self.error(
                            tl,
                            format!("refid {} must be 1 to 4 ASCII characters", quote(&t.text)),
                        );
                    } else {
                        let v = Some(t.text.clone());
                        self.set_once(&mut f.refid, v, l, word);
                    }
                }
            }
            "flag1" | "flag2" | "flag3" | "flag4" => {
                let i = usize::from(word.as_bytes()[4] - b'1');
                let v = self.int(cur, word, 0, 1).map(|v| v == 1);
                self.set_once(&mut f.flags[i], v, l, word);
            }
            "minjitter" => {
                let v = self.float(cur, word, 0.0, 1.0);
                self.set_once(&mut f.minjitter, v, l, word);
            }
            "abbrev" => {
                let v = self.string(cur, "value for \"abbrev\"");
                self.set_once(&mut f.abbrev, v, l, word);
            }
            _ => return false,
        }
        true
    }

    fn fudge(&mut self, cur: &mut Cur<'_>, at: Location) {
        let Some(r) = self.refclock_address(cur, "fudge") else {
            return;
        };
        let mut f = Fudge {
            refclock: Some(r),
            location: Some(at),
            ..Fudge::default()
        };
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let word = t.text.as_str();
            if !self.fudge_option(cur, &mut f, word, l.clone()) {
                const OPTS: &[&str] = &[
                    "time1",
                    "time2",
                    "stratum",
                    "refid",
                    "flag1",
                    "flag2",
                    "flag3",
                    "flag4",
                    "minjitter",
                    "abbrev",
                ];
                self.error(
                    l,
                    format!(
                        "unknown fudge option {}{}",
                        quote(word),
                        did_you_mean(word, OPTS)
                    ),
                );
                Self::skip_value(cur, OPTS);
            }
        }
        self.config.fudges.push(f);
    }

    /// NTPsec `refclock NAME [options]`, mapped to `server 127.127.t.u` + `fudge`.
    fn refclock(&mut self, cur: &mut Cur<'_>, at: Location) {
        let Some(t) = self.need(cur, "driver name after \"refclock\"") else {
            return;
        };
        let l = cur.loc(t);
        let Some(driver) = lookup(REFCLOCK_NAMES, &t.text) else {
            self.error(
                l,
                format!(
                    "unknown refclock driver {}{}",
                    quote(&t.text),
                    did_you_mean(&t.text, &names(REFCLOCK_NAMES))
                ),
            );
            return;
        };
        let mut unit = None;
        let (mut timedata, mut ppsdata) = (None, None);
        let mut o = AssociationOptions::default();
        let mut f = Fudge {
            location: Some(at.clone()),
            ..Fudge::default()
        };
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let word = t.text.as_str();
            match word {
                "unit" => {
                    let v = self.int_as(cur, word, 0, 255);
                    self.set_once(&mut unit, v, l, word);
                }
                "prefer" => o.prefer = true,
                "noselect" => o.noselect = true,
                "iburst" => o.iburst = true,
                "minpoll" | "maxpoll" => {
                    let v = self.int_as(cur, word, 3, 17);
                    let slot = if word == "minpoll" {
                        &mut o.minpoll
                    } else {
                        &mut o.maxpoll
                    };
                    self.set_once(slot, v, l, word);
                }
                "mode" | "subtype" => {
                    let v = self.int_as(cur, word, 0, 255);
                    self.set_once(&mut o.mode, v, l, word);
                }
                "path" | "ppspath" => {
                    // Same meaning as classic `device ... timedata P ppsdata P`.
                    let v = self.string(cur, &format!("value for \"{word}\""));
                    let slot = if word == "path" {
                        &mut timedata
                    } else {
                        &mut ppsdata
                    };
                    self.set_once(slot, v, l, word);
                }
                "baud" => {
                    let v = self.int_as(cur, word, 50, 4_000_000);
                    self.set_once(&mut f.baud, v, l, word);
                }
                _ => {
                    if !self.fudge_option(cur, &mut f, word, l.clone()) {
                        const OPTS: &[&str] = &[
                            "unit",
                            "prefer",
                            "noselect",
                            "iburst",
                            "minpoll",
                            "maxpoll",
                            "mode",
                            "subtype",
                            "path",
                            "ppspath",
                            "baud",
                            "time1",
                            "time2",
                            "stratum",
                            "refid",
                            "flag1",
                            "flag2",
                            "flag3",
                            "flag4",
                            "minjitter",
                        ];
                        self.error(
                            l,
                            format!(
                                "unknown refclock option {}{}",
                                quote(word),
                                did_you_mean(word, OPTS)
                            ),
                        );
                    }
                }
            }
        }
        let id = RefclockId {
            driver,
            unit: unit.unwrap_or(0),
        };
        f.refclock = Some(id);
        if timedata.is_some() || ppsdata.is_some() {
            self.config.devices.push(Device {
                refclock: id,
                timedata,
                ppsdata,
            });
        }
        self.config.associations.push(Association {
            kind: AssociationKind::Server,
            family: None,
            address: Address::Refclock(id),
            options: o,
            location: at,
        });
        self.config.fudges.push(f);
    }

    fn device(&mut self, cur: &mut Cur<'_>) {
        let Some(r) = self.refclock_address(cur, "device") else {
            return;
        };
        let mut d = Device {
            refclock: r,
            timedata: None,
            ppsdata: None,
        };
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            match t.text.as_str() {
                "timedata" => {
                    let v = self.string(cur, "path after \"timedata\"");
                    self.set_once(&mut d.timedata, v, l, "timedata");
                }
                "ppsdata" => {
                    let v = self.string(cur, "path after \"ppsdata\"");
                    self.set_once(&mut d.ppsdata, v, l, "ppsdata");
                }
                other => self.error(
                    l,
                    format!(
                        "unknown device option {}{}",
                        quote(other),
                        did_you_mean(other, &["timedata", "ppsdata"])
                    ),
                ),
            }
        }
        self.config.devices.push(d);
    }

    fn logconfig(&mut self, cur: &mut Cur<'_>) {
        if cur.peek().is_none() {
            self.error(
                cur.end(),
                "missing item after \"logconfig\" (e.g. \"=syncall\")",
            );
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let text = t.text.as_str();
            let (op, rest) = match text.as_bytes().first() {
                Some(b'=') => (LogOp::Set, &text[1..]),
                Some(b'+') => (LogOp::Add, &text[1..]),
                Some(b'-') => (LogOp::Remove, &text[1..]),
                _ => (LogOp::Add, text),
            };
            const CLASSES: &[(&str, LogClass)] = &[
                ("clock", LogClass::Clock),
                ("peer", LogClass::Peer),
                ("sys", LogClass::Sys),
                ("sync", LogClass::Sync),
                ("all", LogClass::All),
            ];
            const KINDS: &[(&str, LogKind)] = &[
                ("info", LogKind::Info),
                ("events", LogKind::Events),
                ("status", LogKind::Status),
                ("statistics", LogKind::Statistics),
                ("all", LogKind::All),
            ];
            let parsed = CLASSES.iter().find_map(|(cn, c)| {
                let k = rest.strip_prefix(cn)?;
                lookup(KINDS, k).map(|k| LogConfigItem {
                    op,
                    class: *c,
                    kind: k,
                })
            });
            match parsed {
                Some(item) => self.config.logconfig.push(item),
                None => self.error(
                    l,
                    format!(
                        "invalid logconfig item {} (expected [=+-] then clock|peer|sys|sync|all then info|events|status|statistics|all, e.g. \"=syncall\")",
                        quote(text)
                    ),
                ),
            }
        }
    }

    fn stats_name(&mut self, cur: &Cur<'_>, t: &Token) -> Option<StatsKind> {
        let v = lookup(STATS, &t.text);
        if v.is_none() {
            let l = cur.loc(t);
            self.error(
                l,
                format!(
                    "unknown statistics name {}{}",
                    quote(&t.text),
                    did_you_mean(&t.text, &names(STATS))
                ),
            );
        }
        v
    }

    fn statistics(&mut self, cur: &mut Cur<'_>) {
        if cur.peek().is_none() {
            self.error(cur.end(), "missing statistics name after \"statistics\"");
        }
        while let Some(t) = cur.next() {
            if let Some(s) = self.stats_name(cur, t) {
                self.config.statistics.push(s);
            }
        }
    }

    fn filegen(&mut self, cur: &mut Cur<'_>) {
        let Some(t) = self.need(cur, "statistics name after \"filegen\"") else {
            return;
        };
        let Some(name) = self.stats_name(cur, t) else {
            return;
        };
        let mut g = FileGen {
            name,
            file: None,
            kind: None,
            link: None,
            enable: None,
        };
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            match t.text.as_str() {
                "file" => {
                    let v = self.string(cur, "file name after \"file\"");
                    self.set_once(&mut g.file, v, l, "file");
                }
                "type" => {
                    let Some(v) = self.need(
                        cur,
                        "value for \"type\" (expected none|pid|day|week|month|year|age)",
                    ) else {
                        continue;
                    };
                    match lookup(FILEGEN_TYPES, &v.text) {
                        Some(k) => self.set_once(&mut g.kind, Some(k), l, "type"),
                        None => {
                            let vl = cur.loc(v);
                            self.error(
                                vl,
                                format!(
                                    "unknown filegen type {}{} (expected none|pid|day|week|month|year|age)",
                                    quote(&v.text),
                                    did_you_mean(&v.text, &names(FILEGEN_TYPES))
                                ),
                            );
                        }
                    }
                }
                "link" | "nolink" => {
                    let v = Some(t.text == "link");
                    self.set_once(&mut g.link, v, l, "link/nolink");
                }
                "enable" | "disable" => {
                    let v = Some(t.text == "enable");
                    self.set_once(&mut g.enable, v, l, "enable/disable");
                }
                other => self.error(
                    l,
                    format!(
                        "unknown filegen option {}{}",
                        quote(other),
                        did_you_mean(
                            other,
                            &["file", "type", "link", "nolink", "enable", "disable"]
                        )
                    ),
                ),
            }
        }
        self.config.filegens.push(g);
    }

    fn trustedkey(&mut self, cur: &mut Cur<'_>) {
        if cur.peek().is_none() {
            self.error(cur.end(), "missing key id after \"trustedkey\"");
        }
        while let Some(t) = cur.peek() {
            let l = cur.loc(t);
            if t.text != "(" {
                if let Some(id) = self.key_id(cur, "trustedkey") {
                    self.config.trustedkeys.push((id, l));
                }
                continue;
            }
            cur.next();
            // Collect everything up to ")" and read it as "lo ... hi".
            let mut inner = String::new();
            let mut closed = false;
            while let Some(x) = cur.next() {
                if x.text == ")" {
                    closed = true;
                    break;
                }
                inner.push_str(&x.text);
                inner.push(' ');
            }
            let parsed = inner
                .split_once("...")
                .and_then(|(a, b)| Some((parse_int(a.trim())?, parse_int(b.trim())?)));
            match (closed, parsed) {
                (true, Some((lo, hi)))
                    if (1..=65535).contains(&lo) && (1..=65535).contains(&hi) && lo <= hi =>
                {
                    for id in lo..=hi {
                        if let Ok(id) = u16::try_from(id) {
                            self.config.trustedkeys.push((id, l.clone()));
                        }
                    }
                }
                (true, Some((lo, hi))) => self.error(
                    l,
                    format!("invalid key range ({lo} ... {hi}) (expected 1 <= lo <= hi <= 65535)"),
                ),
                _ => self.error(l, "invalid key range (expected \"(lo ... hi)\")"),
            }
        }
    }

    fn tinker(&mut self, cur: &mut Cur<'_>) {
        const OPTS: &[&str] = &[
            "allan",
            "dispersion",
            "freq",
            "huffpuff",
            "panic",
            "step",
            "stepback",
            "stepfwd",
            "stepout",
            "tick",
        ];
        if cur.peek().is_none() {
            self.error(cur.end(), "missing option after \"tinker\"");
        }
        if self.config.tinker.location.is_none() {
            self.config.tinker.location = cur.line.tokens.first().map(|t| cur.loc(t));
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let name = t.text.as_str();
            let (lo, hi) = match name {
                "allan" => (1.0, 30.0),
                "dispersion" => (0.0, 1000.0),
                "freq" => (-500.0, 500.0),
                "huffpuff" => (0.0, 86400.0),
                "panic" => (0.0, 1e9),
                "step" | "stepback" | "stepfwd" => (0.0, 1e6),
                "stepout" => (0.0, 86400.0),
                "tick" => (1e-9, 0.1),
                _ => {
                    self.error(
                        l,
                        format!(
                            "unknown tinker option {}{}",
                            quote(name),
                            did_you_mean(name, OPTS)
                        ),
                    );
                    Self::skip_value(cur, OPTS);
                    continue;
                }
            };
            let v = self.float(cur, name, lo, hi);
            let mut k = std::mem::take(&mut self.config.tinker);
            let slot = match name {
                "allan" => &mut k.allan,
                "dispersion" => &mut k.dispersion,
                "freq" => &mut k.freq,
                "huffpuff" => &mut k.huffpuff,
                "panic" => &mut k.panic,
                "step" => &mut k.step,
                "stepback" => &mut k.stepback,
                "stepfwd" => &mut k.stepfwd,
                "stepout" => &mut k.stepout,
                _ => &mut k.tick,
            };
            self.set_once(slot, v, l, name);
            self.config.tinker = k;
        }
    }

    fn tos(&mut self, cur: &mut Cur<'_>) {
        const OPTS: &[&str] = &[
            "basedate",
            "bcpollbstep",
            "beacon",
            "ceiling",
            "cohort",
            "floor",
            "maxclock",
            "maxdist",
            "minclock",
            "mindist",
            "minsane",
            "orphan",
            "orphanwait",
            "maxdisp",
        ];
        if cur.peek().is_none() {
            self.error(cur.end(), "missing option after \"tos\"");
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let name = t.text.as_str();
            let mut s = std::mem::take(&mut self.config.tos);
            match name {
                "basedate" => {
                    if let Some(d) = self.need(cur, "date after \"basedate\" (expected YYYY-MM-DD)")
                    {
                        let b = d.text.as_bytes();
                        let ok = b.len() == 10
                            && b[4] == b'-'
                            && b[7] == b'-'
                            && b.iter()
                                .enumerate()
                                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
                        if ok {
                            self.set_once(&mut s.basedate, Some(d.text.clone()), l, name);
                        } else {
                            let dl = cur.loc(d);
                            self.error(
                                dl,
                                format!(
                                    "invalid basedate {} (expected YYYY-MM-DD)",
                                    quote(&d.text)
                                ),
                            );
                        }
                    }
                }
                "bcpollbstep" => {
                    let v = self.int_as(cur, name, 0, 4);
                    self.set_once(&mut s.bcpollbstep, v, l, name);
                }
                "ceiling" => {
                    let v = self.int_as(cur, name, 1, 16);
                    self.set_once(&mut s.ceiling, v, l, name);
                }
                "floor" => {
                    let v = self.int_as(cur, name, 0, 15);
                    self.set_once(&mut s.floor, v, l, name);
                }
                "orphan" => {
                    let v = self.int_as(cur, name, 1, 16);
                    self.set_once(&mut s.orphan, v, l, name);
                }
                "cohort" => {
                    let v = self.int(cur, name, 0, 1).map(|v| v == 1);
                    self.set_once(&mut s.cohort, v, l, name);
                }
                "maxclock" | "minclock" | "minsane" => {
                    let v = self.int_as(cur, name, if name == "minsane" { 0 } else { 1 }, 100);
                    let slot = match name {
                        "maxclock" => &mut s.maxclock,
                        "minclock" => &mut s.minclock,
                        _ => &mut s.minsane,
                    };
                    self.set_once(slot, v, l, name);
                }
                "beacon" | "orphanwait" | "maxdist" | "mindist" | "maxdisp" => {
                    let hi = if name == "beacon" || name == "orphanwait" {
                        86400.0
                    } else {
                        16.0
                    };
                    let v = self.float(cur, name, 0.0, hi);
                    let slot = match name {
                        "beacon" => &mut s.beacon,
                        "orphanwait" => &mut s.orphanwait,
                        "maxdist" => &mut s.maxdist,
                        "mindist" => &mut s.mindist,
                        _ => &mut s.maxdisp,
                    };
                    self.set_once(slot, v, l, name);
                }
                _ => {
                    self.error(
                        l,
                        format!(
                            "unknown tos option {}{}",
                            quote(name),
                            did_you_mean(name, OPTS)
                        ),
                    );
                    Self::skip_value(cur, OPTS);
                }
            }
            self.config.tos = s;
        }
        let (min, max) = (self.config.tos.minclock, self.config.tos.maxclock);
        if let (Some(min), Some(max)) = (min, max) {
            if min > max {
                self.error(
                    cur.end(),
                    format!("tos minclock {min} is greater than maxclock {max}"),
                );
            }
        }
    }

    fn system_flags(&mut self, cur: &mut Cur<'_>, on: bool, word: &str) {
        if cur.peek().is_none() {
            self.error(cur.end(), format!("missing flag after \"{word}\""));
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            match lookup(SYSTEM_FLAGS, &t.text) {
                Some(f) => self.config.system_flags.push((f, on)),
                None => self.error(
                    l,
                    format!(
                        "unknown {word} flag {}{}",
                        quote(&t.text),
                        did_you_mean(&t.text, &names(SYSTEM_FLAGS))
                    ),
                ),
            }
        }
    }

    fn interface(&mut self, cur: &mut Cur<'_>, word: &str) {
        let Some(t) = self.need(
            cur,
            &format!("action after \"{word}\" (expected listen, ignore or drop)"),
        ) else {
            return;
        };
        let action = match t.text.as_str() {
            "listen" => InterfaceAction::Listen,
            "ignore" => InterfaceAction::Ignore,
            "drop" => InterfaceAction::Drop,
            other => {
                let l = cur.loc(t);
                self.error(
                    l,
                    format!(
                        "unknown {word} action {}{} (expected listen, ignore or drop)",
                        quote(other),
                        did_you_mean(other, &["listen", "ignore", "drop"])
                    ),
                );
                return;
            }
        };
        let Some(t) = self.need(cur, &format!("interface after \"{word} {}\"", t.text)) else {
            return;
        };
        let l = cur.loc(t);
        let target = match t.text.as_str() {
            "all" => InterfaceTarget::All,
            "ipv4" => InterfaceTarget::Ipv4,
            "ipv6" => InterfaceTarget::Ipv6,
            "wildcard" => InterfaceTarget::Wildcard,
            text => {
                let (a, p) = match text.split_once('/') {
                    Some((a, p)) => (a, Some(p)),
                    None => (text, None),
                };
                match a.parse::<IpAddr>() {
                    Ok(ip) => {
                        let max = if ip.is_ipv6() { 128 } else { 32 };
                        match p.map(parse_int) {
                            None => InterfaceTarget::Address(ip, None),
                            Some(Some(n)) if (0..=max).contains(&n) => {
                                InterfaceTarget::Address(ip, u8::try_from(n).ok())
                            }
                            Some(_) => {
                                self.error(
                                    l,
                                    format!(
                                        "invalid prefix length in {} (expected 0..{max})",
                                        quote(text)
                                    ),
                                );
                                return;
                            }
                        }
                    }
                    Err(_)
                        if p.is_none()
                            && !text.is_empty()
                            && text.len() <= 15
                            && text
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b))
                            && !text.bytes().all(|b| b.is_ascii_digit() || b == b'.') =>
                    {
                        InterfaceTarget::Name(text.to_string())
                    }
                    Err(_) => {
                        self.error(
                            l,
                            format!("invalid interface {} (expected all, ipv4, ipv6, wildcard, a name or an address)", quote(text)),
                        );
                        return;
                    }
                }
            }
        };
        self.config
            .interfaces
            .push(InterfaceRule { action, target });
        self.no_more(cur, word);
    }

    fn includefile(&mut self, cur: &mut Cur<'_>, at: Location) {
        let Some(t) = self.need(cur, "file name after \"includefile\"") else {
            return;
        };
        let path = t.text.clone();
        self.no_more(cur, "includefile");
        if self.stack.contains(&path) {
            let mut chain = self.stack.join(" -> ");
            chain.push_str(" -> ");
            chain.push_str(&path);
            self.error(at, format!("includefile cycle: {chain}"));
            return;
        }
        if self.stack.len() > MAX_INCLUDE_DEPTH {
            self.error(
                at,
                format!(
                    "includefile {} is nested too deeply (at most {MAX_INCLUDE_DEPTH} levels)",
                    quote(&path)
                ),
            );
            return;
        }
        match self.loader.load(&path) {
            Ok(text) => {
                self.config.included.push(path.clone());
                self.stack.push(path.clone());
                self.parse_text(&text, Arc::from(path.as_str()));
                self.stack.pop();
            }
            Err(e) => self.error(at, format!("cannot read includefile {}: {e}", quote(&path))),
        }
    }

    fn setvar(&mut self, cur: &mut Cur<'_>) {
        // Accept `name = value`, `name=value`, `name= value` and `name =value`.
        let mut text = String::new();
        let start = cur.peek().map(|t| cur.loc(t)).unwrap_or_else(|| cur.end());
        let mut default = false;
        let mut parts = Vec::new();
        while let Some(t) = cur.next() {
            parts.push(t);
        }
        if parts
            .last()
            .is_some_and(|t| t.text == "default" && !t.quoted)
            && parts.len() > 1
        {
            default = true;
            parts.pop();
        }
        for (i, t) in parts.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(&t.text);
        }
        let Some((name, value)) = text.split_once('=') else {
            self.error(start, "setvar needs \"name = value\"");
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !name_ok {
            self.error(
                start,
                format!(
                    "invalid setvar name {} (1 to 64 letters, digits, '_' or '.')",
                    quote(name)
                ),
            );
            return;
        }
        if value.len() > 255 || value.contains(',') {
            self.error(
                start,
                format!(
                    "invalid setvar value for {} (at most 255 characters, no commas)",
                    quote(name)
                ),
            );
            return;
        }
        self.config.setvars.push(SetVar {
            name: name.to_string(),
            value: value.to_string(),
            default,
        });
    }

    fn trap(&mut self, cur: &mut Cur<'_>) {
        let Some(t) = self.need(cur, "address after \"trap\"") else {
            return;
        };
        let l = cur.loc(t);
        let host = match parse_address(&t.text) {
            Ok(Address::Refclock(_)) => {
                self.error(l, "\"trap\" needs a host address, not a reference clock");
                return;
            }
            Ok(a) => a,
            Err(e) => {
                self.error(l, e);
                return;
            }
        };
        let mut trap = Trap {
            host,
            port: None,
            interface: None,
        };
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            match t.text.as_str() {
                "port" => {
                    let v = self.int_as(cur, "port", 1, 65535);
                    self.set_once(&mut trap.port, v, l, "port");
                }
                "interface" => {
                    if let Some(a) = self.need(cur, "address after \"interface\"") {
                        match a.text.parse::<IpAddr>() {
                            Ok(ip) => self.set_once(&mut trap.interface, Some(ip), l, "interface"),
                            Err(_) => {
                                let al = cur.loc(a);
                                self.error(
                                    al,
                                    format!("invalid interface address {}", quote(&a.text)),
                                );
                            }
                        }
                    }
                }
                other => self.error(
                    l,
                    format!(
                        "unknown trap option {}{}",
                        quote(other),
                        did_you_mean(other, &["port", "interface"])
                    ),
                ),
            }
        }
        self.config.traps.push(trap);
    }

    fn rlimit(&mut self, cur: &mut Cur<'_>) {
        if cur.peek().is_none() {
            self.error(cur.end(), "missing option after \"rlimit\"");
        }
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let name = t.text.as_str();
            let mut r = std::mem::take(&mut self.config.rlimit);
            match name {
                "memlock" | "stacksize" | "filenum" => {
                    let v = self.int_as(cur, name, 0, 1_000_000);
                    let slot = match name {
                        "memlock" => &mut r.memlock,
                        "stacksize" => &mut r.stacksize,
                        _ => &mut r.filenum,
                    };
                    self.set_once(slot, v, l, name);
                }
                _ => {
                    const OPTS: &[&str] = &["memlock", "stacksize", "filenum"];
                    self.error(
                        l,
                        format!(
                            "unknown rlimit option {}{}",
                            quote(name),
                            did_you_mean(name, OPTS)
                        ),
                    );
                    Self::skip_value(cur, OPTS);
                }
            }
            self.config.rlimit = r;
        }
    }

    fn pollskewlist(&mut self, cur: &mut Cur<'_>) {
        while let Some(t) = cur.next() {
            let l = cur.loc(t);
            let poll = if t.text == "default" {
                None
            } else {
                match parse_int(&t.text) {
                    Some(p) if (3..=17).contains(&p) => u8::try_from(p).ok(),
                    _ => {
                        self.error(l, format!("invalid poll exponent {} in pollskewlist (expected 3..17 or \"default\")", quote(&t.text)));
                        return;
                    }
                }
            };
            let Some(s) = self.need(cur, "skew \"early|late\" after the poll exponent") else {
                return;
            };
            let sl = cur.loc(s);
            let parsed = s.text.split_once('|').and_then(|(e, la)| {
                let e = u32::try_from(parse_int(e)?).ok()?;
                let la = u32::try_from(parse_int(la)?).ok()?;
                Some((e, la))
            });
            match parsed {
                Some((early, late)) => {
                    // Each skew must stay within half the poll interval.
                    let half = 1u32 << (poll.unwrap_or(17) - 1);
                    if early > half || late > half {
                        self.error(
                            sl,
                            format!(
                                "pollskewlist skew {} exceeds half the poll interval ({half} s)",
                                s.text
                            ),
                        );
                    } else {
                        self.config.pollskew.push(PollSkew { poll, early, late });
                    }
                }
                None => self.error(
                    sl,
                    format!(
                        "invalid skew {} (expected \"early|late\", e.g. \"1|2\")",
                        quote(&s.text)
                    ),
                ),
            }
        }
    }
}

/// `metrics` takes `ADDRESS:PORT` (IPv6 in brackets) or a bare `PORT` meaning the IPv4
/// loopback address: the endpoint exposes the daemon's state, so nothing but an explicit
/// address ever makes it reachable from the network.
fn parse_metrics_address(text: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{Ipv4Addr, SocketAddr};
    let addr = if let Ok(port) = text.parse::<u16>() {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    } else {
        text.parse::<SocketAddr>().map_err(|_| {
            format!(
                "bad metrics address {} (expected ADDRESS:PORT, e.g. 127.0.0.1:9123 or [::1]:9123, or a port)",
                quote(text)
            )
        })?
    };
    if addr.port() == 0 {
        return Err(format!(
            "metrics port must be 1..65535, not {}",
            quote(text)
        ));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers_reject_plus_hex_and_junk() {
        assert_eq!(parse_int("17"), Some(17));
        assert_eq!(parse_int("-1"), Some(-1));
        for bad in [
            "+1",
            "0x10",
            "1e3",
            "",
            "-",
            "12a",
            "123456789012345678901234567890",
        ] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn strict_floats_reject_nan_inf_and_overflow() {
        assert_eq!(parse_float("1e-7"), Some(1e-7));
        assert_eq!(parse_float("-.5"), Some(-0.5));
        assert_eq!(parse_float("3."), Some(3.0));
        for bad in ["nan", "inf", "1e999", "+1", "0x1p3", ".", "1e", "--1"] {
            assert_eq!(parse_float(bad), None, "{bad}");
        }
    }

    #[test]
    fn masks_must_be_contiguous() {
        assert_eq!(is_contiguous("255.255.255.0".parse().unwrap()), Some(24));
        assert_eq!(is_contiguous("0.0.0.0".parse().unwrap()), Some(0));
        assert_eq!(is_contiguous("255.0.255.0".parse().unwrap()), None);
        assert_eq!(is_contiguous("ffff:ffff::".parse().unwrap()), Some(32));
        assert_eq!(
            prefix_mask(8, false),
            "255.0.0.0".parse::<IpAddr>().unwrap()
        );
        assert_eq!(prefix_mask(0, true), "::".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn addresses_are_classified() {
        assert_eq!(
            parse_address("127.127.1.0"),
            Ok(Address::Refclock(RefclockId { driver: 1, unit: 0 }))
        );
        assert!(matches!(parse_address("::1"), Ok(Address::Ip(_))));
        assert!(matches!(
            parse_address("pool.ntp.org"),
            Ok(Address::Name(_))
        ));
        assert!(parse_address("1.2.3.256").is_err());
        assert!(parse_address("fe80::1%eth0").is_err());
        assert!(parse_address("bad_name!").is_err());
        assert!(parse_address("127.127.99.0").is_err());
    }
}
