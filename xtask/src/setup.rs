//! `cargo xtask setup`: install the real peers the interop tests run against, the way
//! ../shared/spec/interop.md prescribes: NTPsec (ntpd, ntpq, ntpdig) and tshark from Debian with
//! a policy-rc.d that keeps every service from starting; chrony unpacked (it conflicts with
//! NTPsec as a package) into `target/interop/chrony`; Python's ntplib from PyPI. Idempotent:
//! what is present is not installed again.

use std::path::Path;
use std::process::Command;

/// Where chrony is unpacked, relative to the workspace root.
pub const CHRONY_DIR: &str = "target/interop/chrony";

fn sh(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask setup: {what}");
    let st = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({st})"))
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Install everything; a no-op when all of it is present.
pub fn run(root: &Path) -> Result<(), String> {
    let chronyd = root.join(CHRONY_DIR).join("usr/sbin/chronyd");
    let need_apt = !have("ntpq") || !have("ntpdig") || !have("tshark") || !have("capsh");
    let need_ntplib = !Command::new("python3")
        .args(["-c", "import ntplib"])
        .status()
        .is_ok_and(|s| s.success());
    if !need_apt && !need_ntplib && chronyd.exists() {
        eprintln!("xtask setup: interop peers already present");
        return Ok(());
    }
    if need_apt || !chronyd.exists() {
        // Keep every package's service from starting (and from touching the clock).
        let policy = Path::new("/usr/sbin/policy-rc.d");
        if !policy.exists() {
            std::fs::write(policy, "#!/bin/sh\nexit 101\n")
                .map_err(|e| format!("{}: {e} (run as root)", policy.display()))?;
            sh(
                "chmod policy-rc.d",
                Command::new("chmod").args(["755", "/usr/sbin/policy-rc.d"]),
            )?;
        }
        sh(
            "apt-get update",
            Command::new("apt-get").args(["update", "-qq"]),
        )?;
    }
    if need_apt {
        sh(
            "apt-get install ntpsec ntpsec-ntpdig tshark libcap2-bin",
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args([
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "ntpsec",
                    "ntpsec-ntpdig",
                    "tshark",
                    "libcap2-bin",
                ]),
        )?;
        // The package may have left its daemon enabled; make sure none runs.
        let _ = Command::new("systemctl")
            .args(["disable", "--now", "ntpsec.service"])
            .status();
        let _ = Command::new("pkill").args(["-x", "ntpd"]).status();
    }
    if !chronyd.exists() {
        let dl = root.join("target/interop/download");
        std::fs::create_dir_all(&dl).map_err(|e| format!("{}: {e}", dl.display()))?;
        sh(
            "apt-get download chrony",
            Command::new("apt-get")
                .current_dir(&dl)
                .args(["download", "chrony"]),
        )?;
        let deb = std::fs::read_dir(&dl)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("chrony_") && n.ends_with(".deb"))
            })
            .ok_or("apt-get download chrony produced no .deb")?;
        sh(
            "dpkg -x chrony",
            Command::new("dpkg")
                .arg("-x")
                .arg(&deb)
                .arg(root.join(CHRONY_DIR)),
        )?;
    }
    if need_ntplib {
        sh(
            "pip install ntplib",
            Command::new("python3").args(["-m", "pip", "install", "-q", "ntplib"]),
        )?;
    }
    Ok(())
}
