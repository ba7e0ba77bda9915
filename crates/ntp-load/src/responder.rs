//! The floor: a minimal mode 3 -> mode 4 responder with the same batching as the daemon
//! (blocking recvmmsg with MSG_WAITFORONE, one clock read per batch, sendmmsg), and nothing
//! else: no access control, no rate limiting, no kernel timestamps, no accounting. What it
//! reaches is about what this kernel allows one core to answer.

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::socket::{recvmmsg, sendmmsg, MsgFlags, MultiHeaders, SockaddrIn};

use crate::client::BATCH;

/// Write the reply to `req` (a mode 3 request of at least 48 octets) into `out`; false when
/// `req` is not one.
pub fn answer(req: &[u8], now: u64, out: &mut [u8; 48]) -> bool {
    let (Some(&b0), Some(poll), Some(xmt)) = (req.first(), req.get(2), req.get(40..48)) else {
        return false;
    };
    if b0 & 7 != 3 {
        return false;
    }
    out.fill(0);
    out[0] = (b0 & 0x38) | 4;
    out[1] = 1;
    out[2] = *poll;
    out[3] = 0xec;
    out[12..16].copy_from_slice(b"LOCL");
    out[16..24].copy_from_slice(&now.to_be_bytes());
    out[24..32].copy_from_slice(xmt);
    out[32..40].copy_from_slice(&now.to_be_bytes());
    out[40..48].copy_from_slice(&now.to_be_bytes());
    true
}

fn ntp_now() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs().wrapping_add(ntp_wire::time::JAN_1970);
    (secs << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// Serve on `addr` until killed; `per_packet`: one sendto per reply, right after building it.
pub fn serve(addr: SocketAddrV4, per_packet: bool) -> Result<(), String> {
    crate::client::check_target(addr)?;
    let sock = UdpSocket::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    let fd = sock.as_raw_fd();
    let mut recv_headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
    let mut send_headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
    let mut inb = [[0u8; 128]; BATCH];
    let mut outb = [[0u8; 48]; BATCH];
    let mut addrs: [Option<SockaddrIn>; BATCH] = [None; BATCH];
    loop {
        let mut lens = [0usize; BATCH];
        let mut n = 0;
        {
            let mut iovs = inb.each_mut().map(|b| [IoSliceMut::new(b)]);
            match recvmmsg(
                fd,
                &mut recv_headers,
                iovs.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(msgs) => {
                    for m in msgs {
                        lens[n] = m.bytes;
                        addrs[n] = m.address;
                        n += 1;
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(format!("recvmmsg: {e}")),
            }
        }
        let now = ntp_now();
        let mut k = 0;
        let mut to: [Option<SockaddrIn>; BATCH] = [None; BATCH];
        for i in 0..n {
            if answer(&inb[i][..lens[i].min(128)], now, &mut outb[k]) {
                if per_packet {
                    if let Some(a) = addrs[i] {
                        let _ = nix::sys::socket::sendto(fd, &outb[k], &a, MsgFlags::empty());
                    }
                    continue;
                }
                to[k] = addrs[i];
                k += 1;
            }
        }
        let mut iovs = [[IoSlice::new(&[])]; BATCH];
        for (iov, o) in iovs.iter_mut().zip(&outb).take(k) {
            *iov = [IoSlice::new(o)];
        }
        let mut sent = 0;
        while sent < k {
            match sendmmsg(
                fd,
                &mut send_headers,
                iovs[sent..k].iter(),
                &to[sent..k],
                [],
                MsgFlags::empty(),
            ) {
                Ok(r) => match r.count() {
                    0 => break,
                    c => sent += c,
                },
                Err(Errno::EINTR) => {}
                Err(_) => sent += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{check_reply, request, ReplyKind};

    #[test]
    fn answer_echoes_version_and_transmit_as_origin() {
        let req = request(3, 0xabcd);
        let mut out = [0u8; 48];
        assert!(answer(&req, 0x1234_5678_0000_0000, &mut out));
        assert_eq!(check_reply(&out, 3), Ok(ReplyKind::Reply));
        assert_eq!(crate::validate::origin_of(&out), Some(0xabcd));
    }

    #[test]
    fn answer_ignores_non_requests_and_short_datagrams() {
        let mut out = [0u8; 48];
        let mut req = request(4, 1);
        req[0] = (4 << 3) | 4;
        assert!(!answer(&req, 1, &mut out));
        assert!(!answer(&request(4, 1)[..40], 1, &mut out));
    }
}
