//! Block compression codecs of metric files (docs/FORMATS.md §2).
//!
//! Ids 1–2 are S2 *block* format (not the stream format), ids 3–4 one zstd
//! frame with content size and checksum. Decoding is bounded: the caller
//! passes the decoded length the file header declares, the compressed bytes
//! must claim exactly that length before anything is allocated, and the
//! output buffer is never larger than it.

use std::cell::RefCell;
use std::io;

use zstd::zstd_safe::{CParameter, ParamSwitch};

use crate::config::Codec;

/// zstd level for `zstd_fastest` (≈ klauspost `SpeedFastest`). It is used
/// with `targetLength = 1`, which in libzstd's fast strategy turns off
/// Huffman coding of literals: the reference's fastest encoder leaves these
/// literals raw too (its time frames are byte-for-byte the same size as
/// ours then), and plain level 1 would make files ~15 % smaller than the
/// reference's while the brief asks for sizes within 3 %.
const ZSTD_FASTEST_LEVEL: i32 = 1;
/// zstd level for `zstd_default` (≈ klauspost `SpeedDefault`).
const ZSTD_DEFAULT_LEVEL: i32 = 3;
/// Level of the match-only probe that decides whether a `zstd_default`
/// block is worth entropy coding (see [`compress`]). Level 1's matcher is
/// the closest to the reference's in which blocks it finds nothing in.
const ZSTD_PROBE_LEVEL: i32 = 1;
/// Bytes a zstd frame adds around one stored block: magic 4, descriptor 1,
/// content size 2, block header 3, checksum 4 (exact for the 256 B–64 KiB
/// payloads metric-file frames have; a few bytes off only moves the
/// store-raw threshold by as much).
const RAW_FRAME_OVERHEAD: usize = 14;

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
        Codec::ZstdFastest => {
            zstd_frame(
                codec,
                src,
                ZSTD_FASTEST_LEVEL,
                &[CParameter::TargetLength(1)],
                out,
            )?;
        }
        Codec::ZstdDefault => {
            // The reference's encoder gives up on entropy coding when a
            // block's matches save less than 16 bytes plus 1/64 of the block
            // and stores it as is; libzstd would Huffman-code such literals
            // and make files ~7 % smaller than the reference's. A fast probe
            // without literal compression measures what matches alone save.
            zstd_frame(
                codec,
                src,
                ZSTD_PROBE_LEVEL,
                &[CParameter::LiteralCompressionMode(ParamSwitch::Disable)],
                out,
            )?;
            let saved = (src.len() + RAW_FRAME_OVERHEAD).saturating_sub(out.len());
            if saved >= 16 + src.len() / 64 {
                zstd_frame(codec, src, ZSTD_DEFAULT_LEVEL, &[], out)?;
            }
        }
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
