//! Client side of the mode 6 `name=value` text: splitting a reassembled response into items
//! the way classic ntpq's `nextvar()` does.

/// One `name[=value]` item of a mode 6 variable list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VarItem {
    /// The variable name, trailing white space removed.
    pub name: String,
    /// The value: `None` for a bare name (no `=`), otherwise the text after `=` with leading
    /// blanks and trailing white space removed, and without the double quotes if it was quoted.
    pub value: Option<String>,
    /// True when the value was a double-quoted string (`version="ntpd ..."`); ntpq prints such
    /// values with their quotes.
    pub quoted: bool,
}

impl VarItem {
    /// The value as ntpq holds it: quoted strings get their quotes back, a bare name gives `""`.
    pub fn raw_value(&self) -> String {
        match (&self.value, self.quoted) {
            (None, _) => String::new(),
            (Some(v), true) => format!("\"{v}\""),
            (Some(v), false) => v.clone(),
        }
    }

    /// `(name, value)` with the quotes removed and a bare name mapped to an empty value.
    pub fn into_pair(self) -> (String, String) {
        (self.name, self.value.unwrap_or_default())
    }
}

/// Why a variable list could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarListError {
    /// A quoted value has no closing quote.
    #[error("unterminated quoted value at octet {offset}")]
    UnterminatedQuote {
        /// Octet offset of the opening quote.
        offset: usize,
    },
    /// Something other than `,`, `\r` or the end follows a closing quote.
    #[error("unexpected octet after quoted value at octet {offset}")]
    JunkAfterQuote {
        /// Octet offset of the unexpected octet.
        offset: usize,
    },
}

/// C `isspace()` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Split mode 6 response text into its items, in order.
///
/// Follows ntpq's `nextvar()`: commas and white space (including the `\r\n` line breaks)
/// between items are skipped; a name ends at `,`, `=`, `\r` or `\n`; after `=` leading blanks
/// are skipped (so `filtdelay= 0.02 ...` yields `0.02 ...`); a quoted value runs to the closing
/// quote, commas included; an unquoted value runs to the next `,` or `\r`. The data ends at the
/// first NUL octet (NTPsec may send garbage after one). Non-UTF-8 octets become U+FFFD.
///
/// # Errors
/// [`VarListError`] for an unterminated quote or junk after a closing quote (where ntpq stops
/// parsing).
pub fn parse_varlist(data: &[u8]) -> Result<Vec<VarItem>, VarListError> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let data = data.get(..end).unwrap_or_default();
    let mut items = Vec::new();
    let mut pos = 0usize;
    loop {
        while data.get(pos).is_some_and(|&b| b == b',' || is_space(b)) {
            pos += 1;
        }
        if pos >= data.len() {
            return Ok(items);
        }
        let rest = data.get(pos..).unwrap_or_default();
        let name_len = rest
            .iter()
            .position(|&b| matches!(b, b',' | b'=' | b'\r' | b'\n'))
            .unwrap_or(rest.len());
        let mut trimmed = name_len;
        while trimmed > 0 && rest.get(trimmed - 1).copied().is_some_and(is_space) {
            trimmed -= 1;
        }
        let name = text(rest.get(..trimmed).unwrap_or_default());
        pos += name_len;
        if data.get(pos) != Some(&b'=') {
            // End of data, or a bare name ended by a separator.
            if pos < data.len() {
                pos += 1;
            }
            items.push(VarItem {
                name,
                value: None,
                quoted: false,
            });
            continue;
        }
        pos += 1; // past '='
        while data
            .get(pos)
            .is_some_and(|&b| is_space(b) && b != b'\r' && b != b'\n')
        {
            pos += 1;
        }
        if data.get(pos) == Some(&b'"') {
            let open = pos;
            let body = data.get(open + 1..).unwrap_or_default();
            let close = body
                .iter()
                .position(|&b| b == b'"')
                .ok_or(VarListError::UnterminatedQuote { offset: open })?;
            let value = text(body.get(..close).unwrap_or_default());
            pos = open + 1 + close + 1;
            match data.get(pos) {
                None | Some(b'\r') => {}
                Some(b',') => pos += 1,
                Some(_) => return Err(VarListError::JunkAfterQuote { offset: pos }),
            }
            items.push(VarItem {
                name,
                value: Some(value),
                quoted: true,
            });
        } else {
            let rest = data.get(pos..).unwrap_or_default();
            let len = rest
                .iter()
                .position(|&b| b == b',' || b == b'\r')
                .unwrap_or(rest.len());
            let mut vlen = len;
            while vlen > 0 && rest.get(vlen - 1).copied().is_some_and(is_space) {
                vlen -= 1;
            }
            let value = text(rest.get(..vlen).unwrap_or_default());
            pos += len;
            if data.get(pos) == Some(&b',') {
                pos += 1;
            }
            items.push(VarItem {
                name,
                value: Some(value),
                quoted: false,
            });
        }
    }
}

/// [`parse_varlist`] as `(name, value)` pairs (quotes removed, bare names with empty values).
///
/// # Errors
/// As [`parse_varlist`].
pub fn parse_varlist_pairs(data: &[u8]) -> Result<Vec<(String, String)>, VarListError> {
    Ok(parse_varlist(data)?
        .into_iter()
        .map(VarItem::into_pair)
        .collect())
}

/// Request data for a variable list, as ntpq's `makequerydata()` builds it: `name` or
/// `name=value` joined by `,` (no blank), within the 468-octet limit of one packet.
///
/// Returns the data and, when the list did not fit, the index of the first variable left out
/// (ntpq prints ``***Ignoring variables starting with `NAME'`` for it). An empty value is sent
/// as a bare name.
pub fn encode_query_vars(vars: &[(&str, Option<&str>)]) -> (Vec<u8>, Option<usize>) {
    let mut out = Vec::new();
    for (i, (name, value)) in vars.iter().enumerate() {
        let value = value.unwrap_or_default();
        let needed = name.len()
            + value.len()
            + usize::from(!value.is_empty())
            + usize::from(!out.is_empty());
        if out.len() + needed > super::CTL_MAX_DATA_LEN {
            return (out, Some(i));
        }
        if !out.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(name.as_bytes());
        if !value.is_empty() {
            out.push(b'=');
            out.extend_from_slice(value.as_bytes());
        }
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, String)> {
        parse_varlist_pairs(s.as_bytes()).unwrap()
    }

    #[test]
    fn splits_on_comma_space_and_line_breaks() {
        let got = pairs("stratum=3, offset=0.000000,\r\nrefid=INIT\r\n");
        assert_eq!(
            got,
            vec![
                ("stratum".into(), "3".into()),
                ("offset".into(), "0.000000".into()),
                ("refid".into(), "INIT".into()),
            ]
        );
    }

    #[test]
    fn quoted_value_keeps_commas_and_is_marked() {
        let items = parse_varlist(b"version=\"ntpd 4.2.8, x\", processor=\"x86_64\"").unwrap();
        assert_eq!(items[0].value.as_deref(), Some("ntpd 4.2.8, x"));
        assert!(items[0].quoted);
        assert_eq!(items[0].raw_value(), "\"ntpd 4.2.8, x\"");
        assert_eq!(items[1].name, "processor");
    }

    #[test]
    fn empty_values_and_bare_names() {
        let items = parse_varlist(b"timecode=\"\", bcast.0=, stratum,offset").unwrap();
        assert_eq!(items[0].value.as_deref(), Some(""));
        assert!(items[0].quoted);
        assert_eq!(items[1].value.as_deref(), Some(""));
        assert!(!items[1].quoted);
        assert_eq!(items[2].value, None);
        assert_eq!(items[3].name, "offset");
        assert_eq!(items.len(), 4);
    }

    #[test]
    fn leading_blanks_of_a_value_are_skipped() {
        assert_eq!(
            pairs("filtdelay= 0.02 0.05,\r\nx=1")[0].1,
            "0.02 0.05".to_owned()
        );
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        assert_eq!(
            parse_varlist(b"a=1, b=\"xyz"),
            Err(VarListError::UnterminatedQuote { offset: 7 })
        );
        assert_eq!(
            parse_varlist(b"b=\"x\"y"),
            Err(VarListError::JunkAfterQuote { offset: 5 })
        );
    }

    #[test]
    fn data_ends_at_nul() {
        assert_eq!(
            pairs("Config Succeeded\r\n\0garbage=1"),
            vec![("Config Succeeded".into(), String::new())]
        );
    }

    #[test]
    fn query_vars_are_joined_like_ntpq() {
        let (data, left) = encode_query_vars(&[("stratum", None), ("offset", Some(""))]);
        assert_eq!(data, b"stratum,offset");
        assert_eq!(left, None);
        let (data, _) = encode_query_vars(&[("leap", Some("0"))]);
        assert_eq!(data, b"leap=0");
        let long = "x".repeat(300);
        let (data, left) = encode_query_vars(&[("a", Some(&long)), ("b", Some(&long))]);
        assert_eq!(data.len(), 302);
        assert_eq!(left, Some(1));
    }

    #[test]
    fn empty_input_gives_no_items() {
        assert!(parse_varlist(b"").unwrap().is_empty());
        assert!(parse_varlist(b" ,\r\n").unwrap().is_empty());
    }
}
