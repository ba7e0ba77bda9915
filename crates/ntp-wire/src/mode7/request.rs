//! Mode 7 request framing: the fixed 192-octet frame, the authenticated layouts and the
//! daemon's rule for finding the MAC in a received request.

use super::{
    LFp, PrivateHeader, HEADER_LEN, MAX_AUTH_REQUEST_LEN, MAX_MAC_LEN, REQUEST_DATA_LEN,
    REQUEST_LEN_NOMAC, REQUEST_TAIL_MIN, REQUEST_TSTAMP_OFFSET,
};
use crate::{Reader, WireError, Writer};

/// Oldest and newest version the classic daemon answers (`NTP_OLDVERSION`, `NTP_VERSION`).
const MIN_VERSION: u8 = 1;
const MAX_VERSION: u8 = 4;

/// Where the timestamp, key id and digest of an authenticated request sit, and which octets
/// the digest covers. Pure layout: computing or checking the digest is the caller's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestMacLayout {
    /// Offset of the 8-octet `tstamp` (l_fp transmit time + delay).
    pub tstamp_offset: usize,
    /// Offset of the 4-octet key id (network order).
    pub key_id_offset: usize,
    /// Offset of the digest.
    pub digest_offset: usize,
    /// Digest length (16 for MD5/AES-CMAC, 20 for SHA1).
    pub digest_len: usize,
    /// The digest covers octets `0..covered_len` (everything before the key id).
    pub covered_len: usize,
    /// Total request length.
    pub total_len: usize,
}

impl RequestMacLayout {
    /// `noslop` of `process_private`: header, items and timestamp, rounded up to 4 octets.
    pub fn noslop(nitems: u16, item_size: u16) -> usize {
        let data = usize::from(nitems) * usize::from(item_size);
        (HEADER_LEN + data + 8 + 3) & !3
    }

    /// The layout ntpdc uses to send an authenticated request.
    ///
    /// A 16-octet digest keeps the fixed frame: timestamp at 184, key id at 192, digest at 196,
    /// 212 octets. Longer digests (17-20 octets, SHA1) use `reqsize = (8 + items + 8 + 3) & ~3`:
    /// timestamp at `reqsize - 8`, key id at `reqsize`, digest after it.
    ///
    /// Quirk kept from classic: with a 16-octet digest and 169..=172 octets of items, `noslop`
    /// is 188 and the daemon's rule ([`RequestMacLayout::server`]) takes the last 24 octets as
    /// the MAC, so such a request never authenticates. No ntpdc command sends that much.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] for a digest length outside 16..=20;
    /// [`WireError::Malformed`] when the items do not fit the 176-octet data area.
    pub fn client(nitems: u16, item_size: u16, digest_len: usize) -> Result<Self, WireError> {
        let data = usize::from(nitems) * usize::from(item_size);
        if data > REQUEST_DATA_LEN {
            return Err(WireError::Malformed {
                what: "mode 7 request",
                reason: "items exceed the 176-octet data area",
            });
        }
        let reqsize = match digest_len {
            16 => REQUEST_LEN_NOMAC,
            17..=20 => Self::noslop(nitems, item_size),
            other => {
                return Err(WireError::InvalidValue {
                    field: "digest length",
                    value: other as u64,
                    expected: "16..=20",
                })
            }
        };
        Ok(RequestMacLayout {
            tstamp_offset: reqsize - 8,
            key_id_offset: reqsize,
            digest_offset: reqsize + 4,
            digest_len,
            covered_len: reqsize,
            total_len: reqsize + 4 + digest_len,
        })
    }

    /// The daemon's rule (`process_private`) for locating the MAC in a received request of
    /// `len` octets: if `len > noslop + 24` the MAC (key id + digest) is the last 20 octets,
    /// else it is everything after `noslop`; the timestamp is the 8 octets before it, and the
    /// digest covers `len - maclen` octets.
    ///
    /// The caller still has to check what the daemon checks next: A bit set, key id equal to
    /// the `requestkey`, `len <= MAX_AUTH_REQUEST_LEN` ([`RequestMacLayout::fits_daemon`]), key
    /// trusted, timestamp within [`TS_MAX_SKEW_SECS`](super::TS_MAX_SKEW_SECS), digest valid.
    ///
    /// # Errors
    /// [`WireError::Malformed`] when `len` is below `8 + items + 28` (the daemon answers
    /// [`InfoError::Fmt`](super::InfoError::Fmt)).
    pub fn server(len: usize, nitems: u16, item_size: u16) -> Result<Self, WireError> {
        let data = usize::from(nitems) * usize::from(item_size);
        let too_short = WireError::Malformed {
            what: "authenticated mode 7 request",
            reason: "shorter than header + items + timestamp + key id + 16-octet digest",
        };
        if len < HEADER_LEN + data + REQUEST_TAIL_MIN {
            return Err(too_short);
        }
        let noslop = Self::noslop(nitems, item_size);
        let mac_len = if len > noslop + MAX_MAC_LEN {
            4 + 16
        } else {
            len.checked_sub(noslop).ok_or(too_short.clone())?
        };
        let tstamp_offset = len.checked_sub(mac_len + 8).ok_or(too_short.clone())?;
        let digest_len = mac_len.checked_sub(4).ok_or(too_short)?;
        Ok(RequestMacLayout {
            tstamp_offset,
            key_id_offset: tstamp_offset + 8,
            digest_offset: tstamp_offset + 12,
            digest_len,
            covered_len: len - mac_len,
            total_len: len,
        })
    }

    /// True when the request is short enough for the daemon (`len <= 192 + 24`).
    pub fn fits_daemon(&self) -> bool {
        self.total_len <= MAX_AUTH_REQUEST_LEN
    }

    /// The octets the digest covers.
    pub fn covered<'a>(&self, request: &'a [u8]) -> Option<&'a [u8]> {
        request.get(..self.covered_len)
    }

    /// The digest octets.
    pub fn digest<'a>(&self, request: &'a [u8]) -> Option<&'a [u8]> {
        request.get(self.digest_offset..self.digest_offset.checked_add(self.digest_len)?)
    }

    /// The key id (network order).
    pub fn key_id(&self, request: &[u8]) -> Option<u32> {
        let b = request.get(self.key_id_offset..self.key_id_offset.checked_add(4)?)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The request timestamp.
    pub fn tstamp(&self, request: &[u8]) -> Option<LFp> {
        let b = request.get(self.tstamp_offset..self.tstamp_offset.checked_add(8)?)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(LFp(u64::from_be_bytes(a)))
    }

    /// Write a computed digest into its place.
    ///
    /// # Errors
    /// [`WireError::InvalidValue`] when `digest` has the wrong length;
    /// [`WireError::BufferTooSmall`] when `request` is shorter than the layout.
    pub fn write_digest(&self, request: &mut [u8], digest: &[u8]) -> Result<(), WireError> {
        if digest.len() != self.digest_len {
            return Err(WireError::InvalidValue {
                field: "digest length",
                value: digest.len() as u64,
                expected: "the layout's digest length",
            });
        }
        let available = request.len();
        let slot = request
            .get_mut(self.digest_offset..self.digest_offset + self.digest_len)
            .ok_or(WireError::BufferTooSmall {
                needed: self.digest_offset + self.digest_len,
                available,
            })?;
        slot.copy_from_slice(digest);
        Ok(())
    }
}

/// What follows a request's data area.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestTail {
    /// Nothing: an unauthenticated request that is not the fixed 192-octet frame (e.g. the
    /// 8-octet monlist probe); every octet after the header is in `data`.
    None,
    /// The fixed unauthenticated frame's timestamp at offset 184 (ntpdc sends zero).
    Timestamp(LFp),
    /// An authenticated request's tail, located with [`RequestMacLayout::server`].
    Mac {
        /// Transmit time (+ ntpdc's `delay`).
        tstamp: LFp,
        /// Key id.
        key_id: u32,
        /// Digest as received (not verified here).
        digest: Vec<u8>,
    },
}

/// A decoded mode 7 request: header, data area (items then padding) and tail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrivateRequest {
    /// The header.
    pub header: PrivateHeader,
    /// The octets between the header and the tail: `nitems * item_size` octets of items, then
    /// padding (zeros from us; whatever the sender had otherwise).
    pub data: Vec<u8>,
    /// Timestamp / MAC.
    pub tail: RequestTail,
}

impl PrivateRequest {
    /// An unauthenticated request in ntpdc's fixed 192-octet frame: `items` zero padded to 176
    /// octets, zero timestamp. The header's A bit is cleared.
    ///
    /// # Errors
    /// [`WireError::Malformed`] when `items` is longer than 176 octets or its length is not
    /// `nitems * item_size`.
    pub fn unauthenticated(mut header: PrivateHeader, items: &[u8]) -> Result<Self, WireError> {
        header.auth = false;
        Self::check_items(&header, items)?;
        let mut data = items.to_vec();
        data.resize(REQUEST_DATA_LEN, 0);
        Ok(PrivateRequest {
            header,
            data,
            tail: RequestTail::Timestamp(LFp(0)),
        })
    }

    /// An authenticated request laid out as [`RequestMacLayout::client`] says, with a zero
    /// digest. Encode it, compute the digest over [`RequestMacLayout::covered`] and put it in
    /// with [`RequestMacLayout::write_digest`] (or set `tail.digest` and encode again).
    /// The header's A bit is set.
    ///
    /// # Errors
    /// As [`RequestMacLayout::client`], and [`WireError::Malformed`] when `items` is not
    /// `nitems * item_size` octets.
    pub fn authenticated(
        mut header: PrivateHeader,
        items: &[u8],
        tstamp: LFp,
        key_id: u32,
        digest_len: usize,
    ) -> Result<Self, WireError> {
        header.auth = true;
        Self::check_items(&header, items)?;
        let layout = RequestMacLayout::client(header.nitems, header.item_size, digest_len)?;
        let mut data = items.to_vec();
        data.resize(layout.tstamp_offset - HEADER_LEN, 0);
        Ok(PrivateRequest {
            header,
            data,
            tail: RequestTail::Mac {
                tstamp,
                key_id,
                digest: vec![0; digest_len],
            },
        })
    }

    fn check_items(header: &PrivateHeader, items: &[u8]) -> Result<(), WireError> {
        if items.len() != header.data_len() {
            return Err(WireError::Malformed {
                what: "mode 7 request",
                reason: "item octets differ from nitems * item size",
            });
        }
        if items.len() > REQUEST_DATA_LEN {
            return Err(WireError::Malformed {
                what: "mode 7 request",
                reason: "items exceed the 176-octet data area",
            });
        }
        Ok(())
    }

    /// Decode a request the way the classic daemon reads it.
    ///
    /// Rejected (the daemon drops these silently): fewer than 8 octets, mode ≠ 7, R or M set,
    /// version outside 1..=4, sequence ≠ 0, error ≠ 0, mbz ≠ 0. With the A bit set the tail is
    /// located by [`RequestMacLayout::server`]; without it a 192-octet request has its
    /// timestamp at 184 and anything else has no tail.
    ///
    /// # Errors
    /// [`WireError::Truncated`], [`WireError::InvalidValue`] naming the failed check, or
    /// [`WireError::Malformed`] from the MAC location rule.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        let header = PrivateHeader::read(&mut r)?;
        let invalid = |field: &'static str, value: u8, expected: &'static str| {
            Err(WireError::InvalidValue {
                field,
                value: u64::from(value),
                expected,
            })
        };
        if header.response {
            return invalid("R bit", 1, "0 in a request");
        }
        if header.more {
            return invalid("M bit", 1, "0 in a request");
        }
        if !(MIN_VERSION..=MAX_VERSION).contains(&header.version) {
            return invalid("version", header.version, "1..=4");
        }
        if header.sequence != 0 {
            return invalid("sequence", header.sequence, "0 in a request");
        }
        if header.err != super::InfoError::Okay {
            return invalid("err", header.err.into(), "0 in a request");
        }
        if header.mbz != 0 {
            return invalid("mbz", header.mbz, "0");
        }
        if header.auth {
            let layout = RequestMacLayout::server(buf.len(), header.nitems, header.item_size)?;
            let data_len = layout.tstamp_offset.saturating_sub(HEADER_LEN);
            let data = r.bytes(data_len, "request data")?.to_vec();
            let tstamp = LFp(r.u64("request tstamp")?);
            let key_id = r.u32("key id")?;
            let digest = r.bytes(layout.digest_len, "digest")?.to_vec();
            r.finish("authenticated mode 7 request")?;
            Ok(PrivateRequest {
                header,
                data,
                tail: RequestTail::Mac {
                    tstamp,
                    key_id,
                    digest,
                },
            })
        } else if buf.len() == REQUEST_LEN_NOMAC {
            let data = r.bytes(REQUEST_DATA_LEN, "request data")?.to_vec();
            let tstamp = LFp(r.u64("request tstamp")?);
            Ok(PrivateRequest {
                header,
                data,
                tail: RequestTail::Timestamp(tstamp),
            })
        } else {
            Ok(PrivateRequest {
                header,
                data: r.rest().to_vec(),
                tail: RequestTail::None,
            })
        }
    }

    /// The item octets: the first `nitems * item_size` octets of the data area.
    ///
    /// # Errors
    /// [`WireError::Malformed`] when the header announces more than the data area holds (the
    /// daemon answers [`InfoError::Fmt`](super::InfoError::Fmt)).
    pub fn items(&self) -> Result<&[u8], WireError> {
        self.data
            .get(..self.header.data_len())
            .ok_or(WireError::Malformed {
                what: "mode 7 request",
                reason: "nitems * item size exceeds the data",
            })
    }

    /// The MAC layout of this request as encoded, if it is authenticated.
    ///
    /// # Errors
    /// As [`RequestMacLayout::server`].
    pub fn mac_layout(&self) -> Result<Option<RequestMacLayout>, WireError> {
        match self.tail {
            RequestTail::Mac { .. } => RequestMacLayout::server(
                self.encoded_len(),
                self.header.nitems,
                self.header.item_size,
            )
            .map(Some),
            _ => Ok(None),
        }
    }

    /// Encoded length.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self.data.len()
            + match &self.tail {
                RequestTail::None => 0,
                RequestTail::Timestamp(_) => 8,
                RequestTail::Mac { digest, .. } => 12 + digest.len(),
            }
    }

    /// Encode into `buf`, returning the length written.
    ///
    /// # Errors
    /// As [`PrivateHeader::to_bytes`], plus [`WireError::BufferTooSmall`].
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut w = Writer::new(buf);
        self.header.write(&mut w)?;
        w.bytes(&self.data)?;
        match &self.tail {
            RequestTail::None => {}
            RequestTail::Timestamp(t) => w.u64(t.0)?,
            RequestTail::Mac {
                tstamp,
                key_id,
                digest,
            } => {
                w.u64(tstamp.0)?;
                w.u32(*key_id)?;
                w.bytes(digest)?;
            }
        }
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

// The fixed-frame constants must agree with each other.
const _: () = assert!(REQUEST_TSTAMP_OFFSET == 184 && REQUEST_LEN_NOMAC == 192);

#[cfg(test)]
mod tests {
    use super::super::{Implementation, RequestCode};
    use super::*;

    fn hdr(code: RequestCode, nitems: u16, size: u16) -> PrivateHeader {
        PrivateHeader::request(Implementation::Xntpd, code, nitems, size, false)
    }

    #[test]
    fn unauthenticated_request_is_192_octets() {
        let req = PrivateRequest::unauthenticated(hdr(RequestCode::SysInfo, 0, 0), &[]).unwrap();
        let bytes = req.to_vec().unwrap();
        assert_eq!(bytes.len(), 192);
        assert_eq!(&bytes[..8], &[0x17, 0, 3, 4, 0, 0, 0, 0]);
        assert!(bytes[8..].iter().all(|&b| b == 0));
        assert_eq!(PrivateRequest::decode(&bytes).unwrap(), req);
    }

    #[test]
    fn md5_request_is_212_octets_with_mac_at_192() {
        let req = PrivateRequest::authenticated(
            hdr(RequestCode::IfStats, 0, 0),
            &[],
            LFp(0x1122_3344_5566_7788),
            1,
            16,
        )
        .unwrap();
        let mut bytes = req.to_vec().unwrap();
        assert_eq!(bytes.len(), 212);
        assert_eq!(&bytes[..4], &[0x17, 0x80, 3, 0x2c]);
        let layout = req.mac_layout().unwrap().unwrap();
        assert_eq!(layout, RequestMacLayout::client(0, 0, 16).unwrap());
        assert_eq!(
            (
                layout.tstamp_offset,
                layout.key_id_offset,
                layout.digest_offset,
                layout.covered_len
            ),
            (184, 192, 196, 192)
        );
        layout.write_digest(&mut bytes, &[0xab; 16]).unwrap();
        assert_eq!(layout.key_id(&bytes), Some(1));
        assert_eq!(layout.tstamp(&bytes), Some(LFp(0x1122_3344_5566_7788)));
        assert_eq!(layout.digest(&bytes), Some(&[0xab; 16][..]));
        let back = PrivateRequest::decode(&bytes).unwrap();
        assert!(
            matches!(back.tail, RequestTail::Mac { key_id: 1, ref digest, .. } if digest == &[0xab; 16])
        );
        assert_eq!(back.to_vec().unwrap(), bytes);
    }

    #[test]
    fn sha1_request_uses_reqsize() {
        // One 32-octet peer-list item: reqsize = (8 + 32 + 8 + 3) & ~3 = 48.
        let layout = RequestMacLayout::client(1, 32, 20).unwrap();
        assert_eq!(layout.tstamp_offset, 40);
        assert_eq!(layout.key_id_offset, 48);
        assert_eq!(layout.digest_offset, 52);
        assert_eq!(layout.total_len, 48 + 24);
        assert_eq!(RequestMacLayout::server(72, 1, 32).unwrap(), layout);
    }

    #[test]
    fn server_rule_takes_twenty_octets_when_longer_than_noslop_plus_24() {
        let l = RequestMacLayout::server(212, 0, 0).unwrap();
        assert_eq!(RequestMacLayout::noslop(0, 0), 16);
        assert_eq!(
            (l.digest_len, l.covered_len, l.tstamp_offset),
            (16, 192, 184)
        );
        assert!(l.fits_daemon());
        assert!(!RequestMacLayout::server(220, 0, 0).unwrap().fits_daemon());
    }

    #[test]
    fn daemon_misplaces_md5_mac_after_169_to_172_item_octets() {
        for data in [168u16, 173, 176] {
            let c = RequestMacLayout::client(1, data, 16).unwrap();
            assert_eq!(RequestMacLayout::server(c.total_len, 1, data).unwrap(), c);
        }
        for data in 169u16..=172 {
            let c = RequestMacLayout::client(1, data, 16).unwrap();
            let s = RequestMacLayout::server(c.total_len, 1, data).unwrap();
            assert_eq!((s.digest_len, s.key_id_offset), (20, 188));
        }
    }

    #[test]
    fn too_short_authenticated_request_is_malformed() {
        assert!(RequestMacLayout::server(35, 0, 0).is_err());
        assert!(RequestMacLayout::server(36, 1, 8).is_err());
        let mut bytes = [0u8; 20];
        bytes[..4].copy_from_slice(&[0x17, 0x80, 3, 0x2c]);
        assert!(PrivateRequest::decode(&bytes).is_err());
    }

    #[test]
    fn bad_digest_lengths_are_refused() {
        assert!(RequestMacLayout::client(0, 0, 15).is_err());
        assert!(RequestMacLayout::client(0, 0, 21).is_err());
        assert!(RequestMacLayout::client(6, 32, 16).is_err());
        let l = RequestMacLayout::client(0, 0, 16).unwrap();
        assert!(l.write_digest(&mut [0u8; 212], &[0; 20]).is_err());
        assert!(l.write_digest(&mut [0u8; 200], &[0; 16]).is_err());
    }

    #[test]
    fn daemon_drop_conditions_are_errors() {
        let good = PrivateRequest::unauthenticated(hdr(RequestCode::SysInfo, 0, 0), &[])
            .unwrap()
            .to_vec()
            .unwrap();
        for (i, v) in [
            (0, 0x97),
            (0, 0x57),
            (0, 0x2f),
            (0, 0x07),
            (1, 0x01),
            (4, 0x10),
            (6, 0x10),
        ] {
            let mut b = good.clone();
            b[i] = v;
            assert!(PrivateRequest::decode(&b).is_err(), "octet {i} = {v:#x}");
        }
    }

    #[test]
    fn short_unauthenticated_request_keeps_everything_as_data() {
        let probe = [0x17, 0, 3, 0x2a, 0, 0, 0, 0];
        let req = PrivateRequest::decode(&probe).unwrap();
        assert_eq!(req.tail, RequestTail::None);
        assert!(req.data.is_empty());
        assert_eq!(req.to_vec().unwrap(), probe);
    }

    #[test]
    fn items_must_fit_the_data() {
        let mut h = hdr(RequestCode::PeerInfo, 1, 32);
        let req = PrivateRequest::unauthenticated(h, &[7; 32]).unwrap();
        assert_eq!(req.items().unwrap(), &[7; 32]);
        h.nitems = 6;
        assert!(PrivateRequest::unauthenticated(h, &[0; 192]).is_err());
        let probe = PrivateRequest::decode(&[0x17, 0, 3, 2, 0, 1, 0, 32]).unwrap();
        assert!(probe.items().is_err());
    }
}
