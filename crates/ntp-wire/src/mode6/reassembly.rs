//! Client side of mode 6 fragmentation: collecting the fragments of one response with the
//! checks of classic ntpq's `getresponse()`.

use super::{ControlHeader, ControlMessage, ErrorCode, Opcode, CTL_HEADER_LEN, SUPPORTED_VERSIONS};
use crate::WireError;

/// Most fragments ntpq accepts for one response (`MAXFRAGS`).
pub const MAX_FRAGMENTS: usize = 32;

/// Size of ntpq's reassembly buffer (`DATASIZE` = `MAXFRAGS * 480`): offset + count beyond it
/// is refused.
pub const MAX_RESPONSE_DATA: usize = MAX_FRAGMENTS * 480;

/// Why a received datagram was not taken into the response.
///
/// Only [`ReassemblyError::is_fatal`] errors end the exchange in ntpq; for the others ntpq
/// ignores the datagram and keeps waiting. The [`Reassembler`] is left unchanged by every
/// error, so the caller can do the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReassemblyError {
    /// The datagram is not a decodable mode 6 message (e.g. `count` larger than the data).
    #[error("malformed mode 6 datagram: {0}")]
    Malformed(WireError),
    /// The version is outside 1..=4.
    #[error("packet received with version {0}")]
    BadVersion(u8),
    /// The R bit is clear.
    #[error("not a response")]
    NotResponse,
    /// The sequence number is not the request's.
    #[error("received sequence number {got}, wanted {want}")]
    SequenceMismatch {
        /// Sequence in the datagram.
        got: u16,
        /// Sequence of the request.
        want: u16,
    },
    /// The opcode is not the request's.
    #[error("received opcode {got}, wanted {want}")]
    OpcodeMismatch {
        /// Opcode in the datagram.
        got: u8,
        /// Opcode of the request.
        want: u8,
    },
    /// The server answered with an error code (fatal).
    #[error("server error {code:?}")]
    ServerError {
        /// The code from the status word.
        code: ErrorCode,
    },
    /// The association ID is not the request's.
    #[error("association ID {got} doesn't match expected {want}")]
    AssocMismatch {
        /// Association in the datagram.
        got: u16,
        /// Association of the request.
        want: u16,
    },
    /// The datagram length is not a multiple of 4.
    #[error("response packet not padded, size = {len}")]
    NotPadded {
        /// Datagram length.
        len: usize,
    },
    /// `count` claims more data than the datagram holds (fatal: ntpq returns
    /// `ERR_INCOMPLETE`, "Response from server was incomplete").
    #[error("response packet claims {count} octets payload, above {available} received")]
    Incomplete {
        /// The `count` field.
        count: u16,
        /// Octets after the header.
        available: usize,
    },
    /// A fragment with M set carries no data.
    #[error("received count of 0 in non-final fragment at offset {offset}")]
    EmptyNonFinal {
        /// Its offset.
        offset: u16,
    },
    /// `offset + count` is beyond [`MAX_RESPONSE_DATA`] (fatal).
    #[error("offset {offset}, count {count}, too big for buffer")]
    TooLarge {
        /// Fragment offset.
        offset: u16,
        /// Fragment count.
        count: u16,
    },
    /// A second fragment with M clear arrived.
    #[error("received second last fragment packet")]
    SecondLast,
    /// More than [`MAX_FRAGMENTS`] fragments (fatal).
    #[error("number of fragments exceeds maximum {MAX_FRAGMENTS}")]
    TooManyFragments,
    /// A fragment at an offset already received.
    #[error("duplicate {count} octets at {offset} ignored")]
    Duplicate {
        /// Offset.
        offset: u16,
        /// Count.
        count: u16,
    },
    /// A fragment overlapping one already received.
    #[error("received {count} octet frag at {offset} overlaps")]
    Overlap {
        /// Offset.
        offset: u16,
        /// Count.
        count: u16,
    },
}

impl ReassemblyError {
    /// True for the errors after which ntpq gives up on the response (server error, count
    /// beyond the data, too much data); the others only make it drop the datagram.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ReassemblyError::ServerError { .. }
                | ReassemblyError::Incomplete { .. }
                | ReassemblyError::TooLarge { .. }
                | ReassemblyError::TooManyFragments
        )
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlResponse {
    /// Status word of the last fragment (M clear).
    pub status: u16,
    /// Leap bits of the last fragment's header.
    pub leap: u8,
    /// Association ID of the last fragment (the request's unless [`Reassembler::lenient_assoc`]).
    pub assoc_id: u16,
    /// The data of all fragments, in offset order.
    pub data: Vec<u8>,
    /// How many fragments it came in.
    pub fragments: usize,
}

/// Result of feeding one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More fragments are needed.
    Incomplete,
    /// The response is complete.
    Complete(ControlResponse),
}

/// Collects the fragments of the response to one request, in any order.
#[derive(Debug, Clone)]
pub struct Reassembler {
    opcode: Opcode,
    sequence: u16,
    assoc_id: u16,
    /// (offset, data), sorted by offset, non-overlapping.
    frags: Vec<(u16, Vec<u8>)>,
    /// (status, leap, association) of the M-clear fragment.
    last: Option<(u16, u8, u16)>,
    strict_assoc: bool,
}

impl Reassembler {
    /// Expect the response to `request` (its opcode, sequence and association).
    pub fn new(request: &ControlHeader) -> Self {
        Reassembler {
            opcode: request.opcode,
            sequence: request.sequence,
            assoc_id: request.assoc_id,
            frags: Vec::new(),
            last: None,
            strict_assoc: true,
        }
    }

    /// Accept fragments whose association ID differs from the request's, as classic ntpq
    /// does (its check is compiled out: old fuzzballs answer system queries with the system
    /// peer's ID). By default such fragments get [`ReassemblyError::AssocMismatch`].
    pub fn lenient_assoc(mut self) -> Self {
        self.strict_assoc = false;
        self
    }

    /// Fragments accepted so far.
    pub fn fragment_count(&self) -> usize {
        self.frags.len()
    }

    /// Check and feed one received datagram, like [`Self::accept`]; additionally a datagram
    /// whose `count` exceeds its data gives the fatal [`ReassemblyError::Incomplete`] (after
    /// the header checks, as in ntpq).
    ///
    /// # Errors
    /// [`ReassemblyError::Malformed`] when the header does not decode (too short, not mode 6),
    /// else as [`Self::accept`].
    pub fn accept_datagram(&mut self, datagram: &[u8]) -> Result<Progress, ReassemblyError> {
        let h = ControlHeader::decode(datagram).map_err(ReassemblyError::Malformed)?;
        self.check_header(&h, datagram.len())?;
        let available = datagram.len() - CTL_HEADER_LEN;
        if usize::from(h.count) > available {
            return Err(ReassemblyError::Incomplete {
                count: h.count,
                available,
            });
        }
        let msg = ControlMessage::decode(datagram).map_err(ReassemblyError::Malformed)?;
        self.accept(&msg)
    }

    /// ntpq's per-datagram header checks, in its order.
    fn check_header(&self, h: &ControlHeader, len: usize) -> Result<(), ReassemblyError> {
        if !SUPPORTED_VERSIONS.contains(&h.version) {
            return Err(ReassemblyError::BadVersion(h.version));
        }
        if !h.response {
            return Err(ReassemblyError::NotResponse);
        }
        if h.sequence != self.sequence {
            return Err(ReassemblyError::SequenceMismatch {
                got: h.sequence,
                want: self.sequence,
            });
        }
        if h.opcode != self.opcode {
            return Err(ReassemblyError::OpcodeMismatch {
                got: h.opcode.to_u8(),
                want: self.opcode.to_u8(),
            });
        }
        if let Some(code) = h.error_code() {
            return Err(ReassemblyError::ServerError { code });
        }
        if self.strict_assoc && h.assoc_id != self.assoc_id {
            return Err(ReassemblyError::AssocMismatch {
                got: h.assoc_id,
                want: self.assoc_id,
            });
        }
        if len % 4 != 0 {
            return Err(ReassemblyError::NotPadded { len });
        }
        Ok(())
    }

    /// Feed one decoded datagram, with ntpq's checks in ntpq's order: version, R bit,
    /// sequence, opcode, E bit (→ [`ReassemblyError::ServerError`]), association, padding to 4,
    /// empty non-final fragment, buffer size, second final fragment, fragment limit, duplicate,
    /// overlap. The response is complete once the M-clear fragment is in and the offsets run
    /// contiguously from 0. MACs are not checked here.
    ///
    /// # Errors
    /// [`ReassemblyError`]; the reassembler is unchanged then.
    pub fn accept(&mut self, msg: &ControlMessage) -> Result<Progress, ReassemblyError> {
        let h = &msg.header;
        self.check_header(h, msg.encoded_len())?;
        let (offset, count) = (h.offset, h.count);
        if count == 0 && h.more {
            return Err(ReassemblyError::EmptyNonFinal { offset });
        }
        let end = usize::from(offset) + usize::from(count);
        if end > MAX_RESPONSE_DATA {
            return Err(ReassemblyError::TooLarge { offset, count });
        }
        if self.last.is_some() && !h.more {
            return Err(ReassemblyError::SecondLast);
        }
        if self.frags.len() >= MAX_FRAGMENTS {
            return Err(ReassemblyError::TooManyFragments);
        }
        let pos = self.frags.partition_point(|(o, _)| *o < offset);
        if self.frags.get(pos).is_some_and(|(o, _)| *o == offset) {
            return Err(ReassemblyError::Duplicate { offset, count });
        }
        let prev_overlaps = pos
            .checked_sub(1)
            .and_then(|p| self.frags.get(p))
            .is_some_and(|(o, d)| usize::from(*o) + d.len() > usize::from(offset));
        let next_overlaps = self
            .frags
            .get(pos)
            .is_some_and(|(o, _)| end > usize::from(*o));
        if prev_overlaps || next_overlaps {
            return Err(ReassemblyError::Overlap { offset, count });
        }
        self.frags.insert(pos, (offset, msg.data.clone()));
        if !h.more {
            self.last = Some((h.status, h.leap, h.assoc_id));
        }
        Ok(self.completed())
    }

    fn completed(&self) -> Progress {
        let Some((status, leap, assoc_id)) = self.last else {
            return Progress::Incomplete;
        };
        let mut expect = 0usize;
        for (o, d) in &self.frags {
            if usize::from(*o) != expect {
                return Progress::Incomplete;
            }
            expect += d.len();
        }
        Progress::Complete(ControlResponse {
            status,
            leap,
            assoc_id,
            data: self
                .frags
                .iter()
                .flat_map(|(_, d)| d.iter().copied())
                .collect(),
            fragments: self.frags.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(req: &ControlHeader, offset: u16, data: &[u8], more: bool) -> ControlMessage {
        let h = ControlHeader {
            response: true,
            more,
            offset,
            status: 0x0616,
            ..*req
        };
        ControlMessage::new(h, data.to_vec()).unwrap()
    }

    fn req() -> ControlHeader {
        ControlHeader::request(Opcode::ReadVar, 5, 0)
    }

    #[test]
    fn fragments_in_any_order_complete_the_response() {
        let r = req();
        let mut a = Reassembler::new(&r);
        assert_eq!(
            a.accept(&frag(&r, 4, b"efgh", false)).unwrap(),
            Progress::Incomplete
        );
        let Progress::Complete(resp) = a.accept(&frag(&r, 0, b"abcd", true)).unwrap() else {
            panic!("incomplete");
        };
        assert_eq!(resp.data, b"abcdefgh");
        assert_eq!(resp.status, 0x0616);
        assert_eq!(resp.fragments, 2);
    }

    #[test]
    fn hole_keeps_it_incomplete() {
        let r = req();
        let mut a = Reassembler::new(&r);
        a.accept(&frag(&r, 0, b"abcd", true)).unwrap();
        assert_eq!(
            a.accept(&frag(&r, 8, b"ijkl", false)).unwrap(),
            Progress::Incomplete
        );
    }

    #[test]
    fn duplicate_and_overlap_are_rejected_without_state_change() {
        let r = req();
        let mut a = Reassembler::new(&r);
        a.accept(&frag(&r, 4, b"efgh", true)).unwrap();
        assert_eq!(
            a.accept(&frag(&r, 4, b"efgh", true)),
            Err(ReassemblyError::Duplicate {
                offset: 4,
                count: 4
            })
        );
        assert!(matches!(
            a.accept(&frag(&r, 0, b"abcdefgh", true)),
            Err(ReassemblyError::Overlap { .. })
        ));
        assert!(matches!(
            a.accept(&frag(&r, 6, b"xxxx", true)),
            Err(ReassemblyError::Overlap { .. })
        ));
        assert_eq!(a.fragment_count(), 1);
    }

    #[test]
    fn mismatches_and_bad_fragments_are_typed() {
        let r = req();
        let mut a = Reassembler::new(&r);
        let mut m = frag(&r, 0, b"abcd", false);
        m.header.sequence = 9;
        assert!(matches!(
            a.accept(&m),
            Err(ReassemblyError::SequenceMismatch { got: 9, want: 5 })
        ));
        let mut m = frag(&r, 0, b"abcd", false);
        m.header.opcode = Opcode::ReadClock;
        assert!(matches!(
            a.accept(&m),
            Err(ReassemblyError::OpcodeMismatch { .. })
        ));
        let mut m = frag(&r, 0, b"abcd", false);
        m.header.assoc_id = 1;
        assert!(matches!(
            a.accept(&m),
            Err(ReassemblyError::AssocMismatch { .. })
        ));
        let mut m = frag(&r, 0, b"abcd", false);
        m.header.response = false;
        assert_eq!(a.accept(&m), Err(ReassemblyError::NotResponse));
        let mut m = frag(&r, 0, b"abcd", false);
        m.header.version = 5;
        assert_eq!(a.accept(&m), Err(ReassemblyError::BadVersion(5)));
        assert_eq!(
            a.accept(&frag(&r, 0, b"", true)),
            Err(ReassemblyError::EmptyNonFinal { offset: 0 })
        );
        let err = a.accept(&frag(&r, 15_000, &[b'a'; 400], true)).unwrap_err();
        assert!(err.is_fatal());
        let mut m = frag(&r, 0, b"abc", false);
        m.padding.clear();
        assert_eq!(a.accept(&m), Err(ReassemblyError::NotPadded { len: 15 }));
        assert_eq!(a.fragment_count(), 0);
    }

    #[test]
    fn lenient_assoc_accepts_a_foreign_association_like_ntpq() {
        let r = req();
        let mut m = frag(&r, 0, b"abcd", false);
        m.header.assoc_id = 10098;
        let mut a = Reassembler::new(&r).lenient_assoc();
        let Progress::Complete(resp) = a.accept(&m).unwrap() else {
            panic!("incomplete");
        };
        assert_eq!(resp.assoc_id, 10098);
    }

    #[test]
    fn count_beyond_data_is_fatal_incomplete() {
        let r = req();
        let mut a = Reassembler::new(&r);
        // Response to READVAR seq 5 claiming 16 data octets with none present.
        let e = a
            .accept_datagram(&[0x16, 0x82, 0, 5, 6, 0x15, 0, 0, 0, 0, 0, 16])
            .unwrap_err();
        assert_eq!(
            e,
            ReassemblyError::Incomplete {
                count: 16,
                available: 0
            }
        );
        assert!(e.is_fatal());
        // A short datagram is merely ignored.
        let e = a.accept_datagram(&[0x16, 0x82, 0, 5]).unwrap_err();
        assert!(matches!(e, ReassemblyError::Malformed(_)) && !e.is_fatal());
    }

    #[test]
    fn server_error_is_fatal_and_carries_code() {
        let r = req();
        let mut a = Reassembler::new(&r);
        let e = a
            .accept_datagram(&[0x16, 0xc2, 0, 5, 5, 0, 0, 0, 1, 0xd4, 0, 0])
            .unwrap_err();
        assert_eq!(
            e,
            ReassemblyError::ServerError {
                code: ErrorCode::UnknownVar
            }
        );
        assert!(e.is_fatal());
    }

    #[test]
    fn more_than_32_fragments_is_refused() {
        let r = req();
        let mut a = Reassembler::new(&r);
        for i in 0..32u16 {
            a.accept(&frag(&r, i * 4, b"abcd", true)).unwrap();
        }
        assert_eq!(
            a.accept(&frag(&r, 128, b"abcd", false)),
            Err(ReassemblyError::TooManyFragments)
        );
    }

    #[test]
    fn second_final_fragment_is_refused() {
        let r = req();
        let mut a = Reassembler::new(&r);
        a.accept(&frag(&r, 4, b"efgh", false)).unwrap();
        assert_eq!(
            a.accept(&frag(&r, 8, b"ijkl", false)),
            Err(ReassemblyError::SecondLast)
        );
    }
}
