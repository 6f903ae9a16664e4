//! The fixed-size structures every metric file is built from — the 64-byte
//! file header, the 16-byte footer and the 48-byte frame header of the three
//! frame kinds — with their field offsets named as in docs/FORMATS.md §8.
//!
//! This is the one place that knows where a field sits. Readers and writers
//! of both versions go through [`FileHeader`], [`Footer`] and [`FrameHeader`],
//! and report damage at `structure offset + named offset`, so the code reads
//! side by side with the format tables. The types are views over the raw
//! bytes: decoding never fails (checks stay in the readers, in the reference
//! order) and a damaged field can still be shown as it is on disk.

use super::le::{le_i64, le_u16, le_u32, le_u64, put_i64, put_u16, put_u32, put_u64};
use super::{v1, v2};

/// Header length of both versions.
pub const FILE_HEADER_LEN: usize = 64;
/// Footer length of both versions.
pub const FOOTER_LEN: usize = 16;
/// Frame header length of every frame kind.
pub const FRAME_HEADER_LEN: usize = 48;
/// Smallest possible file: header + footer.
pub const MIN_FILE_LEN: u64 = (FILE_HEADER_LEN + FOOTER_LEN) as u64;
/// File header magic.
pub const FILE_MAGIC: &[u8; 4] = b"NTMF";
/// Footer magic.
pub const FOOTER_MAGIC: &[u8; 4] = b"NTFT";

// File header, both versions (docs/FORMATS.md §8.1).

/// File header: magic `NTMF` (4 bytes).
pub const HDR_MAGIC: usize = 0;
/// File header: layout version, u16.
pub const HDR_VERSION: usize = 4;
/// File header: header length, u16, always 64.
pub const HDR_LEN: usize = 6;
/// File header: flags, u32 (1 = sealed; never checked).
pub const HDR_FLAGS: usize = 8;
/// File header: partition kind code, u8 (docs/FORMATS.md §7.2; never checked).
pub const HDR_PARTITION_KIND: usize = 12;
/// File header: 3 reserved bytes (never checked).
pub const HDR_RESERVED_A: usize = 13;
/// File header: smallest timestamp in the file, i64.
pub const HDR_MIN_TS: usize = 16;
/// File header: largest timestamp in the file, i64.
pub const HDR_MAX_TS: usize = 24;
/// File header: CRC of bytes `0..HDR_CRC`, u32.
pub const HDR_CRC: usize = 60;

// File header, v1 part (docs/FORMATS.md §8.2).

/// v1 file header: number of frames, u32.
pub const V1_METRIC_COUNT: usize = 32;
/// v1 file header: number of frames again, u32.
pub const V1_PAGE_COUNT: usize = 36;
/// v1 file header: 20 reserved bytes (never checked).
pub const V1_RESERVED_B: usize = 40;

// File header, v2 part (docs/FORMATS.md §8.3).

/// v2 file header: number of time frames, u32.
pub const V2_TIME_FRAME_COUNT: usize = 32;
/// v2 file header: number of metric frames, u32.
pub const V2_METRIC_FRAME_COUNT: usize = 36;
/// v2 file header: absolute offset of the time index, u64.
pub const V2_TIME_INDEX_OFFSET: usize = 40;
/// v2 file header: absolute offset of the metric index, u64.
pub const V2_METRIC_INDEX_OFFSET: usize = 48;
/// v2 file header: 4 reserved bytes that must be zero.
pub const V2_RESERVED_B: usize = 56;

// Footer (docs/FORMATS.md §8.2, §8.3).

/// Footer: magic `NTFT` (4 bytes).
pub const FTR_MAGIC: usize = 0;
/// Footer: trailer version, u32 (equals the file version).
pub const FTR_VERSION: usize = 4;
/// v1 footer: number of PAGE_INFO entries, u32.
pub const FTR_COUNT: usize = 8;
/// v2 footer: reserved u32 that must be zero (the same bytes as `FTR_COUNT`).
pub const FTR_RESERVED: usize = 8;
/// Footer: CRC of bytes `0..FTR_CRC`, u32.
pub const FTR_CRC: usize = 12;

// v1 metric frame header `MPG1` (docs/FORMATS.md §8.2).

/// `MPG1`: magic (4 bytes).
pub const MPG1_MAGIC: usize = 0;
/// `MPG1`: header length, u16, always 48.
pub const MPG1_HEADER_LEN: usize = 4;
/// `MPG1`: codec id, u16.
pub const MPG1_CODEC: usize = 6;
/// `MPG1`: metric id, u16.
pub const MPG1_METRIC_ID: usize = 8;
/// `MPG1`: value type, u8.
pub const MPG1_VALUE_TYPE: usize = 10;
/// `MPG1`: reserved byte (never checked).
pub const MPG1_RESERVED: usize = 11;
/// `MPG1`: first timestamp, i64.
pub const MPG1_START_TS: usize = 12;
/// `MPG1`: last timestamp, i64.
pub const MPG1_END_TS: usize = 20;
/// `MPG1`: point count, u32.
pub const MPG1_POINT_COUNT: usize = 28;
/// `MPG1`: compressed payload length, u32.
pub const MPG1_PAYLOAD_LEN: usize = 32;
/// `MPG1`: decoded payload length (12 × points), u32.
pub const MPG1_UNCOMPRESSED_LEN: usize = 36;
/// `MPG1`: 4 reserved bytes (never checked).
pub const MPG1_RESERVED2: usize = 40;
/// `MPG1`: CRC of header bytes `0..MPG1_HEADER_CRC`, u32.
pub const MPG1_HEADER_CRC: usize = 44;
/// `MPG1`: the payload starts right after the header.
pub const MPG1_PAYLOAD: usize = 48;

// v2 time frame header `TPG2` (docs/FORMATS.md §8.3).

/// `TPG2`: magic (4 bytes).
pub const TPG2_MAGIC: usize = 0;
/// `TPG2`: header length, u16, always 48.
pub const TPG2_HEADER_LEN: usize = 4;
/// `TPG2`: codec id, u16.
pub const TPG2_CODEC: usize = 6;
/// `TPG2`: time frame id, u16.
pub const TPG2_ID: usize = 8;
/// `TPG2`: time encoding, u8 (1 = raw i64).
pub const TPG2_TIME_ENCODING: usize = 10;
/// `TPG2`: reserved byte (never checked).
pub const TPG2_RESERVED: usize = 11;
/// `TPG2`: first timestamp, i64.
pub const TPG2_START_TS: usize = 12;
/// `TPG2`: last timestamp, i64.
pub const TPG2_END_TS: usize = 20;
/// `TPG2`: point count, u32.
pub const TPG2_POINT_COUNT: usize = 28;
/// `TPG2`: compressed payload length, u32.
pub const TPG2_PAYLOAD_LEN: usize = 32;
/// `TPG2`: decoded payload length (8 × points), u32.
pub const TPG2_DECODED_LEN: usize = 36;
/// `TPG2`: 4 reserved bytes that must be zero.
pub const TPG2_RESERVED2: usize = 40;
/// `TPG2`: CRC of header bytes `0..TPG2_HEADER_CRC`, u32.
pub const TPG2_HEADER_CRC: usize = 44;
/// `TPG2`: the payload starts right after the header.
pub const TPG2_PAYLOAD: usize = 48;

// v2 metric frame header `MPG2` (docs/FORMATS.md §8.3).

/// `MPG2`: magic (4 bytes).
pub const MPG2_MAGIC: usize = 0;
/// `MPG2`: header length, u16, always 48.
pub const MPG2_HEADER_LEN: usize = 4;
/// `MPG2`: codec id, u16.
pub const MPG2_CODEC: usize = 6;
/// `MPG2`: metric id, u16.
pub const MPG2_METRIC_ID: usize = 8;
/// `MPG2`: value type, u8.
pub const MPG2_VALUE_TYPE: usize = 10;
/// `MPG2`: reserved byte (never checked).
pub const MPG2_RESERVED: usize = 11;
/// `MPG2`: first timestamp of the slice, i64.
pub const MPG2_START_TS: usize = 12;
/// `MPG2`: last timestamp of the slice, i64.
pub const MPG2_END_TS: usize = 20;
/// `MPG2`: id of the time frame holding the slice, u16.
pub const MPG2_TIME_FRAME_ID: usize = 28;
/// `MPG2`: 2 reserved bytes that must be zero.
pub const MPG2_RESERVED2: usize = 30;
/// `MPG2`: index in the time frame where the slice begins, u32.
pub const MPG2_TIME_OFFSET: usize = 32;
/// `MPG2`: compressed payload length, u32.
pub const MPG2_PAYLOAD_LEN: usize = 36;
/// `MPG2`: decoded payload length (4 × points), u32.
pub const MPG2_DECODED_LEN: usize = 40;
/// `MPG2`: CRC of header bytes `0..MPG2_HEADER_CRC`, u32.
pub const MPG2_HEADER_CRC: usize = 44;
/// `MPG2`: the payload starts right after the header.
pub const MPG2_PAYLOAD: usize = 48;

/// Whether the CRC-32 of `b[..at]` equals the u32 stored at `at`; returns
/// (stored, computed) so a reader can report both.
pub(crate) fn crc_pair<const N: usize>(b: &[u8; N], at: usize) -> (u32, u32) {
    (le_u32(b, at), crc32fast::hash(&b[..at]))
}

/// Stores the CRC-32 of `b[..at]` at `at`.
fn seal<const N: usize>(b: &mut [u8; N], at: usize) {
    let crc = crc32fast::hash(&b[..at]);
    put_u32(b, at, crc);
}

/// The 64-byte file header of either version (docs/FORMATS.md §8.1–8.3).
///
/// Bytes 32..60 mean different things in v1 and v2 (v3 reuses the v2 fields), so those accessors
/// carry the version in their name, like the offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    b: [u8; FILE_HEADER_LEN],
}

impl FileHeader {
    /// Wraps bytes as read from offset 0.
    pub fn from_bytes(b: [u8; FILE_HEADER_LEN]) -> FileHeader {
        FileHeader { b }
    }

    /// The header a v1 writer stores: `count` frames, flags 1, CRC set.
    pub fn new_v1(partition_kind: u8, min_ts: i64, max_ts: i64, count: u32) -> FileHeader {
        let mut h = FileHeader::common(1, partition_kind, min_ts, max_ts);
        put_u32(&mut h.b, V1_METRIC_COUNT, count);
        put_u32(&mut h.b, V1_PAGE_COUNT, count);
        seal(&mut h.b, HDR_CRC);
        h
    }

    /// The header a v2 writer stores: frame counts and index offsets, flags
    /// 1, CRC set.
    pub fn new_v2(
        partition_kind: u8,
        (min_ts, max_ts): (i64, i64),
        (time_frames, metric_frames): (u32, u32),
        (time_index, metric_index): (u64, u64),
    ) -> FileHeader {
        let mut h = FileHeader::common(2, partition_kind, min_ts, max_ts);
        put_u32(&mut h.b, V2_TIME_FRAME_COUNT, time_frames);
        put_u32(&mut h.b, V2_METRIC_FRAME_COUNT, metric_frames);
        put_u64(&mut h.b, V2_TIME_INDEX_OFFSET, time_index);
        put_u64(&mut h.b, V2_METRIC_INDEX_OFFSET, metric_index);
        seal(&mut h.b, HDR_CRC);
        h
    }

    /// The header a v3 writer stores: the v2 fields hold the block and
    /// metric-index counts and offsets, bytes 56..59 the CRC of both
    /// indexes (docs/FORMATS.md §8.9); flags 1, CRC set.
    pub fn new_v3(
        partition_kind: u8,
        (min_ts, max_ts): (i64, i64),
        (blocks, segments): (u32, u32),
        (block_index, metric_index): (u64, u64),
        index_crc: u32,
    ) -> FileHeader {
        let mut h = FileHeader::common(3, partition_kind, min_ts, max_ts);
        put_u32(&mut h.b, V2_TIME_FRAME_COUNT, blocks);
        put_u32(&mut h.b, V2_METRIC_FRAME_COUNT, segments);
        put_u64(&mut h.b, V2_TIME_INDEX_OFFSET, block_index);
        put_u64(&mut h.b, V2_METRIC_INDEX_OFFSET, metric_index);
        put_u32(&mut h.b, V2_RESERVED_B, index_crc);
        seal(&mut h.b, HDR_CRC);
        h
    }

    fn common(version: u16, partition_kind: u8, min_ts: i64, max_ts: i64) -> FileHeader {
        let mut b = [0u8; FILE_HEADER_LEN];
        b[HDR_MAGIC..HDR_MAGIC + 4].copy_from_slice(FILE_MAGIC);
        put_u16(&mut b, HDR_VERSION, version);
        put_u16(&mut b, HDR_LEN, FILE_HEADER_LEN as u16);
        put_u32(&mut b, HDR_FLAGS, 1);
        b[HDR_PARTITION_KIND] = partition_kind;
        put_i64(&mut b, HDR_MIN_TS, min_ts);
        put_i64(&mut b, HDR_MAX_TS, max_ts);
        FileHeader { b }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; FILE_HEADER_LEN] {
        &self.b
    }

    /// Whether the magic is `NTMF`.
    pub fn has_magic(&self) -> bool {
        &self.b[HDR_MAGIC..HDR_MAGIC + 4] == FILE_MAGIC
    }

    /// Layout version.
    pub fn version(&self) -> u16 {
        le_u16(&self.b, HDR_VERSION)
    }

    /// Header length field.
    pub fn header_len(&self) -> u16 {
        le_u16(&self.b, HDR_LEN)
    }

    /// Flags (1 = sealed; never checked).
    pub fn flags(&self) -> u32 {
        le_u32(&self.b, HDR_FLAGS)
    }

    /// Partition kind code (never checked).
    pub fn partition_kind(&self) -> u8 {
        self.b[HDR_PARTITION_KIND]
    }

    /// file_min_ts.
    pub fn min_ts(&self) -> i64 {
        le_i64(&self.b, HDR_MIN_TS)
    }

    /// file_max_ts.
    pub fn max_ts(&self) -> i64 {
        le_i64(&self.b, HDR_MAX_TS)
    }

    /// v1 metric_count.
    pub fn v1_metric_count(&self) -> u32 {
        le_u32(&self.b, V1_METRIC_COUNT)
    }

    /// v1 page_count.
    pub fn v1_page_count(&self) -> u32 {
        le_u32(&self.b, V1_PAGE_COUNT)
    }

    /// v2 time_frame_count.
    pub fn v2_time_frame_count(&self) -> u32 {
        le_u32(&self.b, V2_TIME_FRAME_COUNT)
    }

    /// v2 metric_frame_count.
    pub fn v2_metric_frame_count(&self) -> u32 {
        le_u32(&self.b, V2_METRIC_FRAME_COUNT)
    }

    /// v2 time_index_offset.
    pub fn v2_time_index_offset(&self) -> u64 {
        le_u64(&self.b, V2_TIME_INDEX_OFFSET)
    }

    /// v2 metric_index_offset.
    pub fn v2_metric_index_offset(&self) -> u64 {
        le_u64(&self.b, V2_METRIC_INDEX_OFFSET)
    }

    /// v2 reserved bytes 56..59 (must be zero).
    pub fn v2_reserved(&self) -> u32 {
        le_u32(&self.b, V2_RESERVED_B)
    }

    /// (stored, computed) header CRC.
    pub fn crc(&self) -> (u32, u32) {
        crc_pair(&self.b, HDR_CRC)
    }
}

/// The 16-byte footer of either version. In v1 bytes 8..11 count the
/// PAGE_INFO entries; in v2 they are reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    b: [u8; FOOTER_LEN],
}

impl Footer {
    /// Wraps the last 16 bytes of a file.
    pub fn from_bytes(b: [u8; FOOTER_LEN]) -> Footer {
        Footer { b }
    }

    /// The footer a writer stores: magic, `version`, `word` (v1 count, v2
    /// zero), CRC.
    pub fn new(version: u32, word: u32) -> Footer {
        let mut b = [0u8; FOOTER_LEN];
        b[FTR_MAGIC..FTR_MAGIC + 4].copy_from_slice(FOOTER_MAGIC);
        put_u32(&mut b, FTR_VERSION, version);
        put_u32(&mut b, FTR_COUNT, word);
        seal(&mut b, FTR_CRC);
        Footer { b }
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; FOOTER_LEN] {
        &self.b
    }

    /// Whether the magic is `NTFT`.
    pub fn has_magic(&self) -> bool {
        &self.b[FTR_MAGIC..FTR_MAGIC + 4] == FOOTER_MAGIC
    }

    /// Trailer version.
    pub fn version(&self) -> u32 {
        le_u32(&self.b, FTR_VERSION)
    }

    /// v1 PAGE_INFO count.
    pub fn count(&self) -> u32 {
        le_u32(&self.b, FTR_COUNT)
    }

    /// v2 reserved word (must be zero).
    pub fn reserved(&self) -> u32 {
        le_u32(&self.b, FTR_RESERVED)
    }

    /// (stored, computed) footer CRC.
    pub fn crc(&self) -> (u32, u32) {
        crc_pair(&self.b, FTR_CRC)
    }
}

/// Which of the three 48-byte frame headers a [`FrameHeader`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// v1 metric frame `MPG1`: timestamps and values.
    Mpg1,
    /// v2 time frame `TPG2`: a shared timestamp vector.
    Tpg2,
    /// v2 metric frame `MPG2`: values of a slice of one time frame.
    Mpg2,
}

impl FrameKind {
    /// The frame's magic.
    pub fn magic(self) -> &'static [u8; 4] {
        match self {
            FrameKind::Mpg1 => v1::FRAME_MAGIC,
            FrameKind::Tpg2 => v2::TIME_MAGIC,
            FrameKind::Mpg2 => v2::METRIC_MAGIC,
        }
    }

    /// Offset of the point count (MPG1, TPG2); MPG2 derives it instead.
    fn point_count_at(self) -> Option<usize> {
        match self {
            FrameKind::Mpg1 => Some(MPG1_POINT_COUNT),
            FrameKind::Tpg2 => Some(TPG2_POINT_COUNT),
            FrameKind::Mpg2 => None,
        }
    }

    /// Offset of the compressed payload length.
    pub fn payload_len_at(self) -> usize {
        match self {
            FrameKind::Mpg1 => MPG1_PAYLOAD_LEN,
            FrameKind::Tpg2 => TPG2_PAYLOAD_LEN,
            FrameKind::Mpg2 => MPG2_PAYLOAD_LEN,
        }
    }

    /// Offset of the decoded payload length (`MPG1_UNCOMPRESSED_LEN` for v1).
    pub fn decoded_len_at(self) -> usize {
        match self {
            FrameKind::Mpg1 => MPG1_UNCOMPRESSED_LEN,
            FrameKind::Tpg2 => TPG2_DECODED_LEN,
            FrameKind::Mpg2 => MPG2_DECODED_LEN,
        }
    }

    /// Offset of the second reserved field, and its width in bytes.
    pub fn reserved_at(self) -> (usize, usize) {
        match self {
            FrameKind::Mpg1 => (MPG1_RESERVED2, 4),
            FrameKind::Tpg2 => (TPG2_RESERVED2, 4),
            FrameKind::Mpg2 => (MPG2_RESERVED2, 2),
        }
    }
}

/// Magic, header length, codec, id and timestamp range sit at the same
/// offsets in every frame kind; the assertions keep the shared accessors
/// honest.
const _: () = {
    assert!(MPG1_CODEC == TPG2_CODEC && TPG2_CODEC == MPG2_CODEC);
    assert!(MPG1_HEADER_LEN == TPG2_HEADER_LEN && TPG2_HEADER_LEN == MPG2_HEADER_LEN);
    assert!(MPG1_METRIC_ID == TPG2_ID && TPG2_ID == MPG2_METRIC_ID);
    assert!(MPG1_VALUE_TYPE == TPG2_TIME_ENCODING && TPG2_TIME_ENCODING == MPG2_VALUE_TYPE);
    assert!(MPG1_START_TS == TPG2_START_TS && TPG2_START_TS == MPG2_START_TS);
    assert!(MPG1_END_TS == TPG2_END_TS && TPG2_END_TS == MPG2_END_TS);
    assert!(MPG1_HEADER_CRC == TPG2_HEADER_CRC && TPG2_HEADER_CRC == MPG2_HEADER_CRC);
    assert!(MPG1_PAYLOAD == FRAME_HEADER_LEN && MPG2_PAYLOAD == FRAME_HEADER_LEN);
    assert!(TPG2_PAYLOAD == FRAME_HEADER_LEN);
};

/// Offset of the fields every kind shares (see the assertions above).
const FRAME_MAGIC_AT: usize = MPG1_MAGIC;
/// See [`FRAME_MAGIC_AT`].
pub(crate) const FRAME_HEADER_LEN_AT: usize = MPG1_HEADER_LEN;
/// See [`FRAME_MAGIC_AT`].
pub(crate) const FRAME_CODEC_AT: usize = MPG1_CODEC;
/// See [`FRAME_MAGIC_AT`].
const FRAME_ID_AT: usize = MPG1_METRIC_ID;
/// See [`FRAME_MAGIC_AT`].
pub(crate) const FRAME_TYPE_AT: usize = MPG1_VALUE_TYPE;
/// See [`FRAME_MAGIC_AT`].
pub(crate) const FRAME_START_TS_AT: usize = MPG1_START_TS;
/// See [`FRAME_MAGIC_AT`].
const FRAME_END_TS_AT: usize = MPG1_END_TS;
/// See [`FRAME_MAGIC_AT`].
pub(crate) const FRAME_CRC_AT: usize = MPG1_HEADER_CRC;

/// The 48-byte header of an `MPG1`, `TPG2` or `MPG2` frame: one type for
/// all three, the kind picking where the fields that differ live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    kind: FrameKind,
    b: [u8; FRAME_HEADER_LEN],
}

impl FrameHeader {
    /// Wraps bytes read at a frame's offset.
    pub fn from_bytes(kind: FrameKind, b: [u8; FRAME_HEADER_LEN]) -> FrameHeader {
        FrameHeader { kind, b }
    }

    /// A header for a writer to fill in: magic and header length set, every
    /// other field (reserved ones included) zero.
    pub fn new(kind: FrameKind) -> FrameHeader {
        let mut b = [0u8; FRAME_HEADER_LEN];
        b[FRAME_MAGIC_AT..FRAME_MAGIC_AT + 4].copy_from_slice(kind.magic());
        put_u16(&mut b, FRAME_HEADER_LEN_AT, FRAME_HEADER_LEN as u16);
        FrameHeader { kind, b }
    }

    /// The bytes to store, with the header CRC computed over the fields set.
    pub fn sealed(mut self) -> [u8; FRAME_HEADER_LEN] {
        seal(&mut self.b, FRAME_CRC_AT);
        self.b
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; FRAME_HEADER_LEN] {
        &self.b
    }

    /// Which frame this is.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// Whether the magic is the kind's.
    pub fn has_magic(&self) -> bool {
        &self.b[FRAME_MAGIC_AT..FRAME_MAGIC_AT + 4] == self.kind.magic()
    }

    /// Header length field.
    pub fn header_len(&self) -> u16 {
        le_u16(&self.b, FRAME_HEADER_LEN_AT)
    }

    /// Codec id.
    pub fn codec_id(&self) -> u16 {
        le_u16(&self.b, FRAME_CODEC_AT)
    }

    /// Metric id (`MPG1`, `MPG2`) or time frame id (`TPG2`).
    pub fn id(&self) -> u16 {
        le_u16(&self.b, FRAME_ID_AT)
    }

    /// Value type (`MPG1`, `MPG2`) or time encoding (`TPG2`).
    pub fn type_code(&self) -> u8 {
        self.b[FRAME_TYPE_AT]
    }

    /// First timestamp.
    pub fn start_ts(&self) -> i64 {
        le_i64(&self.b, FRAME_START_TS_AT)
    }

    /// Last timestamp.
    pub fn end_ts(&self) -> i64 {
        le_i64(&self.b, FRAME_END_TS_AT)
    }

    /// Point count: stored by `MPG1` and `TPG2`; for `MPG2` derived as
    /// decoded_len / 4 (docs/FORMATS.md §8.3).
    pub fn point_count(&self) -> u32 {
        match self.kind.point_count_at() {
            Some(at) => le_u32(&self.b, at),
            None => self.decoded_len() / 4,
        }
    }

    /// `MPG2` time_frame_id (0 for the other kinds, which have none).
    pub fn time_frame_id(&self) -> u16 {
        match self.kind {
            FrameKind::Mpg2 => le_u16(&self.b, MPG2_TIME_FRAME_ID),
            _ => 0,
        }
    }

    /// `MPG2` time_offset (0 for the other kinds, which have none).
    pub fn time_offset(&self) -> u32 {
        match self.kind {
            FrameKind::Mpg2 => le_u32(&self.b, MPG2_TIME_OFFSET),
            _ => 0,
        }
    }

    /// Compressed payload length.
    pub fn payload_len(&self) -> u32 {
        le_u32(&self.b, self.kind.payload_len_at())
    }

    /// Decoded payload length (uncompressed_len in `MPG1`).
    pub fn decoded_len(&self) -> u32 {
        le_u32(&self.b, self.kind.decoded_len_at())
    }

    /// The second reserved field (`MPG1`/`TPG2` bytes 40..43, `MPG2` bytes
    /// 30..31); `TPG2` and `MPG2` require it to be zero.
    pub fn reserved(&self) -> u32 {
        match self.kind.reserved_at() {
            (at, 2) => u32::from(le_u16(&self.b, at)),
            (at, _) => le_u32(&self.b, at),
        }
    }

    /// (stored, computed) header CRC.
    pub fn crc(&self) -> (u32, u32) {
        crc_pair(&self.b, FRAME_CRC_AT)
    }

    /// Sets the codec id.
    pub fn set_codec_id(&mut self, codec_id: u16) -> &mut Self {
        put_u16(&mut self.b, FRAME_CODEC_AT, codec_id);
        self
    }

    /// Sets the metric or time frame id and the value type or time encoding.
    pub fn set_id(&mut self, id: u16, type_code: u8) -> &mut Self {
        put_u16(&mut self.b, FRAME_ID_AT, id);
        self.b[FRAME_TYPE_AT] = type_code;
        self
    }

    /// Sets the first and last timestamps.
    pub fn set_range(&mut self, start_ts: i64, end_ts: i64) -> &mut Self {
        put_i64(&mut self.b, FRAME_START_TS_AT, start_ts);
        put_i64(&mut self.b, FRAME_END_TS_AT, end_ts);
        self
    }

    /// Sets the point count (ignored for `MPG2`, which stores none).
    pub fn set_point_count(&mut self, n: u32) -> &mut Self {
        if let Some(at) = self.kind.point_count_at() {
            put_u32(&mut self.b, at, n);
        }
        self
    }

    /// Sets the `MPG2` time frame slice (ignored for the other kinds).
    pub fn set_slice(&mut self, time_frame_id: u16, time_offset: u32) -> &mut Self {
        if self.kind == FrameKind::Mpg2 {
            put_u16(&mut self.b, MPG2_TIME_FRAME_ID, time_frame_id);
            put_u32(&mut self.b, MPG2_TIME_OFFSET, time_offset);
        }
        self
    }

    /// Sets the compressed and decoded payload lengths.
    pub fn set_lens(&mut self, payload_len: u32, decoded_len: u32) -> &mut Self {
        put_u32(&mut self.b, self.kind.payload_len_at(), payload_len);
        put_u32(&mut self.b, self.kind.decoded_len_at(), decoded_len);
        self
    }
}
