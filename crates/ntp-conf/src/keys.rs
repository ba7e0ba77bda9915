//! The ntp.keys parser: `keyid type key [ip[/bits][,ip...]]` lines, as classic ntpd's
//! `authreadkeys()` reads them.
//!
//! Key material never leaves this module in text form: diagnostics name the key id and the
//! problem, never the key, and [`Secret`]'s `Debug` prints only its length.

use crate::diag::{did_you_mean, quote, Diagnostic, Diagnostics, Location};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// The digest (or CMAC) a key is used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `MD5` (or the legacy single letter `M`). Deprecated by RFC 8573.
    Md5,
    /// `SHA1` (also `SHA-1`).
    Sha1,
    /// `SHA` (the original SHA-0 name OpenSSL once accepted).
    Sha,
    /// `SHA224`.
    Sha224,
    /// `SHA256`.
    Sha256,
    /// `SHA384`.
    Sha384,
    /// `SHA512`.
    Sha512,
    /// `RMD160` (RIPEMD-160).
    Rmd160,
    /// `AES128CMAC` (NTPsec spells it `AES` or `AES-128`), RFC 8573.
    Aes128Cmac,
}

const TYPE_NAMES: &[(&str, KeyType)] = &[
    ("MD5", KeyType::Md5),
    ("M", KeyType::Md5),
    ("SHA1", KeyType::Sha1),
    ("SHA-1", KeyType::Sha1),
    ("SHA", KeyType::Sha),
    ("SHA224", KeyType::Sha224),
    ("SHA256", KeyType::Sha256),
    ("SHA384", KeyType::Sha384),
    ("SHA512", KeyType::Sha512),
    ("RMD160", KeyType::Rmd160),
    ("AES128CMAC", KeyType::Aes128Cmac),
    ("AES-128-CMAC", KeyType::Aes128Cmac),
    ("AES-128", KeyType::Aes128Cmac),
    ("AES", KeyType::Aes128Cmac),
    ("CMAC", KeyType::Aes128Cmac),
];

impl KeyType {
    /// Parse a type name, case-insensitively as classic ntpd does.
    pub fn from_name(name: &str) -> Option<Self> {
        let upper = name.to_ascii_uppercase();
        TYPE_NAMES
            .iter()
            .find(|(n, _)| *n == upper)
            .map(|(_, t)| *t)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Md5 => "MD5",
            KeyType::Sha1 => "SHA1",
            KeyType::Sha => "SHA",
            KeyType::Sha224 => "SHA224",
            KeyType::Sha256 => "SHA256",
            KeyType::Sha384 => "SHA384",
            KeyType::Sha512 => "SHA512",
            KeyType::Rmd160 => "RMD160",
            KeyType::Aes128Cmac => "AES128CMAC",
        }
    }
}

/// Key bytes. `Debug` shows only the length; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The raw key bytes (for the MAC code).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty key (never produced by the parser).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// One key of the key file.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// Key id 1..65535.
    pub id: u16,
    /// Digest type.
    pub kind: KeyType,
    /// The key bytes.
    pub secret: Secret,
    /// Sources allowed to use the key (`ip[/bits]`); empty = any.
    pub allowed: Vec<(IpAddr, Option<u8>)>,
    /// Where the line starts.
    pub location: Location,
}

impl fmt::Debug for Key {
    /// Redacts the key material (only its length is shown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("secret", &self.secret)
            .field("allowed", &self.allowed)
            .field("location", &self.location)
            .finish()
    }
}

/// A parsed key file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyFile {
    /// The keys in file order (ids are unique).
    pub keys: Vec<Key>,
    /// Warnings (e.g. MD5 keys); the file is still usable.
    pub warnings: Vec<Diagnostic>,
}

impl KeyFile {
    /// The key with `id`, if present.
    pub fn get(&self, id: u16) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }
}

/// Longest key in bytes we accept (classic's hex keys top out well below this).
pub const MAX_KEY_BYTES: usize = 64;
/// Longest key classic reads as ASCII text; longer keys are hex.
pub const MAX_ASCII_KEY: usize = 20;

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parse an ntp.keys file.
///
/// # Errors
/// Every diagnostic (with line numbers, never key material) if any line is bad.
pub fn parse_keys(text: &str, file_name: &str) -> Result<KeyFile, Diagnostics> {
    let file: Arc<str> = Arc::from(file_name);
    let mut diags = Vec::new();
    let mut out = KeyFile::default();
    for (idx, raw) in text.split('\n').enumerate() {
        let number = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let at = |col: usize| Location {
            file: Arc::clone(&file),
            line: number,
            column: u32::try_from(col + 1).unwrap_or(u32::MAX),
        };
        if raw.len() > 1024 {
            diags.push(Diagnostic::error(at(0), "line is longer than 1024 bytes"));
            continue;
        }
        // Tokens with byte offsets; a '#' at the start of a token begins a comment.
        let mut toks: Vec<(usize, &str)> = Vec::new();
        let mut i = 0;
        let bytes = raw.as_bytes();
        while i < bytes.len() {
            if bytes[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            if bytes[i] == b'#' {
                break;
            }
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            toks.push((start, &raw[start..i]));
        }
        if toks.is_empty() {
            continue;
        }
        let (id_col, id_text) = toks[0];
        let id = match id_text.parse::<u32>() {
            Ok(v) if (1..=65535).contains(&v) && id_text.bytes().all(|b| b.is_ascii_digit()) => {
                u16::try_from(v).unwrap_or(0)
            }
            _ => {
                diags.push(Diagnostic::error(
                    at(id_col),
                    format!(
                        "invalid key id {} (expected an integer 1..65535)",
                        quote(id_text)
                    ),
                ));
                continue;
            }
        };
        let Some(&(type_col, type_text)) = toks.get(1) else {
            diags.push(Diagnostic::error(
                at(raw.len()),
                format!("key {id}: missing key type"),
            ));
            continue;
        };
        let Some(kind) = KeyType::from_name(type_text) else {
            let names: Vec<&str> = TYPE_NAMES.iter().map(|(n, _)| *n).collect();
            diags.push(Diagnostic::error(
                at(type_col),
                format!(
                    "key {id}: unknown key type {}{}",
                    quote(type_text),
                    did_you_mean(&type_text.to_ascii_uppercase(), &names)
                ),
            ));
            continue;
        };
        let Some(&(key_col, key_text)) = toks.get(2) else {
            diags.push(Diagnostic::error(
                at(raw.len()),
                format!("key {id}: missing key"),
            ));
            continue;
        };
        // From here on, never quote `key_text`: it is the secret.
        let secret = if key_text.contains('#') {
            diags.push(Diagnostic::error(
                at(key_col),
                format!("key {id}: the key contains '#', which classic ntpd would read as a comment and truncate"),
            ));
            continue;
        } else if key_text.len() <= MAX_ASCII_KEY {
            if !key_text.bytes().all(|b| b.is_ascii_graphic()) {
                diags.push(Diagnostic::error(
                    at(key_col),
                    format!("key {id}: an ASCII key must be printable ASCII characters"),
                ));
                continue;
            }
            key_text.as_bytes().to_vec()
        } else {
            if key_text.len() % 2 != 0 {
                diags.push(Diagnostic::error(
                    at(key_col),
                    format!(
                        "key {id}: a key longer than {MAX_ASCII_KEY} characters is hex and needs an even number of digits, found {}",
                        key_text.len()
                    ),
                ));
                continue;
            }
            if key_text.len() / 2 > MAX_KEY_BYTES {
                diags.push(Diagnostic::error(
                    at(key_col),
                    format!("key {id}: the key is longer than {MAX_KEY_BYTES} bytes"),
                ));
                continue;
            }
            let decoded: Option<Vec<u8>> = key_text
                .as_bytes()
                .chunks(2)
                .map(|p| Some(hex_value(p[0])? << 4 | hex_value(*p.get(1)?)?))
                .collect();
            match decoded {
                Some(v) => v,
                None => {
                    diags.push(Diagnostic::error(
                        at(key_col),
                        format!(
                            "key {id}: a key longer than {MAX_ASCII_KEY} characters must be hex digits only"
                        ),
                    ));
                    continue;
                }
            }
        };
        if kind == KeyType::Aes128Cmac && secret.len() < 16 {
            diags.push(Diagnostic::error(
                at(key_col),
                format!(
                    "key {id}: AES128CMAC needs a 16-byte key (32 hex digits), found {} bytes",
                    secret.len()
                ),
            ));
            continue;
        }
        let mut allowed = Vec::new();
        let mut bad_ip = false;
        if let Some(&(ip_col, ip_text)) = toks.get(3) {
            for part in ip_text.split(',') {
                let (a, bits) = match part.split_once('/') {
                    Some((a, b)) => (a, Some(b)),
                    None => (part, None),
                };
                let parsed = a.parse::<IpAddr>().ok().and_then(|ip| {
                    let max = if ip.is_ipv6() { 128 } else { 32 };
                    match bits {
                        None => Some((ip, None)),
                        Some(b) => match b.parse::<u8>() {
                            Ok(n) if n <= max && b.bytes().all(|c| c.is_ascii_digit()) => {
                                Some((ip, Some(n)))
                            }
                            _ => None,
                        },
                    }
                });
                match parsed {
                    Some(p) => allowed.push(p),
                    None => {
                        diags.push(Diagnostic::error(
                            at(ip_col),
                            format!(
                                "key {id}: invalid address {} in the allowed-source list",
                                quote(part)
                            ),
                        ));
                        bad_ip = true;
                        break;
                    }
                }
            }
        }
        if let Some(&(extra_col, _)) = toks.get(4) {
            diags.push(Diagnostic::error(
                at(extra_col),
                format!("key {id}: unexpected text after the allowed-source list"),
            ));
            continue;
        }
        if bad_ip {
            continue;
        }
        if let Some(prev) = out.keys.iter().find(|k| k.id == id) {
            diags.push(Diagnostic::error(
                at(id_col),
                format!(
                    "key {id} is defined twice (first at line {})",
                    prev.location.line
                ),
            ));
            continue;
        }
        if kind == KeyType::Md5 {
            out.warnings.push(Diagnostic::warning(
                at(type_col),
                format!("key {id}: MD5 is deprecated (RFC 8573); prefer AES128CMAC or SHA1"),
            ));
        }
        out.keys.push(Key {
            id,
            kind,
            secret: Secret(secret),
            allowed,
            location: at(id_col),
        });
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        diags.extend(out.warnings);
        diags.sort_by_key(|d| (d.location.line, d.location.column));
        Err(Diagnostics(diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_hex_keys_are_decoded() {
        let kf = parse_keys(
            "1 SHA1 s3cretpass\n2 sha1 0123456789abcdef0123456789abcdef01234567\n3 AES128CMAC 000102030405060708090a0b0c0d0e0f\n",
            "k",
        )
        .unwrap();
        assert_eq!(kf.keys.len(), 3);
        assert_eq!(kf.get(1).unwrap().secret.expose(), b"s3cretpass");
        assert_eq!(kf.get(2).unwrap().secret.len(), 20);
        assert_eq!(kf.get(3).unwrap().secret.len(), 16);
        assert_eq!(kf.get(3).unwrap().kind, KeyType::Aes128Cmac);
    }

    #[test]
    fn type_names_are_case_insensitive() {
        assert_eq!(KeyType::from_name("md5"), Some(KeyType::Md5));
        assert_eq!(KeyType::from_name("m"), Some(KeyType::Md5));
        assert_eq!(KeyType::from_name("Aes128Cmac"), Some(KeyType::Aes128Cmac));
        assert_eq!(KeyType::from_name("md6"), None);
    }
}
