//! The server hot path: worker threads per local address (`rescan::Listeners`), each with its
//! own SO_REUSEPORT socket, receiving with recvmmsg (kernel receive timestamps) and answering
//! with sendmmsg; a worker stops when its address goes away.
//! Buffers are allocated once per worker; per packet there is no allocation, no lock and no
//! system call besides the batch calls. The system state and restrict table are read once per
//! batch. Mode 6/7 (and symmetric mode 1/2) datagrams are handed to the main thread, which
//! owns the control responders and the engine.

use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    recvmmsg, sendmmsg, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage,
};
use nix::sys::time::TimeSpec;
use ntp_core::server::{
    finish, respond, respond_symmetric, Access, DropReason, KeyStore, RateLimiter, RequestContext,
    Response, SystemState, DROP_REASONS, MAX_REPLY_LEN,
};
use ntp_wire::{NtpTimestamp, SymmetricKey};

use ntp_conf::RestrictTable;

/// Datagrams per recvmmsg/sendmmsg call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram: larger than any valid request (header + extensions + MAC), so
/// an oversized datagram is seen as such instead of silently truncated into a valid one.
pub const RECV_BUF: usize = 1024;

/// The trusted keys, shared read-only with the workers.
#[derive(Debug, Default, Clone)]
pub struct KeyRing {
    keys: Vec<SymmetricKey>,
}

impl KeyRing {
    /// From trusted keys.
    pub fn new(keys: Vec<SymmetricKey>) -> Self {
        KeyRing { keys }
    }

    /// The keys.
    pub fn keys(&self) -> &[SymmetricKey] {
        &self.keys
    }
}

impl KeyStore for KeyRing {
    fn trusted_key(&self, key_id: u32) -> Option<&SymmetricKey> {
        self.keys.iter().find(|k| k.id == key_id)
    }
}

/// State shared by the main thread (writer) and the workers (readers, once per batch).
#[derive(Debug)]
pub struct ServerShared {
    /// What replies advertise.
    pub system: RwLock<SystemState>,
    /// The restrict table.
    pub access: RwLock<Arc<RestrictTable>>,
    /// Trusted keys for authenticated clients.
    pub keys: RwLock<Arc<KeyRing>>,
    /// Set to stop the workers.
    pub shutdown: AtomicBool,
    /// The rate-limit table, one for all workers (`discard` settings, keyed hash).
    pub limiter: RateLimiter,
    /// Addresses of the configured `peer` associations: their mode 1/2 packets go to the
    /// engine; other sources' mode 1 gets at most a stateless reply (see [`classify`]).
    pub peers: RwLock<Arc<Vec<SocketAddr>>>,
}

/// Per-worker counters, written only by their worker (relaxed atomics: no contention) and
/// summed by the main thread when ntpq/ntpdc/metrics ask.
#[derive(Debug, Default)]
pub struct WorkerCounters {
    /// Datagrams received.
    pub received: AtomicU64,
    /// Mode 4 replies sent.
    pub replies: AtomicU64,
    /// RATE KoDs sent.
    pub kods: AtomicU64,
    /// Crypto-NAKs sent.
    pub naks: AtomicU64,
    /// Datagrams handed to the main thread (modes 1, 2, 6, 7).
    pub forwarded: AtomicU64,
    /// Datagrams dropped because the main thread's queue was full.
    pub forward_overflow: AtomicU64,
    /// Send errors.
    pub send_errors: AtomicU64,
    /// Drops by reason ([`DropReason::index`]).
    pub drops: [AtomicU64; DROP_REASONS],
}

/// Sums of every worker's counters.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CounterTotals {
    /// Datagrams received.
    pub received: u64,
    /// Replies sent.
    pub replies: u64,
    /// KoDs sent.
    pub kods: u64,
    /// Crypto-NAKs sent.
    pub naks: u64,
    /// Forwarded to the main thread.
    pub forwarded: u64,
    /// Dropped for a full queue.
    pub forward_overflow: u64,
    /// Send errors.
    pub send_errors: u64,
    /// Drops by reason.
    pub drops: [u64; DROP_REASONS],
}

impl CounterTotals {
    /// Sum a set of workers' counters.
    pub fn sum(workers: &[Arc<WorkerCounters>]) -> Self {
        let mut t = CounterTotals::default();
        for w in workers {
            let ld = |a: &AtomicU64| a.load(Ordering::Relaxed);
            t.received += ld(&w.received);
            t.replies += ld(&w.replies);
            t.kods += ld(&w.kods);
            t.naks += ld(&w.naks);
            t.forwarded += ld(&w.forwarded);
            t.forward_overflow += ld(&w.forward_overflow);
            t.send_errors += ld(&w.send_errors);
            for (i, d) in w.drops.iter().enumerate() {
                t.drops[i] += ld(d);
            }
        }
        t
    }

    /// All drops.
    pub fn dropped(&self) -> u64 {
        self.drops.iter().sum::<u64>() + self.forward_overflow
    }
}

/// A datagram the main thread must handle (mode 6/7 control, mode 1/2 symmetric).
#[derive(Debug, Clone)]
pub struct ControlDatagram {
    /// The datagram.
    pub data: Vec<u8>,
    /// Its source.
    pub from: SocketAddr,
    /// The local address it arrived on (loopback test for mode 7 policy).
    pub local: SocketAddr,
    /// Receive timestamp.
    pub rx: NtpTimestamp,
}

/// The wall clock as an NTP timestamp (clock_gettime(CLOCK_REALTIME) through std).
pub fn wall_clock() -> NtpTimestamp {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => NtpTimestamp::from_unix(d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            NtpTimestamp::from_unix(-(d.as_secs() as i64) - 1, 1_000_000_000 - d.subsec_nanos())
        }
    }
}

fn monotonic_secs(start: std::time::Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// Where a worker hands control datagrams.
pub type ForwardSender = tokio::sync::mpsc::Sender<ControlDatagram>;

struct Pending {
    len: usize,
    from: Option<SockaddrStorage>,
    rx: NtpTimestamp,
    kernel_ts: bool,
}

/// Run one worker until `shared.shutdown` is set. `sockets` are this worker's SO_REUSEPORT
/// sockets, one per local address.
///
/// A socket that just yielded datagrams is read again at once (replies to the batch just sent
/// are usually back by then), and only when every such socket is empty does the worker wait
/// in poll: under load that saves the poll call per batch.
pub fn run_worker(
    sockets: Vec<UdpSocket>,
    shared: Arc<ServerShared>,
    counters: Arc<WorkerCounters>,
    forward: Option<ForwardSender>,
) {
    run_worker_until(sockets, shared, counters, forward, &AtomicBool::new(false));
}

/// [`run_worker`] that also stops when `stop` is set (an interface rescan found its address
/// gone). The flag is looked at after every poll (at most 200 ms apart), and the sockets are
/// closed when the worker returns.
pub fn run_worker_until(
    sockets: Vec<UdpSocket>,
    shared: Arc<ServerShared>,
    counters: Arc<WorkerCounters>,
    forward: Option<ForwardSender>,
    stop: &AtomicBool,
) {
    let mut w = Worker {
        start: std::time::Instant::now(),
        bufs: Box::new([[0u8; RECV_BUF]; BATCH]),
        outs: Box::new([[0u8; MAX_REPLY_LEN]; BATCH]),
        responses: Vec::with_capacity(BATCH),
        pending: Vec::with_capacity(BATCH),
        recv_headers: MultiHeaders::<SockaddrStorage>::preallocate(
            BATCH,
            Some(nix::cmsg_space!(TimeSpec)),
        ),
        send_headers: MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None),
        shared,
        counters,
        forward,
    };
    let locals: Vec<SocketAddr> = sockets
        .iter()
        .map(|s| {
            s.local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
        })
        .collect();
    let mut fds: Vec<PollFd<'_>> = sockets
        .iter()
        .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
        .collect();
    let mut hot = vec![false; sockets.len()];
    let mut rounds: u32 = 0;
    while !w.shared.shutdown.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
        let mut any = false;
        for (si, sock) in sockets.iter().enumerate() {
            if hot[si] {
                hot[si] = w.serve_batch(sock, locals[si]) > 0;
                any |= hot[si];
            }
        }
        if any {
            // Look at the other sockets now and then, so one busy address cannot starve them.
            rounds = rounds.wrapping_add(1);
            if sockets.len() > 1
                && rounds % 16 == 0
                && matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
            {
                for (h, f) in hot.iter_mut().zip(&fds) {
                    *h |= f.revents().is_some_and(|r| !r.is_empty());
                }
            }
            continue;
        }
        match poll(&mut fds, PollTimeout::from(200u16)) {
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => {
                for (h, f) in hot.iter_mut().zip(&fds) {
                    *h = f.revents().is_some_and(|r| !r.is_empty());
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A worker's buffers, allocated once.
struct Worker {
    start: std::time::Instant,
    bufs: Box<[[u8; RECV_BUF]; BATCH]>,
    outs: Box<[[u8; MAX_REPLY_LEN]; BATCH]>,
    responses: Vec<(usize, Response)>,
    pending: Vec<Pending>,
    recv_headers: MultiHeaders<SockaddrStorage>,
    send_headers: MultiHeaders<SockaddrStorage>,
    shared: Arc<ServerShared>,
    counters: Arc<WorkerCounters>,
    forward: Option<ForwardSender>,
}

impl Worker {
    /// Receive one batch from `sock` (without waiting), answer it, and return how many
    /// datagrams it held.
    fn serve_batch(&mut self, sock: &UdpSocket, local: SocketAddr) -> usize {
        let Worker {
            start,
            bufs,
            outs,
            responses,
            pending,
            recv_headers,
            send_headers,
            shared,
            counters,
            forward,
        } = self;
        pending.clear();
        {
            // The iovecs live on the stack: no allocation per batch.
            let mut iovs = bufs.each_mut().map(|b| [IoSliceMut::new(b)]);
            let Ok(msgs) = recvmmsg(
                sock.as_raw_fd(),
                recv_headers,
                iovs.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            ) else {
                return 0;
            };
            for m in msgs {
                let mut rx = None;
                if let Ok(cm) = m.cmsgs() {
                    for c in cm {
                        if let ControlMessageOwned::ScmTimestampns(ts) = c {
                            rx = Some(NtpTimestamp::from_unix(ts.tv_sec(), ts.tv_nsec() as u32));
                        }
                    }
                }
                pending.push(Pending {
                    len: m.bytes,
                    from: m.address,
                    kernel_ts: rx.is_some(),
                    rx: rx.unwrap_or(NtpTimestamp::ZERO),
                });
            }
        }
        let n = pending.len();
        if n == 0 {
            return 0;
        }
        // User-space fallback timestamp, one clock read for the batch.
        if pending.iter().any(|p| !p.kernel_ts) {
            let now = wall_clock();
            for p in pending.iter_mut().filter(|p| !p.kernel_ts) {
                p.rx = now;
            }
        }
        let system = *shared.system.read().unwrap_or_else(|e| e.into_inner());
        let access = Arc::clone(&shared.access.read().unwrap_or_else(|e| e.into_inner()));
        let keys = Arc::clone(&shared.keys.read().unwrap_or_else(|e| e.into_inner()));
        let peers = Arc::clone(&shared.peers.read().unwrap_or_else(|e| e.into_inner()));
        let now_mono = monotonic_secs(*start);
        counters.received.fetch_add(n as u64, Ordering::Relaxed);
        responses.clear();
        for (i, p) in pending.iter().enumerate() {
            let Some(from) = p.from.as_ref().and_then(sockaddr_to_std) else {
                counters.drops[DropReason::Malformed.index()].fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let data = &bufs[i][..p.len.min(RECV_BUF)];
            match classify(
                data,
                from,
                p.rx,
                now_mono,
                &access,
                &system,
                &shared.limiter,
                &*keys,
                &peers,
                &mut outs[i],
            ) {
                Verdict::Respond(r) => responses.push((i, r)),
                Verdict::Drop(reason) => {
                    counters.drops[reason.index()].fetch_add(1, Ordering::Relaxed);
                }
                Verdict::Forward => match forward {
                    Some(tx) => {
                        let d = ControlDatagram {
                            data: data.to_vec(),
                            from,
                            local,
                            rx: p.rx,
                        };
                        if tx.try_send(d).is_ok() {
                            counters.forwarded.fetch_add(1, Ordering::Relaxed);
                        } else {
                            counters.forward_overflow.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    None => {
                        counters.drops[DropReason::BadMode.index()].fetch_add(1, Ordering::Relaxed);
                    }
                },
            }
        }
        if !responses.is_empty() {
            send_batch(
                sock,
                send_headers,
                pending,
                responses,
                outs,
                &*keys,
                counters,
            );
        }
        n
    }
}

fn send_batch(
    sock: &UdpSocket,
    headers: &mut MultiHeaders<SockaddrStorage>,
    pending: &[Pending],
    responses: &[(usize, Response)],
    outs: &mut [[u8; MAX_REPLY_LEN]; BATCH],
    keys: &impl KeyStore,
    counters: &WorkerCounters,
) {
    // The transmit timestamp: one clock read, as late as possible, for the whole batch.
    let tx = wall_clock();
    // Fixed-size arrays on the stack: no allocation per batch.
    let mut lens = [0usize; BATCH];
    let mut addrs: [Option<SockaddrStorage>; BATCH] = [None; BATCH];
    let mut idx = [0usize; BATCH];
    let mut k = 0;
    for &(i, r) in responses {
        let (Some(out), Some(p)) = (outs.get_mut(i), pending.get(i)) else {
            continue;
        };
        if let Some(len) = finish(out, r, tx, keys) {
            lens[k] = len;
            addrs[k] = p.from;
            idx[k] = i;
            k += 1;
            match r {
                Response::Kod { .. } => counters.kods.fetch_add(1, Ordering::Relaxed),
                Response::CryptoNak { .. } => counters.naks.fetch_add(1, Ordering::Relaxed),
                _ => counters.replies.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
    let mut iovs = [[IoSlice::new(&[])]; BATCH];
    for j in 0..k {
        iovs[j] = [IoSlice::new(
            outs.get(idx[j])
                .and_then(|o| o.get(..lens[j]))
                .unwrap_or(&[]),
        )];
    }
    let mut sent = 0;
    while sent < k {
        match sendmmsg(
            sock.as_raw_fd(),
            headers,
            iovs[sent..k].iter(),
            &addrs[sent..k],
            [],
            MsgFlags::empty(),
        ) {
            Ok(r) => {
                let c = r.count();
                if c == 0 {
                    break;
                }
                sent += c;
            }
            Err(Errno::EINTR) => continue,
            Err(_) => {
                // Skip the datagram that failed (e.g. an unreachable destination) and go on.
                counters.send_errors.fetch_add(1, Ordering::Relaxed);
                sent += 1;
            }
        }
    }
}

/// What to do with one datagram that arrived on a server socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer it (mode 3, or a stateless mode 2 to an authenticated mode 1 from a source that
    /// is not a configured peer): the reply is in the output buffer; complete it with `finish`.
    Respond(Response),
    /// Hand it to the main thread (modes 6, 7, and 1, 2 from a configured peer).
    Forward,
    /// Drop it, counted under this reason.
    Drop(DropReason),
}

/// Classify one datagram from `from` and, for mode 3, answer it into `out`. Shared by the
/// worker threads and the single-threaded mode. Symmetric packets from the `peers` addresses
/// go to the engine; a mode 1 from anyone else never creates state: it is answered statelessly
/// with mode 2 only when authenticated by a trusted key and `restrict` allows (no `nopeer`),
/// else dropped and counted; a stray mode 2 is dropped.
#[allow(clippy::too_many_arguments)]
pub fn classify(
    data: &[u8],
    from: SocketAddr,
    rx: NtpTimestamp,
    now_mono: f64,
    table: &RestrictTable,
    system: &SystemState,
    limiter: &RateLimiter,
    keys: &impl KeyStore,
    peers: &[SocketAddr],
    out: &mut [u8],
) -> Verdict {
    let access = Access::from_bits(table.lookup(from).flags.bits());
    let ctx = RequestContext {
        from: from.ip(),
        from_port: from.port(),
        access,
        receive_timestamp: rx,
        now_mono,
    };
    let verdict = |r: Response| match r {
        Response::Drop(reason) => Verdict::Drop(reason),
        r => Verdict::Respond(r),
    };
    match data.first().map(|b| b & 7) {
        Some(3) => verdict(respond(data, &ctx, system, Some(limiter), keys, out)),
        Some(1 | 2 | 6 | 7) if access.contains(Access::IGNORE) => {
            Verdict::Drop(DropReason::Ignored)
        }
        // `noserve` denies every NTP packet, configured peers' too (only queries pass).
        Some(1 | 2) if access.contains(Access::NOSERVE) => Verdict::Drop(DropReason::NoServe),
        Some(1 | 2) if peers.contains(&from) => Verdict::Forward,
        Some(1) => verdict(respond_symmetric(
            data,
            &ctx,
            system,
            Some(limiter),
            keys,
            out,
        )),
        Some(6 | 7) => Verdict::Forward,
        Some(_) => Verdict::Drop(DropReason::BadMode),
        None => Verdict::Drop(DropReason::Malformed),
    }
}

/// Convert a received address to std.
pub fn sockaddr_to_std(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = s.as_sockaddr_in() {
        Some(SocketAddr::from((v4.ip(), v4.port())))
    } else {
        s.as_sockaddr_in6()
            .map(|v6| SocketAddr::from((IpAddr::V6(v6.ip()), v6.port())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntp_core::server::RateLimitConfig;
    use ntp_wire::{MacAlgorithm, Mode, NtpHeader, Trailer, Writer};

    fn mode(m: Mode, key: Option<&SymmetricKey>) -> Vec<u8> {
        let h = NtpHeader {
            version: 4,
            mode: m,
            transmit_timestamp: NtpTimestamp::from_bits(0x0102_0304_0506_0708),
            ..NtpHeader::default()
        };
        let mut b = h.to_bytes().to_vec();
        if let Some(k) = key {
            let mut buf = [0u8; 64];
            let mut w = Writer::new(&mut buf);
            Trailer::Mac(k.sign(&b)).write(&mut w).expect("fits");
            let n = w.position();
            b.extend_from_slice(&buf[..n]);
        }
        b
    }

    fn verdict(conf: &str, data: &[u8], from: &str, peers: &[SocketAddr]) -> Verdict {
        let config = ntp_conf::parse(conf, "ntp.conf", &ntp_conf::NoFiles).expect("config");
        let (table, _) = RestrictTable::build(&config);
        let key = SymmetricKey::new(1, MacAlgorithm::Md5, b"secret");
        let limiter = RateLimiter::new(RateLimitConfig::default(), (1, 2));
        let mut out = [0u8; MAX_REPLY_LEN];
        classify(
            data,
            from.parse().expect("address"),
            NtpTimestamp::from_bits(1 << 40),
            0.0,
            &table,
            &SystemState::default(),
            &limiter,
            &KeyRing::new(vec![key]),
            peers,
            &mut out,
        )
    }

    #[test]
    fn symmetric_packets_reach_the_engine_only_from_configured_peers() {
        let key = SymmetricKey::new(1, MacAlgorithm::Md5, b"secret");
        let peer: SocketAddr = "192.0.2.2:123".parse().expect("address");
        let signed = mode(Mode::SymmetricActive, Some(&key));
        let plain = mode(Mode::SymmetricActive, None);
        let passive = mode(Mode::SymmetricPassive, Some(&key));
        let open = "restrict default\n";
        // The configured peer, even under `nopeer` (which is about ephemeral associations).
        for d in [&signed, &plain, &passive] {
            assert_eq!(
                verdict("restrict default nopeer\n", d, "192.0.2.2:123", &[peer]),
                Verdict::Forward
            );
        }
        // Its address from another port is a stranger.
        assert_eq!(
            verdict(open, &plain, "192.0.2.2:4000", &[peer]),
            Verdict::Drop(DropReason::NotTrusted)
        );
        // Strangers: a stateless answer only when authenticated and allowed.
        assert!(matches!(
            verdict(open, &signed, "192.0.2.9:123", &[peer]),
            Verdict::Respond(Response::Reply {
                key_id: Some(1),
                ..
            })
        ));
        assert_eq!(
            verdict(open, &plain, "192.0.2.9:123", &[peer]),
            Verdict::Drop(DropReason::NotTrusted)
        );
        assert_eq!(
            verdict(
                "restrict default nopeer\n",
                &signed,
                "192.0.2.9:123",
                &[peer]
            ),
            Verdict::Drop(DropReason::NoServe)
        );
        assert_eq!(
            verdict(open, &passive, "192.0.2.9:123", &[peer]),
            Verdict::Drop(DropReason::BadMode)
        );
        assert_eq!(
            verdict(
                "restrict default ignore\n",
                &signed,
                "192.0.2.2:123",
                &[peer]
            ),
            Verdict::Drop(DropReason::Ignored)
        );
        assert_eq!(
            verdict(
                "restrict default noserve\n",
                &signed,
                "192.0.2.2:123",
                &[peer]
            ),
            Verdict::Drop(DropReason::NoServe)
        );
    }
}
