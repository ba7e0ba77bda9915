//! The Debian package end to end (needs root, dpkg and network access to Debian's archive for
//! lintian, as CI has): `cargo xtask deb --install-test` builds the release binaries and the
//! .deb, installs, reinstalls and upgrades it keeping a modified conffile, runs the installed
//! binaries and man pages, removes and purges it leaving nothing behind, all in an overlay of
//! the host's root file system (so NTPsec, which the package replaces, stays installed on the
//! host), then runs lintian. Then `cargo xtask man` checks the man pages and completions
//! against the binaries' `--help`.
//!
//! The build uses its own target directory: the `cargo test` running this holds the lock on
//! the workspace's.

use std::path::PathBuf;
use std::process::Command;

fn xtask(args: &[&str], target: &PathBuf) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run xtask");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn package_installs_upgrades_purges_cleanly_and_docs_match_help() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the package test installs with dpkg and mounts an overlay: run as root (CI does)"
    );
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deb-build");
    let out_dir = target.join("debian");
    let (ok, log) = xtask(
        &[
            "deb",
            "--out-dir",
            out_dir.to_str().unwrap(),
            "--install-test",
        ],
        &target,
    );
    assert!(ok, "cargo xtask deb --install-test failed:\n{log}");
    assert!(log.contains("install-test: passed"), "{log}");
    assert!(log.contains("lintian: no errors"), "{log}");
    let deb = out_dir.join(format!("ntp-rs_{}_", env!("CARGO_PKG_VERSION")));
    assert!(
        log.contains(deb.to_str().unwrap()),
        "no .deb path printed:\n{log}"
    );

    let bin_dir = target.join("release");
    let (ok, log) = xtask(&["man", "--bin-dir", bin_dir.to_str().unwrap()], &target);
    assert!(ok, "cargo xtask man failed:\n{log}");
    assert!(log.contains("ntpd: "), "{log}");
}
