//! Fuzz target: the ntp.conf and ntp.keys parsers never panic or hang on any input, and a
//! configuration that parses prints (Display) to text that parses to the same configuration.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ntp_conf::parse_keys(text, "ntp.keys");
    if let Ok(cfg) = ntp_conf::parse(text, "ntp.conf", &ntp_conf::NoFiles) {
        let printed = cfg.to_string();
        let again = ntp_conf::parse(&printed, "ntp.conf", &ntp_conf::NoFiles)
            .expect("a printed configuration parses");
        assert_eq!(again.to_string(), printed, "printing is not stable");
    }
});
