//! State files: the drift file (read at start, written atomically via a temporary file and a
//! rename so a crash or a full disk never leaves it truncated; corrupt content is ignored with
//! a warning) and the pid file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// What reading the drift file found.
#[derive(Debug, Clone, PartialEq)]
pub enum DriftRead {
    /// A frequency in ppm.
    Ppm(f64),
    /// No file (first start).
    Missing,
    /// The file exists but does not hold a sane number; the text says what was wrong.
    Corrupt(String),
}

/// The largest frequency a drift file may hold (classic clamps to 500 ppm).
pub const MAX_DRIFT_PPM: f64 = 500.0;

/// Read a drift file (classic format: one number, ppm, e.g. `-12.345`).
pub fn read_drift(path: &Path) -> DriftRead {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DriftRead::Missing,
        Err(e) => DriftRead::Corrupt(format!("cannot read {}: {e}", path.display())),
        Ok(text) => parse_drift(&text)
            .map(DriftRead::Ppm)
            .unwrap_or_else(|why| DriftRead::Corrupt(format!("{}: {why}", path.display()))),
    }
}

/// Parse the drift file's content.
///
/// # Errors
/// A description of what is wrong.
pub fn parse_drift(text: &str) -> Result<f64, String> {
    let first = text
        .split_whitespace()
        .next()
        .ok_or_else(|| "empty drift file".to_owned())?;
    let v: f64 = first.parse().map_err(|_| {
        format!(
            "not a number: {:?}",
            first.chars().take(32).collect::<String>()
        )
    })?;
    if !v.is_finite() || v.abs() > MAX_DRIFT_PPM {
        return Err(format!(
            "frequency {v} ppm out of range (|f| <= {MAX_DRIFT_PPM})"
        ));
    }
    Ok(v)
}

/// Write `contents` to `path` atomically: write a temporary file in the same directory, fsync
/// it, rename it over the old file, fsync the directory. On any error the old file is intact
/// and the temporary file is removed.
///
/// # Errors
/// The I/O error, with the path.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".TEMP.{}", std::process::id()));
    let tmp: PathBuf = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    })
}

/// Write the drift file in classic's format (`%.3f\n`).
///
/// # Errors
/// As [`write_atomic`].
pub fn write_drift(path: &Path, ppm: f64) -> std::io::Result<()> {
    write_atomic(path, format!("{ppm:.3}\n").as_bytes())
}

/// Write the pid file.
///
/// # Errors
/// As [`write_atomic`].
pub fn write_pid(path: &Path) -> std::io::Result<()> {
    write_atomic(path, format!("{}\n", std::process::id()).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ntpd-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn drift_round_trip_and_format() {
        let d = tmpdir("rt");
        let p = d.join("ntp.drift");
        assert_eq!(read_drift(&p), DriftRead::Missing);
        write_drift(&p, -12.3456).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "-12.346\n");
        assert_eq!(read_drift(&p), DriftRead::Ppm(-12.346));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
    }

    #[test]
    fn corrupt_drift_is_reported_not_used() {
        for bad in ["", "abc\n", "1e9\n", "NaN\n", "\u{0}\u{1}"] {
            assert!(parse_drift(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_drift("  7.5  extra\n"), Ok(7.5));
        let d = tmpdir("corrupt");
        let p = d.join("ntp.drift");
        std::fs::write(&p, "garbage").unwrap();
        assert!(matches!(read_drift(&p), DriftRead::Corrupt(m) if m.contains("not a number")));
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let d = tmpdir("fail");
        let p = d.join("ntp.drift");
        write_drift(&p, 1.0).unwrap();
        // Renaming over a directory fails: the old content must survive and no temp remain.
        let target = d.join("adir");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), "x").unwrap();
        assert!(write_atomic(&target, b"new").is_err());
        assert_eq!(read_drift(&p), DriftRead::Ppm(1.0));
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
