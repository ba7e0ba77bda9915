//! Fuzz target: `Engine::handle_datagram` never panics, whatever arrives. The engine has a
//! request outstanding, and the input's origin field is optionally overwritten with the
//! expected value so that the checks after the origin test (KoD, timestamps, delay,
//! selection, discipline) are reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ntp_core::{Action, Engine, EngineConfig, MonoTime, SourceConfig};
use ntp_wire::{NtpDuration, NtpTimestamp};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let server = std::net::SocketAddr::from(([192, 0, 2, 1], 123));
    let mut src = SourceConfig::server(server);
    src.iburst = true;
    let mut engine = Engine::new(
        EngineConfig {
            seed: u64::from(ctl),
            ..EngineConfig::default()
        },
        vec![src],
        MonoTime::ZERO,
    );
    let base = NtpTimestamp::from_parts(3_900_000_000, 0);
    let mut now = MonoTime::ZERO;
    // Several rounds: each polls, then delivers a mutated answer.
    for (round, chunk) in rest.chunks(64).enumerate().take(16) {
        let deadline = engine.poll_timeout().unwrap_or(now);
        now = now.max(deadline);
        let clock = base + NtpDuration::from_seconds_f64(now.as_secs_f64());
        engine.handle_timeout(now, clock);
        let mut origin = None;
        while let Some(a) = engine.poll_action() {
            if let Action::Send { bytes, .. } = a {
                origin = bytes.get(40..48).map(|b| b.to_vec());
            }
        }
        let mut pkt = chunk.to_vec();
        if ctl & (1 << (round % 8)) != 0 {
            if let (Some(o), Some(dst)) = (origin, pkt.get_mut(24..32)) {
                dst.copy_from_slice(&o);
            }
        }
        // Half the rounds get receive/transmit timestamps near our clock (fuzzed by up to
        // +-2 s), so the on-wire checks pass and selection and discipline run on them.
        if round % 2 == 1 && pkt.len() >= 48 {
            // A plausible server header: LI from the input, version 4, mode 4, stratum 1-15.
            pkt[0] = (pkt[0] & 0xC0) | 0x24;
            pkt[1] = 1 + pkt[1] % 15;
            let jitter = |b: &[u8]| {
                let v = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                NtpDuration::from_nanos(i64::from(v))
            };
            let t2 = clock + jitter(&pkt[32..36]);
            let t3 = t2 + NtpDuration::from_nanos(i64::from(pkt[44]) * 1000);
            pkt[32..40].copy_from_slice(&t2.to_bits().to_be_bytes());
            pkt[40..48].copy_from_slice(&t3.to_bits().to_be_bytes());
        }
        now = MonoTime::from_nanos(now.as_nanos().saturating_add(u64::from(ctl) * 1_000_000));
        let rx = base + NtpDuration::from_seconds_f64(now.as_secs_f64());
        let _ = engine.handle_datagram(now, server, &pkt, rx);
        while engine.poll_action().is_some() {}
        let _ = engine.snapshot();
    }
});
