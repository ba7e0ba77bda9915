//! Fuzz target: the server fast path (`ntp_core::server::respond` + `finish`) and the stateless
//! symmetric-passive answer (`respond_symmetric`) never panic on any datagram under any
//! restriction, and their replies are never longer than the request (no amplification,
//! whatever the bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_core::server::{
    finish, respond, respond_symmetric, Access, KeyStore, RateLimitConfig, RateLimiter, RequestContext, SystemState,
    MAX_REPLY_LEN,
};
use ntp_wire::{MacAlgorithm, NtpTimestamp, SymmetricKey};

struct Keys(SymmetricKey);
impl KeyStore for Keys {
    fn trusted_key(&self, id: u32) -> Option<&SymmetricKey> {
        (id == self.0.id).then_some(&self.0)
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let access = Access::from_bits(u32::from(u16::from_le_bytes([data[0], data[1]])));
    let port = u16::from(data[2]) * 97;
    let request = &data[3..];
    let keys = Keys(SymmetricKey::new(1, MacAlgorithm::Md5, b"fuzzkey"));
    let limiter = RateLimiter::new(RateLimitConfig::default(), (7, 9));
    let mut out = [0u8; MAX_REPLY_LEN];
    for i in 0..3 {
        let ctx = RequestContext {
            from: "192.0.2.1".parse().unwrap(),
            from_port: port,
            access,
            receive_timestamp: NtpTimestamp::from_bits(0xeeb2_2828_0000_0000),
            now_mono: f64::from(i) * 0.3,
        };
        for symmetric in [false, true] {
            let answer = if symmetric { respond_symmetric } else { respond };
            let r = answer(
                request,
                &ctx,
                &SystemState::default(),
                Some(&limiter),
                &keys,
                &mut out,
            );
            if let Some(len) = finish(
                &mut out,
                r,
                NtpTimestamp::from_bits(0xeeb2_2829_0000_0000),
                &keys,
            ) {
                assert!(
                    len <= request.len(),
                    "reply {len} > request {} (symmetric: {symmetric})",
                    request.len()
                );
            }
        }
    }
});
