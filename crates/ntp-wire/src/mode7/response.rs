//! Mode 7 responses: one datagram's framing, the server-side splitter into fragments, and
//! error/acknowledgement replies.

use super::{
    InfoError, PrivateHeader, PrivateItem, HEADER_LEN, MAX_12_BITS, MAX_SEQUENCE, RESPONSE_DATA_MAX,
};
use crate::{Reader, WireError, Writer};

/// One response datagram: header and exactly `nitems * item_size` octets of items.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrivateResponse {
    /// The header (R set).
    pub header: PrivateHeader,
    /// The items, back to back, no padding.
    pub data: Vec<u8>,
}

impl PrivateResponse {
    /// Decode one response datagram.
    ///
    /// # Errors
    /// [`WireError::Truncated`] for a short header or fewer data octets than announced;
    /// [`WireError::TrailingBytes`] for more; [`WireError::InvalidValue`] for mode ≠ 7 or a
    /// clear R bit; [`WireError::Malformed`] for more than 500 data octets.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        let header = PrivateHeader::read(&mut r)?;
        if !header.response {
            return Err(WireError::InvalidValue {
                field: "R bit",
                value: 0,
                expected: "1 in a response",
            });
        }
        let len = header.data_len();
        if len > RESPONSE_DATA_MAX {
            return Err(WireError::Malformed {
                what: "mode 7 response",
                reason: "nitems * item size exceeds 500 octets",
            });
        }
        let data = r.bytes(len, "response items")?.to_vec();
        r.finish("mode 7 response")?;
        Ok(PrivateResponse { header, data })
    }

    /// The raw items (empty when the item size is 0).
    pub fn items(&self) -> impl Iterator<Item = &[u8]> {
        let size = usize::from(self.header.item_size).max(1);
        let n = if self.header.item_size == 0 {
            0
        } else {
            self.data.len() / size
        };
        self.data.chunks_exact(size).take(n)
    }

    /// The items decoded as `T` (the item size picks full or truncated layout).
    ///
    /// # Errors
    /// As [`PrivateItem::decode_all`].
    pub fn decode_items<T: PrivateItem>(&self) -> Result<Vec<T>, WireError> {
        T::decode_all(&self.data, usize::from(self.header.item_size))
    }

    /// Encoded length.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.data.len()
    }

    /// Encode into `buf`, returning the length written.
    ///
    /// # Errors
    /// As [`PrivateHeader::to_bytes`], plus [`WireError::BufferTooSmall`].
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut w = Writer::new(buf);
        self.header.write(&mut w)?;
        w.bytes(&self.data)?;
        Ok(w.position())
    }

    /// Encode into a new vector.
    ///
    /// # Errors
    /// As [`PrivateHeader::to_bytes`].
    pub fn to_vec(&self) -> Result<Vec<u8>, WireError> {
        let mut buf = vec![0u8; self.encoded_len()];
        let n = self.encode(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// Whole items of `item_size` octets that fit one datagram (the daemon's `more_pkt`):
/// `500 / item_size`, 0 for sizes 0 or above 500.
pub fn items_per_fragment(item_size: usize) -> usize {
    if item_size == 0 || item_size > RESPONSE_DATA_MAX {
        0
    } else {
        RESPONSE_DATA_MAX / item_size
    }
}

/// Most items one response can carry (128 fragments).
pub fn max_response_items(item_size: usize) -> usize {
    items_per_fragment(item_size) * (usize::from(MAX_SEQUENCE) + 1)
}

/// Write an error reply (or, with [`InfoError::Okay`], an acknowledgement) to `request`: the
/// 8-octet header of [`PrivateHeader::error_reply`]. Returns 8.
///
/// # Errors
/// [`WireError::BufferTooSmall`] or [`WireError::InvalidValue`] for a version that does not fit.
pub fn encode_error_reply(
    request: &PrivateHeader,
    err: InfoError,
    buf: &mut [u8],
) -> Result<usize, WireError> {
    let mut w = Writer::new(buf);
    request.error_reply(err).write(&mut w)?;
    Ok(w.position())
}

/// Split encoded items into response datagrams the way classic ntpd does: whole items only,
/// at most 500 data octets each, sequence = fragment number, M set on all but the last, version,
/// implementation and request code echoed from `request`. No items gives the daemon's
/// [`InfoError::NoData`] reply.
///
/// # Errors
/// [`WireError::InvalidValue`] for an item size of 0 or above 500 with items to send;
/// [`WireError::Malformed`] when `items` is not a whole number of items or needs more than 128
/// datagrams (truncate to [`max_response_items`] first, as the daemon does).
pub fn split_response(
    request: &PrivateHeader,
    item_size: usize,
    items: &[u8],
) -> Result<Vec<Vec<u8>>, WireError> {
    if items.is_empty() {
        let mut buf = vec![0u8; HEADER_LEN];
        encode_error_reply(request, InfoError::NoData, &mut buf)?;
        return Ok(vec![buf]);
    }
    let per = items_per_fragment(item_size);
    if per == 0 {
        return Err(WireError::InvalidValue {
            field: "item size",
            value: item_size as u64,
            expected: "1..=500",
        });
    }
    if items.len() % item_size != 0 {
        return Err(WireError::Malformed {
            what: "mode 7 response items",
            reason: "not a whole number of items",
        });
    }
    let chunks: Vec<&[u8]> = items.chunks(per * item_size).collect();
    if chunks.len() > usize::from(MAX_SEQUENCE) + 1 {
        return Err(WireError::Malformed {
            what: "mode 7 response",
            reason: "more than 128 fragments",
        });
    }
    let last = chunks.len() - 1;
    // item_size <= 500 and nitems <= 500 here, so both fit 12 bits.
    let size12 = u16::try_from(item_size).unwrap_or(MAX_12_BITS);
    chunks
        .iter()
        .enumerate()
        .map(|(seq, chunk)| {
            let header = PrivateHeader {
                response: true,
                more: seq != last,
                version: request.version,
                auth: false,
                sequence: seq as u8,
                implementation: request.implementation,
                request: request.request,
                err: InfoError::Okay,
                nitems: (chunk.len() / item_size) as u16,
                mbz: 0,
                item_size: size12,
            };
            PrivateResponse {
                header,
                data: chunk.to_vec(),
            }
            .to_vec()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Implementation, RequestCode};
    use super::*;

    fn req(code: RequestCode) -> PrivateHeader {
        PrivateHeader::request(Implementation::Xntpd, code, 0, 0, false)
    }

    #[test]
    fn ifstats_splits_three_per_datagram() {
        let items = vec![0x5a; 8 * 136];
        let frags = split_response(&req(RequestCode::IfStats), 136, &items).unwrap();
        let lens: Vec<usize> = frags.iter().map(Vec::len).collect();
        assert_eq!(lens, [416, 416, 280]);
        assert_eq!(
            &frags[0][..8],
            &[0xd7, 0x00, 0x03, 0x2c, 0x00, 0x03, 0x00, 0x88]
        );
        assert_eq!(
            &frags[1][..8],
            &[0xd7, 0x01, 0x03, 0x2c, 0x00, 0x03, 0x00, 0x88]
        );
        assert_eq!(
            &frags[2][..8],
            &[0x97, 0x02, 0x03, 0x2c, 0x00, 0x02, 0x00, 0x88]
        );
    }

    #[test]
    fn reslist_splits_eight_per_datagram() {
        assert_eq!(items_per_fragment(56), 8);
        let frags = split_response(&req(RequestCode::GetRestrict), 56, &[0; 11 * 56]).unwrap();
        assert_eq!(frags.iter().map(Vec::len).collect::<Vec<_>>(), [456, 176]);
    }

    #[test]
    fn no_items_gives_a_nodata_reply() {
        let frags = split_response(&req(RequestCode::MonGetList1), 72, &[]).unwrap();
        assert_eq!(frags, vec![vec![0x97, 0, 3, 0x2a, 0x40, 0, 0, 0]]);
    }

    #[test]
    fn splitter_refuses_partial_items_and_too_many_fragments() {
        let r = req(RequestCode::PeerList);
        assert!(split_response(&r, 32, &[0; 33]).is_err());
        assert!(split_response(&r, 0, &[0; 4]).is_err());
        assert!(split_response(&r, 501, &[0; 501]).is_err());
        let max = max_response_items(250);
        assert_eq!(max, 256);
        assert!(split_response(&r, 250, &vec![0; max * 250]).is_ok());
        assert!(split_response(&r, 250, &vec![0; (max + 1) * 250]).is_err());
    }

    #[test]
    fn response_length_must_match_the_header() {
        let mut d = vec![0x97, 0, 3, 8, 0, 1, 0, 24];
        d.extend_from_slice(&[0; 24]);
        assert!(PrivateResponse::decode(&d).is_ok());
        assert!(matches!(
            PrivateResponse::decode(&d[..31]),
            Err(WireError::Truncated { .. })
        ));
        d.push(0);
        assert!(matches!(
            PrivateResponse::decode(&d),
            Err(WireError::TrailingBytes { .. })
        ));
        assert!(PrivateResponse::decode(&[0x17, 0, 3, 8, 0, 0, 0, 0]).is_err());
        assert!(PrivateResponse::decode(&[0x97, 0, 3, 8, 0, 2, 1, 0]).is_err());
    }

    #[test]
    fn ack_is_an_error_reply_with_code_zero() {
        let mut buf = [0xffu8; 8];
        assert_eq!(
            encode_error_reply(&req(RequestCode::Config), InfoError::Okay, &mut buf).unwrap(),
            8
        );
        assert_eq!(buf, [0x97, 0, 3, 10, 0, 0, 0, 0]);
    }
}
