//! Field codecs and fixed-point newtypes shared by the mode 7 item structs.
//!
//! Classic ntpd builds its mode 7 items by copying C structs onto the wire, so most fields are
//! in network order but a few are whatever the daemon's host order was (little-endian on
//! x86-64). Each struct field names its codec ([`Net`] or [`Host`]) next to its type, so the byte
//! order of every field is visible in one place and can't drift between decode and encode.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{Reader, WireError, Writer};

/// A 64-bit NTP fixed-point value (`l_fp`: 32-bit seconds, 32-bit fraction) as sent in mode 7
/// items, kept raw so it re-encodes exactly.
///
/// Timestamps (reference, origin, receive, transmit) are unsigned; offsets are two's-complement
/// signed. The caller knows which one a field is and picks the matching accessor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LFp(pub u64);

impl LFp {
    /// The integer (seconds) half.
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The fraction half (units of 2^-32 s).
    pub fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// The value read as a signed offset in seconds (`lfptoa` semantics).
    pub fn to_f64_signed(self) -> f64 {
        (self.0 as i64) as f64 / 4_294_967_296.0
    }

    /// The value read as an unsigned quantity in seconds (timestamps, `authdelay`).
    pub fn to_f64_unsigned(self) -> f64 {
        self.0 as f64 / 4_294_967_296.0
    }

    /// A signed offset in seconds, rounded to the nearest 2^-32 s and saturated at the
    /// representable range.
    pub fn from_f64_signed(seconds: f64) -> Self {
        // `as` from f64 saturates and maps NaN to 0, which is the behaviour we want here.
        LFp((seconds * 4_294_967_296.0).round() as i64 as u64)
    }

    /// True for the all-zero value that classic tools print as `(no time)`.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// A signed 16.16 fixed-point value (`s_fp`), seconds or scaled ppm depending on the field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SFp(pub i32);

impl SFp {
    /// The value as a float (`fptoa` semantics).
    pub fn to_f64(self) -> f64 {
        f64::from(self.0) / 65_536.0
    }

    /// From a float, rounded to the nearest 2^-16 and saturated.
    pub fn from_f64(v: f64) -> Self {
        SFp((v * 65_536.0).round() as i32)
    }
}

/// An unsigned 16.16 fixed-point value (`u_fp`), seconds or ppm depending on the field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UFp(pub u32);

impl UFp {
    /// The value as a float (`ufptoa` semantics).
    pub fn to_f64(self) -> f64 {
        f64::from(self.0) / 65_536.0
    }

    /// From a float, rounded to the nearest 2^-16 and saturated (negative values become 0).
    pub fn from_f64(v: f64) -> Self {
        UFp((v * 65_536.0).round() as u32)
    }
}

/// How one field of type `T` goes onto the wire.
pub(crate) trait FieldCodec<T> {
    /// Octets the field occupies.
    const LEN: usize;
    /// Read the field, naming it in the error.
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<T, WireError>;
    /// Append the field.
    fn write(v: &T, w: &mut Writer<'_>) -> Result<(), WireError>;
    /// The all-zero value (what we send for unused fields).
    fn zero() -> T;
}

/// Network byte order (big-endian): what nearly every mode 7 field uses.
pub(crate) struct Net;

/// The classic daemon's host byte order, which is little-endian on the x86-64 machines the
/// vectors were captured on (fields ntpd copies without `htonl`).
pub(crate) struct Host;

macro_rules! net_int {
    ($t:ty, $n:expr) => {
        impl FieldCodec<$t> for Net {
            const LEN: usize = $n;
            fn read(r: &mut Reader<'_>, field: &'static str) -> Result<$t, WireError> {
                Ok(<$t>::from_be_bytes(r.array(field)?))
            }
            fn write(v: &$t, w: &mut Writer<'_>) -> Result<(), WireError> {
                w.bytes(&v.to_be_bytes())
            }
            fn zero() -> $t {
                0
            }
        }
        impl FieldCodec<$t> for Host {
            const LEN: usize = $n;
            fn read(r: &mut Reader<'_>, field: &'static str) -> Result<$t, WireError> {
                Ok(<$t>::from_le_bytes(r.array(field)?))
            }
            fn write(v: &$t, w: &mut Writer<'_>) -> Result<(), WireError> {
                w.bytes(&v.to_le_bytes())
            }
            fn zero() -> $t {
                0
            }
        }
    };
}

net_int!(u8, 1);
net_int!(i8, 1);
net_int!(u16, 2);
net_int!(i16, 2);
net_int!(u32, 4);
net_int!(i32, 4);
net_int!(u64, 8);

impl FieldCodec<Ipv4Addr> for Net {
    const LEN: usize = 4;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Ipv4Addr, WireError> {
        Ok(Ipv4Addr::from(r.array::<4>(field)?))
    }
    fn write(v: &Ipv4Addr, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.bytes(&v.octets())
    }
    fn zero() -> Ipv4Addr {
        Ipv4Addr::UNSPECIFIED
    }
}

impl FieldCodec<Ipv6Addr> for Net {
    const LEN: usize = 16;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Ipv6Addr, WireError> {
        Ok(Ipv6Addr::from(r.array::<16>(field)?))
    }
    fn write(v: &Ipv6Addr, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.bytes(&v.octets())
    }
    fn zero() -> Ipv6Addr {
        Ipv6Addr::UNSPECIFIED
    }
}

impl FieldCodec<LFp> for Net {
    const LEN: usize = 8;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<LFp, WireError> {
        Ok(LFp(r.u64(field)?))
    }
    fn write(v: &LFp, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u64(v.0)
    }
    fn zero() -> LFp {
        LFp(0)
    }
}

impl FieldCodec<SFp> for Net {
    const LEN: usize = 4;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<SFp, WireError> {
        Ok(SFp(r.i32(field)?))
    }
    fn write(v: &SFp, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.i32(v.0)
    }
    fn zero() -> SFp {
        SFp(0)
    }
}

impl FieldCodec<UFp> for Net {
    const LEN: usize = 4;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<UFp, WireError> {
        Ok(UFp(r.u32(field)?))
    }
    fn write(v: &UFp, w: &mut Writer<'_>) -> Result<(), WireError> {
        w.u32(v.0)
    }
    fn zero() -> UFp {
        UFp(0)
    }
}

impl<T: Copy, const N: usize> FieldCodec<[T; N]> for Net
where
    Net: FieldCodec<T>,
{
    const LEN: usize = N * <Net as FieldCodec<T>>::LEN;
    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<[T; N], WireError> {
        let mut out = [<Net as FieldCodec<T>>::zero(); N];
        for slot in out.iter_mut() {
            *slot = <Net as FieldCodec<T>>::read(r, field)?;
        }
        Ok(out)
    }
    fn write(v: &[T; N], w: &mut Writer<'_>) -> Result<(), WireError> {
        v.iter()
            .try_for_each(|x| <Net as FieldCodec<T>>::write(x, w))
    }
    fn zero() -> [T; N] {
        [<Net as FieldCodec<T>>::zero(); N]
    }
}

/// Define a mode 7 item struct from its field list: the struct, its `Default` (all zero), and
/// its [`PrivateItem`](super::PrivateItem) impl. Fields in the first block are the truncated
/// (`IMPL_XNTPD_OLD`, `offsetof(type, v6_flag)`) layout; the optional `full { }` block holds the
/// fields that only the full layout carries.
macro_rules! mode7_item {
    (
        $(#[$smeta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $codec:ident, )*
        }
        $( full {
            $( $(#[$vmeta:meta])* $vfield:ident : $vty:ty = $vcodec:ident, )*
        } )?
    ) => {
        $(#[$smeta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            $( $( $(#[$vmeta])* pub $vfield: $vty, )* )?
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: <$crate::mode7::codec::$codec as
                        $crate::mode7::codec::FieldCodec<$ty>>::zero(), )*
                    $( $( $vfield: <$crate::mode7::codec::$vcodec as
                        $crate::mode7::codec::FieldCodec<$vty>>::zero(), )* )?
                }
            }
        }

        impl $crate::mode7::PrivateItem for $name {
            const TRUNCATED_SIZE: usize = 0
                $( + <$crate::mode7::codec::$codec as
                    $crate::mode7::codec::FieldCodec<$ty>>::LEN )*;
            const SIZE: usize = Self::TRUNCATED_SIZE
                $( $( + <$crate::mode7::codec::$vcodec as
                    $crate::mode7::codec::FieldCodec<$vty>>::LEN )* )?;
            const NAME: &'static str = stringify!($name);

            fn read(
                r: &mut $crate::Reader<'_>,
                layout: $crate::mode7::ItemLayout,
            ) -> Result<Self, $crate::WireError> {
                let _ = layout;
                $( let $field = <$crate::mode7::codec::$codec as
                    $crate::mode7::codec::FieldCodec<$ty>>::read(r, stringify!($field))?; )*
                $( $(
                    let $vfield = if layout == $crate::mode7::ItemLayout::Full {
                        <$crate::mode7::codec::$vcodec as
                            $crate::mode7::codec::FieldCodec<$vty>>::read(r, stringify!($vfield))?
                    } else {
                        <$crate::mode7::codec::$vcodec as
                            $crate::mode7::codec::FieldCodec<$vty>>::zero()
                    };
                )* )?
                Ok($name { $( $field, )* $( $( $vfield, )* )? })
            }

            fn write(
                &self,
                w: &mut $crate::Writer<'_>,
                layout: $crate::mode7::ItemLayout,
            ) -> Result<(), $crate::WireError> {
                let _ = layout;
                $( <$crate::mode7::codec::$codec as
                    $crate::mode7::codec::FieldCodec<$ty>>::write(&self.$field, w)?; )*
                $(
                    if layout == $crate::mode7::ItemLayout::Full {
                        $( <$crate::mode7::codec::$vcodec as
                            $crate::mode7::codec::FieldCodec<$vty>>::write(&self.$vfield, w)?; )*
                    }
                )?
                Ok(())
            }
        }
    };
}

pub(crate) use mode7_item;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_order_is_little_endian() {
        let mut buf = [0u8; 4];
        let mut w = Writer::new(&mut buf);
        <Host as FieldCodec<u32>>::write(&6, &mut w).unwrap();
        assert_eq!(buf, [6, 0, 0, 0]);
        let mut r = Reader::new(&buf);
        assert_eq!(<Host as FieldCodec<u32>>::read(&mut r, "poll").unwrap(), 6);
    }

    #[test]
    fn arrays_use_the_element_codec() {
        assert_eq!(<Net as FieldCodec<[LFp; 8]>>::LEN, 64);
        let data = [0u8, 1, 0, 2];
        let mut r = Reader::new(&data);
        let v = <Net as FieldCodec<[u16; 2]>>::read(&mut r, "x").unwrap();
        assert_eq!(v, [1, 2]);
    }

    #[test]
    fn fixed_point_conversions() {
        assert_eq!(SFp(0xffff_f334u32 as i32).to_f64(), -0.0499877929687500);
        assert_eq!(UFp(0x0000_07fc).to_f64(), 0.03118896484375);
        assert_eq!(
            LFp(0x0000_0000_0001_0dc8).to_f64_signed(),
            f64::from(0x1_0dc8u32) / 4_294_967_296.0
        );
        assert!(LFp(0xffff_ffff_ffff_b9b9).to_f64_signed() < 0.0);
        assert!(LFp(0xffff_ffff_ffff_b9b9).to_f64_unsigned() > 4.0e9);
        assert_eq!(LFp::from_f64_signed(-1.5).0, 0xffff_fffe_8000_0000);
        assert_eq!(SFp::from_f64(-0.5), SFp(-32768));
        assert_eq!(UFp::from_f64(1.0), UFp(65536));
        assert_eq!(LFp(0x1234_5678_9abc_def0).seconds(), 0x1234_5678);
        assert_eq!(LFp(0x1234_5678_9abc_def0).fraction(), 0x9abc_def0);
    }
}
