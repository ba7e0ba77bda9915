//! ntpdate binary: the real sockets, resolver and kernel clock around [`ntpdate::run`].
#![forbid(unsafe_code)]

use ntp_clock::KernelClock;
use ntpdate::sys::SystemIo;
use ntpdate::{Env, VERSION};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut io = SystemIo::new();
    let mut clock = KernelClock::new();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = ntpdate::run(
        &args,
        &mut Env {
            io: &mut io,
            clock: &mut clock,
            stdout: &mut out,
            stderr: &mut err,
            pid: std::process::id(),
            version: VERSION.to_string(),
        },
    );
    drop(out);
    drop(err);
    std::process::exit(code);
}
