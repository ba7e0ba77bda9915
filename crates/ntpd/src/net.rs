//! Sockets: which local addresses to listen on (classic ntpd binds each interface address so
//! that replies leave from the address the client asked), and how each socket is set up
//! (SO_REUSEPORT for the server workers, kernel receive timestamps, IPV6_V6ONLY, non-blocking).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage,
};

/// Address families to listen on (`-4`, `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Families {
    /// Both.
    #[default]
    Both,
    /// IPv4 only (`-4`).
    V4,
    /// IPv6 only (`-6`).
    V6,
}

impl Families {
    /// True when `addr`'s family is enabled.
    pub fn allows(self, addr: &IpAddr) -> bool {
        match self {
            Families::Both => true,
            Families::V4 => addr.is_ipv4(),
            Families::V6 => addr.is_ipv6(),
        }
    }
}

/// The local addresses of every interface that is up, as classic ntpd enumerates them
/// (IPv6 link-local addresses are left out: they need a scope and are not served by default).
pub fn local_addresses(families: Families) -> Vec<IpAddr> {
    local_interfaces(families)
        .into_iter()
        .map(|(_, ip)| ip)
        .collect()
}

/// (interface name, address) of every interface that is up (see [`local_addresses`]).
pub fn local_interfaces(families: Families) -> Vec<(String, IpAddr)> {
    let mut out: Vec<(String, IpAddr)> = Vec::new();
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for ifa in addrs {
            if !ifa.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP) {
                continue;
            }
            let Some(a) = ifa.address else { continue };
            let ip = if let Some(v4) = a.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else if let Some(v6) = a.as_sockaddr_in6() {
                let ip = v6.ip();
                if (ip.segments()[0] & 0xffc0) == 0xfe80 {
                    continue;
                }
                IpAddr::V6(ip)
            } else {
                continue;
            };
            if families.allows(&ip) && !out.iter().any(|(_, x)| *x == ip) {
                out.push((ifa.interface_name.clone(), ip));
            }
        }
    }
    if out.is_empty() {
        // No interface list (a minimal container): at least serve loopback.
        for ip in [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ] {
            if families.allows(&ip) {
                out.push(("lo".to_owned(), ip));
            }
        }
    }
    out
}

/// The addresses to listen on under the `interface`/`listen` rules (and `-I NAME|ADDR`, which
/// means "these only"), applied as classic: in order, the last matching rule decides; no rule
/// means listen. `drop` and `ignore` both mean no socket here. Loopback addresses are always
/// kept, so ntpq/ntpdc on the host keep working whatever the rules say.
pub fn select_addresses(
    interfaces: &[(String, IpAddr)],
    rules: &[ntp_conf::InterfaceRule],
    only: &[String],
) -> Vec<IpAddr> {
    use ntp_conf::{InterfaceAction, InterfaceTarget};
    let matches = |t: &InterfaceTarget, name: &str, ip: &IpAddr| match t {
        InterfaceTarget::All => true,
        InterfaceTarget::Ipv4 => ip.is_ipv4(),
        InterfaceTarget::Ipv6 => ip.is_ipv6(),
        InterfaceTarget::Wildcard => false,
        InterfaceTarget::Name(n) => n == name,
        InterfaceTarget::Address(a, prefix) => {
            let bits = prefix.unwrap_or(if a.is_ipv4() { 32 } else { 128 });
            crate::net::prefix_match(a, ip, bits)
        }
    };
    interfaces
        .iter()
        .filter(|(name, ip)| {
            if is_loopback(ip) {
                return true;
            }
            if !only.is_empty() {
                return only
                    .iter()
                    .any(|o| o == name || o.parse::<IpAddr>().ok() == Some(*ip));
            }
            let mut listen = true;
            for r in rules {
                if matches(&r.target, name, ip) {
                    listen = r.action == InterfaceAction::Listen;
                }
            }
            listen
        })
        .map(|(_, ip)| *ip)
        .collect()
}

/// True when the first `bits` bits of `a` and `b` agree (same family only).
pub fn prefix_match(a: &IpAddr, b: &IpAddr, bits: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let bits = u32::from(bits.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(*a) & mask == u32::from(*b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let bits = u32::from(bits.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(*a) & mask == u128::from(*b) & mask
        }
        _ => false,
    }
}

/// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
pub fn is_loopback(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// How a socket should be set up.
#[derive(Debug, Clone, Copy)]
pub struct SocketOptions {
    /// SO_REUSEPORT, so every server worker can bind its own socket to the same address.
    pub reuse_port: bool,
    /// SO_TIMESTAMPNS: kernel receive timestamps.
    pub timestamps: bool,
    /// Non-blocking.
    pub nonblocking: bool,
}

/// A UDP socket bound to `addr` with `opts`.
///
/// # Errors
/// The system call that failed.
pub fn udp_socket(addr: SocketAddr, opts: SocketOptions) -> std::io::Result<UdpSocket> {
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if opts.nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    let fd: OwnedFd = socket(family, SockType::Datagram, flags, None)?;
    if addr.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    // No SO_REUSEADDR: with it, Linux lets a UDP socket share an address another daemon
    // already holds, and the two would steal each other's packets. SO_REUSEPORT only groups
    // sockets that all ask for it (our own workers, same user).
    if opts.reuse_port {
        setsockopt(&fd, sockopt::ReusePort, &true)?;
    }
    if opts.timestamps {
        setsockopt(&fd, sockopt::ReceiveTimestampns, &true)?;
    }
    let sa = SockaddrStorage::from(addr);
    bind(fd.as_raw_fd(), &sa)?;
    Ok(UdpSocket::from(fd))
}

/// Receive one datagram with its kernel receive timestamp (SO_TIMESTAMPNS), non-blocking.
///
/// # Errors
/// The receive error (`WouldBlock` when nothing is queued).
pub fn recv_timestamped(
    fd: std::os::fd::RawFd,
    buf: &mut [u8],
) -> std::io::Result<(usize, Option<SocketAddr>, Option<ntp_wire::NtpTimestamp>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_DONTWAIT)
        .map_err(std::io::Error::from)?;
    let mut ts = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            if let ControlMessageOwned::ScmTimestampns(t) = c {
                ts = Some(ntp_wire::NtpTimestamp::from_unix(
                    t.tv_sec(),
                    t.tv_nsec() as u32,
                ));
            }
        }
    }
    let from = msg
        .address
        .as_ref()
        .and_then(crate::server::sockaddr_to_std);
    Ok((msg.bytes, from, ts))
}

/// A client socket for one association: an ephemeral (random) source port (RFC 9109),
/// connected to the server so only its replies are accepted, with kernel timestamps.
///
/// # Errors
/// The system call that failed.
pub fn client_socket(server: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if server.is_ipv4() {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    };
    let s = udp_socket(
        local,
        SocketOptions {
            reuse_port: false,
            timestamps: true,
            nonblocking: true,
        },
    )?;
    s.connect(server)?;
    Ok(s)
}

/// The listening address a symmetric peer's packets leave from: classic peers match on our
/// address and port, so they must come from a server socket. The kernel's route choice when
/// we listen on it, else a listening address of the same family (loopback for a loopback
/// peer).
pub fn peer_local(peer: SocketAddr, listening: &[SocketAddr]) -> Option<SocketAddr> {
    let routed = client_socket(peer)
        .and_then(|s| s.local_addr())
        .ok()
        .map(|l| l.ip());
    let same_family = |l: &&SocketAddr| l.is_ipv4() == peer.is_ipv4();
    listening
        .iter()
        .find(|l| Some(l.ip()) == routed)
        .or_else(|| {
            listening
                .iter()
                .filter(same_family)
                .find(|l| is_loopback(&l.ip()) == is_loopback(&peer.ip()))
        })
        .or_else(|| listening.iter().find(same_family))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_peer_is_reached_from_the_loopback_listener() {
        let listening: Vec<SocketAddr> = vec![
            "192.0.2.7:123".parse().unwrap(),
            "127.0.0.1:123".parse().unwrap(),
            "[::1]:123".parse().unwrap(),
        ];
        assert_eq!(
            peer_local("127.0.0.1:9123".parse().unwrap(), &listening),
            Some("127.0.0.1:123".parse().unwrap())
        );
        assert_eq!(
            peer_local("[::1]:123".parse().unwrap(), &listening),
            Some("[::1]:123".parse().unwrap())
        );
        assert_eq!(
            peer_local("[::1]:123".parse().unwrap(), &listening[..2]),
            None
        );
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback(&"127.0.0.5".parse().unwrap()));
        assert!(is_loopback(&"::1".parse().unwrap()));
        assert!(is_loopback(&"::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback(&"10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn local_addresses_include_loopback() {
        let a = local_addresses(Families::V4);
        assert!(a.iter().any(is_loopback), "{a:?}");
        assert!(a.iter().all(IpAddr::is_ipv4));
    }

    #[test]
    fn interface_rules_last_match_wins_and_loopback_stays() {
        let rules = ntp_conf::parse(
            "interface ignore all\ninterface listen eth0\ninterface drop 10.0.0.0/8\n",
            "ntp.conf",
            &ntp_conf::NoFiles,
        )
        .unwrap()
        .interfaces;
        let ifs: Vec<(String, IpAddr)> = vec![
            ("lo".into(), "127.0.0.1".parse().unwrap()),
            ("eth0".into(), "192.0.2.5".parse().unwrap()),
            ("eth0".into(), "10.1.2.3".parse().unwrap()),
            ("eth1".into(), "198.51.100.7".parse().unwrap()),
        ];
        let got = select_addresses(&ifs, &rules, &[]);
        let want: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "192.0.2.5".parse().unwrap()];
        assert_eq!(got, want);
        assert_eq!(
            select_addresses(&ifs, &[], &[]).len(),
            4,
            "no rule: listen everywhere"
        );
        let only = select_addresses(&ifs, &rules, &["198.51.100.7".into()]);
        assert_eq!(
            only.len(),
            2,
            "-I ADDR: that address (and loopback) only: {only:?}"
        );
    }

    #[test]
    fn two_reuseport_sockets_share_an_address() {
        let opts = SocketOptions {
            reuse_port: true,
            timestamps: true,
            nonblocking: true,
        };
        let a = udp_socket("127.0.0.1:0".parse().unwrap(), opts).unwrap();
        let port = a.local_addr().unwrap().port();
        let b = udp_socket(SocketAddr::from(([127, 0, 0, 1], port)), opts).unwrap();
        assert_eq!(b.local_addr().unwrap().port(), port);
    }
}
