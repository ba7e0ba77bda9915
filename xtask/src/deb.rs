//! `cargo xtask deb`: build the release binaries and assemble the `ntp-rs` Debian package with
//! plain `dpkg-deb` (metadata and maintainer scripts in dist/deb/, man pages in docs/man/,
//! completions in dist/completions/); `--install-test` then installs, upgrades, removes and
//! purges it in an overlay of the host (dist/deb/install-test.sh) and runs lintian on it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary package's name.
pub const PACKAGE: &str = "ntp-rs";

/// Installed binaries: (cargo package = binary name, directory in the package).
const BINARIES: [(&str, &str); 4] = [
    ("ntpd", "usr/sbin"),
    ("ntpq", "usr/bin"),
    ("ntpdc", "usr/bin"),
    ("ntpdate", "usr/sbin"),
];

/// Man pages: (file in docs/man, section).
pub const MAN_PAGES: [(&str, u8); 6] = [
    ("ntpd.8", 8),
    ("ntp.conf.5", 5),
    ("ntp.keys.5", 5),
    ("ntpq.1", 1),
    ("ntpdc.1", 1),
    ("ntpdate.8", 8),
];

/// What `cargo xtask deb` was asked.
#[derive(Debug, Default)]
pub struct Options {
    /// Package version (default: the workspace version).
    pub version: Option<String>,
    /// Where the .deb goes (default: `<target>/debian`).
    pub out_dir: Option<PathBuf>,
    /// Install/upgrade/remove/purge test and lintian after building.
    pub install_test: bool,
}

impl Options {
    /// Parse `[--version V] [--out-dir DIR] [--install-test]`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut o = Options::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--version" => {
                    o.version = Some(it.next().ok_or("--version needs a value")?.clone())
                }
                "--out-dir" => {
                    o.out_dir = Some(PathBuf::from(it.next().ok_or("--out-dir needs a value")?))
                }
                "--install-test" => o.install_test = true,
                other => return Err(format!("unknown deb option {other}")),
            }
        }
        Ok(o)
    }
}

fn sh(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask deb: {what}");
    let st = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({st})"))
    }
}

fn output(what: &str, cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn io<T>(p: &Path, r: std::io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{}: {e}", p.display()))
}

/// The cargo target directory (CARGO_TARGET_DIR or `<root>/target`).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Build, assemble, and optionally test; prints the path of the .deb.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let opts = Options::parse(args)?;
    let deb = build(root, &opts)?;
    println!("{}", deb.display());
    if opts.install_test {
        install_test(root, &deb, &opts)?;
    }
    Ok(())
}

/// Build the release binaries and the package; returns the .deb's path.
pub fn build(root: &Path, opts: &Options) -> Result<PathBuf, String> {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .current_dir(root)
        .args(["build", "--release", "--locked"]);
    for (b, _) in BINARIES {
        cargo.args(["-p", b]);
    }
    sh("cargo build --release", &mut cargo)?;
    let release = target_dir(root).join("release");
    let version = opts
        .version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let arch = output(
        "dpkg --print-architecture",
        Command::new("dpkg").arg("--print-architecture"),
    )?
    .trim()
    .to_owned();
    let out_dir = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| target_dir(root).join("debian"));
    let stage = out_dir.join(format!("{PACKAGE}_{version}_{arch}"));
    if stage.exists() {
        io(&stage, std::fs::remove_dir_all(&stage))?;
    }
    let dist = root.join("dist");

    // Binaries, stripped (the release profile keeps line tables for backtraces).
    for (bin, dir) in BINARIES {
        let dst = stage.join(dir).join(bin);
        install(&release.join(bin), &dst, 0o755)?;
        sh(
            &format!("strip {bin}"),
            Command::new("strip")
                .args([
                    "--strip-unneeded",
                    "--remove-section=.comment",
                    "--remove-section=.note",
                ])
                .arg(&dst),
        )?;
    }
    install(
        &dist.join("deb/ntp.conf"),
        &stage.join("etc/ntp.conf"),
        0o644,
    )?;
    install(
        &dist.join("ntpd.init"),
        &stage.join("etc/init.d/ntpd"),
        0o755,
    )?;
    install(
        &dist.join("deb/logrotate"),
        &stage.join("etc/logrotate.d/ntp-rs"),
        0o644,
    )?;
    install(
        &dist.join("ntpd.service"),
        &stage.join("lib/systemd/system/ntpd.service"),
        0o644,
    )?;
    for (page, section) in MAN_PAGES {
        let src = root.join("docs/man").join(page);
        let dst = stage.join(format!("usr/share/man/man{section}/{page}.gz"));
        gzip(&src, &dst)?;
    }
    for (bin, _) in BINARIES {
        install(
            &dist.join("completions/bash").join(bin),
            &stage
                .join("usr/share/bash-completion/completions")
                .join(bin),
            0o644,
        )?;
        install(
            &dist.join("completions/zsh").join(format!("_{bin}")),
            &stage
                .join("usr/share/zsh/vendor-completions")
                .join(format!("_{bin}")),
            0o644,
        )?;
    }
    let doc = stage.join(format!("usr/share/doc/{PACKAGE}"));
    install(&dist.join("deb/copyright"), &doc.join("copyright"), 0o644)?;
    gzip(&root.join("docs/guide.md"), &doc.join("guide.md.gz"))?;
    let changelog = stage.join("changelog.tmp");
    io(
        &changelog,
        std::fs::write(
            &changelog,
            format!(
                "{PACKAGE} ({version}) unstable; urgency=medium\n\n  * Built from the ntp-rs-suite workspace.\n\n -- The NTP suite developers <ntp-rs-suite@lists.example.org>  Thu, 26 Nov 2026 00:00:00 +0000\n"
            ),
        ),
    )?;
    gzip(&changelog, &doc.join("changelog.gz"))?;
    io(&changelog, std::fs::remove_file(&changelog))?;

    // Control area.
    let control_dir = stage.join("DEBIAN");
    for f in ["postinst", "prerm", "postrm"] {
        install(&dist.join("deb").join(f), &control_dir.join(f), 0o755)?;
    }
    install(
        &dist.join("deb/conffiles"),
        &control_dir.join("conffiles"),
        0o644,
    )?;
    let libc = libc_depends(
        &BINARIES
            .iter()
            .map(|(b, d)| stage.join(d).join(b))
            .collect::<Vec<_>>(),
    )?;
    let size_kib = dir_size(&stage)?.div_ceil(1024);
    let template = dist.join("deb/control.in");
    let control = io(&template, std::fs::read_to_string(&template))?
        .replace("@VERSION@", &version)
        .replace("@ARCH@", &arch)
        .replace("@SIZE@", &size_kib.to_string())
        .replace("@LIBC@", &libc);
    write(&control_dir.join("control"), &control, 0o644)?;
    let sums = md5sums(&stage)?;
    write(&control_dir.join("md5sums"), &sums, 0o644)?;

    let deb = out_dir.join(format!("{PACKAGE}_{version}_{arch}.deb"));
    sh(
        "dpkg-deb --build",
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    Ok(deb)
}

/// Copy with a mode, creating parent directories (0755).
fn install(src: &Path, dst: &Path, mode: u32) -> Result<(), String> {
    let bytes = io(src, std::fs::read(src))?;
    write_bytes(dst, &bytes, mode)
}

fn write(dst: &Path, text: &str, mode: u32) -> Result<(), String> {
    write_bytes(dst, text.as_bytes(), mode)
}

fn write_bytes(dst: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = dst.parent() {
        mkdirs(parent)?;
    }
    io(dst, std::fs::write(dst, bytes))?;
    io(
        dst,
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(mode)),
    )
}

/// Create directories with mode 0755 whatever the umask (lintian checks directory modes).
fn mkdirs(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    io(
        dir,
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir),
    )
}

/// `gzip -9n` (no name or time stamp, so the package is reproducible).
fn gzip(src: &Path, dst: &Path) -> Result<(), String> {
    let out = Command::new("gzip")
        .args(["-9n", "-c"])
        .arg(src)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip {} failed", src.display()));
    }
    write_bytes(dst, &out.stdout, 0o644)
}

/// `libc6 (>= 2.N)` for the newest glibc symbol version the binaries need (what
/// dpkg-shlibdeps would compute, without needing a debian/ source tree).
fn libc_depends(bins: &[PathBuf]) -> Result<String, String> {
    let mut best = (2u32, 17u32);
    for b in bins {
        let text = output("objdump -T", Command::new("objdump").arg("-T").arg(b))?;
        for word in text.split_whitespace() {
            let v = word.trim_start_matches('(').trim_end_matches(')');
            if let Some(rest) = v.strip_prefix("GLIBC_") {
                let mut parts = rest.split('.');
                let major = parts.next().and_then(|p| p.parse().ok());
                let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                if let Some(major) = major {
                    best = best.max((major, minor));
                }
            }
        }
    }
    Ok(format!("libc6 (>= {}.{})", best.0, best.1))
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for e in io(dir, std::fs::read_dir(dir))? {
        let p = io(dir, e)?.path();
        if p.is_dir() {
            files_under(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

fn dir_size(stage: &Path) -> Result<u64, String> {
    let mut files = Vec::new();
    files_under(stage, &mut files)?;
    let mut total = 0;
    for f in files {
        total += io(&f, std::fs::metadata(&f))?.len();
    }
    Ok(total)
}

/// DEBIAN/md5sums: every file outside DEBIAN, sorted.
fn md5sums(stage: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    files_under(stage, &mut files)?;
    let mut rel: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(stage).ok())
        .filter(|r| !r.starts_with("DEBIAN"))
        .map(|r| r.to_string_lossy().into_owned())
        .collect();
    rel.sort();
    let mut cmd = Command::new("md5sum");
    cmd.current_dir(stage).arg("--").args(&rel);
    output("md5sum", &mut cmd)
}

/// Build a newer version beside `deb`, then run dist/deb/install-test.sh in a private mount
/// namespace over an overlay of `/` (the host's packages stay as they are), then lintian.
pub fn install_test(root: &Path, deb: &Path, opts: &Options) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("the install test needs root (dpkg, mount)".into());
    }
    let version = opts
        .version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let newer = build(
        root,
        &Options {
            version: Some(format!("{version}+1")),
            out_dir: opts.out_dir.clone(),
            install_test: false,
        },
    )?;
    sh(
        "install test (overlay of /, chrooted dpkg)",
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh"])
            .arg(root.join("dist/deb/install-test.sh"))
            .arg(deb)
            .arg(&newer),
    )?;
    lintian(deb)
}

/// lintian on the package: errors fail, warnings are printed. Installs lintian when missing.
pub fn lintian(deb: &Path) -> Result<(), String> {
    let have = Command::new("lintian")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        sh(
            "apt-get install lintian",
            Command::new("apt-get")
                .env("DEBIAN_FRONTEND", "noninteractive")
                .args(["install", "-y", "-qq", "--no-install-recommends", "lintian"]),
        )?;
    }
    let out = Command::new("lintian")
        .args(["--fail-on", "error", "--no-tag-display-limit"])
        .arg(deb)
        .output()
        .map_err(|e| format!("lintian: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let _ = std::io::stderr().write_all(text.as_bytes());
    if !out.status.success() || text.lines().any(|l| l.starts_with("E: ")) {
        return Err(format!("lintian reports errors on {}", deb.display()));
    }
    eprintln!("xtask deb: lintian: no errors");
    Ok(())
}
