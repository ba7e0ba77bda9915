//! Fuzz target: mode 7 requests and responses that decode re-encode to the same octets and
//! re-decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_wire::mode7::{PrivateRequest, PrivateResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = PrivateRequest::decode(data) {
        let bytes = r.to_vec().expect("a decoded request re-encodes");
        assert_eq!(bytes, data, "request re-encoding differs");
        assert_eq!(PrivateRequest::decode(&bytes).expect("re-decodes"), r);
    }
    if let Ok(r) = PrivateResponse::decode(data) {
        let bytes = r.to_vec().expect("a decoded response re-encodes");
        assert_eq!(bytes, data, "response re-encoding differs");
        assert_eq!(PrivateResponse::decode(&bytes).expect("re-decodes"), r);
    }
});
