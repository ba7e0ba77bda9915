//! The `leapfile`: NIST/IERS `leap-seconds.list` as classic ntpd reads it: data lines
//! `NTPSECONDS TAIOFFSET`, `#$` last update, `#@` expiry, `#h` SHA-1 of the digits of the
//! update time, the expiry and every entry (the file's own integrity check).

use sha1::{Digest, Sha1};

/// A parsed leap-second table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeapTable {
    /// (NTP seconds of the leap, TAI - UTC from then on), in file order.
    pub entries: Vec<(u64, i32)>,
    /// `#$`: when the file was last updated (NTP seconds).
    pub updated: Option<u64>,
    /// `#@`: when the file expires (NTP seconds).
    pub expires: Option<u64>,
    /// `#h` present and matching (`Some(true)`), present and wrong (`Some(false)`), absent.
    pub hash_ok: Option<bool>,
}

/// Why a leap file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeapFileError {
    /// A data line is not two numbers.
    #[error("line {line}: expected \"NTPSECONDS TAIOFFSET\", found {found:?}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The text (at most 40 characters).
        found: String,
    },
    /// Entries are not in increasing time order.
    #[error("line {line}: entries must be in increasing time order")]
    Order {
        /// 1-based line number.
        line: usize,
    },
    /// No entries at all.
    #[error("no leap second entries")]
    Empty,
    /// The `#h` hash does not match the content.
    #[error("SHA-1 hash mismatch: the file is corrupt or was edited")]
    Hash,
}

fn num(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// Parse a leap-seconds.list; a wrong `#h` hash is an error (as classic's "checkhash").
///
/// # Errors
/// [`LeapFileError`] naming the line.
pub fn parse(text: &str) -> Result<LeapTable, LeapFileError> {
    parse_with(text, true)
}

/// Parse, checking the `#h` hash only when `check_hash` (`leapfile ... ignorehash` skips it).
///
/// # Errors
/// [`LeapFileError`] naming the line.
pub fn parse_with(text: &str, check_hash: bool) -> Result<LeapTable, LeapFileError> {
    let mut t = LeapTable::default();
    let mut hash_words: Option<Vec<u32>> = None;
    let mut digits = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("#$") {
            t.updated = num(rest.trim());
            digits.push_str(rest.trim());
        } else if let Some(rest) = line.strip_prefix("#@") {
            t.expires = num(rest.trim());
            digits.push_str(rest.trim());
        } else if let Some(rest) = line.strip_prefix("#h") {
            hash_words = rest
                .split_whitespace()
                .map(|w| u32::from_str_radix(w, 16).ok())
                .collect();
        } else if line.starts_with('#') || line.is_empty() {
            continue;
        } else {
            let data = line.split('#').next().unwrap_or("");
            let mut f = data.split_whitespace();
            let (Some(a), Some(b), None) = (f.next(), f.next(), f.next()) else {
                return Err(LeapFileError::BadLine {
                    line: i + 1,
                    found: line.chars().take(40).collect(),
                });
            };
            let (Some(when), Some(ofs)) = (num(a), b.parse::<i32>().ok()) else {
                return Err(LeapFileError::BadLine {
                    line: i + 1,
                    found: line.chars().take(40).collect(),
                });
            };
            if t.entries.last().is_some_and(|&(w, _)| w >= when) {
                return Err(LeapFileError::Order { line: i + 1 });
            }
            digits.push_str(a);
            digits.push_str(b);
            t.entries.push((when, ofs));
        }
    }
    if t.entries.is_empty() {
        return Err(LeapFileError::Empty);
    }
    if let Some(words) = hash_words.filter(|_| check_hash) {
        let d = Sha1::digest(digits.as_bytes());
        let expect: Vec<u32> = d
            .chunks(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if words != expect {
            return Err(LeapFileError::Hash);
        }
        t.hash_ok = Some(true);
    }
    Ok(t)
}

impl LeapTable {
    /// The table as the engine's schedule.
    pub fn schedule(&self) -> ntp_core::leap::LeapSchedule {
        ntp_core::leap::LeapSchedule::new(&self.entries, self.expires)
    }

    /// TAI - UTC at NTP time `now` and the time of the last leap at or before it.
    pub fn offset_at(&self, now: u64) -> (i32, Option<u64>) {
        self.entries
            .iter()
            .rev()
            .find(|&&(w, _)| w <= now)
            .map_or((0, None), |&(w, o)| (o, Some(w)))
    }

    /// True when the table is past its expiry at `now`.
    pub fn expired(&self, now: u64) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }
}

/// The configured leap file, re-read every hour (and on SIGHUP) as classic's timer does:
/// a changed file that parses replaces the table, one that does not is reported and the
/// old table kept; expiry is reported hourly (under a day left) or daily.
#[derive(Debug)]
pub struct Watch {
    path: String,
    check_hash: bool,
    text: Option<String>,
    table: Option<LeapTable>,
}

/// A message for the log: its level and text.
pub type Message = (crate::log::Level, String);

impl Watch {
    /// Watch `leapfile`.
    pub fn new(cfg: &ntp_conf::LeapFile) -> Self {
        Watch {
            path: cfg.path.clone(),
            check_hash: cfg.hash != Some(ntp_conf::LeapHash::Ignore),
            text: None,
            table: None,
        }
    }

    /// Re-read the file at NTP time `now` (seconds); `daily` adds the daily expiry report
    /// (and the report of an unreadable file).
    /// Returns the log messages and, when the table changed, the new schedule.
    pub fn check(
        &mut self,
        now: i64,
        daily: bool,
    ) -> (Vec<Message>, Option<ntp_core::leap::LeapSchedule>) {
        use crate::log::Level;
        let mut msgs = Vec::new();
        let mut changed = None;
        let prefix = format!("leapsecond file ('{}')", self.path);
        match std::fs::read_to_string(&self.path) {
            Ok(text) if self.text.as_deref() != Some(text.as_str()) => {
                match parse_with(&text, self.check_hash) {
                    Ok(t) => {
                        let sig = if t.hash_ok == Some(true) {
                            "good hash signature"
                        } else {
                            "no hash signature"
                        };
                        let now_u = u64::try_from(now).unwrap_or(0);
                        let (ofs, _) = t.offset_at(now_u);
                        msgs.push((
                            Level::Info,
                            format!(
                                "{prefix}: {sig}, {} entries, TAI offset {ofs}",
                                t.entries.len()
                            ),
                        ));
                        changed = Some(t.schedule());
                        self.table = Some(t);
                    }
                    Err(e) => {
                        let keep = if self.table.is_some() {
                            ", keeping the old table"
                        } else {
                            ""
                        };
                        msgs.push((Level::Warning, format!("{prefix}: {e}{keep}")));
                    }
                }
                self.text = Some(text);
            }
            Ok(_) => {}
            // As classic, a file that cannot be read is reported at the daily check only.
            Err(e) if daily => msgs.push((Level::Warning, format!("{prefix}: {e}"))),
            Err(_) => {}
        }
        if let Some(t) = &self.table {
            if let Some((err, m)) = t.schedule().expiry_message(&self.path, now, daily) {
                msgs.push((if err { Level::Error } else { Level::Warning }, m));
            }
        }
        (msgs, changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail of the IERS file of 2023 with its real hash (digits of #$, #@ and entries).
    fn sample(hash: &str) -> String {
        let mut s = String::from("#$\t3676924800\n#@\t3928521600\n");
        s.push_str("2272060800\t10\t# 1 Jan 1972\n2287785600\t11\t# 1 Jul 1972\n");
        s.push_str("3692217600\t37\t# 1 Jan 2017\n");
        s.push_str(&format!("#h\t{hash}\n"));
        s
    }

    fn hash_of(digits: &str) -> String {
        let d = Sha1::digest(digits.as_bytes());
        d.chunks(4)
            .map(|c| format!("{:x}", u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn parses_entries_expiry_and_checks_the_hash() {
        let h = hash_of("36769248003928521600227206080010228778560011369221760037");
        let t = parse(&sample(&h)).unwrap();
        assert_eq!(t.entries.len(), 3);
        assert_eq!(t.expires, Some(3_928_521_600));
        assert_eq!(t.hash_ok, Some(true));
        assert_eq!(t.offset_at(3_950_000_000), (37, Some(3_692_217_600)));
        assert_eq!(t.offset_at(2_280_000_000), (10, Some(2_272_060_800)));
        assert!(t.expired(3_950_000_000));
        assert!(!t.expired(3_900_000_000));
    }

    #[test]
    fn a_tampered_file_fails_the_hash() {
        let h = hash_of("36769248003928521600227206080010228778560011369221760037");
        let bad = sample(&h).replace("3692217600\t37", "3692217600\t38");
        assert_eq!(parse(&bad), Err(LeapFileError::Hash));
    }

    #[test]
    fn the_watch_reloads_changed_files_keeps_the_old_table_and_warns_on_expiry() {
        use crate::log::Level;
        let dir = std::env::temp_dir().join(format!("ntpd-leapwatch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leap-seconds.list");
        let h = hash_of("36769248003928521600227206080010228778560011369221760037");
        std::fs::write(&path, sample(&h)).unwrap();
        let cfg = ntp_conf::LeapFile {
            path: path.to_str().unwrap().to_owned(),
            hash: None,
        };
        let mut w = Watch::new(&cfg);
        // Expires 3928521600: 10 days before it, the daily check warns.
        let now = 3_928_521_600 - 10 * 86_400 + 5;
        let (msgs, sched) = w.check(now, true);
        assert!(sched.is_some());
        assert!(msgs[0]
            .1
            .contains("good hash signature, 3 entries, TAI offset 37"));
        assert_eq!(msgs[1].0, Level::Warning);
        assert!(
            msgs[1].1.ends_with("will expire in less than 10 days"),
            "{msgs:?}"
        );
        // Unchanged: no reload, and the hourly check says nothing 10 days ahead.
        let (msgs, sched) = w.check(now, false);
        assert!(msgs.is_empty() && sched.is_none());
        // A corrupt update keeps the old table; expired is an error at the daily check.
        std::fs::write(&path, sample(&h).replace("\t37\t", "\t38\t")).unwrap();
        let (msgs, sched) = w.check(3_928_521_600 + 5, true);
        assert!(sched.is_none());
        assert!(msgs[0].1.contains("keeping the old table"), "{msgs:?}");
        assert_eq!(msgs[1].0, Level::Error);
        assert!(msgs[1].1.ends_with("expired less than 1 day ago"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(matches!(
            parse("2272060800 ten\n"),
            Err(LeapFileError::BadLine { line: 1, .. })
        ));
        assert_eq!(
            parse("2287785600 11\n2272060800 10\n"),
            Err(LeapFileError::Order { line: 2 })
        );
        assert_eq!(parse("# nothing\n"), Err(LeapFileError::Empty));
    }
}

#[cfg(test)]
mod iers_file {
    /// The IERS file (a copy of the one Debian's tzdata ships) parses and its hash verifies.
    #[test]
    fn the_iers_file_verifies() {
        let text = include_str!("../tests/data/leap-seconds.list");
        let t = super::parse(text).expect("the IERS file parses");
        assert_eq!(t.hash_ok, Some(true));
        assert!(t.entries.len() >= 27);
        assert_eq!(t.entries.last().map(|e| e.1), Some(37));
        let tampered = text.replacen("3692217600      37", "3692217600      38", 1);
        assert_ne!(tampered, text);
        assert!(super::parse(&tampered).is_err());
    }
}
