//! Fuzz target: every mode 7 decoder (request, response, items for every request code in both
//! layouts, reassembly) never panics on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_wire::mode7::{
    Implementation, PrivateRequest, PrivateResponse, Reassembler, RequestCode, RequestItems,
    ResponseItems,
};

fuzz_target!(|data: &[u8]| {
    let _ = PrivateRequest::decode(data);
    if let Ok(r) = PrivateResponse::decode(data) {
        let _ = ResponseItems::decode(r.header.request, r.header.item_size as usize, &r.data);
        let mut re = Reassembler::new(r.header.implementation, r.header.request);
        let _ = re.push(data);
    }
    if data.len() > 2 {
        let code = RequestCode::from(data[0]);
        let size = data[1] as usize * 2;
        let _ = ResponseItems::decode(code, size, &data[2..]);
        let _ = RequestItems::decode(code, size, &data[2..]);
        let _ = Reassembler::new(Implementation::from(data[1]), code).push(&data[2..]);
    }
});
