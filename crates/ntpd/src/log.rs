//! Logging in classic ntpd's shape (`26 Nov 04:27:01 ntpd[1234]: message` in the log file, or
//! stderr, or syslog), rate-limited per cause so hostile traffic cannot flood the log: at most
//! [`BURST`] lines per cause in any [`WINDOW_SECS`] window, then one summary line saying how
//! many were suppressed.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Lines per cause per window.
pub const BURST: u32 = 3;
/// Window length in seconds.
pub const WINDOW_SECS: f64 = 1.0;

/// Severity, as syslog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// LOG_ERR.
    Error,
    /// LOG_WARNING.
    Warning,
    /// LOG_NOTICE.
    Notice,
    /// LOG_INFO.
    Info,
    /// LOG_DEBUG.
    Debug,
}

/// Where lines go.
#[derive(Debug)]
pub enum Sink {
    /// Standard error (foreground).
    Stderr,
    /// The `logfile` (append).
    File(std::fs::File),
    /// The local syslog socket (`/dev/log`), facility daemon.
    Syslog(Option<std::os::unix::net::UnixDatagram>),
    /// An in-memory buffer (tests).
    Memory(Vec<String>),
    /// Nowhere.
    Null,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    count: u32,
    suppressed: u64,
}

#[derive(Debug)]
struct Inner {
    sink: Sink,
    windows: HashMap<&'static str, Window>,
    max_level: Level,
}

/// The daemon's logger.
#[derive(Debug)]
pub struct Logger {
    inner: Mutex<Inner>,
    pid: u32,
}

impl Logger {
    /// A logger writing to `sink`, keeping lines up to `max_level`.
    pub fn new(sink: Sink, max_level: Level) -> Self {
        Logger {
            inner: Mutex::new(Inner {
                sink,
                windows: HashMap::new(),
                max_level,
            }),
            pid: std::process::id(),
        }
    }

    /// Log to syslog through `/dev/log` (when it is missing, lines are dropped).
    pub fn syslog(max_level: Level) -> Self {
        let sock = std::os::unix::net::UnixDatagram::unbound()
            .ok()
            .filter(|s| s.connect("/dev/log").is_ok());
        Logger::new(Sink::Syslog(sock), max_level)
    }

    /// Open `path` for appending (the `logfile` directive / `-l`).
    ///
    /// # Errors
    /// The open error.
    pub fn to_file(path: &str, max_level: Level) -> std::io::Result<Self> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Logger::new(Sink::File(f), max_level))
    }

    /// Log one line under `cause` (a stable key: lines with the same cause share a budget).
    pub fn log(&self, level: Level, cause: &'static str, msg: &str) {
        self.log_at(Instant::now(), level, cause, msg);
    }

    fn log_at(&self, now: Instant, level: Level, cause: &'static str, msg: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if level > g.max_level {
            return;
        }
        let w = g.windows.entry(cause).or_insert(Window {
            start: now,
            count: 0,
            suppressed: 0,
        });
        if now.duration_since(w.start).as_secs_f64() >= WINDOW_SECS {
            let suppressed = w.suppressed;
            w.start = now;
            w.count = 0;
            w.suppressed = 0;
            if suppressed > 0 {
                let line = format!("{suppressed} similar messages ({cause}) suppressed");
                Self::emit(&mut g.sink, self.pid, &line);
            }
        }
        let w = g.windows.get_mut(cause).expect("inserted above");
        if w.count >= BURST {
            w.suppressed += 1;
            return;
        }
        w.count += 1;
        Self::emit(&mut g.sink, self.pid, msg);
    }

    fn emit(sink: &mut Sink, pid: u32, msg: &str) {
        let stamp = chrono_free_stamp();
        match sink {
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr(), "{stamp} ntpd[{pid}]: {msg}");
            }
            Sink::File(f) => {
                let _ = writeln!(f, "{stamp} ntpd[{pid}]: {msg}");
            }
            Sink::Syslog(Some(s)) => {
                // <priority>: facility daemon (3) * 8 + notice (5).
                let _ = s.send(format!("<29>ntpd[{pid}]: {msg}").as_bytes());
            }
            Sink::Syslog(None) => {}
            Sink::Memory(v) => v.push(msg.to_owned()),
            Sink::Null => {}
        }
    }

    /// Lines captured by a [`Sink::Memory`] logger.
    pub fn captured(&self) -> Vec<String> {
        match &self.inner.lock().unwrap_or_else(|e| e.into_inner()).sink {
            Sink::Memory(v) => v.clone(),
            _ => Vec::new(),
        }
    }
}

/// `26 Nov 04:27:01` in UTC, as classic's `humanlogtime()`.
fn chrono_free_stamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (_, m, d) = ntp_wire::time::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{d} {} {:02}:{:02}:{:02}",
        MONTHS[(m - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_flood_is_cut_to_a_few_lines_per_second() {
        let l = Logger::new(Sink::Memory(Vec::new()), Level::Debug);
        let t0 = Instant::now();
        for i in 0..1000 {
            l.log_at(
                t0 + Duration::from_millis(i),
                Level::Notice,
                "bad packet",
                "bad packet from x",
            );
        }
        let lines = l.captured();
        // 1000 ms: one window of BURST lines, then the window rolls once at 1000 ms? No: the
        // last message is at 999 ms, so exactly BURST lines.
        assert_eq!(lines.len(), BURST as usize, "{lines:?}");
        l.log_at(
            t0 + Duration::from_millis(1500),
            Level::Notice,
            "bad packet",
            "again",
        );
        let lines = l.captured();
        assert_eq!(
            lines[BURST as usize],
            "997 similar messages (bad packet) suppressed"
        );
        assert_eq!(lines.last().unwrap(), "again");
    }

    #[test]
    fn causes_have_separate_budgets_and_levels_filter() {
        let l = Logger::new(Sink::Memory(Vec::new()), Level::Info);
        for _ in 0..10 {
            l.log(Level::Notice, "a", "a");
            l.log(Level::Notice, "b", "b");
            l.log(Level::Debug, "c", "debug line");
        }
        let lines = l.captured();
        assert_eq!(lines.iter().filter(|s| *s == "a").count(), BURST as usize);
        assert_eq!(lines.iter().filter(|s| *s == "b").count(), BURST as usize);
        assert!(!lines.iter().any(|s| s == "debug line"));
    }
}
