//! The real [`Io`]: the system resolver, one UDP socket per address family (IPv6 sockets
//! are IPv6-only so both can hold port 123), `poll` for replies, `/dev/urandom`, the local
//! time zone and syslog through `/dev/log` (facility `LOG_NTP`, as classic's `openlog`).

use std::io::Read;
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs, UdpSocket,
};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6,
};

use crate::cli::Family;
use crate::io::{Io, Level, OpenError, ResolveError};

/// `LOG_NTP`: the syslog facility classic ntpdate logs under (12 << 3).
const LOG_NTP: u8 = 12 << 3;

/// The operating system as ntpdate sees it.
#[derive(Debug)]
pub struct SystemIo {
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    start: Instant,
    syslog: Option<UnixDatagram>,
    pid: u32,
}

impl Default for SystemIo {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemIo {
    /// Nothing opened yet.
    pub fn new() -> Self {
        SystemIo {
            v4: None,
            v6: None,
            start: Instant::now(),
            syslog: None,
            pid: std::process::id(),
        }
    }

    fn open_one(family: Family, port: u16) -> Result<UdpSocket, OpenError> {
        let af = match family {
            Family::V4 => AddressFamily::Inet,
            Family::V6 => AddressFamily::Inet6,
        };
        let fd = socket(af, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
            .map_err(|e| OpenError::Other(e.into()))?;
        let res = match family {
            Family::V4 => bind(
                fd.as_raw_fd(),
                &SockaddrIn::from(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)),
            ),
            Family::V6 => {
                setsockopt(&fd, sockopt::Ipv6V6Only, &true)
                    .map_err(|e| OpenError::Other(e.into()))?;
                bind(
                    fd.as_raw_fd(),
                    &SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0)),
                )
            }
        };
        match res {
            Ok(()) => {}
            Err(Errno::EADDRINUSE) => return Err(OpenError::InUse),
            Err(Errno::EACCES) => return Err(OpenError::PermissionDenied),
            Err(e) => return Err(OpenError::Other(e.into())),
        }
        let sock = UdpSocket::from(fd);
        sock.set_nonblocking(true)?;
        Ok(sock)
    }

    fn reachable(addr: &SocketAddr) -> bool {
        let local: SocketAddr = if addr.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        UdpSocket::bind(local).and_then(|s| s.connect(addr)).is_ok()
    }
}

/// `gai_strerror` text and `EAI_*` code for a resolver failure std reports as text.
fn classify(err: &std::io::Error) -> ResolveError {
    let text = err.to_string();
    let message = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text)
        .to_string();
    let code = match message.as_str() {
        "Name or service not known" => -2,
        "Temporary failure in name resolution" => -3,
        "Non-recoverable failure in name resolution" => -4,
        "No address associated with hostname" => -5,
        "Address family for hostname not supported" => -9,
        _ => -11,
    };
    if code == -3 || code == -4 {
        ResolveError::ResolverFailed { message, code }
    } else {
        ResolveError::NotFound { message, code }
    }
}

impl Io for SystemIo {
    fn resolve(
        &mut self,
        host: &str,
        port: u16,
        family: Option<Family>,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let all: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => (host, port)
                .to_socket_addrs()
                .map_err(|e| classify(&e))?
                .collect(),
        };
        let wanted: Vec<SocketAddr> = all
            .into_iter()
            .filter(|a| match family {
                Some(Family::V4) => a.is_ipv4(),
                Some(Family::V6) => a.is_ipv6(),
                None => true,
            })
            .collect();
        if wanted.is_empty() {
            return Err(ResolveError::NotFound {
                message: "Address family for hostname not supported".to_string(),
                code: -9,
            });
        }
        Ok(wanted.into_iter().filter(Self::reachable).collect())
    }

    fn open(&mut self, families: &[Family], local_port: Option<u16>) -> Result<(), OpenError> {
        let port = local_port.unwrap_or(0);
        for f in families {
            let s = Self::open_one(*f, port)?;
            match f {
                Family::V4 => self.v4 = Some(s),
                Family::V6 => self.v6 = Some(s),
            }
        }
        Ok(())
    }

    fn send(&mut self, to: SocketAddr, datagram: &[u8]) -> std::io::Result<()> {
        let sock = if to.is_ipv4() { &self.v4 } else { &self.v6 };
        let sock = sock.as_ref().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "cannot find family compatible socket to send ntp packet",
            )
        })?;
        sock.send_to(datagram, to).map(drop)
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> std::io::Result<Option<(usize, SocketAddr)>> {
        let socks: Vec<&UdpSocket> = self.v4.iter().chain(self.v6.iter()).collect();
        if socks.is_empty() {
            std::thread::sleep(timeout);
            return Ok(None);
        }
        let mut fds: Vec<PollFd<'_>> = socks
            .iter()
            .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
            .collect();
        // Round up so a sub-millisecond wait does not spin.
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        let t = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, t) {
            Ok(0) | Err(Errno::EINTR) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
            .collect();
        for (s, r) in socks.iter().zip(ready) {
            if r {
                match s.recv_from(buf) {
                    Ok((n, from)) => return Ok(Some((n, from))),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(None)
    }

    fn monotonic(&mut self) -> Duration {
        self.start.elapsed()
    }

    fn random_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let ok = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut b))
            .is_ok();
        if ok {
            return u64::from_ne_bytes(b);
        }
        // No /dev/urandom: at least never repeat within a run.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        ntp_core::SplitMix64::new(t ^ u64::from(self.pid) << 32).next_u64()
    }

    fn read_file(&mut self, path: &str) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn utc_offset(&self, unix: i64) -> i32 {
        chrono::Local
            .timestamp_opt(unix, 0)
            .single()
            .map(|d| d.offset().local_minus_utc())
            .unwrap_or(0)
    }

    fn syslog(&mut self, level: Level, message: &str) {
        if self.syslog.is_none() {
            self.syslog = UnixDatagram::unbound()
                .ok()
                .filter(|s| s.connect("/dev/log").is_ok());
        }
        if let Some(s) = &self.syslog {
            let stamp = chrono::Local::now().format("%b %e %H:%M:%S");
            let line = format!(
                "<{}>{stamp} ntpdate[{}]: {message}",
                LOG_NTP | level as u8,
                self.pid
            );
            // Syslog is best effort, as in classic.
            let _ = s.send(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    //! Loopback only; nothing here touches the clock.
    use super::*;

    #[test]
    fn resolver_failures_are_classified_like_getaddrinfo() {
        let e = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(
            classify(&e),
            ResolveError::NotFound {
                message: "Name or service not known".into(),
                code: -2
            }
        );
        let e = std::io::Error::other(
            "failed to lookup address information: Temporary failure in name resolution",
        );
        assert!(matches!(
            classify(&e),
            ResolveError::ResolverFailed { code: -3, .. }
        ));
    }

    #[test]
    fn literal_addresses_resolve_without_dns_and_respect_the_family() {
        let mut io = SystemIo::new();
        assert_eq!(
            io.resolve("127.0.0.1", 1123, None).unwrap(),
            vec!["127.0.0.1:1123".parse::<SocketAddr>().unwrap()]
        );
        assert!(matches!(
            io.resolve("127.0.0.1", 123, Some(Family::V6)),
            Err(ResolveError::NotFound { code: -9, .. })
        ));
    }

    #[test]
    fn ephemeral_socket_sends_receives_and_times_out() {
        let mut io = SystemIo::new();
        io.open(&[Family::V4], None).unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 64];
        let t = Instant::now();
        assert!(io
            .recv(&mut buf, Duration::from_millis(30))
            .unwrap()
            .is_none());
        assert!(t.elapsed() >= Duration::from_millis(25));
        io.send(peer.local_addr().unwrap(), b"ping").unwrap();
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        peer.send_to(b"pong", from).unwrap();
        let (n, src) = io.recv(&mut buf, Duration::from_secs(2)).unwrap().unwrap();
        assert_eq!((&buf[..n], src), (&b"pong"[..], peer.local_addr().unwrap()));
        // No IPv6 socket was opened, so IPv6 destinations have nowhere to go.
        assert!(io.send("[::1]:123".parse().unwrap(), b"x").is_err());
    }

    #[test]
    fn a_port_held_by_another_socket_reports_in_use() {
        let holder = UdpSocket::bind("0.0.0.0:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let mut io = SystemIo::new();
        assert!(matches!(
            io.open(&[Family::V4], Some(port)),
            Err(OpenError::InUse)
        ));
    }
}
