//! `cargo xtask`: project automation. `ci` runs every check CI runs (fmt, clippy, tests, docs,
//! tidy); `fuzz` runs the cargo-fuzz targets for a bounded time; `tidy` checks the repository's
//! own rules (docs/ARCHITECTURE.md names every crate).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod barrage;
mod bench;
mod clockcheck;
mod deb;
mod man;
mod setup;
mod soak;
mod tidy;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test                           install the interop peers (setup), then cargo test --workspace
  setup                          install what the tests need: NTPsec, chrony (unpacked), tshark,
                                 ntplib (as root; services are kept from starting)
  ci [--no-test]                 fmt check, clippy -D warnings, tests, doc build, tidy
  fuzz <TARGET|all> [--seconds N] run cargo-fuzz target(s) for N seconds each (default 60)
  fuzz-list                      list the fuzz targets
  clock record|verify FILE       prove a run left the host clock alone (record before, verify after)
  tidy                           repository rules (docs/ARCHITECTURE.md names every crate)
  deb [--version V] [--out-dir D] [--install-test]
                                 build the ntp-rs .deb (release binaries, dpkg-deb); with
                                 --install-test: install/upgrade/purge in an overlay, lintian
  man [--bin-dir DIR]            man pages and completions agree with every binary's --help
  barrage [...]                  hostile traffic against a running daemon (issue 10)
  bench server [...]             server throughput: ours vs chronyd vs a minimal responder (issue 9)
  bench soak [...]               10 min at 50,000 requests/s with rate limiting: memory and
                                 rate-limit table sampled every 10 s (issue 10)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(args.iter().any(|a| a == "--no-test")),
        Some("setup") => setup::run(&root()),
        Some("clock") => match (args.get(1).map(String::as_str), args.get(2)) {
            (Some("record"), Some(p)) => clockcheck::record(p),
            (Some("verify"), Some(p)) => clockcheck::verify(p),
            _ => Err(USAGE.to_owned()),
        },
        Some("test") => setup::run(&root()).and_then(|()| {
            run(
                "cargo test",
                cargo().args(["test", "--workspace"]).args(&args[1..]),
            )
        }),
        Some("barrage") => barrage::main(&root(), &args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("fuzz-list") => fuzz_targets().map(|t| {
            for name in t {
                println!("{name}");
            }
        }),
        Some("deb") => deb::run(&root(), &args[1..]),
        Some("man") => man::run(&root(), &args[1..]),
        Some("bench") => bench::run(&root(), &args[1..]),
        Some("tidy") => tidy::check(&root()).map(|n| println!("tidy: {n} checks passed")),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

fn run(what: &str, cmd: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {what}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn ci(no_test: bool) -> Result<(), String> {
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    if !no_test {
        run("cargo test", cargo().args(["test", "--workspace"]))?;
    }
    run(
        "cargo doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    let n = tidy::check(&root())?;
    eprintln!("xtask: tidy: {n} checks passed");
    eprintln!("xtask: ci passed");
    Ok(())
}

/// Target names from fuzz/Cargo.toml (`[[bin]] name = "..."`).
fn fuzz_targets() -> Result<Vec<String>, String> {
    let manifest = root().join("fuzz/Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some(v) = line.strip_prefix("name") {
                let v = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                names.push(v.to_owned());
            }
        }
    }
    if names.is_empty() {
        return Err("no [[bin]] targets in fuzz/Cargo.toml".into());
    }
    Ok(names)
}

fn fuzz(args: &[String]) -> Result<(), String> {
    let target = args.first().ok_or(USAGE)?;
    let mut seconds: u64 = 60;
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a whole number")?;
            }
            other => return Err(format!("unknown fuzz option {other}\n{USAGE}")),
        }
    }
    let all = fuzz_targets()?;
    let targets: Vec<String> = if target == "all" {
        all
    } else if all.contains(target) {
        vec![target.clone()]
    } else {
        return Err(format!(
            "unknown fuzz target {target}; targets: {}",
            all.join(" ")
        ));
    };
    for t in &targets {
        let corpus = root().join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        if t.starts_with("conf") {
            seed_from_configs(&corpus)?;
        } else if t == "leapfile" {
            // Text, not datagrams: its seeds are the leap-seconds.list files in fuzz/seeds.
        } else {
            seed_from_vectors(&corpus)?;
        }
        let seeds = root().join("fuzz/seeds").join(t);
        let mut cmd = cargo();
        // cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP lets the one stable toolchain here
        // accept them.
        cmd.env("RUSTC_BOOTSTRAP", "1")
            .args(["fuzz", "run", "--fuzz-dir", "fuzz", t])
            .arg(&corpus);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        ]);
        run(&format!("fuzz {t} for {seconds}s"), &mut cmd)?;
    }
    Ok(())
}

/// Seed a corpus with every captured datagram of testdata/vectors (the `payload_hex` values),
/// so each decoder target starts from real traffic of every mode.
fn seed_from_vectors(corpus: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    collect_named(
        &root().join("testdata/vectors"),
        "datagrams.json",
        &mut files,
    );
    let mut n = 0usize;
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        for part in text.split("\"payload_hex\": \"").skip(1) {
            let hex: String = part.chars().take_while(char::is_ascii_hexdigit).collect();
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect();
            let path = corpus.join(format!("vector-{n:04}"));
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            n += 1;
        }
    }
    Ok(())
}

/// Seed a corpus with every configuration the project carries: the examples, the Debian files
/// and the broken-config corpus.
fn seed_from_configs(corpus: &Path) -> Result<(), String> {
    let mut n = 0usize;
    for dir in [
        "docs/examples",
        "crates/ntp-conf/tests/data",
        "crates/ntp-conf/tests/broken",
    ] {
        let Ok(rd) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file() {
                let dst = corpus.join(format!("config-{n:04}"));
                std::fs::copy(&p, &dst).map_err(|e| format!("{}: {e}", p.display()))?;
                n += 1;
            }
        }
    }
    Ok(())
}

fn collect_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_named(&p, name, out);
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
}
