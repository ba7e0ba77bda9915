//! Fuzz target: every mode 6 decoder (message, request validation, varlist parser, reassembly)
//! never panics on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_wire::mode6::{self, ControlMessage};

fuzz_target!(|data: &[u8]| {
    let _ = mode6::validate_request(data);
    if let Ok(m) = ControlMessage::decode(data) {
        let mut r = mode6::Reassembler::new(&m.header);
        let _ = r.accept_datagram(data);
    }
    let _ = mode6::parse_varlist(data);
});
