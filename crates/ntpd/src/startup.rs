//! Start-up: read ntp.conf (and includes, and the key file) from the real filesystem through
//! ntp-conf's `Loader`, apply the command-line overrides, and turn the result into the
//! settings the daemon runs with. Every error here is fatal and printed with file:line:column.

use std::path::Path;

use ntp_conf::{Config, KeyFile, Loader};
use ntp_wire::{MacAlgorithm, SymmetricKey};

use crate::cli::Args;

/// Reads files for the configuration parser from the filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "Permission denied".to_owned(),
            _ => e.to_string(),
        })
    }

    fn is_dir(&self, path: &str) -> Option<bool> {
        Some(Path::new(path).is_dir())
    }
}

/// Why start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration could not be read.
    #[error("{path}: cannot read configuration: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The configuration has errors (every diagnostic, one per line).
    #[error("{0}")]
    Invalid(String),
    /// The key file named by `keys` (or `-k`) is unreadable or invalid.
    #[error("{0}")]
    Keys(String),
}

/// Everything read at start-up.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The parsed configuration, with command-line overrides applied.
    pub config: Config,
    /// The key file, if one is configured.
    pub keys: Option<KeyFile>,
}

/// Read and parse the configuration and key file.
///
/// # Errors
/// [`StartupError`] with the full diagnostic text.
pub fn load(args: &Args, loader: &dyn Loader) -> Result<Loaded, StartupError> {
    let path = args.config_path();
    let text = loader
        .load(path)
        .map_err(|reason| StartupError::Unreadable {
            path: path.to_owned(),
            reason,
        })?;
    let mut config = ntp_conf::parse(&text, path, loader).map_err(|d| {
        StartupError::Invalid(
            d.0.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    // Command-line overrides, as classic: -f, -l, -s, -k, -t.
    if let Some(f) = &args.driftfile {
        config.driftfile = Some(ntp_conf::DriftFile {
            path: f.clone(),
            threshold: config.driftfile.as_ref().and_then(|d| d.threshold),
            location: command_line(),
        });
    }
    if let Some(l) = &args.logfile {
        config.logfile = Some(l.clone());
    }
    if let Some(s) = &args.statsdir {
        config.statsdir = Some(s.clone());
    }
    if let Some(k) = &args.keyfile {
        config.keys = Some(k.clone());
    }
    for &t in &args.trustedkey {
        if let Ok(id) = u16::try_from(t) {
            config.trustedkeys.push((id, command_line()));
        }
    }
    let keys = match &config.keys {
        None => None,
        Some(kp) => {
            let kt = loader
                .load(kp)
                .map_err(|e| StartupError::Keys(format!("{kp}: cannot read key file: {e}")))?;
            Some(ntp_conf::parse_keys(&kt, kp).map_err(|d| {
                StartupError::Keys(
                    d.0.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            })?)
        }
    };
    Ok(Loaded { config, keys })
}

/// The location given to settings that came from the command line.
fn command_line() -> ntp_conf::Location {
    ntp_conf::Location {
        file: "(command line)".into(),
        line: 0,
        column: 0,
    }
}

/// The trusted keys (ids listed by `trustedkey`) that have an algorithm we implement.
pub fn trusted_keys(config: &Config, keys: Option<&KeyFile>) -> Vec<SymmetricKey> {
    let Some(kf) = keys else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (id, _) in &config.trustedkeys {
        if let Some(k) = kf.get(*id) {
            if let Some(alg) = MacAlgorithm::from_name(k.kind.name()) {
                if !out.iter().any(|x: &SymmetricKey| x.id == u32::from(*id)) {
                    out.push(SymmetricKey::new(u32::from(*id), alg, k.secret.expose()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntp_conf::MapLoader;

    fn args(extra: &[&str]) -> Args {
        let mut v = vec!["ntpd", "-c", "/etc/ntp.conf"];
        v.extend_from_slice(extra);
        Args::parse_from_os(v).unwrap()
    }

    #[test]
    fn tutorial_config_with_keys_loads() {
        let loader = MapLoader::new()
            .with_file(
                "/etc/ntp.conf",
                "server 127.127.1.0\nfudge 127.127.1.0 stratum 10\nkeys /etc/ntp.keys\ntrustedkey 1 2\ncontrolkey 1\n",
            )
            .with_file("/etc/ntp.keys", "1 MD5 vectorkey1\n2 SHA1 abcdefghij\n3 MD5 untrusted\n");
        let l = load(&args(&[]), &loader).unwrap();
        let keys = trusted_keys(&l.config, l.keys.as_ref());
        assert_eq!(keys.iter().map(|k| k.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(keys[1].algorithm, MacAlgorithm::Sha1);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let loader = MapLoader::new().with_file(
            "/etc/ntp.conf",
            "server 192.0.2.1 iburst\nrestrict default nomodfy\n",
        );
        let e = load(&args(&[]), &loader).unwrap_err().to_string();
        assert!(e.starts_with("/etc/ntp.conf:2:"), "{e}");
        assert!(e.contains("nomodify"), "{e}");
    }

    #[test]
    fn missing_file_and_command_line_overrides() {
        let e = load(&args(&[]), &MapLoader::new()).unwrap_err().to_string();
        assert!(e.contains("cannot read configuration"), "{e}");
        let loader =
            MapLoader::new().with_file("/etc/ntp.conf", "driftfile /var/lib/ntp/ntp.drift\n");
        let l = load(&args(&["-f", "/tmp/x.drift", "-l", "/tmp/log"]), &loader).unwrap();
        assert_eq!(l.config.driftfile.unwrap().path, "/tmp/x.drift");
        assert_eq!(l.config.logfile.as_deref(), Some("/tmp/log"));
    }
}
