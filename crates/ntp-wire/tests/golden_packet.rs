//! Golden tests: every mode 3 and mode 4 datagram captured from classic ntpd, NTPsec, chrony,
//! OpenNTPD, ntpdig and ntplib decodes and re-encodes byte for byte, with the field values the
//! capture notes describe.

mod support;

use ntp_wire::packet::HEADER_LEN;
use ntp_wire::{KissCode, LeapIndicator, Mode, NtpPacket, RefId};

#[test]
fn every_mode_3_and_4_datagram_round_trips() {
    let mut n = 0;
    for d in support::all_datagrams() {
        if !matches!(d.mode(), Some(3) | Some(4)) {
            continue;
        }
        let p = NtpPacket::decode(&d.payload)
            .unwrap_or_else(|e| panic!("{} #{}: {e}", d.vector, d.index));
        assert_eq!(p.to_vec(), d.payload, "{} #{}", d.vector, d.index);
        n += 1;
    }
    assert_eq!(n, 42, "mode 3/4 datagrams in the vectors");
}

#[test]
fn ntpdig_request_sets_only_transmit() {
    let d = support::vector("mode34/classic-ntpd-4.2.8/ntpdig");
    let req = d.iter().find(|d| !d.is_response()).unwrap();
    let p = NtpPacket::decode(&req.payload).unwrap();
    assert_eq!(req.payload[0], 0xe3);
    assert_eq!(p.header.leap, LeapIndicator::Unsynchronized);
    assert_eq!(p.header.mode, Mode::Client);
    assert!(p.header.origin_timestamp.is_zero());
    assert!(!p.header.transmit_timestamp.is_zero());
    assert_eq!(p.trailer, None);
}

#[test]
fn classic_reply_echoes_origin_and_has_precision_minus_24() {
    let d = support::vector("mode34/classic-ntpd-4.2.8/ntpdig");
    let req = NtpPacket::decode(&d.iter().find(|d| !d.is_response()).unwrap().payload).unwrap();
    let resp = NtpPacket::decode(&d.iter().find(|d| d.is_response()).unwrap().payload).unwrap();
    assert_eq!(resp.header.mode, Mode::Server);
    assert_eq!(resp.header.version, req.header.version);
    assert_eq!(resp.header.precision, -24);
    assert_eq!(resp.header.origin_timestamp, req.header.transmit_timestamp);
    let offset = resp.header.transmit_timestamp - resp.header.receive_timestamp;
    assert!(offset.to_seconds_f64() >= 0.0 && offset.to_seconds_f64() < 0.01);
}

#[test]
fn classic_kod_rate_has_stratum_0_and_echoes_transmit_three_times() {
    let d = support::vector("mode34/classic-ntpd-4.2.8-kod-rate");
    let kods: Vec<_> = d
        .iter()
        .filter(|d| d.is_response())
        .map(|d| NtpPacket::decode(&d.payload).unwrap())
        .filter(|p| p.header.kiss_code().is_some())
        .collect();
    assert_eq!(kods.len(), 1, "one KoD in the capture");
    let k = &kods[0].header;
    assert_eq!(k.kiss_code(), Some(KissCode::Rate));
    assert_eq!(k.reference_id, RefId::RATE);
    assert_eq!(k.leap, LeapIndicator::Unsynchronized);
    assert_eq!(k.origin_timestamp, k.transmit_timestamp);
    assert_eq!(k.receive_timestamp, k.transmit_timestamp);
    assert_eq!(k.to_bytes()[..4], [0xe4, 0x00, 0x03, 0x00]);
}

#[test]
fn no_captured_packet_carries_extensions_or_macs() {
    for d in support::all_datagrams() {
        if matches!(d.mode(), Some(3) | Some(4)) {
            assert_eq!(d.payload.len(), HEADER_LEN, "{}", d.vector);
        }
    }
}
