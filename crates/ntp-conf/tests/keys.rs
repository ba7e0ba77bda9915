//! ntp.keys parsing: accepted forms, errors with line numbers, and that key material never
//! shows up in any diagnostic or Debug output.

use ntp_conf::keys::{parse_keys, KeyType};

const GOOD: &str = "\
# ntp.keys
1 MD5 Xyzzy!Plugh42
2 SHA1 6e7f9a3c1b2d4e5f60718293a4b5c6d7e8f90a1b   # hex, 20 bytes
3 sha1 00112233445566778899aabbccddeeff
4 AES128CMAC 0f1e2d3c4b5a69788796a5b4c3d2e1f0 192.0.2.0/24,2001:db8::1
5 m short
6 SHA256 Zz9Yy8Xx7Ww6Vv5Uu4Tt
";

#[test]
fn good_key_file_parses_with_types_lengths_and_sources() {
    let kf = parse_keys(GOOD, "ntp.keys").unwrap();
    assert_eq!(kf.keys.len(), 6);
    assert_eq!(kf.get(1).unwrap().kind, KeyType::Md5);
    assert_eq!(kf.get(1).unwrap().secret.expose(), b"Xyzzy!Plugh42");
    assert_eq!(kf.get(2).unwrap().secret.len(), 20);
    assert_eq!(kf.get(3).unwrap().secret.len(), 16);
    assert_eq!(kf.get(4).unwrap().allowed.len(), 2);
    assert_eq!(kf.get(4).unwrap().allowed[0].1, Some(24));
    assert_eq!(kf.get(5).unwrap().kind, KeyType::Md5);
    assert_eq!(kf.get(6).unwrap().secret.len(), 20);
    // MD5 keys work but are flagged (RFC 8573).
    assert_eq!(kf.warnings.len(), 2);
    assert_eq!(
        kf.warnings[0].to_string(),
        "ntp.keys:2:3: warning: key 1: MD5 is deprecated (RFC 8573); prefer AES128CMAC or SHA1"
    );
}

#[test]
fn debug_output_never_shows_key_material() {
    let kf = parse_keys(GOOD, "ntp.keys").unwrap();
    let dbg = format!("{kf:?} {:#?}", kf.get(4).unwrap());
    for secret in ["Xyzzy!Plugh42", "6e7f9a3c", "0f1e2d3c", "short", "Zz9Yy8"] {
        assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
    }
    // Raw bytes must not appear either (as a Vec<u8> Debug would print them).
    assert!(!dbg.contains("88, 121, 122"));
    assert!(dbg.contains("redacted"));
}

/// Bad lines, each with a secret that must not appear in the diagnostics.
const BAD: &[(&str, &str, &str)] = &[
    ("0 SHA1 Secr3tZero", "Secr3tZero", "ntp.keys:1:1: invalid key id \"0\" (expected an integer 1..65535)"),
    ("65536 SHA1 Secr3tBig", "Secr3tBig", "ntp.keys:1:1: invalid key id \"65536\" (expected an integer 1..65535)"),
    ("7 MD6 Secr3tMd6", "Secr3tMd6", "ntp.keys:1:3: key 7: unknown key type \"MD6\" (did you mean \"MD5\"?)"),
    ("8 SHA1", "", "ntp.keys:1:7: key 8: missing key"),
    ("9", "", "ntp.keys:1:2: key 9: missing key type"),
    (
        "10 SHA1 0123456789abcdef0123456789abcdef0123456",
        "0123456789abcdef",
        "ntp.keys:1:9: key 10: a key longer than 20 characters is hex and needs an even number of digits, found 39",
    ),
    (
        "11 SHA1 0123456789abcdef0123456789abcdef012345zz",
        "0123456789abcdef",
        "ntp.keys:1:9: key 11: a key longer than 20 characters must be hex digits only",
    ),
    (
        "12 SHA1 Pass#Word99",
        "Pass",
        "ntp.keys:1:9: key 12: the key contains '#', which classic ntpd would read as a comment and truncate",
    ),
    (
        "13 AES128CMAC ShortSecret",
        "ShortSecret",
        "ntp.keys:1:15: key 13: AES128CMAC needs a 16-byte key (32 hex digits), found 11 bytes",
    ),
    (
        "14 SHA1 LongSecretValue 192.0.2.300",
        "LongSecretValue",
        "ntp.keys:1:25: key 14: invalid address \"192.0.2.300\" in the allowed-source list",
    ),
];

#[test]
fn bad_lines_report_line_and_column_without_the_key() {
    for (line, secret, expected) in BAD {
        let err = parse_keys(line, "ntp.keys").unwrap_err();
        let text = err.to_string();
        assert_eq!(text, *expected, "for line {line:?}");
        if !secret.is_empty() {
            assert!(!text.contains(secret), "secret leaked: {text}");
            assert!(
                !format!("{err:?}").contains(secret),
                "secret leaked in Debug"
            );
        }
    }
}

#[test]
fn every_bad_line_is_reported_not_just_the_first() {
    let text = "1 SHA1 good-key-1\n0 SHA1 x\n3 NOPE y\n1 SHA1 again\n";
    let err = parse_keys(text, "k").unwrap_err();
    let lines: Vec<u32> = err.0.iter().map(|d| d.location.line).collect();
    assert_eq!(lines, [2, 3, 4]);
    assert_eq!(err.0[2].message, "key 1 is defined twice (first at line 1)");
}

#[test]
fn oversized_hex_key_is_refused() {
    let key = "ab".repeat(65);
    let err = parse_keys(&format!("1 SHA512 {key}"), "k").unwrap_err();
    assert_eq!(
        err.to_string(),
        "k:1:10: key 1: the key is longer than 64 bytes"
    );
}
