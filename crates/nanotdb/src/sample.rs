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
    /// IEEE-754 binary64: this implementation's extension (docs/FORMATS.md §5.5).
    Float64 = 3,
    /// Signed 64-bit integer: this implementation's extension (docs/FORMATS.md §5.5).
    Int64 = 4,
}

impl ValueType {
    /// The on-disk code (1 int32, 2 float32, 3 float64, 4 int64).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Decodes an on-disk code; anything but 1..=4 is unknown.
    pub fn from_code(code: u8) -> Option<ValueType> {
        match code {
            1 => Some(ValueType::Int32),
            2 => Some(ValueType::Float32),
            3 => Some(ValueType::Float64),
            4 => Some(ValueType::Int64),
            _ => None,
        }
    }

    /// Name used in tables and JSON (`int32`, `float32`, `float64`, `int64`).
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Int32 => "int32",
            ValueType::Float32 => "float32",
            ValueType::Float64 => "float64",
            ValueType::Int64 => "int64",
        }
    }

    /// True for the 8-byte types (float64, int64), which v1.4.0 cannot read:
    /// their values take 4 more bytes in frames and WAL records
    /// (docs/FORMATS.md §3.9, §4.13).
    pub fn is_wide(self) -> bool {
        matches!(self, ValueType::Float64 | ValueType::Int64)
    }

    /// True for the integer types.
    pub fn is_int(self) -> bool {
        matches!(self, ValueType::Int32 | ValueType::Int64)
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sample value: v1.4.0's two types and this implementation's two 8-byte ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An int32 sample.
    I32(i32),
    /// A float32 sample.
    F32(f32),
    /// A float64 sample (stored losslessly, docs/FORMATS.md §5.5).
    F64(f64),
    /// An int64 sample (stored losslessly, docs/FORMATS.md §5.5).
    I64(i64),
}

impl Value {
    /// The type this value needs its metric to have.
    pub fn value_type(self) -> ValueType {
        match self {
            Value::I32(_) => ValueType::Int32,
            Value::F32(_) => ValueType::Float32,
            Value::F64(_) => ValueType::Float64,
            Value::I64(_) => ValueType::Int64,
        }
    }

    /// The stored bytes as a little-endian `u64`: for int32 and float32 the
    /// 4 bytes v1.4.0 stores, in the low half (the high half is 0); for the
    /// 8-byte types all 64 bits.
    pub fn to_bits(self) -> u64 {
        match self {
            Value::I32(v) => u64::from(v as u32),
            Value::F32(v) => u64::from(v.to_bits()),
            Value::F64(v) => v.to_bits(),
            Value::I64(v) => v as u64,
        }
    }

    /// Rebuilds a value from its stored bits and the metric's type; the
    /// 4-byte types use the low 32 bits only.
    pub fn from_bits(value_type: ValueType, bits: u64) -> Value {
        match value_type {
            ValueType::Int32 => Value::I32(bits as u32 as i32),
            ValueType::Float32 => Value::F32(f32::from_bits(bits as u32)),
            ValueType::Float64 => Value::F64(f64::from_bits(bits)),
            ValueType::Int64 => Value::I64(bits as i64),
        }
    }

    /// The value as an `f64`: exact for int32, float32 and float64; int64
    /// values beyond ±2⁵³ are rounded to the nearest `f64`.
    pub fn as_f64(self) -> f64 {
        match self {
            Value::I32(v) => f64::from(v),
            Value::F32(v) => f64::from(v),
            Value::F64(v) => v,
            Value::I64(v) => v as f64,
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
