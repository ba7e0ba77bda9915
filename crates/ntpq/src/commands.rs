//! ntpq's command table (built-ins of `ntpq.c` and control-message commands of
//! `ntpq-subs.c`), the line tokenizer, argument checking and every command's output.

use std::net::SocketAddr;
use std::time::Duration;

use ntp_control::mode6::client::{
    parse_c_uint, parse_hex_timestamp, MruEntry, MruError, MruQuery, MruStep,
};
use ntp_wire::mode6::{
    encode_query_vars, parse_varlist, ClockStatus, ControlResponse, Opcode, PeerStatus,
    SystemStatus, VarItem,
};
use ntp_wire::{MacAlgorithm, NtpTimestamp};
use serde_json::{json, Map, Value};

use crate::format::{self, ms_text, parse_netnum, pretty_interval, refid_dots, refnumtoa};
use crate::{atoi, err, out, Assoc, Failed, Family, Ntpq};

/// Most arguments a command takes (`MAXARGS`).
const MAX_ARGS: usize = 5;
/// Line length at which `rv` output wraps (`MAXOUTLINE`).
const MAX_OUT_LINE: usize = 72;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Uint,
    Int,
    IpVersion,
}

#[derive(Debug, Clone, Copy)]
struct ArgSpec {
    kind: Kind,
    optional: bool,
    desc: &'static str,
}

const fn req(kind: Kind, desc: &'static str) -> ArgSpec {
    ArgSpec {
        kind,
        optional: false,
        desc,
    }
}
const fn opt(kind: Kind, desc: &'static str) -> ArgSpec {
    ArgSpec {
        kind,
        optional: true,
        desc,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Str(String),
    Uint(u32),
    Int(i64),
    IpVersion(u8),
}

impl Arg {
    fn str(&self) -> &str {
        match self {
            Arg::Str(s) => s,
            _ => "",
        }
    }
    fn uint(&self) -> u32 {
        match self {
            Arg::Uint(u) => *u,
            Arg::Int(i) => *i as u32,
            _ => 0,
        }
    }
    fn int(&self) -> i64 {
        match self {
            Arg::Int(i) => *i,
            Arg::Uint(u) => i64::from(*u),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id {
    Help,
    Timeout,
    Delay,
    Host,
    Poll,
    Passwd,
    Hostnames,
    Debug,
    Quit,
    Keyid,
    Version,
    Raw,
    Cooked,
    Authenticate,
    NtpVersion,
    Keytype,
    Drefid,
    Associations,
    Passociations,
    Lassociations,
    Lpassociations,
    Addvars,
    Rmvars,
    Clearvars,
    Showvars,
    Readlist,
    Writelist,
    Readvar,
    Writevar,
    Mreadlist,
    Mreadvar,
    Clocklist,
    Clockvar,
    Pstats,
    Peers,
    Apeers,
    Lpeers,
    Opeers,
    Lopeers,
    Config,
    ConfigFromFile,
    Saveconfig,
    Mrulist,
    Ifstats,
    Reslist,
    Sysinfo,
    Kerninfo,
    Sysstats,
    Monstats,
    Authinfo,
    Iostats,
    Timerstats,
}

struct Cmd {
    name: &'static str,
    id: Id,
    args: &'static [ArgSpec],
    help: &'static str,
}

use Kind::{Int, IpVersion, Str, Uint};

const BUILTINS: &[Cmd] = &[
    Cmd {
        name: "?",
        id: Id::Help,
        args: &[opt(Str, "command")],
        help: "tell the use and syntax of commands",
    },
    Cmd {
        name: "help",
        id: Id::Help,
        args: &[opt(Str, "command")],
        help: "tell the use and syntax of commands",
    },
    Cmd {
        name: "timeout",
        id: Id::Timeout,
        args: &[opt(Uint, "msec")],
        help: "set the primary receive time out",
    },
    Cmd {
        name: "delay",
        id: Id::Delay,
        args: &[opt(Int, "msec")],
        help: "set the delay added to encryption time stamps",
    },
    Cmd {
        name: "host",
        id: Id::Host,
        args: &[opt(Str, "-4|-6"), opt(Str, "hostname")],
        help: "specify the host whose NTP server we talk to",
    },
    Cmd {
        name: "poll",
        id: Id::Poll,
        args: &[opt(Uint, "n"), opt(Str, "verbose")],
        help: "poll an NTP server in client mode `n' times",
    },
    Cmd {
        name: "passwd",
        id: Id::Passwd,
        args: &[opt(Str, "")],
        help: "specify a password to use for authenticated requests",
    },
    Cmd {
        name: "hostnames",
        id: Id::Hostnames,
        args: &[opt(Str, "yes|no")],
        help: "specify whether hostnames or net numbers are printed",
    },
    Cmd {
        name: "debug",
        id: Id::Debug,
        args: &[opt(Str, "no|more|less")],
        help: "set/change debugging level",
    },
    Cmd {
        name: "quit",
        id: Id::Quit,
        args: &[],
        help: "exit ntpq",
    },
    Cmd {
        name: "exit",
        id: Id::Quit,
        args: &[],
        help: "exit ntpq",
    },
    Cmd {
        name: "keyid",
        id: Id::Keyid,
        args: &[opt(Uint, "key#")],
        help: "set keyid to use for authenticated requests",
    },
    Cmd {
        name: "version",
        id: Id::Version,
        args: &[],
        help: "print version number",
    },
    Cmd {
        name: "raw",
        id: Id::Raw,
        args: &[],
        help: "do raw mode variable output",
    },
    Cmd {
        name: "cooked",
        id: Id::Cooked,
        args: &[],
        help: "do cooked mode variable output",
    },
    Cmd {
        name: "authenticate",
        id: Id::Authenticate,
        args: &[opt(Str, "yes|no")],
        help: "always authenticate requests to this server",
    },
    Cmd {
        name: "ntpversion",
        id: Id::NtpVersion,
        args: &[opt(Uint, "version number")],
        help: "set the NTP version number to use for requests",
    },
    Cmd {
        name: "keytype",
        id: Id::Keytype,
        args: &[opt(Str, "digest-name")],
        help: "set key type to use for authenticated requests, one of:\n    AES128CMAC, MD5, SHA1",
    },
    Cmd {
        name: "drefid",
        id: Id::Drefid,
        args: &[opt(Str, "hash|ipv4")],
        help: "display refid's as IPv4 or hash",
    },
];

const OPCMDS: &[Cmd] = &[
    Cmd { name: "associations", id: Id::Associations, args: &[], help: "print list of association ID's and statuses for the server's peers" },
    Cmd { name: "passociations", id: Id::Passociations, args: &[], help: "print list of associations returned by last associations command" },
    Cmd { name: "lassociations", id: Id::Lassociations, args: &[], help: "print list of associations including all client information" },
    Cmd { name: "lpassociations", id: Id::Lpassociations, args: &[], help: "print last obtained list of associations, including client information" },
    Cmd { name: "addvars", id: Id::Addvars, args: &[req(Str, "name[=value][,...]")], help: "add variables to the variable list or change their values" },
    Cmd { name: "rmvars", id: Id::Rmvars, args: &[req(Str, "name[,...]")], help: "remove variables from the variable list" },
    Cmd { name: "clearvars", id: Id::Clearvars, args: &[], help: "remove all variables from the variable list" },
    Cmd { name: "showvars", id: Id::Showvars, args: &[], help: "print variables on the variable list" },
    Cmd { name: "readlist", id: Id::Readlist, args: &[opt(Uint, "assocID")], help: "read the system or peer variables included in the variable list" },
    Cmd { name: "rl", id: Id::Readlist, args: &[opt(Uint, "assocID")], help: "read the system or peer variables included in the variable list" },
    Cmd { name: "writelist", id: Id::Writelist, args: &[opt(Uint, "assocID")], help: "write the system or peer variables included in the variable list" },
    Cmd { name: "readvar", id: Id::Readvar, args: &[opt(Uint, "assocID"), opt(Str, "varname1"), opt(Str, "varname2"), opt(Str, "varname3")], help: "read system or peer variables" },
    Cmd { name: "rv", id: Id::Readvar, args: &[opt(Uint, "assocID"), opt(Str, "varname1"), opt(Str, "varname2"), opt(Str, "varname3")], help: "read system or peer variables" },
    Cmd { name: "writevar", id: Id::Writevar, args: &[req(Uint, "assocID"), req(Str, "name=value,[...]")], help: "write system or peer variables" },
    Cmd { name: "mreadlist", id: Id::Mreadlist, args: &[req(Uint, "assocIDlow"), req(Uint, "assocIDhigh")], help: "read the peer variables in the variable list for multiple peers" },
    Cmd { name: "mrl", id: Id::Mreadlist, args: &[req(Uint, "assocIDlow"), req(Uint, "assocIDhigh")], help: "read the peer variables in the variable list for multiple peers" },
    Cmd { name: "mreadvar", id: Id::Mreadvar, args: &[req(Uint, "assocIDlow"), req(Uint, "assocIDhigh"), opt(Str, "name=value[,...]")], help: "read peer variables from multiple peers" },
    Cmd { name: "mrv", id: Id::Mreadvar, args: &[req(Uint, "assocIDlow"), req(Uint, "assocIDhigh"), opt(Str, "name=value[,...]")], help: "read peer variables from multiple peers" },
    Cmd { name: "clocklist", id: Id::Clocklist, args: &[opt(Uint, "assocID")], help: "read the clock variables included in the variable list" },
    Cmd { name: "cl", id: Id::Clocklist, args: &[opt(Uint, "assocID")], help: "read the clock variables included in the variable list" },
    Cmd { name: "clockvar", id: Id::Clockvar, args: &[opt(Uint, "assocID"), opt(Str, "name=value[,...]")], help: "read clock variables" },
    Cmd { name: "cv", id: Id::Clockvar, args: &[opt(Uint, "assocID"), opt(Str, "name=value[,...]")], help: "read clock variables" },
    Cmd { name: "pstats", id: Id::Pstats, args: &[req(Uint, "assocID")], help: "show statistics for a peer" },
    Cmd { name: "peers", id: Id::Peers, args: &[opt(IpVersion, "-4|-6")], help: "obtain and print a list of the server's peers [IP version]" },
    Cmd { name: "apeers", id: Id::Apeers, args: &[opt(IpVersion, "-4|-6")], help: "obtain and print a list of the server's peers and their assocIDs [IP version]" },
    Cmd { name: "lpeers", id: Id::Lpeers, args: &[opt(IpVersion, "-4|-6")], help: "obtain and print a list of all peers and clients [IP version]" },
    Cmd { name: "opeers", id: Id::Opeers, args: &[opt(IpVersion, "-4|-6")], help: "print peer list the old way, with dstadr shown rather than refid [IP version]" },
    Cmd { name: "lopeers", id: Id::Lopeers, args: &[opt(IpVersion, "-4|-6")], help: "obtain and print a list of all peers and clients showing dstadr [IP version]" },
    Cmd { name: ":config", id: Id::Config, args: &[req(Str, "<configuration command line>")], help: "send a remote configuration command to ntpd" },
    Cmd { name: "config-from-file", id: Id::ConfigFromFile, args: &[req(Str, "<configuration filename>")], help: "configure ntpd using the configuration filename" },
    Cmd { name: "mrulist", id: Id::Mrulist, args: &[opt(Str, "tag=value"), opt(Str, "tag=value"), opt(Str, "tag=value"), opt(Str, "tag=value")], help: "display the list of most recently seen source addresses, tags mincount=... resall=0x... resany=0x..." },
    Cmd { name: "ifstats", id: Id::Ifstats, args: &[], help: "show statistics for each local address ntpd is using" },
    Cmd { name: "reslist", id: Id::Reslist, args: &[], help: "show ntpd access control list" },
    Cmd { name: "sysinfo", id: Id::Sysinfo, args: &[], help: "display system summary" },
    Cmd { name: "kerninfo", id: Id::Kerninfo, args: &[], help: "display kernel loop and PPS statistics" },
    Cmd { name: "sysstats", id: Id::Sysstats, args: &[], help: "display system uptime and packet counts" },
    Cmd { name: "monstats", id: Id::Monstats, args: &[], help: "display monitor (mrulist) counters and limits" },
    Cmd { name: "authinfo", id: Id::Authinfo, args: &[], help: "display symmetric authentication counters" },
    Cmd { name: "iostats", id: Id::Iostats, args: &[], help: "display network input and output counters" },
    Cmd { name: "timerstats", id: Id::Timerstats, args: &[], help: "display interval timer counters" },
    Cmd { name: "saveconfig", id: Id::Saveconfig, args: &[req(Str, "filename")], help: "save ntpd configuration to file, . for current config file" },
];

/// ntpq's `tokenize()`: blanks and tabs separate tokens, `\n`, `\r` or NUL end the line,
/// a token starting with `"` runs to the next `"`, and after a first token starting with `:`
/// the rest of the line is one token. At most `1 + MAXARGS + 2` tokens.
fn tokenize(line: &str) -> Vec<String> {
    let is_space = |c: char| c == ' ' || c == '\t';
    let is_eol = |c: char| c == '\n' || c == '\r' || c == '\0';
    let chars: Vec<char> = line.chars().collect();
    let mut toks: Vec<String> = Vec::new();
    let mut i = 0;
    while toks.len() < 1 + MAX_ARGS + 2 {
        while chars.get(i).is_some_and(|c| is_space(*c)) {
            i += 1;
        }
        let Some(&c) = chars.get(i) else { break };
        if is_eol(c) {
            break;
        }
        let mut tok = String::new();
        if toks.len() == 1 && toks.first().is_some_and(|t| t.starts_with(':')) {
            while let Some(&c) = chars.get(i).filter(|c| !is_eol(**c)) {
                tok.push(c);
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            // A closing quote at the end of the line starts no token.
            if chars.get(i).is_none_or(|c| is_eol(*c)) {
                break;
            }
            // Classic copies at least one character, then up to the closing quote (which
            // starts the next token).
            loop {
                match chars.get(i) {
                    Some(&c) if !is_eol(c) => {
                        tok.push(c);
                        i += 1;
                    }
                    _ => break,
                }
                if chars.get(i).is_some_and(|c| *c == '"') {
                    break;
                }
            }
        } else {
            loop {
                if let Some(&c) = chars.get(i) {
                    tok.push(c);
                    i += 1;
                }
                match chars.get(i) {
                    Some(&c) if c != '"' && !is_space(c) && !is_eol(c) => {}
                    _ => break,
                }
            }
        }
        toks.push(tok);
    }
    toks
}

/// ntpq's `findcmd()`: an exact match wins; otherwise the number of prefix matches.
fn findcmd(word: &str) -> (usize, Option<&'static Cmd>) {
    let mut near = None;
    let mut n = 0;
    for cmd in BUILTINS.iter().chain(OPCMDS.iter()) {
        if cmd.name == word {
            return (1, Some(cmd));
        }
        if !word.is_empty() && cmd.name.starts_with(word) {
            n += 1;
            near = Some(cmd);
        }
    }
    if n == 1 {
        (1, near)
    } else {
        (n, None)
    }
}

fn print_usage(q: &mut Ntpq<'_>, cmd: &Cmd, to_err: bool) {
    let mut s = format!("usage: {}", cmd.name);
    for a in cmd.args {
        if a.optional {
            s.push_str(&format!(" [ {} ]", a.desc));
        } else {
            s.push_str(&format!(" {}", a.desc));
        }
    }
    s.push('\n');
    if to_err {
        err!(q, "{s}");
    } else {
        out!(q, "{s}");
    }
}

/// ntpq's `getarg()`.
fn getarg(q: &mut Ntpq<'_>, tok: &str, kind: Kind) -> Option<Arg> {
    match kind {
        Kind::Str => Some(Arg::Str(tok.to_owned())),
        Kind::Uint => {
            if let Some(idx) = tok.strip_prefix('&') {
                let Some(n) = parse_uint(idx) else {
                    err!(q, "***Association index `{tok}' invalid/undecodable\n");
                    return None;
                };
                if q.assoc_cache.is_empty() {
                    dogetassoc(q);
                    if q.assoc_cache.is_empty() {
                        err!(q, "***No associations found, `{tok}' unknown\n");
                        return None;
                    }
                }
                let n = (n as usize).min(q.assoc_cache.len());
                return match n.checked_sub(1).and_then(|i| q.assoc_cache.get(i)) {
                    Some(a) => Some(Arg::Uint(u32::from(a.assid))),
                    None => {
                        err!(q, "***Association index `{tok}' invalid/undecodable\n");
                        None
                    }
                };
            }
            match parse_uint(tok) {
                Some(v) => Some(Arg::Uint(v)),
                None => {
                    err!(q, "***Illegal unsigned value {tok}\n");
                    None
                }
            }
        }
        Kind::Int => match tok.parse::<i64>() {
            Ok(v) => Some(Arg::Int(v)),
            Err(_) => {
                err!(q, "***Illegal integer value {tok}\n");
                None
            }
        },
        Kind::IpVersion => match tok {
            "-4" => Some(Arg::IpVersion(4)),
            "-6" => Some(Arg::IpVersion(6)),
            _ => {
                err!(q, "***Version must be either 4 or 6\n");
                None
            }
        },
    }
}

/// libntp `atouint`: decimal digits only, no sign, no overflow.
fn parse_uint(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `perror()`'s text for an I/O error: the OS message without Rust's ` (os error N)`.
fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text.get(..i).unwrap_or_default().to_owned(),
        None => text,
    }
}

/// Run one command line (ntpq's `docmd()`).
pub(crate) fn docmd(q: &mut Ntpq<'_>, line: &str) {
    let toks = tokenize(line);
    let Some(word) = toks.first() else { return };
    let (n, cmd) = findcmd(word);
    let cmd = match (n, cmd) {
        (1, Some(c)) => c,
        (0, _) => {
            err!(q, "***Command `{word}' unknown\n");
            return;
        }
        _ => {
            err!(q, "***Command `{word}' ambiguous\n");
            return;
        }
    };
    for extra in toks.iter().skip(MAX_ARGS + 1) {
        err!(q, "***Extra arg `{extra}' ignored\n");
    }
    let mut args = Vec::new();
    for (i, spec) in cmd.args.iter().enumerate() {
        let Some(tok) = toks.get(i + 1) else {
            if !spec.optional {
                print_usage(q, cmd, true);
                return;
            }
            break;
        };
        if spec.optional && tok.starts_with('>') {
            break;
        }
        match getarg(q, tok, spec.kind) {
            Some(a) => args.push(a),
            None => return,
        }
    }
    // `command [args] > file` (or `>file`) sends the output to a file.
    let redirect_at = args.len() + 1;
    if let Some(tok) = toks.get(redirect_at).filter(|t| t.starts_with('>')) {
        let name = match tok.get(1..).filter(|n| !n.is_empty()) {
            Some(n) => n.to_owned(),
            None => match toks.get(redirect_at + 1) {
                Some(n) => n.clone(),
                None => {
                    err!(q, "***No file for redirect\n");
                    return;
                }
            },
        };
        match q.io.create_file(&name) {
            Ok(w) => q.redirect = Some(w),
            Err(e) => {
                err!(q, "***Error opening {name}: {}\n", os_error_text(&e));
                return;
            }
        }
    }
    run_cmd(q, cmd, &args);
    if let Some(mut w) = q.redirect.take() {
        let _ = w.flush();
    }
}

fn run_cmd(q: &mut Ntpq<'_>, cmd: &Cmd, args: &[Arg]) {
    match cmd.id {
        Id::Help => help(q, args),
        Id::Timeout => match args.first() {
            None => out!(
                q,
                "primary timeout {} ms\n",
                q.session.primary_timeout().as_millis()
            ),
            Some(a) => q
                .session
                .set_primary_timeout(Duration::from_millis(u64::from(a.uint()))),
        },
        Id::Delay => match args.first() {
            None => out!(q, "delay {} ms\n", q.delay_ms.unsigned_abs()),
            Some(a) => q.delay_ms = a.int(),
        },
        Id::Host => host(q, args),
        Id::Poll => out!(q, "poll not implemented yet\n"),
        Id::Passwd => passwd(q, args),
        Id::Hostnames => match args.first().map(Arg::str) {
            None => {
                if q.show_hostnames {
                    out!(q, "hostnames being shown\n");
                } else {
                    out!(q, "hostnames not being shown\n");
                }
            }
            Some("yes") => q.show_hostnames = true,
            Some("no") => q.show_hostnames = false,
            Some(_) => err!(q, "What?\n"),
        },
        Id::Debug => {
            match args.first().map(Arg::str) {
                None => {
                    out!(q, "debug level is {}\n", q.debug);
                    return;
                }
                Some("no") => q.debug = 0,
                Some("more") => q.debug += 1,
                Some("less") => q.debug -= 1,
                Some(_) => {
                    out!(q, "What?\n");
                    return;
                }
            }
            out!(q, "debug level set to {}\n", q.debug);
        }
        Id::Quit => q.exit = Some(0),
        Id::Keyid => match args.first() {
            None => {
                if q.keyid == 0 {
                    out!(q, "no keyid defined\n");
                } else {
                    out!(q, "keyid is {}\n", q.keyid);
                }
            }
            Some(a) => {
                // Zero is allowed: it clears the key id.
                if a.uint() > 65535 {
                    out!(q, "Invalid key identifier\n");
                }
                q.keyid = a.uint();
            }
        },
        Id::Version => out!(
            q,
            "ntpq 4.2.8p18 (Rust ntp suite {})\n",
            env!("CARGO_PKG_VERSION")
        ),
        Id::Raw => {
            q.raw = true;
            out!(q, "Output set to raw\n");
        }
        Id::Cooked => {
            q.raw = false;
            out!(q, "Output set to cooked\n");
        }
        Id::Authenticate => match args.first().map(Arg::str) {
            None => {
                if q.always_auth {
                    out!(q, "authenticated requests being sent\n");
                } else {
                    out!(q, "unauthenticated requests being sent\n");
                }
            }
            Some("yes") => q.always_auth = true,
            Some("no") => q.always_auth = false,
            Some(_) => err!(q, "What?\n"),
        },
        Id::NtpVersion => match args.first() {
            None => out!(q, "NTP version being claimed is {}\n", q.session.version()),
            Some(a) => {
                let v = a.uint();
                if !(1..=4).contains(&v) {
                    err!(q, "versions 1 to 4, please\n");
                } else {
                    q.session.set_version(v as u8);
                }
            }
        },
        Id::Keytype => match args.first().map(Arg::str) {
            None => out!(
                q,
                "keytype is {} with {} octet digests\n",
                q.keytype.name(),
                q.keytype.digest_len()
            ),
            Some(name) => match MacAlgorithm::from_name(name) {
                Some(alg) => q.keytype = alg,
                None => out!(
                    q,
                    "keytype is not valid. Type \"help keytype\" for the available digest types.\n"
                ),
            },
        },
        Id::Drefid => {
            match args.first().map(Arg::str) {
                None => {
                    out!(q, "drefid value is {}\n", drefid_name(q.drefid_hash));
                    return;
                }
                Some("hash") => q.drefid_hash = true,
                Some("ipv4") => q.drefid_hash = false,
                Some(_) => {
                    out!(q, "What?\n");
                    return;
                }
            }
            out!(q, "drefid value set to {}\n", drefid_name(q.drefid_hash));
        }
        Id::Associations => {
            if dogetassoc(q) {
                printassoc(q, false);
            }
        }
        Id::Passociations => printassoc(q, false),
        Id::Lassociations => {
            if dogetassoc(q) {
                printassoc(q, true);
            }
        }
        Id::Lpassociations => printassoc(q, true),
        Id::Addvars => {
            let mut list = std::mem::take(&mut q.varlist);
            add_vars(&mut list, args.first().map(Arg::str).unwrap_or_default());
            q.varlist = list;
        }
        Id::Rmvars => {
            for name in split_vars(args.first().map(Arg::str).unwrap_or_default()) {
                let before = q.varlist.len();
                q.varlist.retain(|(n, _)| *n != name.0);
                if q.varlist.len() == before {
                    err!(q, "Variable `{}' not found\n", name.0);
                }
            }
        }
        Id::Clearvars => q.varlist.clear(),
        Id::Showvars => {
            if q.varlist.is_empty() {
                out!(q, "No variables on list\n");
            }
            for (n, v) in q.varlist.clone() {
                match v {
                    Some(v) => out!(q, "{n}={v}\n"),
                    None => out!(q, "{n}\n"),
                }
            }
        }
        Id::Readlist => {
            let Some(assoc) = assoc_arg(q, args.first()) else {
                return;
            };
            let list = q.varlist.clone();
            let kind = if assoc == 0 {
                VarType::Sys
            } else {
                VarType::Peer
            };
            dolist(q, &list, assoc, Opcode::ReadVar, kind);
        }
        Id::Writelist => {
            let Some(assoc) = assoc_arg(q, args.first()) else {
                return;
            };
            let list = q.varlist.clone();
            if list.is_empty() {
                out!(q, "No variables on list\n");
                return;
            }
            write_vars(q, assoc, &list);
        }
        Id::Readvar => {
            let Some(assoc) = assoc_arg(q, args.first()) else {
                return;
            };
            let mut list = Vec::new();
            for a in args.iter().skip(1) {
                add_vars(&mut list, a.str());
            }
            let kind = if assoc == 0 {
                VarType::Sys
            } else {
                VarType::Peer
            };
            if q.json {
                readvar_json(q, &list, assoc, kind);
            } else {
                dolist(q, &list, assoc, Opcode::ReadVar, kind);
            }
        }
        Id::Writevar => {
            let Some(assoc) = assoc_arg(q, args.first()) else {
                return;
            };
            let mut list = Vec::new();
            add_vars(&mut list, args.get(1).map(Arg::str).unwrap_or_default());
            write_vars(q, assoc, &list);
        }
        Id::Mreadlist | Id::Mreadvar => {
            let lo = args.first().map(Arg::uint).unwrap_or(0);
            let hi = args.get(1).map(Arg::uint).unwrap_or(0);
            let Some((from, to)) = find_assid_range(q, lo, hi) else {
                return;
            };
            let list = match (cmd.id, args.get(2)) {
                (Id::Mreadvar, Some(a)) => {
                    let mut list = Vec::new();
                    add_vars(&mut list, a.str());
                    list
                }
                _ => q.varlist.clone(),
            };
            for i in from..=to {
                let Some(a) = q.assoc_cache.get(i).copied() else {
                    break;
                };
                // mreadlist separates the peers with an empty line, mreadvar does not.
                if i != from && cmd.id == Id::Mreadlist {
                    out!(q, "\n");
                }
                if !dolist(q, &list, a.assid, Opcode::ReadVar, VarType::Peer) {
                    break;
                }
            }
        }
        Id::Clocklist => {
            let Some(assoc) = assoc_arg(q, args.first()) else {
                return;
            };
            let list = q.varlist.clone();
            dolist(q, &list, assoc, Opcode::ReadClock, VarType::Clock);
        }
        Id::Clockvar => {
            let Some(assoc) = assoc_arg(q, args.first()) else {
                return;
            };
            let mut list = Vec::new();
            for a in args.iter().skip(1) {
                add_vars(&mut list, a.str());
            }
            dolist(q, &list, assoc, Opcode::ReadClock, VarType::Clock);
        }
        Id::Pstats => {
            let Some(assoc) = assoc_arg(q, args.first()) else {
                return;
            };
            if assoc == 0 {
                err!(q, "***Invalid association ID 0 specified\n");
                return;
            }
            collect_display(q, assoc, PSTATS, true);
        }
        Id::Peers => {
            if q.drefid_hash {
                dopeers(q, PeerLayout::Apeers, false, args.first());
            } else {
                dopeers(q, PeerLayout::Peers, false, args.first());
            }
        }
        Id::Apeers => dopeers(q, PeerLayout::Apeers, false, args.first()),
        Id::Lpeers => dopeers(q, PeerLayout::Peers, true, args.first()),
        Id::Opeers => dopeers(q, PeerLayout::Opeers, false, args.first()),
        Id::Lopeers => dopeers(q, PeerLayout::Opeers, true, args.first()),
        Id::Config => config(q, args.first().map(Arg::str).unwrap_or_default()),
        Id::ConfigFromFile => {
            let path = args.first().map(Arg::str).unwrap_or_default().to_owned();
            config_from_file(q, &path);
        }
        Id::Saveconfig => {
            let name = args.first().map(Arg::str).unwrap_or_default().to_owned();
            if let Ok(resp) = q.query(Opcode::SaveConfig, 0, name.into_bytes(), true) {
                if resp.data.is_empty() {
                    out!(q, "(no response message, curiously)");
                } else {
                    let text = String::from_utf8_lossy(&resp.data).into_owned();
                    out!(q, "{text}");
                }
            }
        }
        Id::Mrulist => mrulist(q, args),
        Id::Ifstats => ifstats(q),
        Id::Reslist => reslist(q),
        Id::Sysinfo => collect_display(q, 0, SYSINFO, true),
        Id::Kerninfo => collect_display(q, 0, KERNINFO, true),
        Id::Sysstats => collect_display(q, 0, SYSSTATS, false),
        Id::Monstats => collect_display(q, 0, MONSTATS, false),
        Id::Authinfo => collect_display(q, 0, AUTHINFO, false),
        Id::Iostats => collect_display(q, 0, IOSTATS, false),
        Id::Timerstats => collect_display(q, 0, TIMERSTATS, false),
    }
}

fn drefid_name(hash: bool) -> &'static str {
    if hash {
        "hash"
    } else {
        "ipv4"
    }
}

fn help(q: &mut Ntpq<'_>, args: &[Arg]) {
    match args.first() {
        None => {
            let mut words: Vec<&str> = BUILTINS
                .iter()
                .chain(OPCMDS.iter())
                .map(|c| c.name)
                .filter(|n| !n.starts_with('?'))
                .collect();
            words.sort_unstable();
            let col = words.iter().map(|w| w.len()).max().unwrap_or(0) + 1;
            let cols = (76 / col).max(1);
            let rows = words.len().div_ceil(cols);
            out!(q, "ntpq commands:\n");
            for row in 0..rows {
                let mut line = String::new();
                let mut w = row;
                while let Some(word) = words.get(w) {
                    line.push_str(&format!(
                        "{:<width$.prec$}",
                        word,
                        width = col,
                        prec = col - 1
                    ));
                    w += rows;
                }
                out!(q, "{line}\n");
            }
        }
        Some(a) => {
            let word = a.str().to_owned();
            match findcmd(&word) {
                (1, Some(cmd)) => {
                    out!(q, "function: {}\n", cmd.help);
                    print_usage(q, cmd, false);
                }
                (0, _) => err!(q, "Command `{word}' is unknown\n"),
                _ => err!(q, "Command `{word}' is ambiguous\n"),
            }
        }
    }
}

fn host(q: &mut Ntpq<'_>, args: &[Arg]) {
    if args.is_empty() {
        if q.have_host {
            out!(q, "current host is {}\n", q.current_host);
        } else {
            out!(q, "no current host\n");
        }
        return;
    }
    let (fam, name) = if args.len() == 2 {
        match args.first().map(Arg::str) {
            Some("-4") => (Some(Family::V4), args.get(1)),
            Some("-6") => (Some(Family::V6), args.get(1)),
            _ => (None, None),
        }
    } else {
        (Some(Family::Any), args.first())
    };
    let opened = match (fam, name) {
        (Some(fam), Some(name)) => {
            let name = name.str().to_owned();
            q.open_host(&name, fam)
        }
        _ => false,
    };
    if opened {
        out!(q, "current host set to {}\n", q.current_host);
    } else if q.have_host {
        out!(q, "current host remains {}\n", q.current_host);
    } else {
        out!(q, "still no current host\n");
    }
}

fn passwd(q: &mut Ntpq<'_>, args: &[Arg]) {
    if q.keyid == 0 {
        q.keyid = q.prompt_keyid();
        if q.keyid == 0 {
            out!(q, "Keyid must be defined\n");
            return;
        }
    }
    let pass = match args.first() {
        Some(a) => a.str().to_owned(),
        None => {
            let prompt = format!("{} Password: ", q.keytype.name());
            let p = q.io.prompt(&prompt, false).unwrap_or_default();
            if p.is_empty() {
                out!(q, "Password unchanged\n");
                return;
            }
            p
        }
    };
    q.set_password(pass.as_bytes());
}

/// `checkassocid()` for an optional association argument (absent or 0 = system).
fn assoc_arg(q: &mut Ntpq<'_>, arg: Option<&Arg>) -> Option<u16> {
    let v = arg.map(Arg::uint).unwrap_or(0);
    if v == 0 {
        return Some(0);
    }
    match u16::try_from(v) {
        Ok(a) => Some(a),
        Err(_) => {
            err!(q, "***Invalid association ID {v} specified\n");
            None
        }
    }
}

/// The items of a `name[=value],...` argument, split as ntpq's `nextvar()` splits them
/// (quoted values keep their quotes).
fn split_vars(text: &str) -> Vec<(String, Option<String>)> {
    parse_varlist(text.as_bytes())
        .unwrap_or_default()
        .into_iter()
        .map(|item| {
            let value = item.value.is_some().then(|| item.raw_value());
            (item.name, value)
        })
        .collect()
}

/// ntpq's `doaddvlist()`: add or replace `name[=value]` items.
fn add_vars(list: &mut Vec<(String, Option<String>)>, text: &str) {
    for (n, v) in split_vars(text) {
        if let Some(slot) = list.iter_mut().find(|(name, _)| *name == n) {
            slot.1 = v;
        } else {
            list.push((n, v));
        }
    }
}

fn query_data(q: &mut Ntpq<'_>, list: &[(String, Option<String>)]) -> Vec<u8> {
    let refs: Vec<(&str, Option<&str>)> = list
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_deref()))
        .collect();
    let (data, left_out) = encode_query_vars(&refs);
    if let Some(i) = left_out {
        if let Some((name, _)) = list.get(i) {
            err!(q, "***Ignoring variables starting with `{name}'\n");
        }
    }
    data
}

/// Which status word a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VarType {
    Sys,
    Peer,
    Clock,
}

fn status_text(kind: VarType, status: u16) -> String {
    match kind {
        VarType::Sys => SystemStatus::from_u16(status).describe(),
        VarType::Peer => PeerStatus::from_u16(status).describe(),
        VarType::Clock => ClockStatus::from_u16(status).describe(),
    }
}

/// ntpq's `dolist()`.
fn dolist(
    q: &mut Ntpq<'_>,
    list: &[(String, Option<String>)],
    assoc: u16,
    op: Opcode,
    kind: VarType,
) -> bool {
    let quiet = !q.old_rv && !list.is_empty();
    let data = query_data(q, list);
    let Ok(resp) = q.query(op, assoc, data, false) else {
        return false;
    };
    if q.numhosts() > 1 {
        out!(q, "server={} ", q.current_host);
    }
    if resp.data.is_empty() {
        let clock = if kind == VarType::Clock { " clock" } else { "" };
        if assoc == 0 {
            out!(q, "No system{clock} variables returned\n");
        } else {
            out!(
                q,
                "No information returned for{clock} association {assoc}\n"
            );
        }
        return true;
    }
    if !quiet {
        out!(q, "associd={assoc} ");
    }
    printvars(q, &resp, kind, quiet);
    true
}

fn write_vars(q: &mut Ntpq<'_>, assoc: u16, list: &[(String, Option<String>)]) {
    let data = query_data(q, list);
    let Ok(resp) = q.query(Opcode::WriteVar, assoc, data, true) else {
        return;
    };
    if q.numhosts() > 1 {
        out!(q, "server={} ", q.current_host);
    }
    if resp.data.is_empty() {
        out!(q, "done! (no data returned)\n");
    } else {
        out!(q, "associd={assoc} ");
        let kind = if assoc == 0 {
            VarType::Sys
        } else {
            VarType::Peer
        };
        printvars(q, &resp, kind, false);
    }
}

fn printvars(q: &mut Ntpq<'_>, resp: &ControlResponse, kind: VarType, quiet: bool) {
    if q.raw {
        rawprint(q, resp, quiet);
    } else {
        cookedprint(q, resp, kind, quiet);
    }
}

fn rawprint(q: &mut Ntpq<'_>, resp: &ControlResponse, quiet: bool) {
    if !quiet {
        out!(q, "status=0x{:04x},\n", resp.status);
    }
    let data = &resp.data;
    let mut text = String::new();
    for (i, &b) in data.iter().enumerate() {
        if b == b'\r' {
            if i + 1 == data.len() || data.get(i + 1) != Some(&b'\n') {
                text.push_str(&format::make_ascii(&[b]));
            }
        } else if b.is_ascii_whitespace() || (0x20..0x7f).contains(&b) {
            text.push(char::from(b));
        } else {
            text.push_str(&format::make_ascii(&[b]));
        }
    }
    out!(q, "{text}");
}

/// The `name=value, ...` writer with ntpq's 72-column wrapping.
struct Output {
    text: String,
    chars: usize,
    line: usize,
}

impl Output {
    fn new() -> Self {
        Output {
            text: String::new(),
            chars: 0,
            line: 0,
        }
    }
    fn put(&mut self, name: &str, value: &str) {
        let len = name.len() + 1 + value.len();
        if self.chars != 0 {
            self.chars += 2;
            if self.line + len + 2 > MAX_OUT_LINE {
                self.text.push_str(",\n");
                self.line = 0;
            } else {
                self.text.push_str(", ");
                self.line += 2;
            }
        }
        self.text.push_str(name);
        self.text.push('=');
        self.text.push_str(value);
        self.chars += len;
        self.line += len;
    }
    fn finish(mut self) -> String {
        if self.chars != 0 {
            self.text.push('\n');
        }
        self.text
    }
}

/// ntpq's `tstflags()`.
fn tstflags(v: u64) -> String {
    const NAMES: [&str; 13] = [
        "pkt_dup",
        "pkt_bogus",
        "pkt_unsync",
        "pkt_denied",
        "pkt_auth",
        "pkt_stratum",
        "pkt_header",
        "pkt_autokey",
        "pkt_crypto",
        "peer_stratum",
        "peer_dist",
        "peer_loop",
        "peer_unreach",
    ];
    let mut s = format!("{v:02x}");
    if v == 0 {
        s.push_str(" ok");
    } else {
        let mut sep = " ";
        for (i, name) in NAMES.iter().enumerate() {
            if v & (1 << i) != 0 {
                s.push_str(sep);
                s.push_str(name);
                sep = ", ";
            }
        }
    }
    s
}

/// ntpq's `outputarr()` text for a filter array; `None` when a value does not parse.
fn array_text(name: &str, value: &str, signed: bool) -> Option<String> {
    let mut s = " ".repeat(11usize.saturating_sub(name.len()));
    let vals: Vec<&str> = value.split_ascii_whitespace().take(8).collect();
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let mut t = ms_text(v, 2, signed)?;
        t.truncate(7);
        s.push_str(&format!("{t:>7}"));
    }
    Some(s)
}

/// ntpq's `cookedprint()`.
fn cookedprint(q: &mut Ntpq<'_>, resp: &ControlResponse, kind: VarType, quiet: bool) {
    if !quiet {
        out!(
            q,
            "status={:04x} {},\n",
            resp.status,
            status_text(kind, resp.status)
        );
    }
    let items = parse_varlist(&resp.data).unwrap_or_default();
    let mut o = Output::new();
    for item in items {
        let name = item.name.clone();
        let raw = item.raw_value();
        let value = item.value.clone();
        // None: print raw; Some(text): print text. `bad` marks a raw value with '?'.
        let mut bad = false;
        let cooked: Option<String> = match name.as_str() {
            "leap" => match value.as_deref().and_then(parse_c_uint) {
                Some(v) if v <= 3 => Some(format!("{}{}", (v >> 1) & 1, v & 1)),
                _ => {
                    bad = true;
                    None
                }
            },
            "reach" => match value.as_deref().and_then(parse_c_uint) {
                Some(v) => Some(format!("{v:03o}")),
                None => {
                    bad = true;
                    None
                }
            },
            "refid" => match value.as_deref() {
                None => {
                    bad = true;
                    None
                }
                Some(v) => match parse_netnum(v) {
                    Some(sa) => {
                        let ip = sa.ip();
                        if let (VarType::Clock, std::net::IpAddr::V4(v4)) = (kind, ip) {
                            // Refclocks of faulty servers send a text refid as an address:
                            // show it as text, as classic does.
                            let s: String = v4
                                .octets()
                                .iter()
                                .take_while(|b| **b != 0)
                                .map(|b| {
                                    if (0x20..0x7f).contains(b) {
                                        char::from(*b)
                                    } else {
                                        '?'
                                    }
                                })
                                .collect();
                            Some(s)
                        } else if format::is_refclock(&ip) {
                            Some(refnumtoa(&ip))
                        } else if q.drefid_hash {
                            Some(format!("0x{:08x}", refid_hash(&ip)))
                        } else {
                            Some(format::stoa(&sa))
                        }
                    }
                    None if v.len() <= 4 => Some(v.to_owned()),
                    None => {
                        bad = true;
                        None
                    }
                },
            },
            "reftime" | "clock" | "org" | "rec" | "xmt" => {
                match value.as_deref().and_then(parse_hex_timestamp) {
                    Some(ts) => Some(q.pretty_date(ts)),
                    None => {
                        bad = true;
                        None
                    }
                }
            }
            "flash" => match value.as_deref().and_then(parse_c_uint) {
                Some(v) => Some(tstflags(v)),
                None => {
                    bad = true;
                    None
                }
            },
            "srcadr" | "peeradr" | "dstadr" => match value.as_deref().and_then(parse_netnum) {
                Some(sa) if name == "dstadr" => Some(format::stoa(&sa)),
                Some(sa) => Some(q.nntohost(&sa)),
                None => {
                    bad = true;
                    None
                }
            },
            "filtdelay" | "filtoffset" | "filtdisp" | "filterror" => {
                match value
                    .as_deref()
                    .and_then(|v| array_text(&name, v, name == "filtoffset"))
                {
                    Some(t) => Some(t),
                    None => {
                        bad = true;
                        None
                    }
                }
            }
            "offset" | "frequency" => match value.as_deref() {
                Some(v) if v.starts_with(|c: char| c.is_ascii_digit()) => Some(format!("+{v}")),
                Some(_) => None,
                None => {
                    bad = true;
                    None
                }
            },
            _ => None,
        };
        match cooked {
            Some(text) => o.put(&name, &text),
            None => {
                let mut v = format::make_ascii(raw.as_bytes());
                if bad {
                    v.push('?');
                }
                o.put(&format::make_ascii(name.as_bytes()), &v);
            }
        }
    }
    let text = o.finish();
    out!(q, "{text}");
}

/// The refid an address would have as a 32-bit number (`addr2refid` for IPv4).
fn refid_hash(ip: &std::net::IpAddr) -> u32 {
    match ip {
        std::net::IpAddr::V4(v4) => u32::from(*v4),
        std::net::IpAddr::V6(v6) => {
            // ntpd's IPv6 refid: the first four octets of the MD5 of the address.
            use md5_lite::md5_first4;
            md5_first4(&v6.octets())
        }
    }
}

/// A tiny MD5 for the IPv6 refid hash, reusing ntp-wire's keyed digest with an empty key.
mod md5_lite {
    use ntp_wire::{MacAlgorithm, SymmetricKey};

    /// First four octets of MD5(data) as a big-endian number.
    pub fn md5_first4(data: &[u8]) -> u32 {
        let d = SymmetricKey::new(0, MacAlgorithm::Md5, b"").digest(data);
        let b = d.as_bytes();
        u32::from_be_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
            b.get(2).copied().unwrap_or(0),
            b.get(3).copied().unwrap_or(0),
        ])
    }
}

fn readvar_json(q: &mut Ntpq<'_>, list: &[(String, Option<String>)], assoc: u16, kind: VarType) {
    let data = query_data(q, list);
    let Ok(resp) = q.query(Opcode::ReadVar, assoc, data, false) else {
        return;
    };
    let mut vars = Map::new();
    for item in parse_varlist(&resp.data).unwrap_or_default() {
        let (n, v) = item.into_pair();
        vars.insert(n, Value::String(v));
    }
    let doc = json!({
        "assid": assoc,
        "status": format!("{:04x}", resp.status),
        "status_text": status_text(kind, resp.status),
        "variables": vars,
    });
    out!(
        q,
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    );
}

/// ntpq's `dogetassoc()`: READSTAT, cache sorted by association ID.
fn dogetassoc(q: &mut Ntpq<'_>) -> bool {
    let Ok(resp) = q.query(Opcode::ReadStat, 0, Vec::new(), false) else {
        return false;
    };
    if resp.data.is_empty() {
        if q.numhosts() > 1 {
            out!(q, "server={} ", q.current_host);
        }
        out!(q, "No association ID's returned\n");
        return false;
    }
    if resp.data.len() % 4 != 0 {
        if q.numhosts() > 1 {
            err!(q, "server={} ", q.current_host);
        }
        err!(
            q,
            "***Server returned {} octets, should be multiple of 4\n",
            resp.data.len()
        );
        return false;
    }
    let mut cache: Vec<Assoc> = resp
        .data
        .chunks_exact(4)
        .map(|c| Assoc {
            assid: u16::from_be_bytes([c[0], c[1]]),
            status: u16::from_be_bytes([c[2], c[3]]),
        })
        .collect();
    cache.sort_by_key(|a| a.assid);
    if q.debug > 0 {
        let ids: Vec<String> = cache.iter().map(|a| format!("[{}] ", a.assid)).collect();
        err!(q, "{}\n{} associations total\n", ids.concat(), cache.len());
    }
    q.assoc_cache = cache;
    true
}

fn peer_event_name(event: u8) -> String {
    const NAMES: [&str; 16] = [
        "",
        "mobilize",
        "demobilize",
        "unreachable",
        "reachable",
        "restart",
        "no_reply",
        "rate_exceeded",
        "access_denied",
        "leap_armed",
        "sys_peer",
        "clock_alarm",
        "bad_auth",
        "popcorn",
        "interleave",
        "xleave_err",
    ];
    match NAMES.get(usize::from(event & 0xf)) {
        Some(n) if !n.is_empty() => (*n).to_owned(),
        _ => format!("<?{event:x}?>"),
    }
}

/// ntpq's `printassoc()`.
fn printassoc(q: &mut Ntpq<'_>, showall: bool) {
    if q.assoc_cache.is_empty() {
        out!(q, "No association ID's in list\n");
        return;
    }
    let mut rows = Vec::new();
    for (i, a) in q.assoc_cache.clone().iter().enumerate() {
        let statval = (a.status >> 8) as u8;
        if !showall && statval & (0x80 | 0x10) == 0 {
            continue;
        }
        let event = (a.status & 0xf) as u8;
        let count = (a.status >> 4) & 0xf;
        let conf = if statval & 0x80 != 0 { "yes" } else { "no" };
        let (reach, auth) = if statval & 0x08 != 0 {
            ("none", if statval & 0x40 != 0 { "yes" } else { "none" })
        } else {
            (
                if statval & 0x10 != 0 { "yes" } else { "no" },
                if statval & 0x40 != 0 {
                    if statval & 0x20 != 0 {
                        "ok "
                    } else {
                        "bad"
                    }
                } else {
                    "none"
                },
            )
        };
        let condition = if q.session.version() > 1 {
            [
                "reject",
                "falsetick",
                "excess",
                "outlier",
                "candidate",
                "backup",
                "sys.peer",
                "pps.peer",
            ]
            .get(usize::from(statval & 7))
            .copied()
            .unwrap_or("")
        } else {
            match statval & 3 {
                0 if statval & 0x08 == 0 => "insane",
                0 if statval & 0x04 == 0 => "hi_disp",
                0 => "",
                1 => "sel_cand",
                2 => "sync_cand",
                _ => "sys_peer",
            }
        };
        let last_event = peer_event_name(event);
        rows.push((i + 1, *a, conf, reach, auth, condition, last_event, count));
    }
    if q.json {
        let arr: Vec<Value> = rows
            .iter()
            .map(|(ind, a, conf, reach, auth, cond, ev, cnt)| {
                json!({
                    "ind": ind, "assid": a.assid, "status": format!("{:04x}", a.status),
                    "conf": conf, "reach": reach, "auth": auth.trim_end(),
                    "condition": cond, "last_event": ev, "count": cnt,
                })
            })
            .collect();
        out!(
            q,
            "{}\n",
            serde_json::to_string_pretty(&arr).unwrap_or_default()
        );
        return;
    }
    out!(
        q,
        "ind assid status  conf reach auth condition  last_event cnt\n"
    );
    out!(
        q,
        "===========================================================\n"
    );
    for (ind, a, conf, reach, auth, cond, ev, cnt) in rows {
        let cond9: String = cond.chars().take(9).collect();
        let auth4: String = auth.chars().take(4).collect();
        let conf3: String = conf.chars().take(3).collect();
        let line = format!(
            "{ind:3} {:5}  {:04x}   {conf3:>3}  {reach:>4}  {auth4:>4} {cond9:>9} {ev:>11} {cnt:2}",
            a.assid, a.status
        );
        out!(q, "{}\n", line.trim_end_matches(' '));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerLayout {
    Peers,
    Apeers,
    Opeers,
}

/// One `peers` row's values, before layout.
struct PeerRow {
    assid: u16,
    tally: char,
    remote: String,
    refid: Option<String>,
    stratum: u64,
    kind: char,
    when: i64,
    poll: i64,
    reach: u64,
    delay: String,
    offset: String,
    jitter: String,
    local: Option<SocketAddr>,
    loop_flag: bool,
    family_ok: bool,
}

fn dopeers(q: &mut Ntpq<'_>, layout: PeerLayout, showall: bool, ipver: Option<&Arg>) {
    let af = match ipver {
        Some(Arg::IpVersion(6)) => Some(6u8),
        Some(Arg::IpVersion(_)) => Some(4u8),
        _ => None,
    };
    if !dogetassoc(q) {
        return;
    }
    let mut maxhostlen = 0usize;
    if q.numhosts() > 1 && !q.json {
        // The host column is as wide as the longest host name (numeric hosts shown as
        // names when they have one).
        for h in q.hosts.clone() {
            let shown = match format::parse_netnum(&h) {
                Some(sa) if layout != PeerLayout::Opeers => q.nntohost(&sa),
                _ => h.clone(),
            };
            maxhostlen = maxhostlen.max(shown.len());
        }
        if layout == PeerLayout::Opeers {
            // Classic prints this heading once per host.
            for _ in 0..q.numhosts() {
                out!(q, "{:<w$.w$} ", "server", w = maxhostlen);
            }
        } else {
            out!(q, "{:<w$.w$} ", "server (local)", w = maxhostlen);
        }
    }
    if !q.json {
        let header = match layout {
            PeerLayout::Peers => {
                "     remote           refid      st t when poll reach   delay   offset  jitter\n"
            }
            PeerLayout::Apeers => {
                "     remote       refid   assid  st t when poll reach   delay   offset  jitter\n"
            }
            PeerLayout::Opeers => {
                "     remote           local      st t when poll reach   delay   offset    disp\n"
            }
        };
        out!(q, "{header}");
        if q.numhosts() > 1 {
            out!(q, "{}", "=".repeat(maxhostlen + 1));
        }
        out!(q, "{}\n", "=".repeat(78));
    }
    let mut json_rows = Vec::new();
    for a in q.assoc_cache.clone() {
        let statval = (a.status >> 8) as u8;
        if !showall && statval & (0x80 | 0x10) == 0 {
            if q.debug > 0 {
                err!(q, "eliding [{}]\n", a.assid);
            }
            continue;
        }
        let Ok(resp) = q.query(Opcode::ReadVar, a.assid, Vec::new(), false) else {
            return;
        };
        if resp.data.is_empty() {
            if q.numhosts() > 1 {
                err!(q, "server={} ", q.current_host);
            }
            err!(
                q,
                "***No information returned for association {}\n",
                a.assid
            );
            return;
        }
        let row = peer_row(q, layout, a.assid, &resp, af);
        if !row.family_ok {
            continue;
        }
        if q.json {
            json_rows.push(json!({
                "assid": row.assid,
                "tally": row.tally.to_string(),
                "remote": row.remote,
                "refid": row.refid,
                "stratum": row.stratum,
                "type": row.kind.to_string(),
                "when": if row.when > 0 { Some(row.when) } else { None },
                "poll": row.poll,
                "reach": row.reach,
                "delay": row.delay.parse::<f64>().ok(),
                "offset": row.offset.parse::<f64>().ok(),
                "jitter": row.jitter.parse::<f64>().ok(),
            }));
            continue;
        }
        let mut line = String::new();
        if q.numhosts() > 1 {
            // ntpq's `nntohost_col(dstadr, maxhostlen, TRUE)`, or the server itself.
            let local = match (layout, row.local) {
                (PeerLayout::Peers | PeerLayout::Apeers, Some(l)) => {
                    if !q.show_hostnames || l.ip().is_unspecified() {
                        format::trunc_left(&format::stoa(&l), maxhostlen)
                    } else if format::is_refclock(&l.ip()) {
                        refnumtoa(&l.ip())
                    } else {
                        let name = q.nntohost(&l);
                        name.chars().take(maxhostlen.max(1)).collect()
                    }
                }
                _ if q.current_host_is_num => format::trunc_left(&q.current_host, maxhostlen),
                _ => q.current_host.clone(),
            };
            line.push_str(&format!("{local:<maxhostlen$} "));
        }
        if q.wide && row.remote.len() > 15 {
            line.push_str(&format!("{}{}\n", row.tally, row.remote));
            let pad = if q.numhosts() > 1 { maxhostlen + 1 } else { 0 } + 1 + 15 + 1;
            line.push_str(&" ".repeat(pad));
        } else {
            let r: String = row.remote.chars().take(15).collect();
            line.push_str(&format!("{}{r:<15} ", row.tally));
        }
        let refid_text = if row.loop_flag && layout != PeerLayout::Opeers {
            "(loop)".to_owned()
        } else {
            row.refid.clone().unwrap_or_default()
        };
        let shown = format::make_ascii(refid_text.as_bytes());
        line.push_str(&shown);
        let mut drlen = refid_text.len();
        if layout == PeerLayout::Apeers {
            while drlen < 9 {
                line.push(' ');
                drlen += 1;
            }
            line.push_str(&format!("{:<6}", row.assid));
        } else {
            while drlen < 15 {
                line.push(' ');
                drlen += 1;
            }
        }
        let cut = |s: &str, n: usize| -> String { s.chars().take(n).collect() };
        line.push_str(&format!(
            " {:2} {} {:>4} {:>4}  {:3o}  {:>7} {:>8} {:>7}\n",
            row.stratum,
            row.kind,
            cut(&pretty_interval(row.when), 4),
            cut(&pretty_interval(row.poll), 4),
            row.reach,
            cut(&row.delay, 7),
            cut(&row.offset, 7),
            cut(&row.jitter, 7),
        ));
        out!(q, "{line}");
    }
    if q.json {
        out!(
            q,
            "{}\n",
            serde_json::to_string_pretty(&Value::Array(json_rows)).unwrap_or_default()
        );
    }
}

/// ntpq's `doprintpeers()` variable handling.
fn peer_row(
    q: &mut Ntpq<'_>,
    layout: PeerLayout,
    assid: u16,
    resp: &ControlResponse,
    af: Option<u8>,
) -> PeerRow {
    let now = q.io.now();
    let items: Vec<VarItem> = parse_varlist(&resp.data).unwrap_or_default();
    let mut srcadr: Option<SocketAddr> = None;
    let mut srchost: Option<String> = None;
    let mut dstadr: Option<SocketAddr> = None;
    let mut kind = '?';
    let mut hmode: i64 = 0;
    let mut refid: Option<String> = None;
    let mut stratum = 0u64;
    let mut hpoll: i64 = 0;
    let mut ppoll: i64 = 0;
    let mut reach = 0u64;
    let mut delay = "0".to_owned();
    let mut offset = "0".to_owned();
    let mut jitter: Option<String> = None;
    let mut disp = "0".to_owned();
    let mut rec = NtpTimestamp::from_bits(0);
    let mut reftime = NtpTimestamp::from_bits(0);
    let mut flash = 0u64;
    for item in items {
        let raw = item.raw_value();
        let v = item.value.clone().unwrap_or_default();
        match item.name.as_str() {
            "srcadr" | "peeradr" => match parse_netnum(&v) {
                Some(sa) => srcadr = Some(sa),
                None => err!(q, "malformed {}={}\n", item.name, v),
            },
            "srchost" if layout != PeerLayout::Opeers && raw.len() > 2 => {
                srchost = Some(v.clone());
            }
            "dstadr" => {
                if let Some(sa) = parse_netnum(&v) {
                    kind = format::addr_type(&sa);
                    dstadr = Some(sa);
                    if layout == PeerLayout::Opeers {
                        refid = Some(format::trunc_left(&format::stoa(&sa), 15));
                    }
                }
            }
            "hmode" => hmode = v.parse().unwrap_or(0),
            "refid" if layout != PeerLayout::Opeers => {
                let hash = layout == PeerLayout::Apeers;
                refid = if v.is_empty() {
                    Some(String::new())
                } else if v.len() <= 4 {
                    Some(refid_dots(&v))
                } else if let Some(sa) = parse_netnum(&v) {
                    let ip = sa.ip();
                    if ip.is_unspecified() {
                        Some("0.0.0.0".to_owned())
                    } else if format::is_refclock(&ip) {
                        // apeers has room for 8 characters only [classic Bug 3850].
                        let name = refnumtoa(&ip);
                        Some(if hash {
                            name.chars().take(8).collect()
                        } else {
                            name
                        })
                    } else if hash {
                        Some(format!("{:x}", refid_hash(&ip)))
                    } else {
                        Some(format::stoa(&sa))
                    }
                } else {
                    None
                };
            }
            "stratum" => stratum = parse_c_uint(&v).unwrap_or(0),
            "hpoll" => {
                if let Ok(h) = v.parse::<i64>() {
                    hpoll = if h < 0 { 3 } else { h };
                }
            }
            "ppoll" => {
                if let Ok(p) = v.parse::<i64>() {
                    ppoll = if p < 0 { 3 } else { p };
                }
            }
            "reach" => reach = parse_c_uint(&v).unwrap_or(0),
            "delay" => delay = v,
            "offset" => offset = v,
            "jitter" if layout != PeerLayout::Opeers => jitter = Some(v),
            "rootdisp" | "dispersion" => disp = v,
            "rec" => rec = parse_hex_timestamp(&v).unwrap_or(rec),
            "reftime" => reftime = parse_hex_timestamp(&v).unwrap_or(NtpTimestamp::from_bits(0)),
            "flash" => flash = parse_c_uint(&v).unwrap_or(0),
            _ => {}
        }
    }
    let src = srcadr.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    match hmode {
        6 => kind = 'b',
        5 => kind = if src.ip().is_multicast() { 'M' } else { 'B' },
        3 => {
            kind = if format::is_refclock(&src.ip()) {
                'l'
            } else if src.ip().is_unspecified() {
                'p'
            } else if src.ip().is_multicast() {
                'a'
            } else {
                'u'
            }
        }
        1 => kind = 's',
        2 => kind = 'S',
        _ => {}
    }
    let poll = 1i64 << ppoll.min(hpoll).clamp(0, 62);
    let tally = if q.session.version() > 1 {
        b" x.-+#*o"
            .get(usize::from((resp.status >> 8) as u8 & 7))
            .map_or(' ', |b| char::from(*b))
    } else {
        b" .+*"
            .get(usize::from((resp.status >> 8) as u8 & 3))
            .map_or(' ', |b| char::from(*b))
    };
    let last = if rec.seconds() != 0 {
        Some(rec)
    } else if reftime.seconds() != 0 {
        Some(reftime)
    } else {
        None
    };
    let when = match last {
        None => 0,
        Some(l) if now.seconds() < l.seconds() => -1,
        Some(l) => i64::from(now.seconds() - l.seconds()),
    };
    let family_ok = match af {
        None => true,
        Some(4) => src.is_ipv4(),
        Some(_) => src.is_ipv6(),
    };
    let remote = match srchost {
        Some(h) => h,
        None => q.nntohost(&src),
    };
    let ms = |s: &str, signed: bool| ms_text(s, 3, signed).unwrap_or_else(|| "0.000".to_owned());
    let jit = match &jitter {
        Some(j) => ms(j, false),
        None => ms(&disp, false),
    };
    PeerRow {
        assid,
        tally,
        remote,
        refid,
        stratum,
        kind,
        when,
        poll,
        reach,
        delay: ms(&delay, false),
        offset: ms(&offset, true),
        jitter: jit,
        local: dstadr,
        loop_flag: flash & 0x0800 != 0,
        family_ok,
    }
}

fn find_assid_range(q: &mut Ntpq<'_>, lo: u32, hi: u32) -> Option<(usize, usize)> {
    if q.assoc_cache.is_empty() {
        dogetassoc(q);
    }
    for v in [lo, hi] {
        if v == 0 || v > 65535 {
            err!(q, "***Invalid association ID {v} specified\n");
            return None;
        }
    }
    let find = |v: u32, cache: &[Assoc]| cache.iter().rposition(|a| u32::from(a.assid) == v);
    let a = find(lo, &q.assoc_cache);
    let b = find(hi, &q.assoc_cache);
    for (v, i) in [(lo, a), (hi, b)] {
        if i.is_none() {
            err!(q, "***Association ID {v} not found in list\n");
            return None;
        }
    }
    let (a, b) = (a?, b?);
    Some(if a < b { (a, b) } else { (b, a) })
}

fn config(q: &mut Ntpq<'_>, line: &str) {
    let Ok(resp) = q.query(Opcode::Configure, 0, line.as_bytes().to_vec(), true) else {
        return;
    };
    // Classic strips one trailing newline only; a `\r` before it stays.
    let data = resp.data.strip_suffix(b"\n").unwrap_or(&resp.data);
    let text = String::from_utf8_lossy(data).into_owned();
    // sscanf("column %d syntax error") counts a match as soon as the number is read.
    let col = text.strip_prefix("column ").and_then(|r| {
        let r = r.trim_start();
        let sign = usize::from(r.starts_with(['-', '+']));
        let digits = r
            .get(sign..)
            .unwrap_or_default()
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        (digits > 0).then(|| atoi(r))
    });
    if let Some(col) = col.filter(|c| *c >= 0 && (*c as usize) <= line.len() + 1) {
        if q.interactive {
            out!(q, "             *");
        } else {
            out!(q, "{line}\n");
        }
        out!(q, "{}^\n", "_".repeat(col as usize));
    }
    out!(q, "{text}\n");
}

/// ntpq's `config-from-file`: each non-empty line (comments and trailing blanks removed)
/// as one `:config` request.
fn config_from_file(q: &mut Ntpq<'_>, path: &str) {
    let text = match q.io.read_file(path) {
        Ok(t) => t,
        Err(_) => {
            out!(q, "ERROR!! Couldn't open file: {path}\n");
            return;
        }
    };
    out!(q, "Sending configuration file, one line at a time.\n");
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default();
        let line = line.trim_end_matches(|c: char| c <= ' ');
        if line.is_empty() {
            continue;
        }
        let mut result = None;
        for _ in 0..3 {
            if let Ok(resp) = q.query(Opcode::Configure, 0, line.as_bytes().to_vec(), true) {
                result = Some(resp);
                break;
            }
        }
        let Some(resp) = result else {
            out!(
                q,
                "Line No: {} query failed: {line}\nSubsequent lines not sent.\n",
                n + 1
            );
            return;
        };
        let reply = String::from_utf8_lossy(&resp.data).into_owned();
        let reply = reply.trim_end_matches(|c: char| c <= ' ');
        out!(q, "Line No: {} {reply}: {line}\n", n + 1);
    }
    out!(q, "Done sending file\n");
}

/// A labelled status display (`collect_display_vdc` tables).
#[derive(Clone, Copy)]
enum Vdc {
    Str,
    Refid,
    Mode,
    TwoBit,
    Lfp,
    Adp,
    /// `srcadr`+`srcport` style pair: the tag is the prefix.
    Add,
}

type VdcTable = &'static [(&'static str, &'static str, Vdc)];

const SYSINFO: VdcTable = &[
    ("peeradr", "system peer:      ", Vdc::Adp),
    ("peermode", "system peer mode: ", Vdc::Mode),
    ("leap", "leap indicator:   ", Vdc::TwoBit),
    ("stratum", "stratum:          ", Vdc::Str),
    ("precision", "log2 precision:   ", Vdc::Str),
    ("rootdelay", "root delay:       ", Vdc::Str),
    ("rootdisp", "root dispersion:  ", Vdc::Str),
    ("refid", "reference ID:     ", Vdc::Refid),
    ("reftime", "reference time:   ", Vdc::Lfp),
    ("sys_jitter", "system jitter:    ", Vdc::Str),
    ("clk_jitter", "clock jitter:     ", Vdc::Str),
    ("clk_wander", "clock wander:     ", Vdc::Str),
    ("bcastdelay", "broadcast delay:  ", Vdc::Str),
    ("authdelay", "symm. auth. delay:", Vdc::Str),
];

const SYSSTATS: VdcTable = &[
    ("ss_uptime", "uptime:               ", Vdc::Str),
    ("ss_reset", "sysstats reset:       ", Vdc::Str),
    ("ss_received", "packets received:     ", Vdc::Str),
    ("ss_thisver", "current version:      ", Vdc::Str),
    ("ss_oldver", "older version:        ", Vdc::Str),
    ("ss_badformat", "bad length or format: ", Vdc::Str),
    ("ss_badauth", "authentication failed:", Vdc::Str),
    ("ss_declined", "declined:             ", Vdc::Str),
    ("ss_restricted", "restricted:           ", Vdc::Str),
    ("ss_limited", "rate limited:         ", Vdc::Str),
    ("ss_kodsent", "KoD responses:        ", Vdc::Str),
    ("ss_processed", "processed for time:   ", Vdc::Str),
];

const KERNINFO: VdcTable = &[
    ("koffset", "pll offset:          ", Vdc::Str),
    ("kfreq", "pll frequency:       ", Vdc::Str),
    ("kmaxerr", "maximum error:       ", Vdc::Str),
    ("kesterr", "estimated error:     ", Vdc::Str),
    ("kstflags", "kernel status:       ", Vdc::Str),
    ("ktimeconst", "pll time constant:   ", Vdc::Str),
    ("kprecis", "precision:           ", Vdc::Str),
    ("kfreqtol", "frequency tolerance: ", Vdc::Str),
    ("kppsfreq", "pps frequency:       ", Vdc::Str),
    ("kppsstab", "pps stability:       ", Vdc::Str),
    ("kppsjitter", "pps jitter:          ", Vdc::Str),
    ("kppscalibdur", "calibration interval ", Vdc::Str),
    ("kppscalibs", "calibration cycles:  ", Vdc::Str),
    ("kppsjitexc", "jitter exceeded:     ", Vdc::Str),
    ("kppsstbexc", "stability exceeded:  ", Vdc::Str),
    ("kppscaliberrs", "calibration errors:  ", Vdc::Str),
];

const MONSTATS: VdcTable = &[
    ("mru_enabled", "enabled:            ", Vdc::Str),
    ("mru_depth", "addresses:          ", Vdc::Str),
    ("mru_deepest", "peak addresses:     ", Vdc::Str),
    ("mru_maxdepth", "maximum addresses:  ", Vdc::Str),
    ("mru_mindepth", "reclaim above count:", Vdc::Str),
    ("mru_maxage", "reclaim older than: ", Vdc::Str),
    ("mru_mem", "kilobytes:          ", Vdc::Str),
    ("mru_maxmem", "maximum kilobytes:  ", Vdc::Str),
];

const IOSTATS: VdcTable = &[
    ("iostats_reset", "time since reset:     ", Vdc::Str),
    ("total_rbuf", "receive buffers:      ", Vdc::Str),
    ("free_rbuf", "free receive buffers: ", Vdc::Str),
    ("used_rbuf", "used receive buffers: ", Vdc::Str),
    ("rbuf_lowater", "low water refills:    ", Vdc::Str),
    ("io_dropped", "dropped packets:      ", Vdc::Str),
    ("io_ignored", "ignored packets:      ", Vdc::Str),
    ("io_received", "received packets:     ", Vdc::Str),
    ("io_sent", "packets sent:         ", Vdc::Str),
    ("io_sendfailed", "packet send failures: ", Vdc::Str),
    ("io_wakeups", "input wakeups:        ", Vdc::Str),
    ("io_goodwakeups", "useful input wakeups: ", Vdc::Str),
];

const TIMERSTATS: VdcTable = &[
    ("timerstats_reset", "time since reset:  ", Vdc::Str),
    ("timer_overruns", "timer overruns:    ", Vdc::Str),
    ("timer_xmts", "calls to transmit: ", Vdc::Str),
];

const AUTHINFO: VdcTable = &[
    ("authreset", "time since reset:", Vdc::Str),
    ("authkeys", "stored keys:     ", Vdc::Str),
    ("authfreek", "free keys:       ", Vdc::Str),
    ("authklookups", "key lookups:     ", Vdc::Str),
    ("authknotfound", "keys not found:  ", Vdc::Str),
    ("authkuncached", "uncached keys:   ", Vdc::Str),
    ("authkexpired", "expired keys:    ", Vdc::Str),
    ("authencrypts", "encryptions:     ", Vdc::Str),
    ("authdecrypts", "decryptions:     ", Vdc::Str),
];

const PSTATS: VdcTable = &[
    ("src", "remote host:         ", Vdc::Add),
    ("dst", "local address:       ", Vdc::Add),
    ("timerec", "time last received:  ", Vdc::Str),
    ("timer", "time until next send:", Vdc::Str),
    ("timereach", "reachability change: ", Vdc::Str),
    ("sent", "packets sent:        ", Vdc::Str),
    ("received", "packets received:    ", Vdc::Str),
    ("badauth", "bad authentication:  ", Vdc::Str),
    ("bogusorg", "bogus origin:        ", Vdc::Str),
    ("oldpkt", "duplicate:           ", Vdc::Str),
    ("seldisp", "bad dispersion:      ", Vdc::Str),
    ("selbroken", "bad reference time:  ", Vdc::Str),
    ("candidate", "candidate order:     ", Vdc::Str),
];

/// ntpq's `collect_display_vdc()`.
fn collect_display(q: &mut Ntpq<'_>, assoc: u16, table: VdcTable, decode_status: bool) {
    let mut names: Vec<(String, Option<String>)> = Vec::new();
    for (tag, _, kind) in table {
        if matches!(kind, Vdc::Add) {
            names.push((format!("{tag}adr"), None));
            names.push((format!("{tag}port"), None));
        } else {
            names.push(((*tag).to_owned(), None));
        }
    }
    let data = query_data(q, &names);
    let Ok(resp) = q.query(Opcode::ReadVar, assoc, data, false) else {
        return;
    };
    let mut strs: Vec<Option<String>> = vec![None; table.len()];
    let mut lfps: Vec<NtpTimestamp> = vec![NtpTimestamp::from_bits(0); table.len()];
    let zero = SocketAddr::from(([0, 0, 0, 0], 0));
    let mut addrs: Vec<Option<SocketAddr>> = vec![None; table.len()];
    for item in parse_varlist(&resp.data).unwrap_or_default() {
        let tag = item.name.as_str();
        let val = item.raw_value();
        let Some((idx, (ttag, _, kind))) = table.iter().enumerate().find(|(_, (t, _, k))| {
            if matches!(k, Vdc::Add) {
                tag.strip_prefix(t)
                    .is_some_and(|rest| rest == "adr" || rest == "port")
            } else {
                tag == *t
            }
        }) else {
            continue;
        };
        match kind {
            Vdc::Str => {
                let v = if val.len() >= 2 && val.starts_with('"') && val.ends_with('"') {
                    val.get(1..val.len() - 1).unwrap_or_default().to_owned()
                } else {
                    val
                };
                if let Some(s) = strs.get_mut(idx) {
                    *s = Some(v);
                }
            }
            Vdc::Refid | Vdc::Mode | Vdc::TwoBit => {
                if let Some(s) = strs.get_mut(idx) {
                    *s = Some(val);
                }
            }
            Vdc::Lfp => {
                if let (Some(slot), Some(ts)) = (lfps.get_mut(idx), parse_hex_timestamp(&val)) {
                    *slot = ts;
                }
            }
            Vdc::Adp => match parse_netnum(&val) {
                Some(sa) => {
                    if let Some(slot) = addrs.get_mut(idx) {
                        *slot = Some(sa);
                    }
                }
                None => err!(q, "malformed {ttag}={val}\n"),
            },
            Vdc::Add => {
                let slot = addrs.get_mut(idx);
                if tag.ends_with("adr") {
                    match parse_netnum(&val) {
                        Some(sa) => {
                            if let Some(slot) = slot {
                                let port = slot.map_or(sa.port(), |old| old.port());
                                *slot = Some(SocketAddr::new(sa.ip(), port));
                            }
                        }
                        None => err!(q, "malformed {ttag}={val}\n"),
                    }
                } else if let (Some(slot), Ok(port)) = (slot, val.parse::<u16>()) {
                    let ip = slot.unwrap_or(zero).ip();
                    *slot = Some(SocketAddr::new(ip, port));
                }
            }
        }
    }
    if decode_status {
        let kind = if assoc == 0 {
            VarType::Sys
        } else {
            VarType::Peer
        };
        out!(
            q,
            "associd={assoc} status={:04x} {},\n",
            resp.status,
            status_text(kind, resp.status)
        );
    }
    for (idx, (_, label, kind)) in table.iter().enumerate() {
        let s = strs.get(idx).cloned().flatten();
        match kind {
            Vdc::Str => {
                if let Some(v) = s {
                    out!(q, "{label}  {v}\n");
                }
            }
            Vdc::Add | Vdc::Adp => {
                let sa = addrs.get(idx).copied().flatten().unwrap_or(zero);
                let text = q.nntohostp(&sa);
                out!(q, "{label}  {text}\n");
            }
            Vdc::Lfp => {
                let ts = lfps.get(idx).copied().unwrap_or(NtpTimestamp::from_bits(0));
                let text = q.pretty_date(ts);
                out!(q, "{label}  {text}\n");
            }
            Vdc::Mode => {
                if let Some(v) = s {
                    let m = u64::from(parse_uint(&v).unwrap_or(0));
                    out!(q, "{label}  {}\n", format::mode_name(m));
                }
            }
            Vdc::TwoBit => {
                if let Some(v) = s {
                    let l = parse_uint(&v).unwrap_or(0) & 3;
                    out!(q, "{label}  {}{}\n", (l >> 1) & 1, l & 1);
                }
            }
            Vdc::Refid => {
                if let Some(v) = s {
                    // Unlike `rv`, classic prints refclock refids here as addresses.
                    let text = match parse_netnum(&v) {
                        None => v,
                        Some(sa) if q.drefid_hash => format!("0x{:08x}", refid_hash(&sa.ip())),
                        Some(sa) => format::stoa(&sa),
                    };
                    out!(q, "{label}  {text}\n");
                }
            }
        }
    }
}

/// `RES_KOD` and `RES_LIMITED` bits of the MRU `rs.N` value (classic `ntp.h`).
const RES_KOD: u16 = 0x0800;
const RES_LIMITED: u16 = 0x0040;

/// Sort orders of `mrulist sort=` (classic `mru_sort_keywords`, in its order).
const MRU_SORT_KEYWORDS: [&str; 8] = [
    "lstint", "-lstint", "avgint", "-avgint", "addr", "-addr", "count", "-count",
];

fn lfp_diff_secs(a: NtpTimestamp, b: NtpTimestamp) -> f64 {
    (a.to_bits().wrapping_sub(b.to_bits()) as i64) as f64 / 4_294_967_296.0
}

fn mru_avgint(e: &MruEntry) -> f64 {
    lfp_diff_secs(e.last, e.first) / f64::from(e.count.max(1))
}

/// IPv4 before IPv6, then by address octets (classic `qcmp_mru_addr`).
fn mru_addr_key(e: &MruEntry) -> (u8, Vec<u8>) {
    match e.addr.ip() {
        std::net::IpAddr::V4(v4) => (0, v4.octets().to_vec()),
        std::net::IpAddr::V6(v6) => (1, v6.octets().to_vec()),
    }
}

/// ntpq's `mrulist`: REQ_NONCE, then READ_MRU until the list is complete.
fn mrulist(q: &mut Ntpq<'_>, args: &[Arg]) {
    err!(
        q,
        "Ctrl-C will stop MRU retrieval and display partial results.\n"
    );
    let _ = q.io.err().flush();
    let mut parms = String::new();
    let mut order = 0usize;
    for a in args {
        let arg = a.str();
        let passed = ["resall=", "resany=", "mincount=", "laddr=", "maxls"]
            .iter()
            .any(|p| arg.starts_with(p));
        if passed {
            // Passed to the daemon as they are.
            if parms.len() + arg.len() + 3 <= 128 {
                parms.push_str(", ");
                parms.push_str(arg);
            }
        } else if let Some(key) = arg.strip_prefix("sort=") {
            // An unknown order keeps the previous one, silently, as in classic.
            if let Some(n) = MRU_SORT_KEYWORDS.iter().position(|k| *k == key) {
                order = n;
            }
        } else if arg == "limited" || arg == "kod" {
            let bits = if arg == "kod" { RES_KOD } else { RES_LIMITED };
            parms.push_str(&format!(", resany=0x{bits:x}"));
        } else {
            err!(q, "ignoring unrecognized mrulist parameter: {arg}\n");
        }
    }
    let mut mru = MruQuery::new(&parms);
    let Some(mut data) = fetch_nonce(q, &mut mru) else {
        return;
    };
    loop {
        if q.debug > 0 {
            err!(q, "READ_MRU parms: {}\n", String::from_utf8_lossy(&data));
        }
        let step = match q.query_ex(Opcode::ReadMru, 0, data.clone(), false, true) {
            Ok(resp) => {
                if q.raw {
                    printvars(q, &resp, VarType::Sys, true);
                }
                mru.handle_response(&resp.data)
            }
            Err(Failed(Some(e))) => mru.handle_failure(&e),
            Err(Failed(None)) => return,
        };
        match step {
            Ok(MruStep::Done) => break,
            Ok(MruStep::ReadMru(next)) => data = next,
            Ok(MruStep::FetchNonce) => match fetch_nonce(q, &mut mru) {
                Some(next) => data = next,
                None => return,
            },
            Err(MruError::Query(e)) => {
                q.report(&e, 0);
                return;
            }
            Err(e) => {
                err!(q, "{e}\n");
                return;
            }
        }
    }
    err!(
        q,
        "\rRetrieved {} unique MRU entries and {} updates.\n",
        mru.entries().len(),
        mru.updates()
    );
    let _ = q.io.err().flush();
    if q.raw {
        return;
    }
    let now = mru.now().unwrap_or_else(|| NtpTimestamp::from_bits(0));
    // Newest first (the head of classic's list), or oldest first for sort=-lstint.
    let mut rows: Vec<&MruEntry> = mru.entries().iter().rev().collect();
    match order {
        1 => rows.reverse(),
        2 | 3 => {
            rows.sort_by(|a, b| {
                mru_avgint(a)
                    .partial_cmp(&mru_avgint(b))
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| b.last.to_bits().cmp(&a.last.to_bits()))
            });
            if order == 3 {
                rows.reverse();
            }
        }
        4 | 5 => {
            rows.sort_by_key(|e| mru_addr_key(e));
            if order == 5 {
                rows.reverse();
            }
        }
        6 | 7 => {
            rows.sort_by_key(|e| e.count);
            if order == 7 {
                rows.reverse();
            }
        }
        _ => {}
    }
    let mut json_rows = Vec::new();
    if !q.json {
        out!(
            q,
            "lstint avgint rstr r m v  count rport remote address\n\
             ==============================================================================\n"
        );
    }
    for e in rows {
        let lstint = (lfp_diff_secs(now, e.last) + 0.5) as i64;
        let avgint = (mru_avgint(e) + 0.5) as i64;
        let flag = if e.restrict & RES_KOD != 0 {
            'K'
        } else if e.restrict & RES_LIMITED != 0 {
            'L'
        } else {
            '.'
        };
        let host = q.nntohost(&e.addr);
        if q.json {
            json_rows.push(json!({
                "lstint": lstint, "avgint": avgint, "restrict": format!("{:x}", e.restrict),
                "flag": flag.to_string(), "mode": e.mode(), "version": e.version(),
                "count": e.count, "port": e.addr.port(), "address": e.addr.ip().to_string(),
                "host": host,
            }));
            continue;
        }
        out!(
            q,
            "{lstint:6} {avgint:6} {:4x} {flag} {} {} {:6} {:5} {host}\n",
            e.restrict,
            e.mode(),
            e.version(),
            e.count,
            e.addr.port()
        );
    }
    if q.json {
        out!(
            q,
            "{}\n",
            serde_json::to_string_pretty(&Value::Array(json_rows)).unwrap_or_default()
        );
    }
}

/// ntpq's `fetch_nonce()`: REQ_NONCE and the next READ_MRU data.
fn fetch_nonce(q: &mut Ntpq<'_>, mru: &mut MruQuery) -> Option<Vec<u8>> {
    let Ok(resp) = q.query(Opcode::ReqNonce, 0, Vec::new(), false) else {
        err!(q, "nonce request failed\n");
        return None;
    };
    match mru.handle_nonce(&resp.data) {
        Ok(d) => Some(d),
        Err(e) => {
            err!(q, "{e}\n");
            None
        }
    }
}

/// Parse `prefix.N` into N.
fn tag_index(tag: &str, prefix: &str) -> Option<u32> {
    tag.strip_prefix(prefix)?.strip_prefix('.')?.parse().ok()
}

/// Leading decimal digits of a value, as `sscanf("%u")` reads them.
fn scan_uint(v: &str) -> Option<u64> {
    let digits: String = v
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[derive(Default, Clone)]
struct IfRow {
    ifnum: u32,
    name: String,
    enabled: i64,
    flags: u64,
    ttl: u64,
    mcast: u64,
    rx: u64,
    tx: u64,
    txerr: u64,
    peers: u64,
    uptime: i64,
    addr: Option<SocketAddr>,
    bcast: Option<SocketAddr>,
}

const IFSTATS_FIELDS: u32 = 12;

fn ifstats(q: &mut Ntpq<'_>) {
    let Ok(resp) = q.query(Opcode::ReadOrdlistA, 0, Vec::new(), true) else {
        return;
    };
    out!(
        q,
        "    interface name                                        send\n \
         #  address/broadcast     drop flag ttl mc received sent failed peers   uptime\n\
         ==============================================================================\n"
    );
    let mut row = IfRow::default();
    let mut fields = 0u32;
    for item in parse_varlist(&resp.data).unwrap_or_default() {
        let tag = item.name.as_str();
        let raw = item.raw_value();
        let val = item.value.clone().unwrap_or_default();
        let mut ui = None;
        let mut ok = false;
        match tag.as_bytes().first() {
            Some(b'a') => {
                if let (Some(i), Some(sa)) = (tag_index(tag, "addr"), parse_netnum(&val)) {
                    ui = Some(i);
                    row.addr = Some(sa);
                    ok = true;
                }
            }
            Some(b'b') => {
                if let Some(i) = tag_index(tag, "bcast") {
                    if val.is_empty() {
                        ui = Some(i);
                        ok = true;
                    } else if let Some(sa) = parse_netnum(&val) {
                        ui = Some(i);
                        row.bcast = Some(sa);
                        ok = true;
                    }
                }
            }
            Some(b'e') => {
                if let (Some(i), Some(v)) = (tag_index(tag, "en"), scan_uint(&val)) {
                    ui = Some(i);
                    row.enabled = v as i64;
                    ok = true;
                }
            }
            Some(b'f') => {
                if let (Some(i), Some(v)) = (
                    tag_index(tag, "flags"),
                    val.strip_prefix("0x")
                        .and_then(|h| u64::from_str_radix(h, 16).ok()),
                ) {
                    ui = Some(i);
                    row.flags = v;
                    ok = true;
                }
            }
            Some(b'm') => {
                if let (Some(i), Some(v)) = (tag_index(tag, "mc"), scan_uint(&val)) {
                    ui = Some(i);
                    row.mcast = v;
                    ok = true;
                }
            }
            Some(b'n') => {
                if let Some(i) = tag_index(tag, "name") {
                    if raw.len() >= 2 {
                        ui = Some(i);
                        row.name = raw.get(1..raw.len() - 1).unwrap_or_default().to_owned();
                        ok = true;
                    }
                }
            }
            Some(b'p') => {
                if let (Some(i), Some(v)) = (tag_index(tag, "pc"), scan_uint(&val)) {
                    ui = Some(i);
                    row.peers = v;
                    ok = true;
                }
            }
            Some(b'r') => {
                if let (Some(i), Some(v)) = (tag_index(tag, "rx"), scan_uint(&val)) {
                    ui = Some(i);
                    row.rx = v;
                    ok = true;
                }
            }
            Some(b't') => {
                let v = scan_uint(&val);
                if let (Some(i), Some(v)) = (tag_index(tag, "tl"), v) {
                    ui = Some(i);
                    row.ttl = v;
                    ok = true;
                } else if let (Some(i), Some(v)) = (tag_index(tag, "tx"), v) {
                    ui = Some(i);
                    row.tx = v;
                    ok = true;
                } else if let (Some(i), Some(v)) = (tag_index(tag, "txerr"), v) {
                    ui = Some(i);
                    row.txerr = v;
                    ok = true;
                }
            }
            Some(b'u') => {
                if let (Some(i), Some(v)) = (tag_index(tag, "up"), scan_uint(&val)) {
                    ui = Some(i);
                    row.uptime = v as i64;
                    ok = true;
                }
            }
            _ => {}
        }
        if !ok {
            continue;
        }
        let ui = ui.unwrap_or(0);
        if row.ifnum != ui {
            if row.ifnum < ui {
                if fields < IFSTATS_FIELDS {
                    out!(
                        q,
                        "Warning: incomplete row with {fields} (of {IFSTATS_FIELDS}) fields\n"
                    );
                }
                fields = 0;
                row.ifnum = ui;
            } else {
                err!(
                    q,
                    "received if index {ui}, have {fields} of {IFSTATS_FIELDS} fields for index {}, aborting.\n",
                    row.ifnum
                );
                q.exit = Some(1);
                return;
            }
        }
        fields += 1;
        if fields >= IFSTATS_FIELDS {
            let zero = SocketAddr::from(([0, 0, 0, 0], 0));
            let name: String = row.name.chars().take(24).collect();
            out!(
                q,
                "{:3} {name:<24} {} {:4x} {:3} {:2} {:6} {:6} {:6} {:5} {:8}\n    {}\n",
                row.ifnum,
                if row.enabled != 0 { '.' } else { 'D' },
                row.flags,
                row.ttl,
                row.mcast,
                row.rx,
                row.tx,
                row.txerr,
                row.peers,
                row.uptime,
                format::sptoa(&row.addr.unwrap_or(zero))
            );
            if let Some(b) = row.bcast {
                out!(q, "    {}\n", format::sptoa(&b));
            }
            row = IfRow {
                ifnum: row.ifnum,
                ..IfRow::default()
            };
        }
    }
    if fields != IFSTATS_FIELDS {
        out!(
            q,
            "Warning: incomplete row with {fields} (of {IFSTATS_FIELDS}) fields\n"
        );
    }
}

/// Prefix length of a contiguous netmask, `None` when not contiguous.
fn mask_prefix(mask: &SocketAddr) -> Option<u32> {
    let bits: u128 = match mask.ip() {
        std::net::IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
        std::net::IpAddr::V6(v6) => u128::from(v6),
    };
    let ones = bits.leading_ones();
    if ones < 128 && bits << ones != 0 {
        return None;
    }
    let width = if mask.is_ipv4() { 32 } else { 128 };
    Some(ones.min(width))
}

fn reslist(q: &mut Ntpq<'_>) {
    let Ok(resp) = q.query(Opcode::ReadOrdlistA, 0, b"addr_restrictions".to_vec(), true) else {
        return;
    };
    out!(
        q,
        "   hits    addr/prefix or addr mask\n           restrictions\n\
         ==============================================================================\n"
    );
    let mut fields = 0u32;
    let mut idx = 0u32;
    let mut addr: Option<SocketAddr> = None;
    let mut mask: Option<SocketAddr> = None;
    let mut hits = 0u64;
    let mut flags = String::new();
    for item in parse_varlist(&resp.data).unwrap_or_default() {
        let tag = item.name.as_str();
        let val = item.value.clone().unwrap_or_default();
        let mut ui = None;
        match tag.as_bytes().first() {
            Some(b'a') => {
                if let (Some(i), Some(sa)) = (tag_index(tag, "addr"), parse_netnum(&val)) {
                    ui = Some(i);
                    addr = Some(sa);
                }
            }
            Some(b'f') => {
                if let Some(i) = tag_index(tag, "flags") {
                    ui = Some(i);
                    flags = val.clone();
                }
            }
            Some(b'h') => {
                if let (Some(i), Some(v)) = (tag_index(tag, "hits"), scan_uint(&val)) {
                    ui = Some(i);
                    hits = v;
                }
            }
            Some(b'm') => {
                if let (Some(i), Some(sa)) = (tag_index(tag, "mask"), parse_netnum(&val)) {
                    ui = Some(i);
                    mask = Some(sa);
                }
            }
            _ => {}
        }
        let Some(ui) = ui else { continue };
        if idx != ui {
            if idx.checked_add(1) == Some(ui) {
                if fields < 4 {
                    out!(q, "Warning: incomplete row with {fields} (of 4) fields");
                }
                fields = 0;
                idx = ui;
            } else {
                err!(
                    q,
                    "received reslist index {ui}, have {fields} of 4 fields for index {idx}, aborting.\n"
                );
                q.exit = Some(1);
                return;
            }
        }
        fields += 1;
        if fields >= 4 {
            let zero = SocketAddr::from(([0, 0, 0, 0], 0));
            let a = addr.unwrap_or(zero);
            let m = mask.unwrap_or(zero);
            let am = match mask_prefix(&m) {
                Some(p) => format!("{}/{p}", format::stoa(&a)),
                None => format!("{} {}", format::stoa(&a), format::stoa(&m)),
            };
            out!(q, "{hits:10} {am}\n           {flags}\n");
            addr = None;
            mask = None;
            hits = 0;
            flags.clear();
        }
    }
    if fields != 4 {
        out!(q, "Warning: incomplete row with {fields} (of 4) fields");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_quotes_comments_and_config_lines() {
        assert_eq!(
            tokenize("rv 0 stratum,offset"),
            ["rv", "0", "stratum,offset"]
        );
        assert_eq!(tokenize("  peers\t-4\r\n"), ["peers", "-4"]);
        assert_eq!(tokenize("passwd \"a b\""), ["passwd", "a b"]);
        assert_eq!(tokenize("a b c d e f g h i j").len(), 8);
        assert_eq!(
            tokenize(":config server 10.0.0.1 iburst"),
            [":config", "server 10.0.0.1 iburst"]
        );
        assert!(tokenize("").is_empty());
    }

    #[test]
    fn unique_prefixes_find_commands() {
        assert_eq!(findcmd("as").1.map(|c| c.id), Some(Id::Associations));
        assert_eq!(findcmd("rv").1.map(|c| c.id), Some(Id::Readvar));
        assert_eq!(findcmd("pstatus").0, 0);
        assert_eq!(findcmd("p").1.map(|c| c.name), None);
        assert!(findcmd("p").0 >= 2);
    }

    #[test]
    fn output_wraps_at_72_columns() {
        let mut o = Output::new();
        for i in 0..10 {
            o.put(&format!("name{i}"), "value");
        }
        let text = o.finish();
        assert!(text.lines().all(|l| l.len() <= 73));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn flash_bits_are_named() {
        assert_eq!(tstflags(0), "00 ok");
        assert_eq!(tstflags(0x0801), "801 pkt_dup, peer_loop");
    }

    #[test]
    fn netmasks_give_prefix_lengths() {
        let m = |s: &str| parse_netnum(s).unwrap();
        assert_eq!(mask_prefix(&m("255.255.255.255")), Some(32));
        assert_eq!(mask_prefix(&m("0.0.0.0")), Some(0));
        assert_eq!(mask_prefix(&m("::")), Some(0));
        assert_eq!(mask_prefix(&m("ffff:ffff::")), Some(32));
        assert_eq!(mask_prefix(&m("255.0.255.0")), None);
    }

    #[test]
    fn filter_arrays_align_in_seven_columns() {
        assert_eq!(
            array_text("filtoffset", "0.00 -0.01", true).unwrap(),
            "   +0.00   -0.01"
        );
        assert_eq!(
            array_text("filtdisp", "16000.00", false).unwrap(),
            "   16000.0"
        );
    }
}
