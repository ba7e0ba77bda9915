//! Fuzz target: the mode 1-5 packet decoder and the MAC splitter never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_wire::{NtpHeader, NtpPacket};

fuzz_target!(|data: &[u8]| {
    let _ = NtpHeader::decode(data);
    let _ = NtpPacket::split_mac(data);
    if let Ok(p) = NtpPacket::decode(data) {
        // A successful decode accounts for every octet.
        assert_eq!(p.wire_len(), data.len());
    }
});
