//! `cargo xtask`: project automation (ci, fuzz).
#![forbid(unsafe_code)]

fn main() {
    eprintln!("usage: cargo xtask <ci|fuzz>");
    std::process::exit(2);
}
