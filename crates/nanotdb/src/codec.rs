//! Block compression codecs of metric files (docs/FORMATS.md §2).
//!
//! Ids 1–2 are S2 *block* format (not the stream format), ids 3–4 one zstd
//! frame with content size and checksum. Decoding is bounded: the caller
//! passes the decoded length the file header declares, the compressed bytes
//! must claim exactly that length before anything is allocated, and the
//! output buffer is never larger than it.

use std::cell::RefCell;
use std::io;

use zstd::zstd_safe::CParameter;

use crate::config::Codec;

/// zstd level for `zstd_fastest`: libzstd's fastest regular level, with
/// Huffman-coded literals (the reference's fastest encoder leaves literals
/// raw; v1.4.0's decoder reads either, and files must only be no larger
/// than the reference's). Edge day: 1,573,283 bytes against 1,916,510 with
/// raw literals, at about the same build time (BENCHMARKS.md).
const ZSTD_FASTEST_LEVEL: i32 = 1;
/// zstd level for `zstd_default`: the first level whose match finder (binary
/// tree) finds the repeats of timestamp and value vectors; 15 gave 28 %
/// smaller files than level 3 on the edge day at ≈ 0.8 s per day's build,
/// levels 16–19 under 2 % more at up to 3× the time (BENCHMARKS.md).
const ZSTD_DEFAULT_LEVEL: i32 = 15;
/// Window of `zstd_fastest` frames: the reference encoder's (4 MiB), so
/// no v1.4.0 decoder limit can refuse a frame of ours (libzstd shrinks it
/// further to the frame's size).
const ZSTD_FASTEST_WINDOW_LOG: u32 = 22;
/// Window of `zstd_default` frames: the reference encoder's (8 MiB).
const ZSTD_DEFAULT_WINDOW_LOG: u32 = 23;

/// Largest output one compressed byte can justify, per codec family. zstd:
/// an RLE block is 4 bytes for at most 128 KiB (ratio 32 Ki; frame headers
/// only lower it). S2: a 4-byte repeat element can copy 65540 + 2^24 − 1
/// bytes. A declared length above `payload_len × ratio` cannot be genuine,
/// so it is rejected before allocating.
const ZSTD_MAX_RATIO: usize = 32 * 1024;
/// See [`ZSTD_MAX_RATIO`].
const S2_MAX_RATIO: usize = (65_540 + (1 << 24)) / 4 + 1;

/// Why a payload could not be compressed or decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The codec id is not 1..=4.
    #[error("unknown codec id {0}")]
    UnknownCodec(u16),
    /// The compressor failed (only zstd can).
    #[error("compress {codec}: {reason}")]
    Compress {
        /// Codec name.
        codec: &'static str,
        /// What the library said.
        reason: String,
    },
    /// The compressed bytes are invalid.
    #[error("decompress {codec}: {reason}")]
    Decompress {
        /// Codec name.
        codec: &'static str,
        /// What the library said.
        reason: String,
    },
    /// The payload declares or produces another length than the header.
    #[error("decoded length {actual} != expected {expected}")]
    Length {
        /// Length from the file header.
        expected: u64,
        /// Length declared by or decoded from the payload.
        actual: u64,
    },
    /// The header's decoded length is more than the payload can produce.
    #[error("decoded length {expected} impossible for a {payload_len}-byte payload")]
    Implausible {
        /// Length from the file header.
        expected: u64,
        /// Compressed bytes present.
        payload_len: u64,
    },
}

thread_local! {
    /// Reused zstd decompression context (creating one costs more than
    /// decoding a small frame).
    static ZSTD_DCTX: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// Compresses `src` with `codec`, replacing the contents of `out`.
pub fn compress(codec: Codec, src: &[u8], out: &mut Vec<u8>) -> Result<(), CodecError> {
    out.clear();
    match codec {
        Codec::S2 => out.extend_from_slice(&minlz::encode(src)),
        Codec::S2Better => out.extend_from_slice(&minlz::encode_better(src)),
        Codec::ZstdFastest => zstd_frame(
            codec,
            src,
            ZSTD_FASTEST_LEVEL,
            &[CParameter::WindowLog(ZSTD_FASTEST_WINDOW_LOG)],
            out,
        )?,
        Codec::ZstdDefault => zstd_frame(
            codec,
            src,
            ZSTD_DEFAULT_LEVEL,
            &[CParameter::WindowLog(ZSTD_DEFAULT_WINDOW_LOG)],
            out,
        )?,
    }
    Ok(())
}

/// One zstd frame of `src` at `level` with content size and checksum, plus
/// `extra` parameters, replacing the contents of `out`.
fn zstd_frame(
    codec: Codec,
    src: &[u8],
    level: i32,
    extra: &[CParameter],
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let err = |e: io::Error| CodecError::Compress {
        codec: codec.name(),
        reason: e.to_string(),
    };
    let mut c = zstd::bulk::Compressor::new(level).map_err(err)?;
    c.set_parameter(CParameter::ChecksumFlag(true))
        .map_err(err)?;
    c.set_parameter(CParameter::ContentSizeFlag(true))
        .map_err(err)?;
    for p in extra {
        c.set_parameter(*p).map_err(err)?;
    }
    out.clear();
    out.reserve(zstd::zstd_safe::compress_bound(src.len()));
    c.compress_to_buffer(src, out).map_err(err)?;
    Ok(())
}

/// Decompresses `src` (codec `codec_id` as stored in a frame header) into
/// `out`, which ends up exactly `expected_len` bytes long. Fails when the
/// payload declares or yields any other length; never allocates more than
/// `expected_len`, and only after the payload's own length header agrees.
pub fn decompress(
    codec_id: u16,
    src: &[u8],
    expected_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let codec = u8::try_from(codec_id)
        .ok()
        .and_then(Codec::from_id)
        .ok_or(CodecError::UnknownCodec(codec_id))?;
    out.clear();
    let ratio = match codec {
        Codec::S2 | Codec::S2Better => S2_MAX_RATIO,
        Codec::ZstdFastest | Codec::ZstdDefault => ZSTD_MAX_RATIO,
    };
    if expected_len > src.len().saturating_mul(ratio) {
        return Err(CodecError::Implausible {
            expected: expected_len as u64,
            payload_len: src.len() as u64,
        });
    }
    match codec {
        Codec::S2 | Codec::S2Better => decode_s2(src, expected_len, out),
        Codec::ZstdFastest | Codec::ZstdDefault => decode_zstd(codec, src, expected_len, out),
    }
}

/// S2 block decode: the block's uvarint length must equal `expected_len`.
fn decode_s2(src: &[u8], expected_len: usize, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let err = |e: minlz::Error| CodecError::Decompress {
        codec: "s2",
        reason: e.to_string(),
    };
    let (declared, _) = minlz::decode_len(src).map_err(err)?;
    if declared != expected_len {
        return Err(CodecError::Length {
            expected: expected_len as u64,
            actual: declared as u64,
        });
    }
    out.resize(expected_len, 0);
    let got = minlz::decode_into(out, src).map_err(err)?;
    check_decoded_len(out, got, expected_len)
}

/// A block that decoded to another length than the frame declared is an
/// error; the half-filled buffer is cleared so nothing reads it.
fn check_decoded_len(out: &mut Vec<u8>, got: usize, expected_len: usize) -> Result<(), CodecError> {
    if got != expected_len {
        out.clear();
        return Err(CodecError::Length {
            expected: expected_len as u64,
            actual: got as u64,
        });
    }
    Ok(())
}

/// zstd decode into a buffer of exactly `expected_len` bytes: a frame that
/// would produce more fails inside libzstd ("destination too small").
fn decode_zstd(
    codec: Codec,
    src: &[u8],
    expected_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let err = |reason: String| CodecError::Decompress {
        codec: codec.name(),
        reason,
    };
    match zstd::zstd_safe::get_frame_content_size(src) {
        Ok(Some(n)) if n > expected_len as u64 => {
            return Err(CodecError::Length {
                expected: expected_len as u64,
                actual: n,
            });
        }
        Ok(_) => {}
        Err(_) => return Err(err("invalid zstd frame header".into())),
    }
    out.resize(expected_len, 0);
    let res = ZSTD_DCTX.with(|cell| -> Result<usize, CodecError> {
        let mut slot = cell.try_borrow_mut().map_err(|e| err(e.to_string()))?;
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new().map_err(|e| err(e.to_string()))?);
        }
        match slot.as_mut() {
            Some(d) => d
                .decompress_to_buffer(src, out.as_mut_slice())
                .map_err(|e| err(e.to_string())),
            None => Err(err("no decompression context".into())),
        }
    });
    let got = match res {
        Ok(n) => n,
        Err(e) => {
            out.clear();
            return Err(e);
        }
    };
    check_decoded_len(out, got, expected_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Codec; 4] = [
        Codec::S2,
        Codec::S2Better,
        Codec::ZstdFastest,
        Codec::ZstdDefault,
    ];

    fn sample_input() -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..2000i64 {
            v.extend_from_slice(&(1_767_225_600_000_000_000 + i * 10_000_000_000).to_le_bytes());
            v.extend_from_slice(&((i % 7) as u32).to_le_bytes());
        }
        v
    }

    #[test]
    fn round_trip_every_codec() {
        let input = sample_input();
        for codec in ALL {
            let mut c = Vec::new();
            compress(codec, &input, &mut c).unwrap();
            assert!(c.len() < input.len() * 3 / 4, "{codec:?} {}", c.len());
            let mut d = Vec::new();
            decompress(u16::from(codec.id()), &c, input.len(), &mut d).unwrap();
            assert_eq!(d, input, "{codec:?}");
        }
    }

    #[test]
    fn zstd_frame_has_content_size_and_checksum() {
        let input = sample_input();
        let mut c = Vec::new();
        compress(Codec::ZstdFastest, &input, &mut c).unwrap();
        assert_eq!(&c[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
        // Frame header descriptor: bit 2 = checksum, bits 6-7 = FCS size flag.
        let fhd = c[4];
        assert_eq!(fhd & 0x04, 0x04);
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&c).unwrap(),
            Some(input.len() as u64)
        );
    }

    /// Window a zstd frame asks its decoder for (RFC 8878 §3.1.1.1.2): the
    /// content size for single-segment frames, else the window descriptor.
    fn frame_window(c: &[u8]) -> u64 {
        let fhd = c[4];
        if fhd & 0x20 != 0 {
            return zstd::zstd_safe::get_frame_content_size(c).unwrap().unwrap();
        }
        let wd = c[5];
        let base = 1u64 << (10 + (wd >> 3));
        base + base / 8 * u64::from(wd & 7)
    }

    #[test]
    fn zstd_frames_stay_within_the_reference_windows() {
        // 12 MiB of poorly compressible data: larger than both windows, so
        // the window descriptor is what limits the decoder's memory.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let input: Vec<u8> = (0..12 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 16) as u8
            })
            .collect();
        for (codec, max) in [
            (Codec::ZstdFastest, 4u64 << 20),
            (Codec::ZstdDefault, 8 << 20),
        ] {
            let mut c = Vec::new();
            compress(codec, &input, &mut c).unwrap();
            assert_eq!(frame_window(&c), max, "{codec:?}");
            let mut d = Vec::new();
            decompress(u16::from(codec.id()), &c, input.len(), &mut d).unwrap();
            assert!(d == input, "{codec:?}");
        }
    }

    #[test]
    fn zstd_literals_are_entropy_coded() {
        // 8 KiB of 16 symbols without repeats: only Huffman-coded literals
        // make it smaller, which the reference's fastest encoder never did.
        let mut x = 12345u32;
        let input: Vec<u8> = (0..8192)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b'a' + (x >> 28) as u8
            })
            .collect();
        for codec in [Codec::ZstdFastest, Codec::ZstdDefault] {
            let mut c = Vec::new();
            compress(codec, &input, &mut c).unwrap();
            assert!(c.len() < input.len() * 6 / 10, "{codec:?}: {}", c.len());
        }
    }

    #[test]
    fn s2_short_input_is_literal_only() {
        let mut c = Vec::new();
        compress(Codec::S2, b"abc", &mut c).unwrap();
        // uvarint 3, literal tag (len-1)<<2, bytes.
        assert_eq!(c, vec![3, 2 << 2, b'a', b'b', b'c']);
    }

    #[test]
    fn wrong_expected_length_is_rejected_for_every_codec() {
        let input = sample_input();
        for codec in ALL {
            let mut c = Vec::new();
            compress(codec, &input, &mut c).unwrap();
            let mut d = Vec::new();
            let e = decompress(u16::from(codec.id()), &c, input.len() - 8, &mut d).unwrap_err();
            assert!(
                matches!(e, CodecError::Length { .. } | CodecError::Decompress { .. }),
                "{codec:?}: {e:?}"
            );
            assert!(d.capacity() <= input.len(), "{codec:?}");
            let e = decompress(u16::from(codec.id()), &c, input.len() + 8, &mut d).unwrap_err();
            assert!(
                matches!(e, CodecError::Length { .. } | CodecError::Decompress { .. }),
                "{codec:?}: {e:?}"
            );
        }
    }

    #[test]
    fn unknown_codec_and_implausible_length() {
        let mut d = Vec::new();
        assert_eq!(
            decompress(0, b"x", 1, &mut d),
            Err(CodecError::UnknownCodec(0))
        );
        assert_eq!(
            decompress(5, b"x", 1, &mut d),
            Err(CodecError::UnknownCodec(5))
        );
        assert_eq!(
            decompress(3, &[0u8; 4], 1 << 30, &mut d),
            Err(CodecError::Implausible {
                expected: 1 << 30,
                payload_len: 4
            })
        );
        assert_eq!(d.capacity(), 0);
    }

    #[test]
    fn zstd_without_content_size_still_bounded() {
        // A frame written without content size: decode must still cap output.
        let input = vec![7u8; 5000];
        let mut c = zstd::bulk::Compressor::new(1).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::ContentSizeFlag(false))
            .unwrap();
        let frame = c.compress(&input).unwrap();
        let mut d = Vec::new();
        assert!(decompress(3, &frame, 4000, &mut d).is_err());
        assert!(d.capacity() <= 5000);
        decompress(3, &frame, 5000, &mut d).unwrap();
        assert_eq!(d, input);
    }
}
