//! Repository rules checked by `cargo xtask tidy` and by the test below: every crate is named
//! in docs/ARCHITECTURE.md, which stays one screen long; every crate root forbids `unsafe`
//! except the one clock crate; every Rust file opens with a `//!` line.

use std::path::Path;

/// The one crate allowed an `unsafe` module (the kernel clock driver).
const UNSAFE_ALLOWED: &[&str] = &["ntp-clock"];
/// "One screen".
const MAX_ARCHITECTURE_LINES: usize = 60;

/// Run every check; returns how many passed or a description of every failure.
pub fn check(root: &Path) -> Result<usize, String> {
    let mut failures = Vec::new();
    let mut passed = 0;
    let arch_path = root.join("docs/ARCHITECTURE.md");
    let arch =
        std::fs::read_to_string(&arch_path).map_err(|e| format!("{}: {e}", arch_path.display()))?;
    if arch.lines().count() > MAX_ARCHITECTURE_LINES {
        failures.push(format!(
            "docs/ARCHITECTURE.md has {} lines; keep it to one screen ({MAX_ARCHITECTURE_LINES})",
            arch.lines().count()
        ));
    } else {
        passed += 1;
    }
    for krate in crate_dirs(root)? {
        let name = krate
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if arch.contains(&format!("`{name}`")) || arch.contains(&format!("{name}/")) {
            passed += 1;
        } else {
            failures.push(format!("docs/ARCHITECTURE.md does not name crate {name}"));
        }
        for root_file in ["src/lib.rs", "src/main.rs"] {
            let p = krate.join(root_file);
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let forbids = text.contains("#![forbid(unsafe_code)]");
            if forbids || UNSAFE_ALLOWED.contains(&name.as_str()) {
                passed += 1;
            } else {
                failures.push(format!(
                    "{}: crate root lacks #![forbid(unsafe_code)]",
                    p.display()
                ));
            }
        }
    }
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if first.starts_with("//!") {
            passed += 1;
        } else {
            failures.push(format!(
                "{}: file does not open with a //! line",
                f.display()
            ));
        }
    }
    if failures.is_empty() {
        Ok(passed)
    } else {
        Err(format!("tidy failed:\n  {}", failures.join("\n  ")))
    }
}

fn crate_dirs(root: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let dir = root.join("crates");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    out.sort();
    Ok(out)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn repository_is_tidy() {
        let root = super::super::root();
        if let Err(e) = super::check(&root) {
            panic!("{e}");
        }
    }

    #[test]
    fn tidy_catches_an_unnamed_crate() {
        let dir = std::env::temp_dir().join(format!("xtask-tidy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("crates/foo/src")).unwrap();
        std::fs::create_dir_all(dir.join("docs")).unwrap();
        std::fs::write(dir.join("crates/foo/Cargo.toml"), "").unwrap();
        std::fs::write(
            dir.join("crates/foo/src/lib.rs"),
            "//! foo\n#![forbid(unsafe_code)]\n",
        )
        .unwrap();
        std::fs::write(dir.join("docs/ARCHITECTURE.md"), "# nothing\n").unwrap();
        let e = super::check(&dir).unwrap_err();
        assert!(e.contains("does not name crate foo"), "{e}");
        std::fs::write(dir.join("docs/ARCHITECTURE.md"), "- `foo`: it\n").unwrap();
        assert!(super::check(&dir).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
