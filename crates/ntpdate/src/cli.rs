//! The classic command line (`ntpdate/ntpdate.c` `ntpdatemain`): getopt-style short options
//! `46a:bBde:k:o:p:qst:uv` (clustered flags, attached or separate arguments, `--` ends the
//! options) plus `--port N` for tests, with classic's messages and defaults.

use crate::fixed::{atolfp, lfp_to_fp};

/// Samples per server without `-p` (`DEFSAMPLES`); `-q` alone takes one.
pub const DEFAULT_SAMPLES: usize = 4;
/// Largest `-p` (`NTP_SHIFT`).
pub const MAX_SAMPLES: usize = 8;
/// Timer ticks per second (`TIMER_HZ`): timeouts are whole ticks.
pub const TIMER_HZ: u32 = 5;
/// Default timeout in ticks (`DEFTIMEOUT`, 2 s).
pub const DEFAULT_TIMEOUT_TICKS: u32 = 2 * TIMER_HZ;
/// Smallest timeout in ticks (`MINTIMEOUT`, 1 s).
pub const MIN_TIMEOUT_TICKS: u32 = TIMER_HZ;
/// The NTP port.
pub const NTP_PORT: u16 = 123;
/// The key file without `-k`.
pub const DEFAULT_KEY_FILE: &str = "/etc/ntp.keys";

/// Which address family `-4`/`-6` restrict the servers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 only (`-4`).
    V4,
    /// IPv6 only (`-6`).
    V6,
}

/// Step/slew policy (`-b`/`-B`; the later flag wins, as in classic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Adjust {
    /// Step when |offset| >= 0.5 s, slew otherwise.
    #[default]
    Auto,
    /// Always step (`-b`).
    AlwaysStep,
    /// Always slew (`-B`).
    NeverStep,
}

/// Everything the command line sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Program name for messages (`argv[0]`).
    pub progname: String,
    /// `-4`/`-6`.
    pub family: Option<Family>,
    /// `-a key`: authenticate with this key id.
    pub auth_key: Option<u32>,
    /// `-b`/`-B`.
    pub adjust: Adjust,
    /// `-d` (counted: more than one adds detail, as classic's `debug > 1`).
    pub debug: u32,
    /// `-e`: authentication delay, 32-bit binary fraction of a second.
    pub auth_delay: u32,
    /// `-k`.
    pub key_file: String,
    /// `-o`: version in requests (the three bits sent).
    pub version: u8,
    /// `-p`, or the default (4, or 1 with `-q`).
    pub samples: usize,
    /// `-q`.
    pub query_only: bool,
    /// `-s`.
    pub syslog: bool,
    /// `-t`, in timer ticks of 0.2 s.
    pub timeout_ticks: u32,
    /// `-u`.
    pub unprivileged: bool,
    /// `-v`.
    pub verbose: bool,
    /// `--port`: the servers' port.
    pub port: u16,
    /// Server names or addresses, in order.
    pub servers: Vec<String>,
}

impl Options {
    /// The response timeout.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.timeout_ticks) * 1000 / u64::from(TIMER_HZ))
    }

    /// True when the source port must be 123 (classic: not with `-d`, `-q` or `-u`).
    pub fn needs_ntp_port(&self) -> bool {
        self.debug == 0 && !self.query_only && !self.unprivileged
    }
}

/// A command line classic would refuse: the messages to print (stderr) before the usage
/// line, exit status 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .messages.join("\n"))]
pub struct UsageError {
    /// Lines printed before the usage line (may be empty).
    pub messages: Vec<String>,
    /// The usage line.
    pub usage: String,
}

/// The usage line for `progname`.
pub fn usage_line(progname: &str) -> String {
    format!(
        "usage: {progname} [-46bBdqsuv] [-a key#] [-e delay] [-k file] [-p samples] [-o version#] [-t timeo] server ..."
    )
}

/// C `atoi`: leading blanks, optional sign, digits; 0 when there are none.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = body
        .chars()
        .take_while(char::is_ascii_digit)
        .take(18)
        .collect();
    let v = digits.parse::<i64>().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

/// Parse `args` (`args[0]` is the program name).
///
/// # Errors
/// [`UsageError`] with classic's messages for a bad option or argument.
pub fn parse(args: &[String]) -> Result<Options, UsageError> {
    let progname = args
        .first()
        .cloned()
        .unwrap_or_else(|| "ntpdate".to_string());
    let mut o = Options {
        progname: progname.clone(),
        family: None,
        auth_key: None,
        adjust: Adjust::Auto,
        debug: 0,
        auth_delay: 0,
        key_file: DEFAULT_KEY_FILE.to_string(),
        version: 4,
        samples: 0,
        query_only: false,
        syslog: false,
        timeout_ticks: DEFAULT_TIMEOUT_TICKS,
        unprivileged: false,
        verbose: false,
        port: NTP_PORT,
        servers: Vec::new(),
    };
    let mut messages = Vec::new();
    let mut errors = 0;
    // `--port N` / `--port=N` may appear anywhere; take it out first.
    let mut rest: Vec<&str> = Vec::new();
    let mut it = args.iter().skip(1).map(String::as_str);
    while let Some(a) = it.next() {
        let value = if a == "--port" {
            Some(it.next().unwrap_or(""))
        } else {
            a.strip_prefix("--port=")
        };
        match value {
            Some(v) => match v.parse::<u16>() {
                Ok(p) if p != 0 => o.port = p,
                _ => {
                    messages.push(format!("{progname}: port {v} is invalid"));
                    errors += 1;
                }
            },
            None => rest.push(a),
        }
    }
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let chars: Vec<char> = a.chars().skip(1).collect();
        let mut k = 0;
        while k < chars.len() {
            let c = chars[k];
            k += 1;
            let takes_arg = matches!(c, 'a' | 'e' | 'k' | 'o' | 'p' | 't');
            let arg: Option<String> = if takes_arg {
                if k < chars.len() {
                    let v: String = chars[k..].iter().collect();
                    k = chars.len();
                    Some(v)
                } else if i + 1 < rest.len() {
                    i += 1;
                    Some(rest[i].to_string())
                } else {
                    messages.push(format!("{progname}: option requires an argument -- {c}"));
                    errors += 1;
                    None
                }
            } else {
                None
            };
            match (c, arg) {
                ('4', _) => o.family = Some(Family::V4),
                ('6', _) => o.family = Some(Family::V6),
                ('b', _) => o.adjust = Adjust::AlwaysStep,
                ('B', _) => o.adjust = Adjust::NeverStep,
                ('d', _) => o.debug += 1,
                ('q', _) => o.query_only = true,
                ('s', _) => o.syslog = true,
                ('u', _) => o.unprivileged = true,
                ('v', _) => o.verbose = true,
                ('a', Some(v)) => o.auth_key = Some(atoi(&v) as u32),
                ('e', Some(v)) => match atolfp(&v) {
                    // Only a fraction of a second is plausible (`l_ui != 0` is refused).
                    Some(d) if (0..(1i64 << 32)).contains(&d) => o.auth_delay = d as u32,
                    _ => {
                        messages.push(format!("{progname}: encryption delay {v} is unlikely"));
                        errors += 1;
                    }
                },
                ('k', Some(v)) => o.key_file = v,
                ('o', Some(v)) => o.version = (atoi(&v) & 7) as u8,
                ('p', Some(v)) => {
                    let n = atoi(&v);
                    if n <= 0 || n > MAX_SAMPLES as i64 {
                        messages.push(format!(
                            "{progname}: number of samples ({}) is invalid",
                            n as i32
                        ));
                        errors += 1;
                    } else {
                        o.samples = n as usize;
                    }
                }
                ('t', Some(v)) => match atolfp(&v) {
                    Some(t) => {
                        // Whole ticks, rounded (classic: (LFPTOFP * TIMER_HZ + 0x8000) >> 16).
                        let ticks = (i64::from(lfp_to_fp(t)) * i64::from(TIMER_HZ) + 0x8000) >> 16;
                        o.timeout_ticks = ticks.clamp(0, i64::from(u32::MAX)) as u32;
                        o.timeout_ticks = o.timeout_ticks.max(MIN_TIMEOUT_TICKS);
                    }
                    None => {
                        messages.push(format!("{progname}: timeout {v} is undecodeable"));
                        errors += 1;
                    }
                },
                (_, None) if takes_arg => {}
                (other, _) => {
                    messages.push(format!("{progname}: illegal option -- {other}"));
                    errors += 1;
                }
            }
        }
        i += 1;
    }
    o.servers = rest[i.min(rest.len())..]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if errors > 0 {
        return Err(UsageError {
            messages,
            usage: usage_line(&progname),
        });
    }
    if o.samples == 0 {
        o.samples = if o.query_only { 1 } else { DEFAULT_SAMPLES };
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Options, UsageError> {
        let args: Vec<String> = std::iter::once("ntpdate")
            .chain(s.split_whitespace())
            .map(String::from)
            .collect();
        parse(&args)
    }

    #[test]
    fn query_alone_takes_one_sample_and_default_takes_four() {
        assert_eq!(p("-q a").unwrap().samples, 1);
        assert_eq!(p("a").unwrap().samples, 4);
        assert_eq!(p("-q -p 3 a").unwrap().samples, 3);
    }

    #[test]
    fn clustered_flags_and_attached_arguments_parse_like_getopt() {
        let o = p("-qdu -p2 -a 7 -k /tmp/k -o3 -t 0.5 --port 1234 s1 s2").unwrap();
        assert!(o.query_only && o.unprivileged);
        assert_eq!(o.debug, 1);
        assert_eq!(o.samples, 2);
        assert_eq!(o.auth_key, Some(7));
        assert_eq!(o.key_file, "/tmp/k");
        assert_eq!(o.version, 3);
        // 0.5 s is below the 1 s minimum
        assert_eq!(o.timeout_ticks, MIN_TIMEOUT_TICKS);
        assert_eq!(o.port, 1234);
        assert_eq!(o.servers, vec!["s1", "s2"]);
    }

    #[test]
    fn timeout_rounds_to_ticks_of_a_fifth_of_a_second() {
        assert_eq!(p("-t 3.5 a").unwrap().timeout_ticks, 18);
        assert_eq!(p("-t 3.3 a").unwrap().timeout_ticks, 16);
        assert_eq!(p("-t 3.1 a").unwrap().timeout_ticks, 15);
        assert_eq!(p("a").unwrap().timeout(), std::time::Duration::from_secs(2));
    }

    #[test]
    fn later_step_flag_wins() {
        assert_eq!(p("-b -B a").unwrap().adjust, Adjust::NeverStep);
        assert_eq!(p("-Bb a").unwrap().adjust, Adjust::AlwaysStep);
    }

    #[test]
    fn bad_arguments_give_classic_messages() {
        let e = p("-p 9 a").unwrap_err();
        assert_eq!(
            e.messages,
            vec!["ntpdate: number of samples (9) is invalid"]
        );
        assert!(e.usage.starts_with("usage: ntpdate [-46bBdqsuv]"));
        let e = p("-e 1.5 a").unwrap_err();
        assert_eq!(
            e.messages,
            vec!["ntpdate: encryption delay 1.5 is unlikely"]
        );
        let e = p("-x a").unwrap_err();
        assert_eq!(e.messages, vec!["ntpdate: illegal option -- x"]);
        assert!(p("-t zz a").is_err());
        assert!(p("--port 0 a").is_err());
        assert!(p("a -p").is_ok(), "options end at the first server");
    }

    #[test]
    fn options_needing_port_123_follow_classic() {
        assert!(p("a").unwrap().needs_ntp_port());
        assert!(!p("-u a").unwrap().needs_ntp_port());
        assert!(!p("-q a").unwrap().needs_ntp_port());
        assert!(!p("-d a").unwrap().needs_ntp_port());
    }
}
