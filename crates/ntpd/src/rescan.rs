//! Interface rescan (classic `-U`, `interface_update_interval`; security.md F08): the server
//! sockets follow the machine's addresses. Every address gets its own listener: SO_REUSEPORT
//! sockets bound exactly as at start-up, served by their own worker threads (or one inline task
//! with `--server-threads 0`), so one address can be stopped and its sockets closed without
//! touching the others. A scan runs every `-U` seconds (default 300, 0 disables) and two
//! seconds after the kernel reports an address or link change (rtnetlink, as classic's
//! routing socket); it diffs the current addresses, under the `interface`/`listen` rules and
//! `-I`, against the bound set and logs each change in classic's words.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::control::Listening;
use crate::log::{Level, Logger};
use crate::net::{self, SocketOptions};
use crate::server::{run_worker_until, CounterTotals, ForwardSender, ServerShared, WorkerCounters};

/// Seconds between periodic scans when `-U` is not given (classic default).
pub const DEFAULT_INTERVAL: u32 = 300;
/// Delay from a kernel address/link notification to the scan (classic `UPDATE_GRACE`): a
/// burst of messages (an interface coming up with several addresses) makes one scan.
pub const UPDATE_GRACE: Duration = Duration::from_secs(2);

/// What one scan changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// New addresses the rules allow, with their interface names, in interface-list order.
    pub bind: Vec<(String, IpAddr)>,
    /// Bound addresses that are gone (or no longer up), in bound order.
    pub close: Vec<IpAddr>,
}

/// The diff of one scan: `current` is the interface list now, `bound` the addresses served
/// now; `rules` and `only` (`-I`) select as at start-up ([`net::select_addresses`]).
pub fn plan(
    bound: &[IpAddr],
    current: &[(String, IpAddr)],
    rules: &[ntp_conf::InterfaceRule],
    only: &[String],
) -> Plan {
    let wanted = net::select_addresses(current, rules, only);
    let mut bind: Vec<(String, IpAddr)> = Vec::new();
    for (name, ip) in current {
        if wanted.contains(ip) && !bound.contains(ip) && !bind.iter().any(|(_, b)| b == ip) {
            bind.push((name.clone(), *ip));
        }
    }
    let close = bound
        .iter()
        .filter(|ip| !wanted.contains(ip))
        .copied()
        .collect();
    Plan { bind, close }
}

/// The sockets of one address, bound but not served yet.
#[derive(Debug)]
pub struct Bound {
    /// Interface name.
    pub name: String,
    /// Address and port.
    pub addr: SocketAddr,
    /// One SO_REUSEPORT socket per worker.
    sockets: Vec<UdpSocket>,
    /// A clone of the first, for the main thread's control replies.
    reply: UdpSocket,
}

/// Bind `copies` server sockets to `ip:port`, as at start-up: a plain probe bind first (it
/// fails when another daemon holds the address, even with SO_REUSEPORT, which our sockets
/// would otherwise silently join), then SO_REUSEPORT sockets with kernel timestamps, never
/// SO_REUSEADDR.
///
/// # Errors
/// The first system call that failed.
pub fn bind_address(name: &str, ip: IpAddr, port: u16, copies: usize) -> io::Result<Bound> {
    let addr = SocketAddr::new(ip, port);
    let probe = SocketOptions {
        reuse_port: false,
        timestamps: false,
        nonblocking: true,
    };
    drop(net::udp_socket(addr, probe)?);
    let opts = SocketOptions {
        reuse_port: true,
        timestamps: true,
        nonblocking: true,
    };
    let sockets = (0..copies.max(1))
        .map(|_| net::udp_socket(addr, opts))
        .collect::<io::Result<Vec<_>>>()?;
    let reply = sockets
        .first()
        .ok_or_else(|| io::Error::other("no socket"))?
        .try_clone()?;
    Ok(Bound {
        name: name.to_owned(),
        addr,
        sockets,
        reply,
    })
}

/// Bind every address the rules select among `current`, sorted by address (the order the
/// interface numbers follow); failures are logged and skipped.
pub fn bind_selected(
    current: &[(String, IpAddr)],
    rules: &[ntp_conf::InterfaceRule],
    only: &[String],
    port: u16,
    copies: &dyn Fn(&IpAddr) -> usize,
    log: &Logger,
) -> Vec<Bound> {
    let mut want = plan(&[], current, rules, only).bind;
    want.sort_by_key(|(_, ip)| *ip);
    want.into_iter()
        .filter_map(
            |(name, ip)| match bind_address(&name, ip, port, copies(&ip)) {
                Ok(b) => Some(b),
                Err(e) => {
                    log.log(
                        Level::Warning,
                        "bind",
                        &format!("cannot listen on {}: {e}", SocketAddr::new(ip, port)),
                    );
                    None
                }
            },
        )
        .collect()
}

/// One served address.
#[derive(Debug)]
struct Listener {
    num: u32,
    name: String,
    addr: SocketAddr,
    since: Instant,
    counters: Vec<Arc<WorkerCounters>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    inline: Option<tokio::task::AbortHandle>,
}

/// Every served address, and what it takes to serve a new one.
#[derive(Debug)]
pub struct Listeners {
    port: u16,
    /// Server worker threads per address; 0 serves inline on the client thread.
    threads: usize,
    /// `--server-threads` was given: every address gets `threads` workers.
    explicit: bool,
    shared: Arc<ServerShared>,
    forward: ForwardSender,
    log: Arc<Logger>,
    /// The daemon's start, for the published active times.
    start: Instant,
    next_num: u32,
    list: Vec<Listener>,
}

impl Listeners {
    /// No listener yet; `threads` workers per address (0: inline), loopback addresses one
    /// unless `explicit` (see [`Listeners::copies_for`]).
    pub fn new(
        port: u16,
        threads: usize,
        explicit: bool,
        shared: Arc<ServerShared>,
        forward: ForwardSender,
        log: Arc<Logger>,
        start: Instant,
    ) -> Self {
        Listeners {
            port,
            threads,
            explicit,
            shared,
            forward,
            log,
            start,
            next_num: 0,
            list: Vec::new(),
        }
    }

    /// Sockets (and workers) for `ip`: `threads` (at least one socket even when serving
    /// inline). By default (`explicit` false, i.e. one worker per core) a loopback address
    /// gets one: it serves only this host's own queries, and every address has workers of its
    /// own, so a host with several addresses would otherwise run cores x addresses threads.
    pub fn copies_for(threads: usize, explicit: bool, ip: &IpAddr) -> usize {
        if !explicit && crate::net::is_loopback(ip) {
            1
        } else {
            threads.max(1)
        }
    }

    /// Start serving `b` (worker threads, or an inline task, which needs the client thread's
    /// LocalSet); its reply socket goes to `reply_sockets` and its counters to `counters`.
    ///
    /// # Errors
    /// A worker thread could not be started (the address is then not served).
    pub fn serve(
        &mut self,
        b: Bound,
        reply_sockets: &mut HashMap<SocketAddr, UdpSocket>,
        counters: &mut Vec<Arc<WorkerCounters>>,
    ) -> io::Result<()> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut mine = Vec::new();
        let mut threads = Vec::new();
        let mut inline = None;
        if self.threads == 0 {
            let c = Arc::new(WorkerCounters::default());
            mine.push(Arc::clone(&c));
            if let Some(s) = b.sockets.into_iter().next() {
                inline = crate::daemon::spawn_inline_server(
                    s,
                    Arc::clone(&self.shared),
                    c,
                    self.forward.clone(),
                );
            }
        } else {
            for s in b.sockets {
                let c = Arc::new(WorkerCounters::default());
                mine.push(Arc::clone(&c));
                let (sh, tx, st) = (
                    Arc::clone(&self.shared),
                    self.forward.clone(),
                    Arc::clone(&stop),
                );
                let spawned = std::thread::Builder::new()
                    .name("ntpd-server".into())
                    .spawn(move || run_worker_until(vec![s], sh, c, Some(tx), &st));
                match spawned {
                    Ok(h) => threads.push(h),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }
        let num = self.next_num;
        self.next_num = self.next_num.saturating_add(1);
        // Causes of their own: the log's per-cause rate limit must not let bind failures
        // hide these lines (or the other way round).
        self.log.log(
            Level::Info,
            "listen",
            &format!("Listen normally on {num} {} {}", b.name, b.addr),
        );
        reply_sockets.insert(b.addr, b.reply);
        counters.extend(mine.iter().cloned());
        self.list.push(Listener {
            num,
            name: b.name,
            addr: b.addr,
            since: Instant::now(),
            counters: mine,
            stop,
            threads,
            inline,
        });
        Ok(())
    }

    /// One scan against `current` (the interface list now): bind and serve new addresses the
    /// rules allow, stop and close the vanished ones. True when anything changed.
    pub fn rescan(
        &mut self,
        current: &[(String, IpAddr)],
        rules: &[ntp_conf::InterfaceRule],
        only: &[String],
        reply_sockets: &mut HashMap<SocketAddr, UdpSocket>,
        counters: &mut Vec<Arc<WorkerCounters>>,
    ) -> bool {
        let bound: Vec<IpAddr> = self.list.iter().map(|l| l.addr.ip()).collect();
        let p = plan(&bound, current, rules, only);
        let changed = !p.bind.is_empty() || !p.close.is_empty();
        for ip in &p.close {
            self.close(*ip, reply_sockets);
        }
        for (name, ip) in p.bind {
            let copies = Self::copies_for(self.threads, self.explicit, &ip);
            let served = bind_address(&name, ip, self.port, copies)
                .and_then(|b| self.serve(b, reply_sockets, counters));
            if let Err(e) = served {
                // Retried at the next scan (an IPv6 address may still be tentative).
                self.log.log(
                    Level::Warning,
                    "bind",
                    &format!("cannot listen on {}: {e}", SocketAddr::new(ip, self.port)),
                );
            }
        }
        changed
    }

    /// Stop serving `ip`: the workers see their flag within one poll timeout and close the
    /// sockets as they return (they are not joined, so the client thread never waits).
    fn close(&mut self, ip: IpAddr, reply_sockets: &mut HashMap<SocketAddr, UdpSocket>) {
        let Some(i) = self.list.iter().position(|l| l.addr.ip() == ip) else {
            return;
        };
        let l = self.list.remove(i);
        l.stop.store(true, Ordering::Relaxed);
        if let Some(h) = &l.inline {
            h.abort();
        }
        reply_sockets.remove(&l.addr);
        let t = CounterTotals::sum(&l.counters);
        // Classic's fields: `sent` counts every reply, `dropped` the replies that could not
        // be sent (its `notsent`).
        self.log.log(
            Level::Info,
            "unlisten",
            &format!(
                "Deleting interface #{} {}, {}#{}, interface stats: received={}, sent={}, dropped={}, active_time={} secs",
                l.num,
                l.name,
                l.addr.ip(),
                l.addr.port(),
                t.received,
                t.replies + t.kods + t.naks,
                t.send_errors,
                l.since.elapsed().as_secs()
            ),
        );
    }

    /// The served addresses as ntpq/ntpdc show them.
    pub fn published(&self) -> Vec<Listening> {
        self.list
            .iter()
            .map(|l| Listening {
                num: l.num,
                addr: l.addr,
                since: l.since.saturating_duration_since(self.start).as_secs_f64(),
                counters: l.counters.clone(),
            })
            .collect()
    }

    /// Stop every listener and hand back the worker threads to join.
    pub fn stop_all(&mut self) -> Vec<JoinHandle<()>> {
        let mut out = Vec::new();
        for l in &mut self.list {
            l.stop.store(true, Ordering::Relaxed);
            out.append(&mut l.threads);
        }
        out
    }
}

/// When the next scan is due: every `-U` seconds, and [`UPDATE_GRACE`] after an rtnetlink
/// address or link notification.
#[derive(Debug)]
pub struct Schedule {
    interval: Option<Duration>,
    periodic: Option<Instant>,
    grace: Option<Instant>,
    /// The rtnetlink socket. std has no netlink type and tokio's `AsyncFd::new` is deprecated;
    /// a UdpSocket wrapper gives the reactor registration without unsafe code, and is used
    /// only for its descriptor (every read goes through `recv(2)`).
    netlink: Option<tokio::net::UdpSocket>,
}

/// rtnetlink multicast groups: links (up/down) and IPv4/IPv6 address changes.
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// A non-blocking rtnetlink socket subscribed to link and address changes.
///
/// # Errors
/// The system call that failed.
pub fn netlink_socket() -> io::Result<OwnedFd> {
    use nix::sys::socket::{
        bind, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
    };
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkRoute,
    )?;
    let groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, groups))?;
    Ok(fd)
}

impl Schedule {
    /// Scans every `interval_secs` (0: never, and no notifications either, as classic `-U 0`).
    /// Must be called inside the tokio runtime (the notification socket registers with it).
    pub fn new(interval_secs: u32, log: &Logger) -> Self {
        if interval_secs == 0 {
            return Schedule {
                interval: None,
                periodic: None,
                grace: None,
                netlink: None,
            };
        }
        let interval = Duration::from_secs(u64::from(interval_secs));
        let netlink = match netlink_socket()
            .and_then(|fd| tokio::net::UdpSocket::from_std(UdpSocket::from(fd)))
        {
            Ok(fd) => Some(fd),
            Err(e) => {
                log.log(
                    Level::Warning,
                    "rescan",
                    &format!(
                        "no interface change notifications ({e}); scanning every {interval_secs} s"
                    ),
                );
                None
            }
        };
        Schedule {
            interval: Some(interval),
            // `checked_add`: `-U 4294967295` is far, not a panic.
            periodic: Instant::now().checked_add(interval),
            grace: None,
            netlink,
        }
    }

    /// Wait until a scan is due. Cancel-safe: the deadlines live in `self`, and notifications
    /// are read to the end before the next await.
    pub async fn due(&mut self) {
        let Schedule {
            interval,
            periodic,
            grace,
            netlink,
        } = self;
        loop {
            let at = match (*periodic, *grace) {
                (Some(p), Some(g)) => Some(p.min(g)),
                (p, g) => p.or(g),
            };
            let timer = async move {
                match at {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            let notified = async {
                match netlink.as_ref() {
                    Some(fd) => drain(fd).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = timer => {
                    *grace = None;
                    *periodic = interval.and_then(|i| Instant::now().checked_add(i));
                    return;
                }
                ok = notified => {
                    if !ok {
                        // An unexpected error: do not spin on it; the periodic scan remains.
                        *netlink = None;
                    }
                    if grace.is_none() {
                        *grace = Some(Instant::now() + UPDATE_GRACE);
                    }
                }
            }
        }
    }
}

/// Wait for notifications and read every queued one (their content does not matter: any
/// change means scan). False on an error other than "nothing more queued".
async fn drain(sock: &tokio::net::UdpSocket) -> bool {
    use nix::sys::socket::{recv, MsgFlags};
    use tokio::io::Interest;
    let mut buf = [0u8; 8192];
    let fd = sock.as_raw_fd();
    let read = |buf: &mut [u8]| recv(fd, buf, MsgFlags::MSG_DONTWAIT).map_err(io::Error::from);
    // ENOBUFS: messages were lost, which still means "something changed".
    let lost = |e: &io::Error| e.raw_os_error() == Some(libc::ENOBUFS);
    match sock.async_io(Interest::READABLE, || read(&mut buf)).await {
        Ok(_) => {}
        Err(e) if lost(&e) => {}
        Err(_) => return false,
    }
    loop {
        match sock.try_io(Interest::READABLE, || read(&mut buf)) {
            Ok(_) => {}
            Err(e) if lost(&e) => {}
            Err(e) => return e.kind() == io::ErrorKind::WouldBlock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_gets_one_worker_unless_server_threads_is_given() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let lo6: IpAddr = "::1".parse().unwrap();
        let eth: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(Listeners::copies_for(8, false, &lo), 1);
        assert_eq!(Listeners::copies_for(8, false, &lo6), 1);
        assert_eq!(Listeners::copies_for(8, false, &eth), 8);
        assert_eq!(Listeners::copies_for(8, true, &lo), 8);
        assert_eq!(
            Listeners::copies_for(0, true, &eth),
            1,
            "inline still binds one socket"
        );
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rules(text: &str) -> Vec<ntp_conf::InterfaceRule> {
        ntp_conf::parse(text, "ntp.conf", &ntp_conf::NoFiles)
            .unwrap()
            .interfaces
    }

    fn ifs(list: &[(&str, &str)]) -> Vec<(String, IpAddr)> {
        list.iter().map(|(n, a)| ((*n).to_owned(), ip(a))).collect()
    }

    #[test]
    fn new_address_is_bound_and_vanished_one_closed() {
        let bound = [ip("127.0.0.1"), ip("192.0.2.5")];
        let now = ifs(&[("lo", "127.0.0.1"), ("eth1", "198.51.100.7")]);
        let p = plan(&bound, &now, &[], &[]);
        assert_eq!(p.bind, ifs(&[("eth1", "198.51.100.7")]));
        assert_eq!(p.close, vec![ip("192.0.2.5")]);
    }

    #[test]
    fn unchanged_interfaces_change_nothing() {
        let now = ifs(&[("lo", "127.0.0.1"), ("eth0", "192.0.2.5")]);
        let p = plan(&[ip("192.0.2.5"), ip("127.0.0.1")], &now, &[], &[]);
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn ignored_new_address_gets_no_socket() {
        let r = rules("interface ignore 10.9.0.0/16\ninterface drop eth2\n");
        let now = ifs(&[
            ("lo", "127.0.0.1"),
            ("eth1", "10.9.1.1"),
            ("eth2", "203.0.113.9"),
            ("eth3", "10.8.1.1"),
        ]);
        let p = plan(&[ip("127.0.0.1")], &now, &r, &[]);
        assert_eq!(p.bind, ifs(&[("eth3", "10.8.1.1")]));
        assert!(p.close.is_empty());
    }

    #[test]
    fn only_option_limits_new_addresses_but_loopback_stays() {
        let now = ifs(&[
            ("lo", "127.0.0.1"),
            ("eth0", "192.0.2.5"),
            ("eth1", "198.51.100.7"),
        ]);
        let p = plan(&[], &now, &[], &["eth1".to_owned()]);
        assert_eq!(
            p.bind,
            ifs(&[("lo", "127.0.0.1"), ("eth1", "198.51.100.7")])
        );
        // A bound address the rules no longer select is closed too.
        let p = plan(&[ip("192.0.2.5")], &now, &[], &["eth1".to_owned()]);
        assert_eq!(p.close, vec![ip("192.0.2.5")]);
    }

    #[test]
    fn address_on_two_interfaces_is_bound_once() {
        let now = ifs(&[("eth0", "192.0.2.5"), ("eth0:1", "192.0.2.5")]);
        assert_eq!(
            plan(&[], &now, &[], &[]).bind,
            ifs(&[("eth0", "192.0.2.5")])
        );
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn zero_interval_never_scans() {
        let log = Logger::new(crate::log::Sink::Stderr, Level::Info);
        runtime().block_on(async {
            let mut s = Schedule::new(0, &log);
            assert!(s.netlink.is_none(), "-U 0 disables notifications too");
            let r = tokio::time::timeout(Duration::from_millis(300), s.due()).await;
            assert!(r.is_err(), "a scan was due with -U 0");
        });
    }

    #[test]
    fn periodic_scan_is_due_every_interval() {
        let log = Logger::new(crate::log::Sink::Stderr, Level::Info);
        runtime().block_on(async {
            let mut s = Schedule::new(1, &log);
            let t0 = Instant::now();
            // Host address changes (other tests) may bring one in early, never late.
            tokio::time::timeout(Duration::from_secs(5), s.due())
                .await
                .expect("the first scan");
            assert!(t0.elapsed() <= Duration::from_millis(2500));
            tokio::time::timeout(Duration::from_secs(5), s.due())
                .await
                .expect("the second scan");
        });
    }

    #[test]
    fn rescan_serves_a_new_address_and_frees_a_vanished_one() {
        use std::sync::RwLock;
        let log = Arc::new(Logger::new(
            crate::log::Sink::Memory(Vec::new()),
            Level::Info,
        ));
        let shared = Arc::new(ServerShared {
            system: RwLock::new(ntp_core::server::SystemState::default()),
            access: RwLock::new(Arc::new(ntp_conf::RestrictTable::new())),
            keys: RwLock::new(Arc::new(crate::server::KeyRing::default())),
            shutdown: AtomicBool::new(false),
            limiter: ntp_core::server::RateLimiter::new(Default::default(), (1, 2)),
            peers: RwLock::new(Arc::new(Vec::new())),
        });
        let (tx, _rx) = tokio::sync::mpsc::channel(8);
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut l = Listeners::new(port, 2, true, shared, tx, Arc::clone(&log), Instant::now());
        let (mut replies, mut counters) = (HashMap::new(), Vec::new());
        let lo = ifs(&[("lo", "127.0.0.1")]);
        assert!(l.rescan(&lo, &[], &[], &mut replies, &mut counters));
        assert_eq!(counters.len(), 2, "one counter set per worker");
        assert!(replies.contains_key(&addr));
        assert_eq!(l.published().len(), 1);

        // Served: a client request gets a 48-byte mode 4 reply.
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut req = [0u8; 48];
        req[0] = 0x23;
        req[40..].copy_from_slice(&0x1122_3344_5566_7788u64.to_be_bytes());
        client.send_to(&req, addr).unwrap();
        let mut buf = [0u8; 128];
        let (n, _) = client.recv_from(&mut buf).expect("a reply");
        assert_eq!((n, buf[0] & 7), (48, 4));

        assert!(
            !l.rescan(&lo, &[], &[], &mut replies, &mut counters),
            "nothing changed"
        );
        assert!(l.rescan(&[], &[], &[], &mut replies, &mut counters));
        assert!(replies.is_empty() && l.published().is_empty());
        // Closed within a poll timeout: a plain bind to the address works again.
        let t0 = Instant::now();
        while UdpSocket::bind(addr).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(5), "{addr} still bound");
            std::thread::sleep(Duration::from_millis(20));
        }
        let lines = log.captured();
        assert_eq!(
            lines[0],
            format!("Listen normally on 0 lo 127.0.0.1:{port}")
        );
        assert!(
            lines[1].starts_with(&format!(
                "Deleting interface #0 lo, 127.0.0.1#{port}, interface stats: received=1, sent=1, dropped=0, active_time="
            )) && lines[1].ends_with(" secs"),
            "{lines:?}"
        );
    }

    #[test]
    fn netlink_notification_socket_opens() {
        // Unprivileged processes may join these groups too.
        assert!(netlink_socket().is_ok());
    }
}
