//! The ntp.conf lexer: splits a file into lines of tokens with line:column positions.
//!
//! Rules follow classic ntpd's scanner (`ntpd/ntp_scanner.c`): one command per line, `#`
//! starts a comment that runs to the end of the line, whitespace (spaces, tabs) separates
//! tokens, `"..."` is a quoted string (no escapes), and `(` / `)` are tokens of their own
//! (for `trustedkey (1 ... 5)`). Classic has no line continuation, so a trailing backslash is
//! just part of a word and the parser reports it. CRLF line endings are accepted.

use crate::diag::{Diagnostic, Location};
use std::sync::Arc;

/// Longest line we accept; classic reads lines into a fixed 1024-byte buffer, and a huge
/// line is a mistake (or an attack) rather than configuration.
pub const MAX_LINE_BYTES: usize = 4096;

/// One token with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text, without quotes for a quoted string.
    pub text: String,
    /// True if the token was written in double quotes.
    pub quoted: bool,
    /// 1-based line.
    pub line: u32,
    /// 1-based column of the first character (the opening quote for a quoted string).
    pub column: u32,
}

/// The tokens of one non-empty line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: u32,
    /// Column just past the last character of the line (for "missing value" messages).
    pub end_column: u32,
    /// At least one token.
    pub tokens: Vec<Token>,
}

/// Split `text` into lines of tokens. Lines that are empty or only a comment are skipped.
/// Lexical errors (unterminated quote, NUL byte, overlong line) are pushed to `diags` and the
/// offending line is dropped.
pub fn lex(text: &str, file: &Arc<str>, diags: &mut Vec<Diagnostic>) -> Vec<Line> {
    let mut lines = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let number = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let at = |column: u32| Location {
            file: Arc::clone(file),
            line: number,
            column,
        };
        if raw.len() > MAX_LINE_BYTES {
            diags.push(Diagnostic::error(
                at(1),
                format!(
                    "line is {} bytes long; the limit is {MAX_LINE_BYTES}",
                    raw.len()
                ),
            ));
            continue;
        }
        match lex_line(raw, number) {
            Ok(Some(line)) => lines.push(line),
            Ok(None) => {}
            Err((column, message)) => diags.push(Diagnostic::error(at(column), message)),
        }
    }
    lines
}

fn lex_line(raw: &str, number: u32) -> Result<Option<Line>, (u32, String)> {
    let chars: Vec<char> = raw.chars().collect();
    let col = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\0' {
            return Err((col(i), "NUL byte in configuration text".to_string()));
        }
        // Any Unicode whitespace separates tokens (the token loop below stops at it too, so
        // both must agree or a token of zero length would never advance).
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        if c == '(' || c == ')' {
            tokens.push(Token {
                text: c.to_string(),
                quoted: false,
                line: number,
                column: col(i),
            });
            i += 1;
            continue;
        }
        if c == '"' {
            let start = i;
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err((col(start), "unterminated quoted string".to_string())),
                    Some('"') => break,
                    Some('\0') => {
                        return Err((col(i), "NUL byte in configuration text".to_string()))
                    }
                    Some(ch) => text.push(*ch),
                }
                i += 1;
            }
            i += 1;
            tokens.push(Token {
                text,
                quoted: true,
                line: number,
                column: col(start),
            });
            continue;
        }
        let start = i;
        let mut text = String::new();
        while let Some(&ch) = chars.get(i) {
            if ch.is_whitespace() || ch == '#' || ch == '"' || ch == '(' || ch == ')' || ch == '\0'
            {
                break;
            }
            text.push(ch);
            i += 1;
        }
        tokens.push(Token {
            text,
            quoted: false,
            line: number,
            column: col(start),
        });
    }
    if tokens.is_empty() {
        return Ok(None);
    }
    if let Some(last) = tokens.last().filter(|t| t.text == "\\" && !t.quoted) {
        return Err((
            last.column,
            "ntp.conf has no line continuation; write the whole directive on one line".to_string(),
        ));
    }
    Ok(Some(Line {
        number,
        end_column: col(chars.len()),
        tokens,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_ok(text: &str) -> Vec<Line> {
        let mut d = Vec::new();
        let lines = lex(text, &Arc::from("t.conf"), &mut d);
        assert!(d.is_empty(), "{d:?}");
        lines
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let lines = lex_ok("# c\n\n  server a # tail\n");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].number, 3);
        assert_eq!(lines[0].tokens.len(), 2);
        assert_eq!(lines[0].tokens[1].column, 10);
    }

    #[test]
    fn quoted_strings_keep_spaces_and_hashes() {
        let lines = lex_ok("logfile \"/var/log/a b#c\"\r\n");
        assert_eq!(lines[0].tokens[1].text, "/var/log/a b#c");
        assert!(lines[0].tokens[1].quoted);
    }

    #[test]
    fn parentheses_are_separate_tokens() {
        let lines = lex_ok("trustedkey (1...5)");
        let texts: Vec<&str> = lines[0].tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["trustedkey", "(", "1...5", ")"]);
    }

    #[test]
    fn unterminated_quote_is_an_error_with_column() {
        let mut d = Vec::new();
        lex("logfile \"abc", &Arc::from("t.conf"), &mut d);
        assert_eq!(d[0].to_string(), "t.conf:1:9: unterminated quoted string");
    }

    #[test]
    fn unicode_whitespace_separates_tokens() {
        let lines = lex_ok("server\u{a0}a.example\u{2003}iburst");
        assert_eq!(lines[0].tokens.len(), 3);
    }

    #[test]
    fn nul_and_overlong_lines_are_errors() {
        let mut d = Vec::new();
        lex("server a\0b\n", &Arc::from("t.conf"), &mut d);
        lex(&"x".repeat(5000), &Arc::from("t.conf"), &mut d);
        assert_eq!(d.len(), 2);
    }
}
