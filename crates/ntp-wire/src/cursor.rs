//! The one bounds-checked reader and writer that every decoder and encoder in the suite uses.
//!
//! Every read names the field it wanted, so an error says exactly what was missing. Nothing here
//! can panic on any input: all indexing goes through `get`/checked arithmetic.

use crate::WireError;

/// A bounds-checked cursor over a received datagram (or part of one).
///
/// Big-endian reads are the default (network order); the `_le` variants exist for the mode 7
/// fields that classic ntpd sends in x86-64 host order.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Octets not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Octets already read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every octet has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` octets, advancing past them.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field` when fewer than `n` octets remain.
    pub fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(WireError::Truncated {
                field,
                needed: n,
                available: self.remaining(),
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next `N` octets as an array.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let s = self.bytes(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Skip `n` octets (padding, unused fields).
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<(), WireError> {
        self.bytes(n, field).map(|_| ())
    }

    /// Everything not yet read; the reader is then empty.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// Look at the next `n` octets without consuming them.
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.buf.get(self.pos..self.pos.checked_add(n)?)
    }

    /// One octet.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// One signed octet.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn i8(&mut self, field: &'static str) -> Result<i8, WireError> {
        Ok(i8::from_be_bytes(self.array(field)?))
    }

    /// Big-endian u16.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// Big-endian u32.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Big-endian i32.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    /// Big-endian u64.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Little-endian (x86-64 host order) u16, for classic mode 7 host-order fields.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn u16_le(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    /// Little-endian (x86-64 host order) u32, for classic mode 7 host-order fields.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn u32_le(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// Little-endian (x86-64 host order) i32.
    ///
    /// # Errors
    /// [`WireError::Truncated`] naming `field`.
    pub fn i32_le(&mut self, field: &'static str) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }

    /// Fail unless every octet was consumed (for formats that forbid trailing data).
    ///
    /// # Errors
    /// [`WireError::TrailingBytes`] naming `what`.
    pub fn finish(&self, what: &'static str) -> Result<(), WireError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(WireError::TrailingBytes {
                what,
                extra: self.remaining(),
            })
        }
    }
}

/// A bounds-checked writer into a caller-owned buffer; it never allocates.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer positioned at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Octets written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Room left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The octets written so far.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    /// Append `data`.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`] when `data` does not fit; nothing is written then.
    pub fn bytes(&mut self, data: &[u8]) -> Result<(), WireError> {
        let end = self
            .pos
            .checked_add(data.len())
            .filter(|&e| e <= self.buf.len())
            .ok_or(WireError::BufferTooSmall {
                needed: self.pos.saturating_add(data.len()),
                available: self.buf.len(),
            })?;
        self.buf[self.pos..end].copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    /// Append `n` zero octets.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn zeros(&mut self, n: usize) -> Result<(), WireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(WireError::BufferTooSmall {
                needed: self.pos.saturating_add(n),
                available: self.buf.len(),
            })?;
        self.buf[self.pos..end].fill(0);
        self.pos = end;
        Ok(())
    }

    /// Zero-pad up to the next multiple of `align`.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn pad_to(&mut self, align: usize) -> Result<(), WireError> {
        let rem = self.pos % align.max(1);
        if rem == 0 {
            Ok(())
        } else {
            self.zeros(align - rem)
        }
    }

    /// One octet.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn u8(&mut self, v: u8) -> Result<(), WireError> {
        self.bytes(&[v])
    }

    /// One signed octet.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn i8(&mut self, v: i8) -> Result<(), WireError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Big-endian u16.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn u16(&mut self, v: u16) -> Result<(), WireError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Big-endian u32.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn u32(&mut self, v: u32) -> Result<(), WireError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Big-endian i32.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn i32(&mut self, v: i32) -> Result<(), WireError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Big-endian u64.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn u64(&mut self, v: u64) -> Result<(), WireError> {
        self.bytes(&v.to_be_bytes())
    }

    /// Little-endian (x86-64 host order) u16.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn u16_le(&mut self, v: u16) -> Result<(), WireError> {
        self.bytes(&v.to_le_bytes())
    }

    /// Little-endian (x86-64 host order) u32.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn u32_le(&mut self, v: u32) -> Result<(), WireError> {
        self.bytes(&v.to_le_bytes())
    }

    /// Little-endian (x86-64 host order) i32.
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`].
    pub fn i32_le(&mut self, v: i32) -> Result<(), WireError> {
        self.bytes(&v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_read_names_the_field() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0102);
        let e = r.u32("stratum").unwrap_err();
        assert_eq!(
            e,
            WireError::Truncated {
                field: "stratum",
                needed: 4,
                available: 1
            }
        );
        // A failed read consumes nothing.
        assert_eq!(r.u8("b").unwrap(), 3);
        assert!(r.finish("x").is_ok());
    }

    #[test]
    fn huge_length_does_not_overflow() {
        let mut r = Reader::new(&[0; 4]);
        r.skip(2, "x").unwrap();
        assert!(r.bytes(usize::MAX, "big").is_err());
        assert_eq!(r.remaining(), 2);
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let r = Reader::new(&[0; 2]);
        assert_eq!(
            r.finish("header"),
            Err(WireError::TrailingBytes {
                what: "header",
                extra: 2
            })
        );
    }

    #[test]
    fn little_endian_host_order_fields() {
        let mut r = Reader::new(&[0x01, 0x00, 0x00, 0x00, 0x02, 0x00]);
        assert_eq!(r.u32_le("n").unwrap(), 1);
        assert_eq!(r.u16_le("m").unwrap(), 2);
    }

    #[test]
    fn writer_refuses_overflow_without_partial_write() {
        let mut buf = [0xaau8; 5];
        let mut w = Writer::new(&mut buf);
        w.u32(0x01020304).unwrap();
        assert!(w.u16(7).is_err());
        assert_eq!(w.position(), 4);
        w.pad_to(8).unwrap_err();
        w.u8(9).unwrap();
        assert_eq!(buf, [1, 2, 3, 4, 9]);
    }

    #[test]
    fn pad_to_aligns() {
        let mut buf = [0xffu8; 8];
        let mut w = Writer::new(&mut buf);
        w.u8(1).unwrap();
        w.pad_to(4).unwrap();
        assert_eq!(w.position(), 4);
        w.pad_to(4).unwrap();
        assert_eq!(w.position(), 4);
        assert_eq!(&buf[..4], &[1, 0, 0, 0]);
    }
}
