//! Symmetric-key message authentication as classic ntpd does it (`libntp/a_md5encrypt.c`):
//! MD5 and SHA-1 digest `key || message` (the digest truncated to 20 octets), AES-128-CMAC
//! keys the cipher with the key zero-padded (or cut) to 16 octets. Verification compares in
//! constant time. The MAC trailer on the wire is a 4-octet key id followed by the digest; a
//! bare key id (4 octets) is the crypto-NAK.

use std::fmt;

use aes::Aes128;
use cmac::{Cmac, Mac as _};
use md5::{Digest, Md5};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::{Reader, WireError, Writer};

/// The longest digest on the wire (`MAX_MDG_LEN`): longer digests are truncated to this.
pub const MAX_DIGEST_LEN: usize = 20;
/// The longest MAC trailer: key id + 20-octet digest (`MAX_MAC_LEN`).
pub const MAX_MAC_LEN: usize = 4 + MAX_DIGEST_LEN;
/// The length of a crypto-NAK: a key id alone (`MIN_MAC_LEN`).
pub const CRYPTO_NAK_LEN: usize = 4;

/// A MAC algorithm that ntp.keys can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    /// MD5 over key || message (16-octet digest). The classic default ("M" in ntp.keys).
    Md5,
    /// SHA-1 over key || message (20-octet digest).
    Sha1,
    /// AES-128-CMAC (RFC 8573), 16-octet tag.
    AesCmac128,
}

/// The key type names used in ntp.keys map onto [`MacAlgorithm`].
pub type KeyType = MacAlgorithm;

impl MacAlgorithm {
    /// Digest length on the wire.
    pub const fn digest_len(self) -> usize {
        match self {
            MacAlgorithm::Md5 | MacAlgorithm::AesCmac128 => 16,
            MacAlgorithm::Sha1 => 20,
        }
    }

    /// The name classic tools print and ntp.keys uses (`MD5`, `SHA1`, `AES128CMAC`).
    pub const fn name(self) -> &'static str {
        match self {
            MacAlgorithm::Md5 => "MD5",
            MacAlgorithm::Sha1 => "SHA1",
            MacAlgorithm::AesCmac128 => "AES128CMAC",
        }
    }

    /// Parse an ntp.keys type name, case-insensitively (`M` and `MD5`, `SHA1`, `SHA`,
    /// `AES128CMAC`, `AES-128-CMAC`, `CMAC`). `None` for types we do not implement.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "M" | "MD5" => Some(MacAlgorithm::Md5),
            "SHA1" | "SHA" => Some(MacAlgorithm::Sha1),
            "AES128CMAC" | "AES-128-CMAC" | "CMAC" => Some(MacAlgorithm::AesCmac128),
            _ => None,
        }
    }
}

/// A key from ntp.keys. The secret never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct SymmetricKey {
    /// Key id (1..=65535 in ntp.keys).
    pub id: u32,
    /// Algorithm.
    pub algorithm: MacAlgorithm,
    secret: Vec<u8>,
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SymmetricKey {
    /// A key with the given secret octets.
    pub fn new(id: u32, algorithm: MacAlgorithm, secret: &[u8]) -> Self {
        SymmetricKey {
            id,
            algorithm,
            secret: secret.to_vec(),
        }
    }

    /// The secret octets (for the key-file writer; never log them).
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The digest of `message` under this key, truncated to [`MAX_DIGEST_LEN`].
    pub fn digest(&self, message: &[u8]) -> Digest20 {
        let mut out = Digest20::default();
        match self.algorithm {
            MacAlgorithm::Md5 => {
                let mut h = Md5::new();
                h.update(&self.secret);
                h.update(message);
                out.set(&h.finalize());
            }
            MacAlgorithm::Sha1 => {
                let mut h = Sha1::new();
                h.update(&self.secret);
                h.update(message);
                out.set(&h.finalize());
            }
            MacAlgorithm::AesCmac128 => {
                let mut key = [0u8; 16];
                let n = self.secret.len().min(16);
                key[..n].copy_from_slice(&self.secret[..n]);
                let mut m = <Cmac<Aes128> as cmac::Mac>::new_from_slice(&key)
                    .expect("a 16-octet key is always valid for AES-128");
                m.update(message);
                out.set(&m.finalize().into_bytes());
            }
        }
        out
    }

    /// The MAC trailer for `message`.
    pub fn sign(&self, message: &[u8]) -> Mac {
        Mac {
            key_id: self.id,
            digest: self.digest(message),
        }
    }

    /// True when `digest` is this key's digest of `message` (constant-time comparison; a
    /// digest of the wrong length never verifies).
    pub fn verify(&self, message: &[u8], digest: &[u8]) -> bool {
        let expected = self.digest(message);
        expected.as_bytes().len() == digest.len() && bool::from(expected.as_bytes().ct_eq(digest))
    }
}

/// A digest of at most 20 octets, stored inline (no allocation on the packet path).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Digest20 {
    bytes: [u8; MAX_DIGEST_LEN],
    len: u8,
}

impl Digest20 {
    /// From octets; at most 20 are kept (classic truncation).
    pub fn from_slice(b: &[u8]) -> Self {
        let mut d = Digest20::default();
        d.set(b);
        d
    }

    fn set(&mut self, b: &[u8]) {
        let n = b.len().min(MAX_DIGEST_LEN);
        self.bytes = [0; MAX_DIGEST_LEN];
        self.bytes[..n].copy_from_slice(&b[..n]);
        self.len = n as u8;
    }

    /// The digest octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl fmt::Debug for Digest20 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// A MAC trailer: key id and digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac {
    /// Key id.
    pub key_id: u32,
    /// Digest (16 or 20 octets on the wire).
    pub digest: Digest20,
}

/// What follows the header and extension fields of a mode 1-5 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trailer {
    /// A key id with no digest: the crypto-NAK ("your MAC failed"), 4 octets.
    CryptoNak {
        /// The key id (zero in classic's NAK).
        key_id: u32,
    },
    /// A key id and digest.
    Mac(Mac),
}

impl Trailer {
    /// Octets on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            Trailer::CryptoNak { .. } => CRYPTO_NAK_LEN,
            Trailer::Mac(m) => 4 + m.digest.as_bytes().len(),
        }
    }

    /// Decode a trailer occupying all of `r`: 4 octets (NAK), 20 (16-octet digest) or 24
    /// (20-octet digest).
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] for any other length.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let len = r.remaining();
        match len {
            CRYPTO_NAK_LEN => Ok(Trailer::CryptoNak {
                key_id: r.u32("crypto-NAK key id")?,
            }),
            20 | 24 => {
                let key_id = r.u32("MAC key id")?;
                let digest = Digest20::from_slice(r.bytes(len - 4, "MAC digest")?);
                Ok(Trailer::Mac(Mac { key_id, digest }))
            }
            _ => Err(WireError::InvalidValue {
                field: "MAC length",
                value: len as u64,
                expected: "4 (crypto-NAK), 20 or 24 octets",
            }),
        }
    }

    /// Encode.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        match self {
            Trailer::CryptoNak { key_id } => w.u32(*key_id),
            Trailer::Mac(m) => {
                w.u32(m.key_id)?;
                w.bytes(m.digest.as_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn md5_is_key_then_message() {
        // md5("abc") = 900150983cd24fb0d6963f7d28e17f72: key "a", message "bc".
        let k = SymmetricKey::new(1, MacAlgorithm::Md5, b"a");
        assert_eq!(
            k.digest(b"bc").as_bytes(),
            hex("900150983cd24fb0d6963f7d28e17f72")
        );
    }

    #[test]
    fn sha1_is_key_then_message_20_octets() {
        // sha1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
        let k = SymmetricKey::new(2, MacAlgorithm::Sha1, b"ab");
        assert_eq!(
            k.digest(b"c").as_bytes(),
            hex("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
    }

    #[test]
    fn aes_cmac_matches_rfc4493_example_2() {
        // RFC 4493 section 4, example 2 (16-octet message).
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let msg = hex("6bc1bee22e409f96e93d7e117393172a");
        let k = SymmetricKey::new(3, MacAlgorithm::AesCmac128, &key);
        assert_eq!(
            k.digest(&msg).as_bytes(),
            hex("070a16b46b4d4144f79bdd9dd04a287c")
        );
    }

    #[test]
    fn short_cmac_key_is_zero_padded() {
        let short = SymmetricKey::new(3, MacAlgorithm::AesCmac128, b"abc");
        let mut padded_key = b"abc".to_vec();
        padded_key.resize(16, 0);
        let padded = SymmetricKey::new(3, MacAlgorithm::AesCmac128, &padded_key);
        assert_eq!(short.digest(b"x"), padded.digest(b"x"));
    }

    #[test]
    fn verify_rejects_wrong_digest_and_wrong_length() {
        let k = SymmetricKey::new(1, MacAlgorithm::Md5, b"vectorkey1");
        let d = k.digest(b"hello");
        assert!(k.verify(b"hello", d.as_bytes()));
        assert!(!k.verify(b"hellp", d.as_bytes()));
        assert!(!k.verify(b"hello", &d.as_bytes()[..15]));
        let mut bad = d.as_bytes().to_vec();
        bad[0] ^= 1;
        assert!(!k.verify(b"hello", &bad));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = SymmetricKey::new(1, MacAlgorithm::Md5, b"sekrit-key-material");
        let s = format!("{k:?}");
        assert!(!s.contains("sekrit"), "{s}");
        assert!(s.contains("redacted"));
    }

    #[test]
    fn trailer_lengths() {
        for (len, ok) in [
            (4, true),
            (20, true),
            (24, true),
            (8, false),
            (16, false),
            (28, false),
        ] {
            let b = vec![0u8; len];
            assert_eq!(Trailer::read(&mut Reader::new(&b)).is_ok(), ok, "len {len}");
        }
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(MacAlgorithm::from_name("m"), Some(MacAlgorithm::Md5));
        assert_eq!(MacAlgorithm::from_name("sha1"), Some(MacAlgorithm::Sha1));
        assert_eq!(
            MacAlgorithm::from_name("AES128CMAC"),
            Some(MacAlgorithm::AesCmac128)
        );
        assert_eq!(MacAlgorithm::from_name("RSA"), None);
    }
}
