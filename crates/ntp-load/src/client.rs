//! The closed-loop load generator: `sockets` UDP sockets share a fixed number of requests in
//! flight; a slot is refilled as soon as its reply (or its timeout) comes back. Sends and
//! receives are batched per socket (sendmmsg/recvmmsg); with `sources` > 0 each request
//! leaves from its own loopback source address (IP_PKTINFO, one sendmsg each) so that a
//! rate-limiting server sees many clients instead of a few.

use std::io::{IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recvmmsg, sendmmsg, sendmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrIn,
};

use crate::validate::{check_reply, origin_of, request, Histogram, ReplyKind, Rng};

/// Datagrams per recvmmsg/sendmmsg call (and the most requests one socket carries).
pub const BATCH: usize = 32;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server (loopback only).
    pub target: SocketAddrV4,
    /// UDP sockets.
    pub sockets: usize,
    /// Requests in flight in total.
    pub inflight: usize,
    /// How long to send.
    pub duration: Duration,
    /// Stop after this many requests (0: no limit).
    pub count: u64,
    /// A request without a reply after this long is lost.
    pub timeout: Duration,
    /// Spread requests over this many source addresses from 127.64.0.0 up (0: every socket
    /// keeps its own 127.0.0.1 address).
    pub sources: u32,
    /// Sleep in poll (1 ms at most) when nothing is ready, instead of spinning: for runs
    /// where the server shares the generator's CPU.
    pub block: bool,
    /// Open loop: send this many requests per second on schedule (still at most `inflight`
    /// outstanding); 0: closed loop, a new request as soon as a slot frees.
    pub rate: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Requests sent.
    pub sent: u64,
    /// Valid mode 4 replies.
    pub replies: u64,
    /// Valid RATE KoDs.
    pub kods: u64,
    /// Replies that matched a request but failed validation.
    pub invalid: u64,
    /// Requests without a reply within the timeout.
    pub lost: u64,
    /// Datagrams matching no request in flight (late after a timeout, or foreign).
    pub unmatched: u64,
    /// Seconds from the first send to the last reply.
    pub elapsed: f64,
    /// Send-to-receive latency of every matched reply.
    pub latency: Histogram,
}

impl LoadReport {
    /// Valid answers (replies and KoDs) per second.
    pub fn rate(&self) -> f64 {
        if self.elapsed > 0.0 {
            (self.replies + self.kods) as f64 / self.elapsed
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    xmt: u64,
    version: u8,
    sent: Instant,
    busy: bool,
}

/// Refuse anything but a loopback target.
pub fn check_target(target: SocketAddrV4) -> Result<(), String> {
    if target.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!("{target}: only loopback targets are allowed"))
    }
}

/// Run the load until the duration or the count is reached, then wait for the last replies.
pub fn run(cfg: &LoadConfig, seed: u64) -> Result<LoadReport, String> {
    check_target(cfg.target)?;
    let nsock = cfg.sockets.clamp(1, 4096);
    let inflight = cfg.inflight.clamp(1, nsock * BATCH);
    let bind_ip = if cfg.sources > 0 {
        // Replies come back to many 127.x.y.z addresses: only a wildcard bind receives them.
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    };
    let mut socks = Vec::with_capacity(nsock);
    for _ in 0..nsock {
        let s = UdpSocket::bind((bind_ip, 0)).map_err(|e| format!("bind: {e}"))?;
        s.set_nonblocking(true)
            .map_err(|e| format!("nonblocking: {e}"))?;
        socks.push(s);
    }
    // Slots per socket: the in-flight budget spread as evenly as possible.
    let mut lanes: Vec<Vec<Slot>> = (0..nsock)
        .map(|i| {
            let n = inflight / nsock + usize::from(i < inflight % nsock);
            let idle = Slot {
                xmt: 0,
                version: 4,
                sent: Instant::now(),
                busy: false,
            };
            vec![idle; n]
        })
        .collect();
    let target = SockaddrIn::from(cfg.target);
    let addrs = [Some(target); BATCH];
    let mut send_headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
    let mut recv_headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
    let mut out = [[0u8; 48]; BATCH];
    let mut inb = [[0u8; 128]; BATCH];
    let mut rng = Rng::new(seed);
    let mut rep = LoadReport::default();
    let mut busy_total = 0usize;
    let mut seq: u64 = 0;
    let mut src_next: u32 = 0;
    let start = Instant::now();
    let deadline = start + cfg.duration;
    let mut last_rx = start;
    let mut last_sweep = start;
    let mut fds: Vec<PollFd<'_>> = socks
        .iter()
        .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
        .collect();
    loop {
        let now = Instant::now();
        let sending = now < deadline && (cfg.count == 0 || rep.sent < cfg.count);
        if !sending && busy_total == 0 {
            break;
        }
        if sending {
            // How many requests may have been sent by now.
            let mut cap = if cfg.count == 0 { u64::MAX } else { cfg.count };
            if cfg.rate > 0.0 {
                let due = cfg.rate * now.saturating_duration_since(start).as_secs_f64();
                cap = cap.min(due as u64 + 1);
            }
            for (li, lane) in lanes.iter_mut().enumerate() {
                let mut k = 0;
                let mut which = [0usize; BATCH];
                for (si, slot) in lane.iter_mut().enumerate() {
                    if slot.busy || rep.sent + k as u64 >= cap {
                        continue;
                    }
                    seq += 1;
                    // Every fourth request is version 3, to check the version is echoed.
                    let version = if seq % 4 == 0 { 3 } else { 4 };
                    let xmt = rng.next_u64();
                    out[k] = request(version, xmt);
                    *slot = Slot {
                        xmt,
                        version,
                        sent: now,
                        busy: true,
                    };
                    which[k] = si;
                    k += 1;
                }
                if k == 0 {
                    continue;
                }
                let fd = socks[li].as_raw_fd();
                let sent = if cfg.sources > 0 {
                    send_spread(fd, &out[..k], &target, cfg.sources, &mut src_next)
                } else {
                    send_batch(fd, &mut send_headers, &out[..k], &addrs[..k])
                };
                // A request the kernel refused is not in flight.
                for &si in &which[sent..k] {
                    lane[si].busy = false;
                }
                rep.sent += sent as u64;
                busy_total += sent;
            }
        }
        // Spinning keeps this CPU from going idle between replies (an idle vCPU takes tens
        // of microseconds to wake), so the server, not the generator's wake-ups, sets the pace.
        let wait = if cfg.block {
            PollTimeout::from(1u8)
        } else {
            PollTimeout::ZERO
        };
        match poll(&mut fds, wait) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("poll: {e}")),
        }
        for li in 0..nsock {
            if !fds[li]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLIN))
            {
                continue;
            }
            loop {
                let mut lens = [0usize; BATCH];
                let n = {
                    let mut iovs = inb.each_mut().map(|b| [IoSliceMut::new(b)]);
                    match recvmmsg(
                        socks[li].as_raw_fd(),
                        &mut recv_headers,
                        iovs.iter_mut(),
                        MsgFlags::MSG_DONTWAIT,
                        None,
                    ) {
                        Ok(msgs) => {
                            let mut n = 0;
                            for (i, m) in msgs.enumerate() {
                                lens[i] = m.bytes;
                                n += 1;
                            }
                            n
                        }
                        Err(_) => 0,
                    }
                };
                if n == 0 {
                    break;
                }
                let t = Instant::now();
                last_rx = t;
                for (buf, &len) in inb.iter().zip(&lens).take(n) {
                    let data = &buf[..len.min(buf.len())];
                    let slot = origin_of(data)
                        .and_then(|o| lanes[li].iter_mut().find(|s| s.busy && s.xmt == o));
                    let Some(slot) = slot else {
                        rep.unmatched += 1;
                        continue;
                    };
                    slot.busy = false;
                    busy_total -= 1;
                    rep.latency
                        .record(t.saturating_duration_since(slot.sent).as_nanos() as u64);
                    match check_reply(data, slot.version) {
                        Ok(ReplyKind::Reply) => rep.replies += 1,
                        Ok(ReplyKind::Kod) => rep.kods += 1,
                        Err(_) => rep.invalid += 1,
                    }
                }
                if n < BATCH {
                    break;
                }
            }
        }
        let now = Instant::now();
        if now.saturating_duration_since(last_sweep) >= Duration::from_millis(5) {
            last_sweep = now;
            for slot in lanes.iter_mut().flatten() {
                if slot.busy && now.saturating_duration_since(slot.sent) > cfg.timeout {
                    slot.busy = false;
                    busy_total -= 1;
                    rep.lost += 1;
                }
            }
        }
    }
    rep.elapsed = last_rx.saturating_duration_since(start).as_secs_f64();
    Ok(rep)
}

/// sendmmsg of `reqs` to `addrs`; returns how many the kernel took.
fn send_batch(
    fd: std::os::fd::RawFd,
    headers: &mut MultiHeaders<SockaddrIn>,
    reqs: &[[u8; 48]],
    addrs: &[Option<SockaddrIn>],
) -> usize {
    let mut iovs = [[IoSlice::new(&[])]; BATCH];
    for (iov, r) in iovs.iter_mut().zip(reqs) {
        *iov = [IoSlice::new(r)];
    }
    let k = reqs.len();
    loop {
        match sendmmsg(fd, headers, iovs[..k].iter(), addrs, [], MsgFlags::empty()) {
            Ok(r) => return r.count(),
            Err(Errno::EINTR) => continue,
            Err(_) => return 0,
        }
    }
}

/// One sendmsg per request, each from the next source address of 127.64.0.0 + [0, sources).
fn send_spread(
    fd: std::os::fd::RawFd,
    reqs: &[[u8; 48]],
    target: &SockaddrIn,
    sources: u32,
    next: &mut u32,
) -> usize {
    let mut sent = 0;
    for r in reqs {
        let src = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 64, 0, 1)) + *next % sources);
        *next = next.wrapping_add(1);
        let info = libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from_ne_bytes(src.octets()),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        let iov = [IoSlice::new(r)];
        let cmsg = [ControlMessage::Ipv4PacketInfo(&info)];
        match sendmsg(fd, &iov, &cmsg, MsgFlags::empty(), Some(target)) {
            Ok(_) => sent += 1,
            Err(_) => break,
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_targets_are_refused() {
        assert!(check_target("192.0.2.1:123".parse().unwrap()).is_err());
        assert!(check_target("127.0.0.1:123".parse().unwrap()).is_ok());
        assert!(check_target("127.9.9.9:123".parse().unwrap()).is_ok());
    }
}
