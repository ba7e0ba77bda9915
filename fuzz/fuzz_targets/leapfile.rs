//! Fuzz target: the leap-seconds.list parser (`ntpd::leapfile`) never panics on any text, with
//! and without the hash check, and whatever it accepts answers its queries without panicking
//! (the file comes from the internet, so it is untrusted input).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ntpd::leapfile::parse(text);
    if let Ok(table) = ntpd::leapfile::parse_with(text, false) {
        let _ = table.schedule();
        for now in [0u64, 3_900_000_000, 4_000_000_000, u64::MAX] {
            let _ = table.offset_at(now);
            let _ = table.expired(now);
        }
    }
});
