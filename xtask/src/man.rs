//! `cargo xtask man [--bin-dir DIR]`: keep the man pages (docs/man) and shell completions
//! (dist/completions) from drifting away from the programs: every option a binary's `--help`
//! (or usage line) lists must appear in its man page and in its bash and zsh completions, and
//! every page must render with `man -l` without groff warnings.

use std::path::Path;
use std::process::Command;

/// (binary, man page in docs/man).
const PROGRAMS: [(&str, &str); 4] = [
    ("ntpd", "ntpd.8"),
    ("ntpq", "ntpq.1"),
    ("ntpdc", "ntpdc.1"),
    ("ntpdate", "ntpdate.8"),
];

/// Option words (`-c`, `--configfile`) in a help text, whatever its style: clap's
/// (`  -c, --configfile <FILE>  ...`), the AutoGen table of ntpq/ntpdc
/// (`-c Str command  ...`, `Num port  ...`) or a classic usage line (`[-46bBd] [-a key#]`).
pub fn options_in_help(help: &str) -> Vec<String> {
    const ARG_KINDS: [&str; 6] = ["no", "Str", "Num", "KWd", "opt", "Fil"];
    let mut out: Vec<String> = Vec::new();
    let mut push = |o: String| {
        if !out.contains(&o) {
            out.push(o);
        }
    };
    for line in help.lines() {
        let t = line.trim();
        let words: Vec<&str> = t.split_whitespace().collect();
        if let Some(rest) = t.strip_prefix("usage:") {
            // Classic usage line: bracket groups of flags.
            for group in rest.split('[').skip(1) {
                let g = group.split(']').next().unwrap_or("");
                let mut parts = g.split_whitespace();
                if let Some(flags) = parts.next().and_then(|f| f.strip_prefix('-')) {
                    for c in flags.chars().filter(char::is_ascii_alphanumeric) {
                        push(format!("-{c}"));
                    }
                }
            }
            continue;
        }
        // AutoGen table rows: [-F] KIND long-name description.
        let (flag, rest) = match words.first() {
            Some(f) if f.len() == 2 && f.starts_with('-') && *f != "--" => (Some(*f), &words[1..]),
            _ => (None, &words[..]),
        };
        if let (Some(kind), Some(name)) = (rest.first(), rest.get(1)) {
            if ARG_KINDS.contains(kind) {
                if let Some(f) = flag {
                    push(f.to_owned());
                }
                push(format!("--{name}"));
                continue;
            }
        }
        // clap rows: leading option words, up to the first word that is not one.
        if t.starts_with('-') && !t.starts_with("- ") {
            for w in &words {
                let w = w.trim_end_matches(',').trim_end_matches("...");
                if w.starts_with('<') {
                    continue;
                }
                if !w.starts_with('-') || w.len() < 2 {
                    break;
                }
                push(w.to_owned());
            }
        }
    }
    out
}

/// The text of a roff page with escapes that hide option words undone (`\-` → `-`, font
/// changes dropped).
pub fn roff_text(src: &str) -> String {
    let mut s = src.replace("\\-", "-").replace("\\(em", "-");
    for f in ["\\fB", "\\fI", "\\fR", "\\fP", "\\f(CW", "\\&"] {
        s = s.replace(f, "");
    }
    s
}

/// True when `word` occurs in `text` not as part of a longer option word.
pub fn mentions(text: &str, word: &str) -> bool {
    let boundary =
        |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    text.match_indices(word).any(|(i, _)| {
        boundary(text[..i].chars().next_back()) && boundary(text[i + word.len()..].chars().next())
    })
}

/// Every option of `options` that the man page source, the bash or the zsh completion of
/// `bin` does not mention, as one message each.
pub fn undocumented(
    bin: &str,
    options: &[String],
    man: &str,
    bash: &str,
    zsh: &str,
) -> Vec<String> {
    let man = roff_text(man);
    let mut problems = Vec::new();
    for o in options {
        for (what, text) in [
            ("man page", man.as_str()),
            ("bash completion", bash),
            ("zsh completion", zsh),
        ] {
            if !mentions(text, o) {
                problems.push(format!("{bin}: {o} is in --help but not in its {what}"));
            }
        }
    }
    problems
}

/// Run the checks; `bin_dir` holds the built binaries (default `<target>/release`, which
/// `cargo xtask deb` fills).
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let bin_dir = match args {
        [] => crate::deb::target_dir(root).join("release"),
        [flag, dir] if flag == "--bin-dir" => dir.into(),
        _ => return Err("usage: cargo xtask man [--bin-dir DIR]".into()),
    };
    let mut problems = Vec::new();
    for (bin, page) in PROGRAMS {
        let exe = bin_dir.join(bin);
        let out = Command::new(&exe)
            .arg("--help")
            .output()
            .map_err(|e| format!("{}: {e} (build it first: cargo xtask deb)", exe.display()))?;
        let help = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let options = options_in_help(&help);
        if options.len() < 5 {
            problems.push(format!("{bin}: only {options:?} found in --help"));
        }
        let read =
            |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
        let man = read(&root.join("docs/man").join(page))?;
        let bash = read(&root.join("dist/completions/bash").join(bin))?;
        let zsh = read(&root.join("dist/completions/zsh").join(format!("_{bin}")))?;
        problems.extend(undocumented(bin, &options, &man, &bash, &zsh));
        eprintln!("xtask man: {bin}: {} options checked", options.len());
    }
    for (page, _) in crate::deb::MAN_PAGES {
        let path = root.join("docs/man").join(page);
        let out = Command::new("man")
            .args(["--warnings", "-l", "-P", "cat"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("LANG", "C.UTF-8")
            .output()
            .map_err(|e| format!("man: {e}"))?;
        let err = String::from_utf8_lossy(&out.stderr);
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !err.trim().is_empty() || !text.contains("NAME") {
            problems.push(format!("{page}: man -l: {}", err.trim()));
        }
    }
    if problems.is_empty() {
        eprintln!("xtask man: pages and completions agree with --help and render cleanly");
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_autogen_and_usage_line_styles_are_read() {
        let clap = "Options:\n  -c, --configfile <FILE>  Configuration file name\n  -d, --debug-level...  More\n      --port <N>  Port\n";
        assert_eq!(
            options_in_help(clap),
            ["-c", "--configfile", "-d", "--debug-level", "--port"]
        );
        let autogen = "-4 no  ipv4           Force IPv4\n- prohibits the option 'ipv6'\nNum port           Query\n";
        assert_eq!(options_in_help(autogen), ["-4", "--ipv4", "--port"]);
        let usage = "usage: ntpdate [-46b] [-a key#] server ...";
        assert_eq!(options_in_help(usage), ["-4", "-6", "-b", "-a"]);
    }

    #[test]
    fn an_option_missing_from_any_document_is_reported() {
        let options =
            options_in_help("  -c, --configfile <FILE>  Configuration\n  -q, --quit  Quit\n");
        let man = ".TP\n.BR \\-c \", \" \\-\\-configfile\n.TP\n.BR \\-q \", \" \\-\\-quit\n";
        let bash = "-c --configfile -q --quit";
        let zsh = "{-c,--configfile} {-q,--quit}";
        assert!(undocumented("ntpd", &options, man, bash, zsh).is_empty());
        let stale_man = ".TP\n.BR \\-c \", \" \\-\\-configfile\n";
        assert_eq!(
            undocumented("ntpd", &options, stale_man, bash, zsh),
            [
                "ntpd: -q is in --help but not in its man page",
                "ntpd: --quit is in --help but not in its man page"
            ]
        );
        assert_eq!(
            undocumented("ntpd", &options, man, "-c --configfile -q", zsh),
            ["ntpd: --quit is in --help but not in its bash completion"]
        );
    }

    #[test]
    fn an_option_inside_a_longer_one_is_not_a_mention() {
        assert!(mentions("use --port to", "--port"));
        assert!(!mentions("use --portable", "--port"));
        assert!(!mentions("--set-debug-level", "-d"));
        assert!(mentions(
            &roff_text("\\fB\\-d\\fR, \\fB\\-\\-debug\\fR"),
            "-d"
        ));
    }
}
