//! The ntpdc binary: the library's [`ntpdc::Io`] over a real UDP socket, the terminal, the
//! system clock and time zone, and `/etc/hosts` for printing names.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{Local, Offset, TimeZone};
use ntp_wire::mode7::LFp;
use ntpdc::{Family, Io};

/// Seconds from 1900 to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

struct RealIo {
    socket: Option<UdpSocket>,
    stdin: BufReader<std::io::Stdin>,
    hosts: Option<Vec<(IpAddr, String)>>,
}

impl RealIo {
    /// `/etc/hosts` entries, read once; the first name of an address is what we print.
    fn hosts(&mut self) -> &[(IpAddr, String)] {
        self.hosts.get_or_insert_with(|| {
            let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            text.lines()
                .filter_map(|l| {
                    let l = l.split('#').next().unwrap_or("");
                    let mut f = l.split_whitespace();
                    let addr = f.next()?.parse().ok()?;
                    Some((addr, f.next()?.to_string()))
                })
                .collect()
        })
    }
}

fn family_ok(addr: &IpAddr, family: Family) -> bool {
    match family {
        Family::Any => true,
        Family::V4 => addr.is_ipv4(),
        Family::V6 => addr.is_ipv6(),
    }
}

impl Io for RealIo {
    fn resolve(&mut self, host: &str, family: Family) -> Option<IpAddr> {
        if let Ok(addr) = host.parse::<IpAddr>() {
            return family_ok(&addr, family).then_some(addr);
        }
        (host, 0)
            .to_socket_addrs()
            .ok()?
            .map(|s| s.ip())
            .find(|a| family_ok(a, family))
    }

    fn reverse(&mut self, addr: IpAddr) -> Option<String> {
        self.hosts()
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, n)| n.clone())
    }

    fn connect(&mut self, addr: IpAddr, port: u16) -> Result<(), String> {
        let local: IpAddr = match addr {
            IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let socket = UdpSocket::bind(SocketAddr::new(local, 0)).map_err(|e| e.to_string())?;
        socket
            .connect(SocketAddr::new(addr, port))
            .map_err(|e| e.to_string())?;
        self.socket = Some(socket);
        Ok(())
    }

    fn send(&mut self, datagram: &[u8]) -> Result<(), String> {
        let socket = self.socket.as_ref().ok_or("no socket")?;
        // Like classic doquery(): throw away anything left over from an earlier exchange.
        socket.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut junk = [0u8; 512];
        while socket.recv(&mut junk).is_ok() {}
        socket.set_nonblocking(false).map_err(|e| e.to_string())?;
        socket.send(datagram).map(|_| ()).map_err(|e| e.to_string())
    }

    fn recv(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let socket = self.socket.as_ref()?;
        socket
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .ok()?;
        let mut buf = vec![0u8; 2048];
        loop {
            match socket.recv(&mut buf) {
                Ok(n) => {
                    buf.truncate(n);
                    return Some(buf);
                }
                // An ICMP port unreachable from an earlier send: keep waiting like select().
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(_) => return None,
            }
        }
    }

    fn now(&mut self) -> LFp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = (d.as_secs() + NTP_UNIX_OFFSET) & 0xffff_ffff;
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        LFp((secs << 32) | frac)
    }

    fn utc_offset(&mut self, unix: i64) -> i64 {
        Local
            .timestamp_opt(unix, 0)
            .single()
            .map(|t| i64::from(t.offset().fix().local_minus_utc()))
            .unwrap_or(0)
    }

    fn read_command(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.stdin.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }

    fn read_secret(&mut self, prompt: &str, echo: bool) -> Option<String> {
        // Classic reads key ids and passwords from /dev/tty, falling back to stdin; getpass
        // shows its prompt on the terminal, or on stderr without one.
        let Ok(tty) = OpenOptions::new().read(true).write(true).open("/dev/tty") else {
            if !echo {
                self.stderr(prompt);
            }
            return self
                .read_command()
                .map(|l| l.trim_end_matches(['\n', '\r']).into());
        };
        if !echo {
            let _ = (&tty as &File).write_all(prompt.as_bytes());
        }
        let saved = nix::sys::termios::tcgetattr(&tty).ok();
        if let (false, Some(saved)) = (echo, &saved) {
            let mut quiet = saved.clone();
            quiet
                .local_flags
                .remove(nix::sys::termios::LocalFlags::ECHO);
            let _ =
                nix::sys::termios::tcsetattr(&tty, nix::sys::termios::SetArg::TCSAFLUSH, &quiet);
        }
        let mut line = String::new();
        let got = BufReader::new(&tty).read_line(&mut line);
        if let (false, Some(saved)) = (echo, &saved) {
            let _ = nix::sys::termios::tcsetattr(&tty, nix::sys::termios::SetArg::TCSAFLUSH, saved);
            let _ = (&tty as &File).write_all(b"\n");
        }
        match got {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).into()),
        }
    }

    fn is_terminal(&mut self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn stdout(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn stderr(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    fn create_output(&mut self, path: &str) -> Result<(), String> {
        File::create(path).map(|_| ()).map_err(|e| {
            // perror's text without Rust's " (os error N)" suffix.
            let text = e.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        })
    }

    fn append_output(&mut self, path: &str, text: &str) {
        if let Ok(mut f) = OpenOptions::new().append(true).open(path) {
            let _ = f.write_all(text.as_bytes());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut io = RealIo {
        socket: None,
        stdin: BufReader::new(std::io::stdin()),
        hosts: None,
    };
    std::process::exit(ntpdc::run(&args, &mut io));
}
