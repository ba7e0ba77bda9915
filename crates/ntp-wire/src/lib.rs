//! NTP wire formats: bytes <-> types, with no I/O, no clock and no policy.
//!
//! Everything the suite puts on the wire is encoded and decoded here: the era-aware
//! [`NtpTimestamp`] and the other time newtypes, the 48-byte header for modes 1-5 with
//! extension fields (RFC 7822) and the MAC trailer, the symmetric-key MACs, mode 6 (control)
//! and mode 7 (private). Every decoder goes through the one bounds-checked [`Reader`] and never
//! panics, whatever the input.
#![forbid(unsafe_code)]

pub mod cursor;
pub mod extension;
pub mod mac;
pub mod mode6;
pub mod mode7;
pub mod packet;
pub mod refid;
pub mod time;

pub use cursor::{Reader, Writer};
pub use extension::ExtensionField;
pub use mac::{Digest20, KeyType, Mac, MacAlgorithm, SymmetricKey, Trailer};
pub use packet::{KissCode, LeapIndicator, Mode, NtpHeader, NtpPacket, Stratum, Version};
pub use refid::RefId;
pub use time::{NtpDuration, NtpShort, NtpTimestamp, PollInterval, Reach};

/// Everything that can go wrong turning bytes into types or types into bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The datagram ended before `field` was complete.
    #[error("truncated: {field} needs {needed} octets, {available} left")]
    Truncated {
        /// The field that was being read.
        field: &'static str,
        /// Octets it needs.
        needed: usize,
        /// Octets that were left.
        available: usize,
    },
    /// Octets were left over where the format allows none.
    #[error("{extra} trailing octets after {what}")]
    TrailingBytes {
        /// What had been decoded.
        what: &'static str,
        /// How many octets were left over.
        extra: usize,
    },
    /// The caller's buffer is too small for the encoding.
    #[error("buffer too small: need {needed} octets, have {available}")]
    BufferTooSmall {
        /// Octets the encoding needs.
        needed: usize,
        /// Size of the caller's buffer.
        available: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid {field}: {value} ({expected})")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The value found.
        value: u64,
        /// What was expected instead.
        expected: &'static str,
    },
    /// A structural rule of the format is broken (lengths that disagree, bad alignment...).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Which rule was broken.
        reason: &'static str,
    },
}
