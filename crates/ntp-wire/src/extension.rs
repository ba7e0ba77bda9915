//! NTPv4 extension fields (RFC 7822): type, length, value padded to four octets.

use crate::{Reader, WireError, Writer};

/// The smallest extension field RFC 7822 allows (header + 12 octets of value).
pub const MIN_EXTENSION_LEN: usize = 16;
/// The smallest last extension field when no MAC follows (RFC 7822 section 7.5), so a
/// receiver can tell it from a MAC.
pub const MIN_LAST_EXTENSION_LEN_NO_MAC: usize = 28;

/// One extension field. `body` is everything after the 4-octet type/length header, including
/// padding, so that re-encoding is byte-exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionField {
    /// Field type.
    pub field_type: u16,
    /// Value and padding (length of the field minus 4).
    pub body: Vec<u8>,
}

impl ExtensionField {
    /// A field whose value is zero-padded to a multiple of four and to the minimum length.
    pub fn new(field_type: u16, value: &[u8]) -> Self {
        let mut body = value.to_vec();
        let len = (4 + body.len()).max(MIN_EXTENSION_LEN).next_multiple_of(4);
        body.resize(len - 4, 0);
        ExtensionField { field_type, body }
    }

    /// Total length on the wire.
    pub fn wire_len(&self) -> usize {
        4 + self.body.len()
    }

    /// Decode one field; the length is checked: at least 16, a multiple of 4, within the data.
    ///
    /// # Errors
    /// [`WireError::Truncated`] or [`WireError::InvalidValue`] for a bad length.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let field_type = r.u16("extension field type")?;
        let len = r.u16("extension field length")? as usize;
        if len < MIN_EXTENSION_LEN || len % 4 != 0 {
            return Err(WireError::InvalidValue {
                field: "extension field length",
                value: len as u64,
                expected: "a multiple of 4, at least 16",
            });
        }
        let body = r.bytes(len - 4, "extension field value")?.to_vec();
        Ok(ExtensionField { field_type, body })
    }

    /// Encode.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`], or [`WireError::InvalidValue`] when the field is longer
    /// than 65535 octets or not a multiple of four.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), WireError> {
        let len = self.wire_len();
        if len > u16::MAX as usize || len % 4 != 0 {
            return Err(WireError::InvalidValue {
                field: "extension field length",
                value: len as u64,
                expected: "a multiple of 4 up to 65532",
            });
        }
        w.u16(self.field_type)?;
        w.u16(len as u16)?;
        w.bytes(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pads_to_minimum_and_four_octets() {
        let f = ExtensionField::new(0x0104, &[1, 2, 3, 4, 5]);
        assert_eq!(f.wire_len(), 16);
        let f = ExtensionField::new(0x0104, &[7; 13]);
        assert_eq!(f.wire_len(), 20);
    }

    #[test]
    fn short_or_unaligned_length_is_rejected() {
        for len in [0u16, 4, 12, 17] {
            let mut b = vec![0x01, 0x04];
            b.extend_from_slice(&len.to_be_bytes());
            b.resize(64, 0);
            assert!(
                ExtensionField::read(&mut Reader::new(&b)).is_err(),
                "len {len}"
            );
        }
    }

    #[test]
    fn length_beyond_data_is_truncated() {
        let b = [0x01, 0x04, 0x00, 0x20, 0, 0, 0, 0];
        assert!(matches!(
            ExtensionField::read(&mut Reader::new(&b)),
            Err(WireError::Truncated { .. })
        ));
    }
}
