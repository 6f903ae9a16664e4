//! The checks every frame kind (`MPG1`, `TPG2`, `MPG2`) goes through, each
//! written once. The readers in [`super::v1`] and [`super::v2`] call them in
//! their own reference order (docs/FORMATS.md §8.2 step 7, §8.5 step 5), which
//! differs between kinds, so these are steps rather than one pipeline.

use super::header::{
    FRAME_CODEC_AT, FRAME_HEADER_LEN, FRAME_HEADER_LEN_AT, FRAME_START_TS_AT, FRAME_TYPE_AT,
    FrameHeader, FrameKind,
};
use super::source::Source;
use super::{CorruptKind, Result};

/// How error messages name a frame kind.
struct Names {
    /// Prefix of the structure names ("… header", "… payload", "… codec id").
    what: &'static str,
    /// Subject of the magic, header-length and mismatch messages.
    label: &'static str,
    /// The index the header is compared with.
    index: &'static str,
}

fn names(kind: FrameKind) -> Names {
    match kind {
        FrameKind::Mpg1 => Names {
            what: "v1 frame",
            label: "frame",
            index: "PAGE_INFO",
        },
        FrameKind::Tpg2 => Names {
            what: "time frame",
            label: "time frame",
            index: "time index",
        },
        FrameKind::Mpg2 => Names {
            what: "metric frame",
            label: "metric frame",
            index: "metric index",
        },
    }
}

/// One header field compared with its index entry: (name, frame, index).
pub(crate) type Field<'a> = (&'a str, i128, i128);

impl Source {
    /// Reads the header of a `kind` frame at `off` and checks its magic and
    /// header length, the first two checks of every kind.
    pub(crate) fn frame_header(&self, off: u64, kind: FrameKind) -> Result<FrameHeader> {
        let n = names(kind);
        let h = FrameHeader::from_bytes(kind, self.read_array(off, &format!("{} header", n.what))?);
        if !h.has_magic() {
            let magic = String::from_utf8_lossy(kind.magic());
            return Err(self.corrupt(
                off,
                CorruptKind::BadMagic,
                format!("{} magic is not {magic}", n.label),
            ));
        }
        let hl = h.header_len();
        if usize::from(hl) != FRAME_HEADER_LEN {
            return Err(self.corrupt(
                off + FRAME_HEADER_LEN_AT as u64,
                CorruptKind::BadHeaderLen,
                format!("{} header_len {hl}, want 48", n.label),
            ));
        }
        Ok(h)
    }

    /// Checks the second reserved field of a `TPG2` or `MPG2` header is zero.
    pub(crate) fn check_frame_reserved(&self, off: u64, h: &FrameHeader) -> Result<()> {
        if h.reserved() != 0 {
            let (at, width) = h.kind().reserved_at();
            return Err(self.corrupt(
                off + at as u64,
                CorruptKind::Reserved,
                format!("{} bytes {at}..{}", names(h.kind()).label, at + width - 1),
            ));
        }
        Ok(())
    }

    /// Checks the header CRC of the frame at `off`.
    pub(crate) fn check_frame_crc(&self, off: u64, h: &FrameHeader) -> Result<()> {
        self.check_crc(off, h.crc(), &format!("{} header", names(h.kind()).what))
    }

    /// Checks the frame's codec id is known.
    pub(crate) fn check_frame_codec(&self, off: u64, h: &FrameHeader) -> Result<()> {
        let at = off + FRAME_CODEC_AT as u64;
        self.check_codec(at, h.codec_id(), names(h.kind()).what)
    }

    /// Compares header fields with the index entry that pointed at the
    /// frame, in the order given; the first difference is the error.
    pub(crate) fn check_against_index(
        &self,
        off: u64,
        h: &FrameHeader,
        fields: &[Field<'_>],
    ) -> Result<()> {
        let n = names(h.kind());
        match fields.iter().find(|(_, frame, index)| frame != index) {
            Some((field, frame, index)) => Err(self.corrupt(
                off,
                CorruptKind::IndexMismatch,
                format!("{} {field} {frame} != {} {index}", n.label, n.index),
            )),
            None => Ok(()),
        }
    }

    /// Reads the frame's payload and its CRC, checks the CRC and
    /// decompresses into `out`, which ends up holding exactly decoded_len
    /// bytes.
    pub(crate) fn frame_payload(
        &self,
        off: u64,
        h: &FrameHeader,
        raw: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let what = format!("{} payload", names(h.kind()).what);
        let poff = off + FRAME_HEADER_LEN as u64;
        let payload = self.read_payload(poff, h.payload_len(), raw, &what)?;
        self.decompress(poff, h.codec_id(), payload, h.decoded_len(), out, &what)
    }

    /// Checks the decoded first and last timestamps equal the header's
    /// start_ts and end_ts (`None` when there are none).
    pub(crate) fn check_first_last(
        &self,
        off: u64,
        h: &FrameHeader,
        first: Option<i64>,
        last: Option<i64>,
    ) -> Result<()> {
        let (start_ts, end_ts) = (h.start_ts(), h.end_ts());
        if first == Some(start_ts) && last == Some(end_ts) {
            return Ok(());
        }
        Err(self.corrupt(
            off + FRAME_START_TS_AT as u64,
            CorruptKind::BadTimestamps,
            format!(
                "decoded first/last timestamps differ from start_ts {start_ts} / end_ts {end_ts}"
            ),
        ))
    }

    /// Checks a metric frame's value type is 1 (int32) or 2 (float32).
    pub(crate) fn check_value_type(&self, off: u64, h: &FrameHeader) -> Result<()> {
        let value_type = h.type_code();
        if value_type != 1 && value_type != 2 {
            return Err(self.corrupt(
                off + FRAME_TYPE_AT as u64,
                CorruptKind::BadValueType,
                format!("value type {value_type}"),
            ));
        }
        Ok(())
    }
}
