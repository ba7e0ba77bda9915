//! Clock drivers implementing `ntp_core::Clock`: the Linux kernel clock ([`KernelClock`],
//! through `clock_gettime`/`clock_adjtime` in the one module allowed `unsafe`) and a
//! simulated clock ([`SimulatedClock`]) for closed-loop tests and benchmarks.
#![deny(unsafe_code)]

#[cfg(target_os = "linux")]
pub mod kernel;
pub mod simulated;

#[cfg(target_os = "linux")]
pub use kernel::{set_realtime_priority, KernelClock, KernelStatus};
pub use simulated::SimulatedClock;
