//! The command line of classic ntpd 4.2.8 (`ntpd/ntpdbase-opts.def`), plus our
//! `--check-config`, `--port`, `--server-threads` and `--seccomp`.

use std::ffi::OsString;

use clap::builder::TypedValueParser;
use clap::{ArgAction, Parser};

/// Default configuration file, as classic ntpd.
pub const DEFAULT_CONFIG: &str = "/etc/ntp.conf";

/// ntpd - Network Time Protocol (NTP) daemon.
#[derive(Debug, Clone, Parser, PartialEq)]
#[command(
    name = "ntpd",
    version,
    about = "NTP daemon: a drop-in replacement for classic ntpd 4.2.8",
    disable_version_flag = true
)]
pub struct Args {
    /// Force IPv4 DNS name resolution and listen on IPv4 only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Force IPv6 DNS name resolution and listen on IPv6 only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Require crypto authentication (classic default: on).
    #[arg(short = 'a', long = "authreq")]
    pub authreq: bool,
    /// Do not require crypto authentication.
    #[arg(short = 'A', long = "authnoreq")]
    pub authnoreq: bool,
    /// Allow us to sync to broadcast servers.
    #[arg(short = 'b', long = "bcastsync")]
    pub bcastsync: bool,
    /// Configuration file name.
    #[arg(short = 'c', long = "configfile", value_name = "FILE")]
    pub configfile: Option<String>,
    /// Increase debug verbosity level (repeatable).
    #[arg(short = 'd', long = "debug-level", action = ArgAction::Count)]
    pub debug: u8,
    /// Set the debug verbosity level.
    #[arg(short = 'D', long = "set-debug-level", value_name = "LEVEL")]
    pub set_debug_level: Option<u8>,
    /// Frequency drift file name.
    #[arg(short = 'f', long = "driftfile", value_name = "FILE")]
    pub driftfile: Option<String>,
    /// Allow the first adjustment to be big (panic gate override).
    #[arg(short = 'g', long = "panicgate")]
    pub panicgate: bool,
    /// Step any initial offset correction.
    #[arg(short = 'G', long = "force-step-once")]
    pub force_step_once: bool,
    /// Jail directory: chroot there after start-up, before dropping privileges.
    #[arg(short = 'i', long = "jaildir", value_name = "DIR")]
    pub jaildir: Option<String>,
    /// Listen on an interface name or address (repeatable).
    #[arg(short = 'I', long = "interface", value_name = "IFACE")]
    pub interface: Vec<String>,
    /// Path to the symmetric keys file.
    #[arg(short = 'k', long = "keyfile", value_name = "FILE")]
    pub keyfile: Option<String>,
    /// Path to the log file.
    #[arg(short = 'l', long = "logfile", value_name = "FILE")]
    pub logfile: Option<String>,
    /// Do not listen on virtual interfaces.
    #[arg(short = 'L', long = "novirtualips")]
    pub novirtualips: bool,
    /// Do not fork: stay in the foreground.
    #[arg(short = 'n', long = "nofork")]
    pub nofork: bool,
    /// Run at the highest real-time priority (SCHED_FIFO).
    #[arg(short = 'N', long = "nice")]
    pub nice: bool,
    /// Path to the pid file.
    #[arg(short = 'p', long = "pidfile", value_name = "FILE")]
    pub pidfile: Option<String>,
    /// Run under SCHED_FIFO at this priority (1-99).
    #[arg(short = 'P', long = "priority", value_name = "N")]
    pub priority: Option<i32>,
    /// Set the time and quit.
    #[arg(short = 'q', long = "quit")]
    pub quit: bool,
    /// Broadcast/propagation delay (seconds).
    #[arg(short = 'r', long = "propagationdelay", value_name = "DELAY")]
    pub propagationdelay: Option<f64>,
    /// Statistics file directory.
    #[arg(short = 's', long = "statsdir", value_name = "DIR")]
    pub statsdir: Option<String>,
    /// Trusted key number (repeatable).
    #[arg(short = 't', long = "trustedkey", value_name = "KEY")]
    pub trustedkey: Vec<u32>,
    /// Run as `user[:group]` after start-up.
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Seconds between interface scans (default 300; 0 disables rescans).
    #[arg(short = 'U', long = "updateinterval", value_name = "SECS")]
    pub updateinterval: Option<u32>,
    /// Make ARG an ntp variable (RW).
    #[arg(short = 'v', long = "var", value_name = "NAME=VALUE")]
    pub var: Vec<String>,
    /// Make ARG an ntp variable (RW|DEF).
    #[arg(short = 'V', long = "dvar", value_name = "NAME=VALUE")]
    pub dvar: Vec<String>,
    /// Seconds to wait for the first clock sync (with -q semantics as classic).
    #[arg(short = 'w', long = "wait-sync", value_name = "SECS")]
    pub wait_sync: Option<u32>,
    /// Slew up to 600 seconds instead of stepping.
    #[arg(short = 'x', long = "slew")]
    pub slew: bool,
    /// Print the version and exit.
    #[arg(long = "version")]
    pub version: bool,
    /// Check the configuration (and keys) and exit: 0 if good, 1 with every diagnostic.
    #[arg(long = "check-config")]
    pub check_config: bool,
    /// UDP port to listen on (default 123); for tests and unprivileged runs.
    #[arg(long = "port", value_name = "N", default_value_t = 123)]
    pub port: u16,
    /// Server worker threads per address (default: one per core, one on loopback; 0 serves
    /// from the main thread).
    #[arg(long = "server-threads", value_name = "N")]
    pub server_threads: Option<usize>,
    /// Seconds between drift-file saves (classic: 3600); our extension, for tests.
    #[arg(
        long = "drift-save-interval",
        value_name = "SECS",
        default_value_t = 3600.0
    )]
    pub drift_save_interval: f64,
    /// Refuse to run as root when no -u user is given.
    #[arg(long = "require-drop")]
    pub require_drop: bool,
    /// System-call filter once serving: `enforce` (the default when the flag is given without a
    /// value; any other call kills ntpd with SIGSYS), `log` (allow and log it), `off`.
    #[arg(
        long = "seccomp",
        value_name = "MODE",
        num_args = 0..=1,
        default_value = "off",
        default_missing_value = "enforce",
        value_parser = clap::builder::PossibleValuesParser::new(["enforce", "log", "off"])
            .map(|m| crate::seccomp::Mode::from_name(&m))
    )]
    pub seccomp: crate::seccomp::Mode,
}

impl Args {
    /// Parse a command line (the first item is the program name).
    ///
    /// # Errors
    /// clap's error, which prints the usage.
    pub fn parse_from_os<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Args::try_parse_from(args)
    }

    /// The configuration file to read.
    pub fn config_path(&self) -> &str {
        self.configfile.as_deref().unwrap_or(DEFAULT_CONFIG)
    }

    /// The effective debug level (`-d` count or `-D N`).
    pub fn debug_level(&self) -> u8 {
        self.set_debug_level.unwrap_or(0).max(self.debug)
    }

    /// `-u user[:group]` split.
    pub fn user_group(&self) -> Option<(String, Option<String>)> {
        self.user.as_ref().map(|u| match u.split_once(':') {
            Some((u, g)) => (u.to_owned(), Some(g.to_owned())),
            None => (u.clone(), None),
        })
    }
}

/// The version line, in classic's shape (`ntpd 4.2.8p18@1.4062-o ...`) but naming us.
pub fn version_line() -> String {
    format!(
        "ntpd {} (ntp-rs-suite; compatible with ntpd 4.2.8p18)",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_flags_parse() {
        let a = Args::parse_from_os([
            "ntpd",
            "-g",
            "-n",
            "-c",
            "/tmp/ntp.conf",
            "-u",
            "ntp:ntp",
            "-p",
            "/run/ntpd.pid",
            "-dd",
            "-4",
            "-x",
            "-q",
        ])
        .unwrap();
        assert!(a.panicgate && a.nofork && a.ipv4 && a.slew && a.quit);
        assert_eq!(a.config_path(), "/tmp/ntp.conf");
        assert_eq!(a.user_group(), Some(("ntp".into(), Some("ntp".into()))));
        assert_eq!(a.pidfile.as_deref(), Some("/run/ntpd.pid"));
        assert_eq!(a.debug_level(), 2);
        assert_eq!(a.port, 123);
    }

    #[test]
    fn our_extensions_parse() {
        let a = Args::parse_from_os([
            "ntpd",
            "--check-config",
            "--port",
            "12345",
            "--server-threads",
            "0",
        ])
        .unwrap();
        assert!(a.check_config);
        assert_eq!(a.port, 12345);
        assert_eq!(a.server_threads, Some(0));
        assert_eq!(a.config_path(), DEFAULT_CONFIG);
    }

    #[test]
    fn seccomp_flag_defaults_to_off_and_bare_flag_enforces() {
        use crate::seccomp::Mode;
        let parse = |v: &[&str]| Args::parse_from_os(v.iter().copied()).unwrap().seccomp;
        assert_eq!(parse(&["ntpd", "-n"]), Mode::Off);
        assert_eq!(parse(&["ntpd", "--seccomp", "-n"]), Mode::Enforce);
        assert_eq!(parse(&["ntpd", "--seccomp=log"]), Mode::Log);
        assert_eq!(parse(&["ntpd", "--seccomp=off"]), Mode::Off);
        assert_eq!(parse(&["ntpd", "--seccomp", "log"]), Mode::Log);
        assert!(Args::parse_from_os(["ntpd", "--seccomp=strict"]).is_err());
    }

    #[test]
    fn ipv4_and_ipv6_conflict() {
        assert!(Args::parse_from_os(["ntpd", "-4", "-6"]).is_err());
        assert!(Args::parse_from_os(["ntpd", "--no-such-flag"]).is_err());
    }
}
