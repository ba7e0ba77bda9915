//! Fuzz target: a mode 6 message that decodes re-encodes to the same octets and re-decodes to
//! the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_wire::mode6::ControlMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ControlMessage::decode(data) {
        let bytes = m.to_vec().expect("a decoded message re-encodes");
        assert_eq!(bytes, data, "re-encoding differs");
        assert_eq!(ControlMessage::decode(&bytes).expect("re-decodes"), m);
    }
});
