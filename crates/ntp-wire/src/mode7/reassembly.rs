//! Client-side reassembly of a multi-datagram mode 7 response (what ntpdc's `getresponse`
//! does): fragments in any order, numbered 0..=n, the last one without the M bit.

use super::{Implementation, InfoError, PrivateHeader, PrivateResponse, RequestCode, MAX_SEQUENCE};

/// What became of one datagram given to [`Reassembler::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// Not usable for this exchange; ntpdc skips such datagrams and keeps waiting. The reason
    /// says why (not a response, other request, duplicate, malformed...).
    Ignored(&'static str),
    /// Stored; more fragments are needed.
    Pending,
    /// The server answered with an error code.
    ServerError(InfoError),
    /// Every fragment is in.
    Complete(ReassembledResponse),
}

/// A complete response: the items of all fragments in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassembledResponse {
    /// The header of fragment 0.
    pub first_header: PrivateHeader,
    /// Size of one item.
    pub item_size: usize,
    /// Total number of items.
    pub nitems: usize,
    /// All items, back to back.
    pub data: Vec<u8>,
}

/// Collects the fragments of one response.
#[derive(Debug, Clone)]
pub struct Reassembler {
    implementation: Implementation,
    request: RequestCode,
    fragments: Vec<Option<PrivateResponse>>,
    last: Option<u8>,
    item_size: Option<u16>,
}

impl Reassembler {
    /// Expect the response to a request with this implementation and code.
    pub fn new(implementation: Implementation, request: RequestCode) -> Self {
        Reassembler {
            implementation,
            request,
            fragments: vec![None; usize::from(MAX_SEQUENCE) + 1],
            last: None,
            item_size: None,
        }
    }

    /// Number of fragments received so far.
    pub fn received(&self) -> usize {
        self.fragments.iter().filter(|f| f.is_some()).count()
    }

    /// True once some, but not all, fragments are in: on a timeout ntpdc then reports
    /// `***Response from server was incomplete` rather than `***Request timed out`.
    pub fn is_partial(&self) -> bool {
        self.received() > 0
    }

    /// Feed one received datagram.
    pub fn push(&mut self, datagram: &[u8]) -> Fragment {
        let header = match PrivateHeader::decode(datagram) {
            Ok(h) => h,
            Err(_) => return Fragment::Ignored("not a mode 7 datagram"),
        };
        if !header.response {
            return Fragment::Ignored("request packet, wanted a response");
        }
        if !(1..=4).contains(&header.version) {
            return Fragment::Ignored("unsupported version");
        }
        if header.implementation != self.implementation || header.request != self.request {
            return Fragment::Ignored("response to another implementation or request");
        }
        if header.err != InfoError::Okay {
            return Fragment::ServerError(header.err);
        }
        let resp = match PrivateResponse::decode(datagram) {
            Ok(r) => r,
            Err(_) => return Fragment::Ignored("length disagrees with nitems * item size"),
        };
        if let Some(size) = self.item_size {
            if size != header.item_size && header.nitems != 0 {
                return Fragment::Ignored("item size differs from the first fragment's");
            }
        }
        let seq = header.sequence;
        if let Some(last) = self.last {
            if seq > last {
                return Fragment::Ignored("sequence after the last fragment");
            }
            if !header.more && seq != last {
                return Fragment::Ignored("second last fragment");
            }
        }
        let Some(slot) = self.fragments.get_mut(usize::from(seq)) else {
            return Fragment::Ignored("sequence out of range");
        };
        if slot.is_some() {
            return Fragment::Ignored("duplicate fragment");
        }
        if !header.more {
            // A fragment already stored beyond this "last" one contradicts it.
            if self
                .fragments
                .iter()
                .skip(usize::from(seq) + 1)
                .any(Option::is_some)
            {
                return Fragment::Ignored("last fragment before a stored one");
            }
            self.last = Some(seq);
        }
        if header.nitems != 0 {
            self.item_size.get_or_insert(header.item_size);
        }
        if let Some(slot) = self.fragments.get_mut(usize::from(seq)) {
            *slot = Some(resp);
        }
        self.try_complete()
    }

    fn try_complete(&self) -> Fragment {
        let Some(last) = self.last else {
            return Fragment::Pending;
        };
        let Some(wanted) = self.fragments.get(..=usize::from(last)) else {
            return Fragment::Pending;
        };
        if wanted.iter().any(Option::is_none) {
            return Fragment::Pending;
        }
        let mut data = Vec::new();
        let mut nitems = 0usize;
        let mut first_header = None;
        for frag in wanted.iter().flatten() {
            first_header.get_or_insert(frag.header);
            nitems += usize::from(frag.header.nitems);
            data.extend_from_slice(&frag.data);
        }
        match first_header {
            Some(first_header) => Fragment::Complete(ReassembledResponse {
                first_header,
                item_size: usize::from(self.item_size.unwrap_or(0)),
                nitems,
                data,
            }),
            None => Fragment::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::split_response;
    use super::*;

    fn req() -> PrivateHeader {
        PrivateHeader::request(Implementation::Xntpd, RequestCode::IfStats, 0, 0, true)
    }

    #[test]
    fn fragments_in_any_order_reassemble() {
        let items: Vec<u8> = (0..8 * 136).map(|i| i as u8).collect();
        let frags = split_response(&req(), 136, &items).unwrap();
        let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::IfStats);
        assert_eq!(r.push(&frags[2]), Fragment::Pending);
        assert_eq!(r.push(&frags[2]), Fragment::Ignored("duplicate fragment"));
        assert_eq!(r.push(&frags[0]), Fragment::Pending);
        assert!(r.is_partial());
        match r.push(&frags[1]) {
            Fragment::Complete(done) => {
                assert_eq!(done.item_size, 136);
                assert_eq!(done.nitems, 8);
                assert_eq!(done.data, items);
            }
            other => panic!("expected completion, got {other:?}"),
        }
    }

    #[test]
    fn error_reply_is_reported() {
        let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::IfStats);
        assert_eq!(
            r.push(&[0x97, 0, 3, 0x2c, 0x70, 0, 0, 0]),
            Fragment::ServerError(InfoError::Auth)
        );
    }

    #[test]
    fn unrelated_datagrams_are_ignored() {
        let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::SysInfo);
        assert!(matches!(
            r.push(&[0x17, 0, 3, 4, 0, 0, 0, 0]),
            Fragment::Ignored(_)
        ));
        assert!(matches!(
            r.push(&[0x97, 0, 3, 5, 0, 0, 0, 0]),
            Fragment::Ignored(_)
        ));
        assert!(matches!(
            r.push(&[0x97, 0, 2, 4, 0, 0, 0, 0]),
            Fragment::Ignored(_)
        ));
        assert!(matches!(r.push(&[0x97, 0, 3]), Fragment::Ignored(_)));
        assert!(matches!(
            r.push(&[0x97, 0, 3, 4, 0, 1, 0, 80]),
            Fragment::Ignored(_)
        ));
        assert!(matches!(
            r.push(&[0xaf, 0, 3, 4, 0, 0, 0, 0]),
            Fragment::Ignored(_)
        ));
        assert_eq!(r.received(), 0);
    }

    #[test]
    fn fragments_past_the_last_are_ignored() {
        let frags = split_response(&req(), 136, &[1; 4 * 136]).unwrap();
        let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::IfStats);
        assert_eq!(r.push(&frags[1]), Fragment::Pending);
        let mut late = frags[0].clone();
        late[1] = 5; // sequence 5 with M set, after the last (1)
        assert!(matches!(r.push(&late), Fragment::Ignored(_)));
        assert!(matches!(r.push(&frags[0]), Fragment::Complete(_)));
    }

    #[test]
    fn single_datagram_completes_at_once() {
        let frags = split_response(&req(), 136, &[9; 136]).unwrap();
        let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::IfStats);
        assert!(matches!(r.push(&frags[0]), Fragment::Complete(ref d) if d.nitems == 1));
    }
}
