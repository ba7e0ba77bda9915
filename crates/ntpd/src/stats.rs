//! Statistics files as classic ntpd writes them: `statsdir` + the `filegen` file name with a
//! generation suffix by `type` (`day` → `loopstats.20261126`, the classic default), a hard
//! link under the plain name to the current generation (`link`, the default), one line per
//! event appended. Enabled by `statistics NAME` or `filegen NAME ... enable`.
//!
//! Written: `peerstats` and `loopstats` (engine lines), `rawstats` (engine lines whose
//! destination column the daemon fills in), `sysstats` (hourly, from the packet counters,
//! which are then reset as classic's `proto_clr_stats()` does), and `clockstats`, opened
//! but empty: the only reference clock is the LOCAL driver, and classic's
//! `refclock_local.c` records nothing there.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ntp_conf::{Config, FileGenType, StatsKind, SystemFlag};
use ntp_control::mode6::vars::SysStats;
use ntp_core::rawstats::{day_and_seconds, set_destination};
use ntp_wire::NtpTimestamp;

use ntp_wire::time::{civil_from_days, days_from_civil};

/// Where statistics go when `statistics` is given without `statsdir` (Debian's choice).
pub const DEFAULT_STATSDIR: &str = "/var/log/ntpstats/";

#[derive(Debug)]
struct Generation {
    file: String,
    kind: FileGenType,
    link: bool,
    open: Option<(String, File)>,
}

/// Writes the enabled statistics files.
#[derive(Debug)]
pub struct StatsWriter {
    dir: PathBuf,
    gens: HashMap<StatsKind, Generation>,
    pid: u32,
    start_unix: i64,
}

/// The classic file name of a statistics kind.
pub fn default_file(kind: StatsKind) -> &'static str {
    match kind {
        StatsKind::Clockstats => "clockstats",
        StatsKind::Cryptostats => "cryptostats",
        StatsKind::Loopstats => "loopstats",
        StatsKind::Peerstats => "peerstats",
        StatsKind::Rawstats => "rawstats",
        StatsKind::Sysstats => "sysstats",
        StatsKind::Protostats => "protostats",
        StatsKind::Timingstats => "timingstats",
    }
}

impl StatsWriter {
    /// The writer for `config`, or `None` when no statistics are enabled (or `disable stats`).
    pub fn from_config(config: &Config, start_unix: i64) -> Option<StatsWriter> {
        if config.system_flag(SystemFlag::Stats) == Some(false) {
            return None;
        }
        let mut gens = HashMap::new();
        let all = [
            StatsKind::Clockstats,
            StatsKind::Cryptostats,
            StatsKind::Loopstats,
            StatsKind::Peerstats,
            StatsKind::Rawstats,
            StatsKind::Sysstats,
            StatsKind::Protostats,
            StatsKind::Timingstats,
        ];
        for kind in all {
            let fg = config.filegens.iter().rev().find(|f| f.name == kind);
            let enabled = match fg.and_then(|f| f.enable) {
                Some(e) => e,
                None => config.statistics.contains(&kind),
            };
            if !enabled {
                continue;
            }
            gens.insert(
                kind,
                Generation {
                    file: fg
                        .and_then(|f| f.file.clone())
                        .unwrap_or_else(|| default_file(kind).to_owned()),
                    kind: fg.and_then(|f| f.kind).unwrap_or(FileGenType::Day),
                    link: fg.and_then(|f| f.link).unwrap_or(true),
                    open: None,
                },
            );
        }
        if gens.is_empty() {
            return None;
        }
        Some(StatsWriter {
            dir: PathBuf::from(config.statsdir.as_deref().unwrap_or(DEFAULT_STATSDIR)),
            gens,
            pid: std::process::id(),
            start_unix,
        })
    }

    /// True when `kind` is written.
    pub fn enabled(&self, kind: StatsKind) -> bool {
        self.gens.contains_key(&kind)
    }

    /// Append `line` to `kind`'s current generation (opened or rotated as needed) at Unix time
    /// `now`.
    ///
    /// # Errors
    /// The I/O error, with the path.
    pub fn write(&mut self, kind: StatsKind, line: &str, now: i64) -> std::io::Result<()> {
        let Some(f) = self.current(kind, now)? else {
            return Ok(());
        };
        writeln!(f, "{line}")
    }

    /// Open the current generation of every enabled file, as classic's `filegen_config()`
    /// does at start-up: a file nothing writes to (`clockstats` with only the LOCAL driver,
    /// which records no timecodes) still exists, empty.
    ///
    /// # Errors
    /// The first I/O error, with the path.
    pub fn open_all(&mut self, now: i64) -> std::io::Result<()> {
        let kinds: Vec<StatsKind> = self.gens.keys().copied().collect();
        for k in kinds {
            self.current(k, now)?;
        }
        Ok(())
    }

    /// The open file of `kind`'s generation at `now` (`None` when not enabled).
    fn current(&mut self, kind: StatsKind, now: i64) -> std::io::Result<Option<&mut File>> {
        let (pid, start) = (self.pid, self.start_unix);
        let Some(g) = self.gens.get_mut(&kind) else {
            return Ok(None);
        };
        let name = format!("{}{}", g.file, suffix(g.kind, now, pid, start));
        if g.open.as_ref().is_none_or(|(n, _)| *n != name) {
            let path = self.dir.join(&name);
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            if g.link && name != g.file {
                let link = self.dir.join(&g.file);
                let _ = std::fs::remove_file(&link);
                let _ = std::fs::hard_link(&path, &link);
            }
            g.open = Some((name, f));
        }
        Ok(g.open.as_mut().map(|(_, f)| f))
    }

    /// The directory the files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// How often the `sysstats` line is written: hourly as classic (`stats_timer`, first one hour
/// after start). The environment variable `NTPD_SYSSTATS_INTERVAL` (seconds, read once at
/// start-up) overrides it; it exists for the end-to-end tests and is not a supported option.
pub fn sysstats_interval() -> std::time::Duration {
    let secs = std::env::var("NTPD_SYSSTATS_INTERVAL")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(3600);
    std::time::Duration::from_secs(secs)
}

/// The `sysstats` line of classic 4.2.8 `record_sys_stats()` at clock reading `now`:
/// `MJD SOD SINCE_RESET RECEIVED PROCESSED NEWVERSION OLDVERSION RESTRICTED BADLENGTH BADAUTH
/// DECLINED LIMITED KODSENT`, the counters being those since the last reset (`s`, as
/// [`crate::control::counters_since`] gives them) and `since_reset` in seconds.
pub fn sysstats_line(now: NtpTimestamp, since_reset: u64, s: &SysStats) -> String {
    let (day, sod) = day_and_seconds(now);
    format!(
        "{day} {sod} {since_reset} {} {} {} {} {} {} {} {} {} {}",
        s.received,
        s.processed,
        s.thisver,
        s.oldver,
        s.restricted,
        s.badformat,
        s.badauth,
        s.declined,
        s.limited,
        s.kodsent
    )
}

/// An engine rawstats line with its destination column filled from the local address of the
/// socket its source uses (`locals`: server address → local address); unchanged when unknown.
pub fn raw_with_destination(line: &str, locals: &HashMap<SocketAddr, SocketAddr>) -> String {
    let src: Option<IpAddr> = line.split(' ').nth(2).and_then(|a| a.parse().ok());
    let local = src.and_then(|ip| {
        locals
            .iter()
            .find(|(server, _)| server.ip() == ip)
            .map(|(_, l)| l.ip())
    });
    match local.and_then(|l| set_destination(line, l)) {
        Some(l) => l,
        None => line.to_owned(),
    }
}

/// The generation suffix classic's `filegen_setup()` appends for `kind` at Unix time `now`.
pub fn suffix(kind: FileGenType, now: i64, pid: u32, start: i64) -> String {
    let days = now.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    match kind {
        FileGenType::None => String::new(),
        FileGenType::Pid => format!(".{pid}"),
        FileGenType::Day => format!(".{y:04}{m:02}{d:02}"),
        FileGenType::Week => {
            // Classic: week number = day of year / 7.
            let jan1 = days_from_civil(y, 1, 1);
            format!(".{y:04}W{:02}", (days - jan1) / 7)
        }
        FileGenType::Month => format!(".{y:04}{m:02}"),
        FileGenType::Year => format!(".{y:04}"),
        FileGenType::Age => format!(".a{:08}", (now - start).max(0) / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntp_conf::NoFiles;

    const NOV26: i64 = 1_795_660_800; // 2026-11-26 00:00:00 UTC

    #[test]
    fn suffixes_follow_classic_filegen() {
        assert_eq!(suffix(FileGenType::Day, NOV26 + 3600, 1, 0), ".20261126");
        assert_eq!(suffix(FileGenType::Month, NOV26, 1, 0), ".202611");
        assert_eq!(suffix(FileGenType::Year, NOV26, 1, 0), ".2026");
        assert_eq!(suffix(FileGenType::Pid, NOV26, 42, 0), ".42");
        assert_eq!(suffix(FileGenType::None, NOV26, 42, 0), "");
        assert_eq!(
            suffix(FileGenType::Age, NOV26, 1, NOV26 - 3 * 86_400),
            ".a00000003"
        );
        assert_eq!(suffix(FileGenType::Week, NOV26, 1, 0), ".2026W47");
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 11, 26), NOV26 / 86_400);
    }

    #[test]
    fn daily_files_rotate_with_a_link_to_the_current_one() {
        let dir = std::env::temp_dir().join(format!("ntpd-stats-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = ntp_conf::parse(
            &format!(
                "statsdir {}/\nstatistics loopstats peerstats\nfilegen loopstats file loopstats type day enable\nfilegen peerstats file peers type none nolink\n",
                dir.display()
            ),
            "ntp.conf",
            &NoFiles,
        )
        .unwrap();
        let mut w = StatsWriter::from_config(&cfg, NOV26).expect("enabled");
        assert!(w.enabled(StatsKind::Loopstats) && !w.enabled(StatsKind::Clockstats));
        w.write(StatsKind::Loopstats, "61370 10.000 0.1", NOV26 + 10)
            .unwrap();
        w.write(StatsKind::Loopstats, "61371 10.000 0.2", NOV26 + 86_410)
            .unwrap();
        w.write(StatsKind::Peerstats, "61370 1.0 127.0.0.1 9614", NOV26)
            .unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
        assert_eq!(read("loopstats.20261126"), "61370 10.000 0.1\n");
        assert_eq!(read("loopstats.20261127"), "61371 10.000 0.2\n");
        assert_eq!(
            read("loopstats"),
            "61371 10.000 0.2\n",
            "link follows the newest"
        );
        assert_eq!(read("peers"), "61370 1.0 127.0.0.1 9614\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Our sysstats line against the field list of classic 4.2.8 `record_sys_stats()`,
    /// parsed back field by field.
    #[test]
    fn sysstats_line_has_classic_fields_in_order() {
        let s = SysStats {
            received: 11,
            processed: 10,
            thisver: 9,
            oldver: 8,
            restricted: 7,
            badformat: 6,
            badauth: 5,
            declined: 4,
            limited: 3,
            kodsent: 2,
            ..SysStats::default()
        };
        // 2026-11-26 01:00:00.5 UTC.
        let now = NtpTimestamp::from_parts(4_004_643_600, 0x8000_0000);
        let l = sysstats_line(now, 3600, &s);
        assert_eq!(l, "61370 3600.500 3600 11 10 9 8 7 6 5 4 3 2");
        let f: Vec<&str> = l.split(' ').collect();
        let names = [
            "day",
            "second",
            "reset",
            "received",
            "processed",
            "newversion",
            "oldversion",
            "restricted",
            "badlength",
            "badauth",
            "declined",
            "limited",
            "kodsent",
        ];
        assert_eq!(f.len(), names.len());
        assert_eq!(f[names.iter().position(|n| *n == "badauth").unwrap()], "5");
        assert_eq!(f[names.iter().position(|n| *n == "kodsent").unwrap()], "2");
    }

    #[test]
    fn rawstats_destination_comes_from_the_source_socket() {
        let line = "61370 3600.250 192.0.2.1 - 1.000000000 rest";
        let mut locals = HashMap::new();
        locals.insert(
            SocketAddr::from(([192, 0, 2, 1], 123)),
            SocketAddr::from(([192, 0, 2, 9], 40000)),
        );
        assert_eq!(
            raw_with_destination(line, &locals),
            "61370 3600.250 192.0.2.1 192.0.2.9 1.000000000 rest"
        );
        assert_eq!(raw_with_destination(line, &HashMap::new()), line);
    }

    #[test]
    fn open_all_creates_an_empty_clockstats_file() {
        let dir = std::env::temp_dir().join(format!("ntpd-stats-open-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = ntp_conf::parse(
            &format!("statsdir {}/\nstatistics clockstats\n", dir.display()),
            "ntp.conf",
            &NoFiles,
        )
        .unwrap();
        let mut w = StatsWriter::from_config(&cfg, NOV26).expect("enabled");
        w.open_all(NOV26).unwrap();
        let name = format!("clockstats{}", suffix(FileGenType::Day, NOV26, 1, 0));
        assert_eq!(std::fs::read_to_string(dir.join(name)).unwrap(), "");
        assert!(dir.join("clockstats").exists(), "linked");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nothing_enabled_or_disable_stats_means_no_writer() {
        let none = ntp_conf::parse("server 192.0.2.1\n", "ntp.conf", &NoFiles).unwrap();
        assert!(StatsWriter::from_config(&none, 0).is_none());
        let off = ntp_conf::parse(
            "statistics loopstats\ndisable stats\n",
            "ntp.conf",
            &NoFiles,
        )
        .unwrap();
        assert!(StatsWriter::from_config(&off, 0).is_none());
    }
}
