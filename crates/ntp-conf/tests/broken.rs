//! Data-driven corpus of broken configurations: each `tests/broken/NN-name.conf` must be
//! rejected with exactly the diagnostics in `NN-name.expected` (one per line).
//!
//! After a deliberate change of wording, run with `NTP_CONF_BLESS=1` to rewrite the
//! `.expected` files, then review the diff.

use ntp_conf::{parse, MapLoader};
use std::path::PathBuf;

fn corpus() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_has_at_least_sixty_cases() {
    assert!(
        corpus().len() >= 60,
        "only {} broken configs",
        corpus().len()
    );
}

#[test]
fn every_broken_config_produces_exactly_its_expected_diagnostics() {
    let bless = std::env::var_os("NTP_CONF_BLESS").is_some();
    // Only the include test has a file to find; everything else must fail on its own.
    let loader = MapLoader::new();
    let mut failures = Vec::new();
    for conf in corpus() {
        let name = conf.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&conf).unwrap();
        let actual = match parse(&text, &name, &loader) {
            Ok(cfg) => format!("ACCEPTED with {} warnings", cfg.warnings.len()),
            Err(d) => {
                assert!(d.has_errors(), "{name}: Err without errors");
                d.to_string()
            }
        };
        let expected_path = conf.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, format!("{actual}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if expected.trim_end() != actual {
            failures.push(format!(
                "{name}:\n  expected: {}\n  actual:   {actual}",
                expected.trim_end()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
