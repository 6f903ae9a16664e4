//! Little-endian fields at named offsets of fixed-size structures: the
//! readers and writers [`super::header`] builds its types on, and the
//! [`index_entry!`] declaration of the index entries.

/// Little-endian field readers over a fixed-size buffer. Callers always
/// pass named offsets inside the buffer they hold, so these take arrays.
pub(crate) fn le_u16<const N: usize>(b: &[u8; N], off: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_u32<const N: usize>(b: &[u8; N], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_u64<const N: usize>(b: &[u8; N], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// See [`le_u16`].
pub(crate) fn le_i64<const N: usize>(b: &[u8; N], off: usize) -> i64 {
    le_u64(b, off) as i64
}

/// Stores `v` little-endian at `off`.
pub(crate) fn put_u16<const N: usize>(b: &mut [u8; N], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// See [`put_u16`].
pub(crate) fn put_u32<const N: usize>(b: &mut [u8; N], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// See [`put_u16`].
pub(crate) fn put_u64<const N: usize>(b: &mut [u8; N], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// See [`put_u16`].
pub(crate) fn put_i64<const N: usize>(b: &mut [u8; N], off: usize, v: i64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// A fixed-width little-endian field of an index entry, so that
/// [`index_entry!`] can decode and encode every field from one list.
pub(crate) trait LeField: Copy {
    /// Reads the field at `at`.
    fn get<const N: usize>(b: &[u8; N], at: usize) -> Self;
    /// Stores the field at `at`.
    fn put<const N: usize>(self, b: &mut [u8; N], at: usize);
}

impl LeField for u8 {
    fn get<const N: usize>(b: &[u8; N], at: usize) -> Self {
        b[at]
    }
    fn put<const N: usize>(self, b: &mut [u8; N], at: usize) {
        b[at] = self;
    }
}

/// The multi-byte [`LeField`]s, each through its reader and writer above.
macro_rules! le_field {
    ($($ty:ty => $get:ident, $put:ident;)*) => {$(
        impl LeField for $ty {
            fn get<const N: usize>(b: &[u8; N], at: usize) -> Self {
                $get(b, at)
            }
            fn put<const N: usize>(self, b: &mut [u8; N], at: usize) {
                $put(b, at, self);
            }
        }
    )*};
}

le_field! {
    u16 => le_u16, put_u16;
    u32 => le_u32, put_u32;
    u64 => le_u64, put_u64;
    i64 => le_i64, put_i64;
}

/// Declares an index entry (PAGE_INFO, time index, metric index) from one
/// list of `field: type = named offset`, generating the struct and its
/// `decode`/`encode`, so each layout is written down once and the two
/// directions cannot drift apart. Reserved bytes are not fields: `encode`
/// leaves them zero and the loaders check them where v1.4.0 does.
macro_rules! index_entry {
    (
        $(#[$meta:meta])*
        $name:ident[$len:expr] { $($field:ident: $ty:ty = $at:expr,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)*
        }

        impl $name {
            fn decode(b: &[u8; $len]) -> $name {
                use $crate::metricfile::le::LeField;
                $name { $($field: <$ty as LeField>::get(b, $at),)* }
            }

            fn encode(&self) -> [u8; $len] {
                use $crate::metricfile::le::LeField;
                let mut b = [0u8; $len];
                $(self.$field.put(&mut b, $at);)*
                b
            }
        }
    };
}
pub(crate) use index_entry;
