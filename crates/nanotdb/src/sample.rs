//! Values, value types and samples: the unit of data NanoTDB stores.

use std::fmt;

/// The type of a metric, fixed by its first sample. The discriminants are the
/// codes used on disk (WAL, catalog, metric files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueType {
    /// Signed 32-bit integer (`42i` in line protocol).
    Int32 = 1,
    /// IEEE-754 binary32 (any number without the `i` suffix).
    Float32 = 2,
}

impl ValueType {
    /// The on-disk code (1 or 2).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Decodes an on-disk code; anything but 1 and 2 is unknown.
    pub fn from_code(code: u8) -> Option<ValueType> {
        match code {
            1 => Some(ValueType::Int32),
            2 => Some(ValueType::Float32),
            _ => None,
        }
    }

    /// Name used in tables and JSON (`int32` / `float32`).
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Int32 => "int32",
            ValueType::Float32 => "float32",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sample value: the two types NanoTDB stores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An int32 sample.
    I32(i32),
    /// A float32 sample.
    F32(f32),
}

impl Value {
    /// The type this value needs its metric to have.
    pub fn value_type(self) -> ValueType {
        match self {
            Value::I32(_) => ValueType::Int32,
            Value::F32(_) => ValueType::Float32,
        }
    }

    /// The 4 raw bytes stored on disk, as a little-endian `u32`.
    pub fn to_bits(self) -> u32 {
        match self {
            Value::I32(v) => v as u32,
            Value::F32(v) => v.to_bits(),
        }
    }

    /// Rebuilds a value from its 4 stored bytes and the metric's type.
    pub fn from_bits(value_type: ValueType, bits: u32) -> Value {
        match value_type {
            ValueType::Int32 => Value::I32(bits as i32),
            ValueType::Float32 => Value::F32(f32::from_bits(bits)),
        }
    }

    /// The value widened to `f64` (exact for both types).
    pub fn as_f64(self) -> f64 {
        match self {
            Value::I32(v) => f64::from(v),
            Value::F32(v) => f64::from(v),
        }
    }

    /// Bit-exact equality (NaN equals NaN with the same payload, `-0 != 0`).
    pub fn bits_eq(self, other: Value) -> bool {
        self.value_type() == other.value_type() && self.to_bits() == other.to_bits()
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(24);
        crate::lineproto::write_value(&mut buf, *self);
        f.write_str(&String::from_utf8_lossy(&buf))
    }
}

/// One point of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Nanoseconds since the Unix epoch, UTC.
    pub ts: i64,
    /// The value.
    pub value: Value,
}

/// Identifies a metric inside one database.
pub type MetricId = u16;
