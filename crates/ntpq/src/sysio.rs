//! The real [`Io`]: a connected UDP socket, the system clock and time zone, `/etc/hosts` for
//! reverse lookups, the terminal for passwords (no echo via termios) and the process's
//! standard streams.

use std::fs::OpenOptions;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{Local, Offset, TimeZone};
use ntp_wire::NtpTimestamp;

use crate::{Family, Io};

/// [`Io`] for the `ntpq` binary.
pub struct SystemIo {
    socket: Option<UdpSocket>,
    stdout: std::io::Stdout,
    stderr: std::io::Stderr,
    hosts: Option<Vec<(IpAddr, String)>>,
}

impl Default for SystemIo {
    fn default() -> Self {
        Self::new()
    }
}

impl SystemIo {
    /// Standard streams, no socket yet.
    pub fn new() -> Self {
        SystemIo {
            socket: None,
            stdout: std::io::stdout(),
            stderr: std::io::stderr(),
            hosts: None,
        }
    }

    fn hosts_file(&mut self) -> &[(IpAddr, String)] {
        self.hosts.get_or_insert_with(|| {
            let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            parse_hosts(&text)
        })
    }
}

/// `/etc/hosts` entries: address and first (canonical) name per line.
pub fn parse_hosts(text: &str) -> Vec<(IpAddr, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut words = line.split_whitespace();
            let ip = words.next()?.parse::<IpAddr>().ok()?;
            let name = words.next()?;
            Some((ip, name.to_owned()))
        })
        .collect()
}

/// Read one line from the controlling terminal, with echo off unless `echo`; the prompt goes
/// to the terminal when `prompt_on_tty`. `None` when there is no terminal; `Some(None)` at
/// end of input.
fn read_tty_line(prompt: &str, echo: bool, prompt_on_tty: bool) -> Option<Option<String>> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let mut tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    if prompt_on_tty {
        let _ = tty.write_all(prompt.as_bytes());
        let _ = tty.flush();
    } else {
        let mut err = std::io::stderr();
        let _ = err.write_all(prompt.as_bytes());
        let _ = err.flush();
    }
    let saved = tcgetattr(&tty).ok();
    if let (false, Some(orig)) = (echo, saved.as_ref()) {
        let mut t = orig.clone();
        t.local_flags.remove(LocalFlags::ECHO);
        let _ = tcsetattr(&tty, SetArg::TCSAFLUSH, &t);
    }
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let got_any = loop {
        match tty.read(&mut byte) {
            Ok(0) => break !line.is_empty(),
            Ok(_) if byte[0] == b'\n' => break true,
            Ok(_) => line.push(byte[0]),
            Err(_) => break false,
        }
    };
    if let (false, Some(orig)) = (echo, saved.as_ref()) {
        let _ = tcsetattr(&tty, SetArg::TCSAFLUSH, orig);
        let _ = tty.write_all(b"\n");
    }
    Some(got_any.then(|| String::from_utf8_lossy(&line).into_owned()))
}

impl Io for SystemIo {
    fn open(&mut self, host: &str, port: u16, family: Family) -> Result<SocketAddr, String> {
        let name = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        // Classic prints getaddrinfo's gai_strerror() text when a name does not resolve.
        let addrs: Vec<SocketAddr> = (name, port)
            .to_socket_addrs()
            .map_err(|e| {
                let text = e.to_string();
                text.strip_prefix("failed to lookup address information: ")
                    .map_or(text.clone(), str::to_owned)
            })?
            .filter(|a| match family {
                Family::Any => true,
                Family::V4 => a.is_ipv4(),
                Family::V6 => a.is_ipv6(),
            })
            .collect();
        let addr = *addrs
            .first()
            .ok_or_else(|| "Address family for hostname not supported".to_owned())?;
        let bind: SocketAddr = if addr.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let sock = UdpSocket::bind(bind).map_err(|e| format!("socket: {e}"))?;
        sock.connect(addr).map_err(|e| format!("connect: {e}"))?;
        self.socket = Some(sock);
        Ok(addr)
    }

    fn send(&mut self, datagram: &[u8]) -> std::io::Result<()> {
        let sock = self
            .socket
            .as_ref()
            .ok_or_else(|| std::io::Error::other("no host open"))?;
        sock.send(datagram).map(|_| ())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> std::io::Result<Option<usize>> {
        let sock = self
            .socket
            .as_ref()
            .ok_or_else(|| std::io::Error::other("no host open"))?;
        sock.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match sock.recv(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            // An ICMP port unreachable shows up as a refused receive: treat it as silence,
            // like classic ntpq's unconnected retry loop.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                std::thread::sleep(timeout);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn now(&mut self) -> NtpTimestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        NtpTimestamp::from_unix(d.as_secs() as i64, d.subsec_nanos())
    }

    fn utc_offset(&mut self, unix: i64) -> i64 {
        match Local.timestamp_opt(unix, 0) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                i64::from(t.offset().fix().local_minus_utc())
            }
            chrono::LocalResult::None => 0,
        }
    }

    fn reverse_lookup(&mut self, ip: IpAddr) -> Option<String> {
        self.hosts_file()
            .iter()
            .find(|(a, _)| *a == ip)
            .map(|(_, n)| n.clone())
    }

    fn prompt(&mut self, prompt: &str, echo: bool) -> Option<String> {
        // `Keyid: ` (echo) is printed on stderr by classic's getkeyid(); getpass() prints
        // the password prompt on the terminal.
        if let Some(answer) = read_tty_line(prompt, echo, !echo) {
            return answer;
        }
        let _ = self.stderr.write_all(prompt.as_bytes());
        let _ = self.stderr.flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_owned()),
        }
    }

    fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }

    fn is_interactive_terminal(&mut self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn read_file(&mut self, path: &str) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn create_file(&mut self, path: &str) -> std::io::Result<Box<dyn Write>> {
        Ok(Box::new(std::io::BufWriter::new(std::fs::File::create(
            path,
        )?)))
    }

    fn out(&mut self) -> &mut dyn Write {
        &mut self.stdout
    }

    fn err(&mut self) -> &mut dyn Write {
        &mut self.stderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_gives_first_name_per_address() {
        let h = parse_hosts("127.0.0.1\tlocalhost loopback\n# c\n::1 ip6-localhost\nbad line\n");
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].1, "localhost");
        assert_eq!(h[1].0, "::1".parse::<IpAddr>().unwrap());
    }
}
