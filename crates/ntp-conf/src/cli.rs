//! `ntpd --check-config -c FILE`: validate a configuration (and its key file) and report.

use crate::diag::Diagnostic;
use crate::keys::parse_keys;
use crate::loader::Loader;
use crate::parser::parse;

/// Exit status for a configuration that is valid (possibly with warnings).
pub const EXIT_OK: i32 = 0;
/// Exit status for a configuration with at least one error.
pub const EXIT_INVALID: i32 = 1;

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Check the configuration at `path` read through `loader`, with the key file named by its
/// `keys` line (also read through `loader`).
///
/// Returns the exit status and the text to print: for a good file, any warnings and then a
/// one-line summary (`ntp.conf: OK: ...`), exit 0; for a bad one, every diagnostic and a
/// final count line, exit 1.
pub fn check_config_main(path: &str, loader: &dyn Loader) -> (i32, String) {
    let text = match loader.load(path) {
        Ok(t) => t,
        Err(e) => {
            return (
                EXIT_INVALID,
                format!("{path}: cannot read configuration: {e}\n"),
            )
        }
    };
    let mut out = String::new();
    let config = match parse(&text, path, loader) {
        Ok(c) => c,
        Err(diags) => {
            for d in &diags.0 {
                out.push_str(&d.to_string());
                out.push('\n');
            }
            let errors = diags.errors().count();
            out.push_str(&format!(
                "{path}: {}, configuration rejected\n",
                plural(errors, "error")
            ));
            return (EXIT_INVALID, out);
        }
    };
    let mut warnings: Vec<Diagnostic> = config.warnings.clone();
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut keyfile = None;
    if let Some(keys_path) = &config.keys {
        match loader.load(keys_path) {
            Ok(kt) => match parse_keys(&kt, keys_path) {
                Ok(kf) => {
                    warnings.extend(kf.warnings.iter().cloned());
                    keyfile = Some(kf);
                }
                Err(d) => errors.extend(d.0),
            },
            Err(e) => {
                let at = config
                    .trustedkeys
                    .first()
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| crate::diag::Location {
                        file: path.into(),
                        line: 1,
                        column: 1,
                    });
                warnings.push(Diagnostic::warning(
                    at,
                    format!("cannot read keys file \"{keys_path}\": {e}"),
                ));
            }
        }
    }
    warnings.extend(config.check(loader, keyfile.as_ref()));
    errors.extend(config.peer_key_errors(&|id| {
        config.trustedkeys.iter().any(|(t, _)| u32::from(*t) == id)
            && keyfile
                .as_ref()
                .zip(u16::try_from(id).ok())
                .is_some_and(|(k, id)| k.get(id).is_some())
    }));
    if !errors.is_empty() {
        for d in errors.iter().chain(warnings.iter()) {
            out.push_str(&d.to_string());
            out.push('\n');
        }
        out.push_str(&format!(
            "{path}: {}, configuration rejected\n",
            plural(errors.len(), "error")
        ));
        return (EXIT_INVALID, out);
    }
    for w in &warnings {
        out.push_str(&w.to_string());
        out.push('\n');
    }
    let keys = keyfile.as_ref().map_or(0, |k| k.keys.len());
    out.push_str(&format!(
        "{path}: OK: {}, {}, {}, {}\n",
        plural(config.associations.len(), "association"),
        plural(config.restrictions.len(), "restrict line"),
        plural(keys, "key"),
        plural(warnings.len(), "warning"),
    ));
    (EXIT_OK, out)
}
