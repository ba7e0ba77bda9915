//! Diagnostics: errors and warnings that point at file:line:column, plus the
//! edit-distance helper behind every "did you mean" suggestion.

use std::fmt;
use std::sync::Arc;

/// Where something was written: file name, 1-based line and 1-based column (in characters).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file name as the caller (or the `includefile` line) spelled it.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The configuration works but is probably not what the operator meant.
    Warning,
    /// The configuration is rejected.
    Error,
}

/// One message about one place in a configuration or key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where the offending text starts.
    pub location: Location,
    /// What was found and what was expected. Never contains key material.
    pub message: String,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location,
            message: message.into(),
        }
    }

    /// A warning at `location`.
    pub fn warning(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            location,
            message: message.into(),
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: message` for errors, `file:line:col: warning: message` for warnings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}: {}", self.location, self.message),
            Severity::Warning => write!(f, "{}: warning: {}", self.location, self.message),
        }
    }
}

/// Every diagnostic of a failed parse, in file order: all errors, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{}", render(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

fn render(list: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in list.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.to_string());
    }
    out
}

impl Diagnostics {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    /// True if at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// Number of diagnostics (errors and warnings).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Levenshtein distance between two short ASCII-ish words (case-insensitive).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a plausible typo
/// (at most 2 edits, and fewer than half the word's length).
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Long junk (a pasted key, a path) is never a typo of a keyword; skip the quadratic work.
    if word.chars().count() > 40 {
        return None;
    }
    // Short words get one edit: two edits turn almost any 3-letter word into another.
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ` (did you mean "x"?)` or nothing.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates) {
        Some(s) => format!(" (did you mean \"{s}\"?)"),
        None => String::new(),
    }
}

/// Quote a token for a message, cutting very long text so a diagnostic stays one line.
pub fn quote(text: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::from("\"");
    for (i, c) in text.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.push_str(&c.escape_default().to_string());
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_typo_gets_a_suggestion() {
        assert_eq!(
            suggest("nomodfy", &["nomodify", "noquery"]),
            Some("nomodify")
        );
        assert_eq!(suggest("sever", &["server", "peer"]), Some("server"));
    }

    #[test]
    fn unrelated_word_gets_no_suggestion() {
        assert_eq!(suggest("banana", &["server", "peer"]), None);
        assert_eq!(suggest("x", &["kod"]), None);
    }

    #[test]
    fn quote_cuts_long_text_and_escapes_controls() {
        assert_eq!(quote("a\tb"), "\"a\\tb\"");
        assert!(quote(&"x".repeat(100)).ends_with("...\""));
    }
}
