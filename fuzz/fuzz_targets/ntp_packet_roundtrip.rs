//! Fuzz target: whatever decodes re-encodes to the same octets and re-parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_wire::NtpPacket;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = NtpPacket::decode(data) {
        let bytes = p.to_vec();
        assert_eq!(bytes, data, "re-encoding differs");
        let again = NtpPacket::decode(&bytes).expect("re-encoded packet must decode");
        assert_eq!(again, p);
    }
});
