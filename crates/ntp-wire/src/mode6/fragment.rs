//! Responder side of mode 6 data: the `name=value` list encoding of classic `ctl_put*()` and
//! the exact classic 4.2.8p18 fragmentation rule (`ctl_putdata_ex()` / `ctl_flushpkt()`).
//!
//! Reproducing the split rule octet for octet matters: ntpq and scripts see the same fragment
//! boundaries as from classic ntpd, and the golden vectors can be compared byte-exact.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Most data octets in one mode 6 packet (`CTL_MAX_DATA_LEN`).
pub const CTL_MAX_DATA_LEN: usize = 468;

/// Line length that makes the responder break the list with `\r\n` (`MAXDATALINELEN`).
pub const MAX_DATA_LINE_LEN: usize = 72;

/// Room every text piece must leave in the packet, so the next separator (`,\r\n`) always fits.
const TEXT_RESERVE: usize = 3;

/// One fragment of a response, before it gets its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Offset of this fragment's data in the whole response.
    pub offset: usize,
    /// The data octets (at most [`CTL_MAX_DATA_LEN`]); `count` is its length.
    pub data: Vec<u8>,
    /// The M bit: more fragments follow.
    pub more: bool,
}

/// Splits a response data stream into fragments exactly like classic ntpd 4.2.8p18.
///
/// Text items are written as *pieces*; before each text item except the first, the separator
/// `,` plus ` ` or `\r\n` is written (the line-break rule of [`MAX_DATA_LINE_LEN`]). For each
/// piece, while `len(piece) + 3` exceeds the room left, as much of the piece as fits is copied
/// and the packet is sent with M set. So an overrunning piece is split mid-item to fill exactly
/// 468 octets, while a piece that fits but leaves fewer than 3 octets flushes the packet right
/// after it. The last fragment of a text response gets a `\r\n` when `count + 2 < 468`.
/// Binary data (READSTAT of association 0) has no separators, no reserve and no `\r\n`.
#[derive(Debug, Clone, Default)]
pub struct Fragmenter {
    done: Vec<Fragment>,
    cur: Vec<u8>,
    sent: usize,
    line_len: usize,
    data_sent: bool,
    text: bool,
}

impl Fragmenter {
    /// An empty response.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total data octets written so far (sent fragments plus the current one).
    pub fn len(&self) -> usize {
        self.sent.saturating_add(self.cur.len())
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn room(&self) -> usize {
        CTL_MAX_DATA_LEN.saturating_sub(self.cur.len())
    }

    /// `ctl_flushpkt()`: close the current packet.
    fn flush(&mut self, more: bool) {
        if !more && self.text && self.cur.len() + 2 < CTL_MAX_DATA_LEN {
            self.cur.extend_from_slice(b"\r\n");
        }
        let data = std::mem::take(&mut self.cur);
        let len = data.len();
        self.done.push(Fragment {
            offset: self.sent,
            data,
            more,
        });
        self.sent = self.sent.saturating_add(len);
    }

    /// `ctl_putdata_ex()`.
    fn put(&mut self, pieces: &[&[u8]], binary: bool) {
        let reserve = if binary { 0 } else { TEXT_RESERVE };
        if !binary {
            self.text = true;
            if self.data_sent {
                // Classic writes the separator unchecked, relying on the reserve. Only after
                // binary data (which classic never mixes with text) can the room be short.
                if self.room() < TEXT_RESERVE {
                    self.flush(true);
                }
                let item_len: usize = pieces.iter().map(|p| p.len()).sum();
                self.cur.push(b',');
                self.line_len += 1;
                if item_len.saturating_add(self.line_len).saturating_add(1) >= MAX_DATA_LINE_LEN {
                    self.cur.extend_from_slice(b"\r\n");
                    self.line_len = 0;
                } else {
                    self.cur.push(b' ');
                    self.line_len += 1;
                }
            }
        }
        // Classic skips empty pieces entirely: they neither flush nor count as data sent.
        for piece in pieces.iter().filter(|p| !p.is_empty()) {
            let mut piece: &[u8] = piece;
            while piece.len().saturating_add(reserve) > self.room() {
                let n = piece.len().min(self.room());
                let (now, later) = piece.split_at(n);
                self.cur.extend_from_slice(now);
                self.line_len = self.line_len.saturating_add(n);
                piece = later;
                self.flush(true);
            }
            self.cur.extend_from_slice(piece);
            self.line_len = self.line_len.saturating_add(piece.len());
            self.data_sent = true;
        }
    }

    /// Write one text item made of `pieces` (e.g. `[name, "=", value]`), preceded by the
    /// separator unless it is the first item.
    pub fn put_text_pieces(&mut self, pieces: &[&[u8]]) {
        self.put(pieces, false);
    }

    /// Write binary data (READSTAT association list): no separator, no reserve.
    pub fn put_binary(&mut self, data: &[u8]) {
        self.put(&[data], true);
    }

    /// Send the last packet (M clear) and return every fragment in order. A response with no
    /// data at all is one empty fragment.
    pub fn finish(mut self) -> Vec<Fragment> {
        self.flush(false);
        self.done
    }
}

/// C `printf("%.*f")`: Rust's fixed formatting is correctly rounded like glibc's; only the
/// spelling of non-finite values differs.
pub fn c_fixed(v: f64, precision: usize) -> String {
    if v.is_nan() {
        "nan".to_owned()
    } else if v.is_infinite() {
        if v < 0.0 { "-inf" } else { "inf" }.to_owned()
    } else {
        format!("{v:.precision$}")
    }
}

/// Drop trailing zeros of a fraction (and a bare trailing point), as `%g` does.
fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// C `printf("%g")`: 6 significant digits, fixed or exponent form, trailing zeros removed.
pub fn c_g(v: f64) -> String {
    const P: i32 = 6;
    if !v.is_finite() {
        return c_fixed(v, 0);
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    // The decimal exponent after rounding to P significant digits decides the form.
    let sci = format!("{:.*e}", (P - 1) as usize, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if (-4..P).contains(&x) {
        let prec = usize::try_from(P - 1 - x).unwrap_or(0);
        strip_fraction_zeros(&format!("{v:.prec$}")).to_owned()
    } else {
        let sign = if x < 0 { '-' } else { '+' };
        format!(
            "{}e{}{:02}",
            strip_fraction_zeros(mantissa),
            sign,
            x.unsigned_abs()
        )
    }
}

/// `0x%08lx.%08lx` of a raw 64-bit NTP timestamp (seconds in the high 32 bits).
pub fn timestamp_text(raw: u64) -> String {
    format!("0x{:08x}.{:08x}", raw >> 32, raw & 0xffff_ffff)
}

/// Classic `ctl_putrefid` text: up to 4 octets, stopping at NUL; non-printable octets, space
/// and comma become `.`.
pub fn refid_text(refid: [u8; 4]) -> String {
    refid
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| {
            if b.is_ascii_graphic() && b != b',' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// Classic `ctl_putfs` text: `YYYYMMDDHHMM` (UTC) of a Unix time in seconds.
pub fn filestamp_text(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (y, m, d) = crate::time::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}",
        secs / 3600,
        (secs / 60) % 60
    )
}

/// Builder for a mode 6 `name=value` response: typed `put_*` calls with the classic value
/// renderings, fragmented by [`Fragmenter`]; [`VarListWriter::finish`] gives the fragments.
///
/// ```
/// use ntp_wire::mode6::VarListWriter;
/// let mut w = VarListWriter::new();
/// w.put_uint("stratum", 3);
/// w.put_f6("offset", 0.0);
/// let frags = w.finish();
/// assert_eq!(frags[0].data, b"stratum=3, offset=0.000000\r\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct VarListWriter {
    frag: Fragmenter,
}

impl VarListWriter {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// `ctl_putunqstr`: `name=value` without quotes (pieces `name`, `=`, `value`; an empty
    /// value gives `name=`).
    pub fn put_unquoted(&mut self, name: &str, value: &str) {
        self.frag
            .put_text_pieces(&[name.as_bytes(), b"=", value.as_bytes()]);
    }

    /// `ctl_putstr`: `name="text"` (pieces `name`, `="`, `text`, `"`), or `name=""` when empty.
    pub fn put_str(&mut self, name: &str, text: &str) {
        if text.is_empty() {
            self.frag.put_text_pieces(&[name.as_bytes(), b"=\"\""]);
        } else {
            self.frag
                .put_text_pieces(&[name.as_bytes(), b"=\"", text.as_bytes(), b"\""]);
        }
    }

    /// `ctl_putdata`: one raw text piece (a bare name, or preformatted text), with separator.
    pub fn put_raw(&mut self, text: &str) {
        self.frag.put_text_pieces(&[text.as_bytes()]);
    }

    /// `%lu`.
    pub fn put_uint(&mut self, name: &str, v: u64) {
        self.put_unquoted(name, &v.to_string());
    }

    /// `%ld`.
    pub fn put_int(&mut self, name: &str, v: i64) {
        self.put_unquoted(name, &v.to_string());
    }

    /// `0x%lx`.
    pub fn put_hex(&mut self, name: &str, v: u64) {
        self.put_unquoted(name, &format!("0x{v:x}"));
    }

    /// `%.*f` with any precision.
    pub fn put_fixed(&mut self, name: &str, v: f64, precision: usize) {
        self.put_unquoted(name, &c_fixed(v, precision));
    }

    /// `%.3f` (delays, dispersions in ms; frequency in ppm).
    pub fn put_f3(&mut self, name: &str, v: f64) {
        self.put_fixed(name, v, 3);
    }

    /// `%.6f` (system offset and jitter in ms).
    pub fn put_f6(&mut self, name: &str, v: f64) {
        self.put_fixed(name, v, 6);
    }

    /// `%g` (kernel values).
    pub fn put_g(&mut self, name: &str, v: f64) {
        self.put_unquoted(name, &c_g(v));
    }

    /// `0x%08lx.%08lx` of a raw 64-bit NTP timestamp.
    pub fn put_timestamp(&mut self, name: &str, raw: u64) {
        self.put_unquoted(name, &timestamp_text(raw));
    }

    /// Numeric address without port (`srcadr=192.0.2.1`, `srcadr=2001:db8::1`).
    pub fn put_addr(&mut self, name: &str, addr: IpAddr) {
        self.put_unquoted(name, &addr.to_string());
    }

    /// Address with port (`addr.0=10.123.3.1:44341`, `addr.0=[::]:123`).
    pub fn put_sockaddr(&mut self, name: &str, addr: SocketAddr) {
        self.put_unquoted(name, &addr.to_string());
    }

    /// Refid as text (see [`refid_text`]).
    pub fn put_refid_text(&mut self, name: &str, refid: [u8; 4]) {
        self.put_unquoted(name, &refid_text(refid));
    }

    /// Filter array: ` %.2f` for each value (`filtdelay= 0.02 0.05 ...`).
    pub fn put_array(&mut self, name: &str, values: &[f64]) {
        let mut s = String::new();
        for v in values {
            // Writing to a String cannot fail.
            let _ = write!(s, " {}", c_fixed(*v, 2));
        }
        self.put_unquoted(name, &s);
    }

    /// `YYYYMMDDHHMM` (UTC) of a Unix time (`expire=202506280000`).
    pub fn put_filestamp(&mut self, name: &str, unix_seconds: i64) {
        self.put_unquoted(name, &filestamp_text(unix_seconds));
    }

    /// Binary data (READSTAT association list); do not mix with text items.
    pub fn put_binary(&mut self, data: &[u8]) {
        self.frag.put_binary(data);
    }

    /// Data octets written so far.
    pub fn len(&self) -> usize {
        self.frag.len()
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.frag.is_empty()
    }

    /// The fragments, the last one with the final `\r\n` when it fits.
    pub fn finish(self) -> Vec<Fragment> {
        self.frag.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(frags: &[Fragment]) -> Vec<u8> {
        frags.iter().flat_map(|f| f.data.clone()).collect()
    }

    #[test]
    fn short_list_gets_final_crlf_and_single_fragment() {
        let mut w = VarListWriter::new();
        w.put_uint("stratum", 3);
        w.put_f6("offset", 0.0);
        let f = w.finish();
        assert_eq!(f.len(), 1);
        assert!(!f[0].more);
        assert_eq!(f[0].data, b"stratum=3, offset=0.000000\r\n");
        assert_eq!(f[0].data.len(), 28);
    }

    #[test]
    fn empty_response_is_one_empty_fragment_without_crlf() {
        let f = Fragmenter::new().finish();
        assert_eq!(
            f,
            vec![Fragment {
                offset: 0,
                data: vec![],
                more: false
            }]
        );
    }

    #[test]
    fn line_breaks_before_an_item_that_would_reach_72() {
        let mut w = VarListWriter::new();
        // "a=<60 x>" is 62 long, 63 with the comma; "b=12345" (7): 7 + 63 + 1 = 71 -> space.
        w.put_unquoted("a", &"x".repeat(60));
        w.put_unquoted("b", "12345");
        // Line now 63 + 1 + 7 = 71; ",": 72; "c=1" (3): 3 + 72 + 1 >= 72 -> break.
        w.put_unquoted("c", "1");
        let text = joined(&w.finish());
        let expect = format!("a={}, b=12345,\r\nc=1\r\n", "x".repeat(60));
        assert_eq!(text, expect.as_bytes());
    }

    #[test]
    fn overrunning_piece_is_split_to_fill_exactly_468() {
        let mut w = VarListWriter::new();
        w.put_unquoted("v", &"y".repeat(500));
        let f = w.finish();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].data.len(), CTL_MAX_DATA_LEN);
        assert!(f[0].more && !f[1].more);
        assert_eq!(f[1].offset, 468);
        // 2 + 500 - 468 = 34 octets, plus the final CRLF.
        assert_eq!(f[1].data.len(), 36);
    }

    #[test]
    fn piece_leaving_under_three_octets_flushes_early() {
        let mut f = Fragmenter::new();
        f.put_text_pieces(&[&[b'a'; 460]]);
        // Separator ",\r\n" (the line is long) -> 463; "b" -> 464; "=" -> 465; "xy" fits but
        // would leave 1 octet: it is copied and the packet flushed at 467.
        f.put_text_pieces(&[b"b", b"=", b"xy"]);
        f.put_text_pieces(&[b"c"]);
        let frags = f.finish();
        assert_eq!(frags[0].data.len(), 467);
        assert!(frags[0].more);
        assert!(frags[0].data.ends_with(b",\r\nb=xy"));
        assert_eq!(frags[1].data, b", c\r\n");
        assert_eq!(frags[1].offset, 467);
    }

    #[test]
    fn text_always_ends_with_crlf_even_in_its_own_fragment() {
        let mut f = Fragmenter::new();
        f.put_text_pieces(&[&[b'a'; 465]]);
        let frags = f.finish();
        assert_eq!(frags.len(), 1);
        assert_eq!(frags[0].data.len(), 467);
        let mut g = Fragmenter::new();
        // 466 + 3 > 468: the piece is copied whole and the packet flushed.
        g.put_text_pieces(&[&[b'a'; 466]]);
        let frags = g.finish();
        assert_eq!(frags.len(), 2);
        assert_eq!(frags[0].data.len(), 466);
        assert_eq!(frags[1].data, b"\r\n");
        assert_eq!(frags[1].offset, 466);
    }

    #[test]
    fn empty_pieces_are_skipped() {
        let mut f = Fragmenter::new();
        f.put_text_pieces(&[b"", b""]);
        f.put_text_pieces(&[b"a", b"", b"=1"]);
        let frags = f.finish();
        // The all-empty item wrote nothing, so "a=1" gets no separator.
        assert_eq!(frags[0].data, b"a=1\r\n");
    }

    #[test]
    fn binary_data_fills_whole_packets_without_crlf() {
        let mut f = Fragmenter::new();
        f.put_binary(&[7u8; 470]);
        let frags = f.finish();
        assert_eq!(frags.len(), 2);
        assert_eq!(frags[0].data.len(), 468);
        assert_eq!(frags[1].data, vec![7u8; 2]);
    }

    #[test]
    fn value_renderings_match_classic_printf() {
        let mut w = VarListWriter::new();
        w.put_hex("reach", 0xff);
        w.put_int("precision", -23);
        w.put_timestamp("reftime", 0xe9f1_a2b3_1234_5678);
        w.put_str("timecode", "");
        w.put_str("version", "ntpd");
        w.put_array("filtoffset", &[-0.001, 0.0, 0.015]);
        w.put_refid_text("refid", *b"GP ,");
        w.put_filestamp("expire", 1_751_068_800);
        let text = String::from_utf8(joined(&w.finish())).unwrap();
        assert_eq!(
            text,
            "reach=0xff, precision=-23, reftime=0xe9f1a2b3.12345678, timecode=\"\",\r\n\
             version=\"ntpd\", filtoffset= -0.00 0.00 0.01, refid=GP..,\r\n\
             expire=202506280000\r\n"
        );
    }

    #[test]
    fn percent_g_matches_c() {
        for (v, s) in [
            (-12.3456, "-12.3456"),
            (0.0, "0"),
            (100000.0, "100000"),
            (1_000_000.0, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (123.4567891, "123.457"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(c_g(v), s, "{v}");
        }
    }

    #[test]
    fn negative_values_round_like_c() {
        assert_eq!(c_fixed(-0.0004, 3), "-0.000");
        assert_eq!(c_fixed(0.125, 2), "0.12");
        assert_eq!(c_fixed(f64::NEG_INFINITY, 3), "-inf");
    }
}
