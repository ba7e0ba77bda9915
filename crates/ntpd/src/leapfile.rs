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
    if let Some(words) = hash_words {
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
