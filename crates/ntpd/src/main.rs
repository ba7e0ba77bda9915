//! `ntpd`: thin entry point; everything is in the library (`ntpd::daemon::main_with_args`).
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(ntpd::daemon::main_with_args(std::env::args_os()));
}
