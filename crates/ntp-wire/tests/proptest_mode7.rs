//! Property tests for mode 7: header and item round trips, request/response framing round
//! trips, MAC layout agreement between client and daemon rules, split/reassemble, and decoders
//! that never panic on arbitrary bytes.

use ntp_wire::mode7::{
    split_response, ClockAddr, ConfFudge, ConfPeer, ConfRestrict, ConfSysFlags, ConfTrap,
    ConfUnpeer, Fragment, Implementation, InfoAuth, InfoClkBug, InfoClock, InfoControl, InfoError,
    InfoIfStats, InfoIoStats, InfoKernel, InfoLoop, InfoMemStats, InfoMonitor, InfoMonitor1,
    InfoPeer, InfoPeerList, InfoPeerStats, InfoPeerSummary, InfoRestrict, InfoSys, InfoSysStats,
    InfoTimerStats, InfoTrap, ItemLayout, KeyIdItem, OldConfPeer, PrivateHeader, PrivateItem,
    PrivateRequest, PrivateResponse, Reassembler, RequestCode, RequestItems, RequestMacLayout,
    ResetFlags, ResponseItems, MAX_SEQUENCE,
};
use proptest::prelude::*;

fn header_strategy() -> impl Strategy<Value = PrivateHeader> {
    (
        any::<(bool, bool, bool)>(),
        0u8..8,
        0u8..=MAX_SEQUENCE,
        any::<(u8, u8)>(),
        0u8..16,
        0u16..0x1000,
        0u8..16,
        0u16..0x1000,
    )
        .prop_map(
            |((response, more, auth), version, sequence, (imp, code), err, nitems, mbz, size)| {
                PrivateHeader {
                    response,
                    more,
                    version,
                    auth,
                    sequence,
                    implementation: Implementation::from(imp),
                    request: RequestCode::from(code),
                    err: InfoError::from(err),
                    nitems,
                    mbz,
                    item_size: size,
                }
            },
        )
}

/// Bytes of one item in `layout` decode, re-encode to the same bytes, and the decoded value
/// survives a second round trip.
fn item_round_trip<T: PrivateItem + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
    layout: ItemLayout,
) -> Result<(), TestCaseError> {
    let n = T::size_of(layout);
    let bytes = &bytes[..n];
    let item = T::decode(bytes).map_err(|e| TestCaseError::fail(format!("{}: {e}", T::NAME)))?;
    let again = item.to_vec(layout);
    prop_assert_eq!(&again[..], bytes, "{}", T::NAME);
    prop_assert_eq!(T::decode(&again).unwrap(), item);
    Ok(())
}

macro_rules! all_items {
    ($bytes:expr, $layout:expr, $($t:ty),* $(,)?) => {
        $( item_round_trip::<$t>($bytes, $layout)?; )*
    };
}

proptest! {
    #[test]
    fn header_struct_round_trips(h in header_strategy()) {
        let bytes = h.to_bytes().unwrap();
        prop_assert_eq!(PrivateHeader::decode(&bytes).unwrap(), h);
    }

    #[test]
    fn header_bytes_round_trip(mut b in any::<[u8; 8]>()) {
        b[0] = (b[0] & !7) | 7;
        let h = PrivateHeader::decode(&b).unwrap();
        prop_assert_eq!(h.to_bytes().unwrap(), b);
    }

    #[test]
    fn every_item_struct_round_trips_in_both_layouts(bytes in proptest::collection::vec(any::<u8>(), 332)) {
        for layout in [ItemLayout::Full, ItemLayout::Truncated] {
            all_items!(
                &bytes, layout,
                InfoPeerList, InfoPeerSummary, InfoPeer, InfoPeerStats, InfoSys, InfoSysStats,
                InfoIoStats, InfoMemStats, InfoLoop, InfoTimerStats, InfoKernel, InfoIfStats,
                InfoRestrict, InfoMonitor1, InfoMonitor, InfoAuth, InfoTrap, InfoControl,
                InfoClock, InfoClkBug, ConfPeer, OldConfPeer, ConfUnpeer, ConfSysFlags,
                ConfRestrict, ResetFlags, ConfTrap, ConfFudge, ClockAddr, KeyIdItem,
            );
        }
    }

    #[test]
    fn decoders_never_panic(
        mut bytes in proptest::collection::vec(any::<u8>(), 0..600),
        force_mode7 in any::<bool>(),
    ) {
        // Half the cases carry mode 7 so the decoders get past the first check.
        if let (true, Some(b0)) = (force_mode7, bytes.first_mut()) {
            *b0 |= 7;
        }
        let _ = PrivateHeader::decode(&bytes);
        if let Ok(req) = PrivateRequest::decode(&bytes) {
            prop_assert_eq!(req.to_vec().unwrap(), bytes.clone());
            if let Ok(items) = req.items() {
                let _ = RequestItems::decode(req.header.request, req.header.item_size.into(), items);
            }
            let _ = req.mac_layout();
        }
        if let Ok(resp) = PrivateResponse::decode(&bytes) {
            prop_assert_eq!(resp.to_vec().unwrap(), bytes.clone());
            let _ = resp.items().count();
            let _ = ResponseItems::decode(resp.header.request, resp.header.item_size.into(), &resp.data);
        }
        let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::PeerList);
        let _ = r.push(&bytes);
    }

    #[test]
    fn item_decoders_never_panic(
        code in any::<u8>(),
        size in 0usize..400,
        data in proptest::collection::vec(any::<u8>(), 0..1000),
    ) {
        if let Ok(items) = ResponseItems::decode(RequestCode::from(code), size, &data) {
            // Whatever decoded re-encodes to the same octets.
            let layout = match RequestCode::from(code).response_item_sizes() {
                Some((full, _)) if full == size => ItemLayout::Full,
                _ => ItemLayout::Truncated,
            };
            if !items.is_empty() {
                prop_assert_eq!(items.encode(layout), data);
            }
        }
    }

    #[test]
    fn well_formed_responses_round_trip(
        h in header_strategy(),
        code in any::<u8>(),
        (size, nitems) in (0u16..=500).prop_flat_map(|size| (Just(size), 0u16..=(500 / size.max(1)).min(20))),
        fill in any::<u8>(),
    ) {
        let header = PrivateHeader {
            response: true,
            request: RequestCode::from(code),
            nitems,
            item_size: size,
            ..h
        };
        let mut bytes = header.to_bytes().unwrap().to_vec();
        bytes.extend((0..header.data_len()).map(|i| (i as u8) ^ fill));
        let resp = PrivateResponse::decode(&bytes).unwrap();
        prop_assert_eq!(resp.items().count(), if size == 0 { 0 } else { usize::from(nitems) });
        prop_assert_eq!(resp.to_vec().unwrap(), bytes.clone());
        if let Ok(items) = ResponseItems::decode(resp.header.request, size.into(), &resp.data) {
            prop_assert_eq!(items.len(), if resp.data.is_empty() { 0 } else { usize::from(nitems) });
        }
        // Cutting or extending the datagram is always an error.
        if let Some((_, shorter)) = bytes.split_last() {
            prop_assert!(PrivateResponse::decode(shorter).is_err());
        }
        bytes.push(0);
        prop_assert!(PrivateResponse::decode(&bytes).is_err());
    }

    #[test]
    fn mac_location_rule_never_panics(len in any::<u16>(), nitems in 0u16..0x1000, size in 0u16..0x1000) {
        if let Ok(l) = RequestMacLayout::server(len.into(), nitems, size) {
            prop_assert_eq!(l.total_len, usize::from(len));
            prop_assert_eq!(l.key_id_offset, l.covered_len);
            prop_assert_eq!(l.digest_offset + l.digest_len, l.total_len);
            prop_assert!(l.digest_len >= 13);
        }
    }

    #[test]
    fn daemon_finds_the_mac_where_ntpdc_put_it(
        (size, nitems) in (0u16..=176).prop_flat_map(|size| (Just(size), 0u16..=(176 / size.max(1)).min(7))),
        digest_len in 16usize..=20,
    ) {
        let data = usize::from(nitems) * usize::from(size);
        prop_assume!(data <= 176);
        // Classic's rule misplaces a 16-octet digest after 169..=172 item octets (pinned by
        // a unit test in request.rs).
        prop_assume!(digest_len != 16 || !(169..=172).contains(&data));
        let client = RequestMacLayout::client(nitems, size, digest_len).unwrap();
        let server = RequestMacLayout::server(client.total_len, nitems, size).unwrap();
        prop_assert_eq!(client, server);
    }

    #[test]
    fn authenticated_requests_round_trip(
        items in proptest::collection::vec(any::<u8>(), 0..=5).prop_map(|v| v.repeat(32)),
        tstamp in any::<u64>(),
        key_id in any::<u32>(),
        digest_len in 16usize..=20,
        digest_byte in any::<u8>(),
    ) {
        let nitems = (items.len() / 32) as u16;
        let size = if nitems == 0 { 0 } else { 32 };
        let header = PrivateHeader::request(Implementation::Xntpd, RequestCode::PeerInfo, nitems, size, true);
        let req = PrivateRequest::authenticated(header, &items, ntp_wire::mode7::LFp(tstamp), key_id, digest_len).unwrap();
        let mut bytes = req.to_vec().unwrap();
        let layout = req.mac_layout().unwrap().unwrap();
        layout.write_digest(&mut bytes, &vec![digest_byte; digest_len]).unwrap();
        let back = PrivateRequest::decode(&bytes).unwrap();
        prop_assert_eq!(back.items().unwrap(), &items[..]);
        prop_assert_eq!(back.to_vec().unwrap(), bytes.clone());
        prop_assert_eq!(layout.key_id(&bytes), Some(key_id));
        prop_assert_eq!(layout.tstamp(&bytes).map(|t| t.0), Some(tstamp));
    }

    #[test]
    fn split_then_reassemble_returns_the_items(
        size in 1usize..=500,
        count in 0usize..200,
        seed in any::<u8>(),
        order_seed in any::<u64>(),
    ) {
        let count = count.min(ntp_wire::mode7::max_response_items(size));
        let items: Vec<u8> = (0..size * count).map(|i| (i as u8).wrapping_add(seed)).collect();
        let req = PrivateHeader::request(Implementation::Xntpd, RequestCode::IfStats, 0, 0, false);
        let mut frags = split_response(&req, size, &items).unwrap();
        for f in &frags {
            prop_assert!(f.len() <= 8 + 500);
        }
        // Deterministic shuffle from the seed.
        let mut s = order_seed;
        for i in (1..frags.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            frags.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut r = Reassembler::new(Implementation::Xntpd, RequestCode::IfStats);
        let mut outcome = Fragment::Pending;
        for f in &frags {
            prop_assert_eq!(&outcome, &Fragment::Pending);
            outcome = r.push(f);
        }
        if count == 0 {
            prop_assert_eq!(outcome, Fragment::ServerError(InfoError::NoData));
        } else {
            match outcome {
                Fragment::Complete(done) => {
                    prop_assert_eq!(done.data, items);
                    prop_assert_eq!(done.nitems, count);
                    prop_assert_eq!(done.item_size, size);
                }
                other => prop_assert!(false, "not complete: {:?}", other),
            }
        }
    }
}
