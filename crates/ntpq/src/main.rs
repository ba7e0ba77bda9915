//! The `ntpq` binary: classic ntpq's command line over a real UDP socket.
#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut io = ntpq::sysio::SystemIo::new();
    std::process::exit(ntpq::run(&args, &mut io));
}
