//! What a damaged copy may lose and what it may not, derived from the clean
//! file's structure and the offset of the first damaged byte.
//!
//! Precision per kind (the rest of the clean samples must come back):
//! - data/raw files: samples of frames that end after the first damaged
//!   byte may be lost (frames before it are intact and must be read);
//! - our WAL: samples of write groups that end after it (a group is the
//!   unit of acknowledgement: when its closing record is damaged, the reader
//!   cannot know the group ended, so its earlier records may go too);
//! - v1.4.0's WAL: samples of records that end after it;
//! - the commit log: samples of the atomic batches whose entry ends after it;
//! - metric files, catalogs, configuration files and the checkpoint log:
//!   anything (a metric file's samples are spread over the whole file; a
//!   configuration error may refuse the database), but never silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nanotdb::{Value, ValueType};

use super::pipeline::{Multiset, multiset};
use super::scenario::{Kind, commit_entries};

/// How strict the checks of one case are.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// Export lines (of each database) that may be missing.
    pub at_risk: Multiset,
    /// The whole result may differ (the checks of content are off): the
    /// damaged file is still a valid file of its format that says something
    /// else, so no reader can tell (see [`leniency`]).
    pub undetectable: Option<&'static str>,
    /// Lines may be missing without a warning: the damaged file is a valid,
    /// shorter file of its format (a cut at a frame boundary, a removed
    /// frame) or repeats whole valid parts.
    pub silent_ok: Option<&'static str>,
}

type Names = Vec<Option<(String, ValueType)>>;

/// Metric id → (name, type) of one database of the clean root (cached:
/// opening a database derives last values, which costs a debug build).
pub fn names(root: &Path, db: &str) -> Names {
    static CACHE: Mutex<BTreeMap<(PathBuf, String), Names>> = Mutex::new(BTreeMap::new());
    let key = (root.to_path_buf(), db.to_string());
    if let Some(n) = CACHE.lock().unwrap().get(&key) {
        return n.clone();
    }
    let n = load_names(root, db);
    CACHE.lock().unwrap().insert(key, n.clone());
    n
}

fn load_names(root: &Path, db: &str) -> Names {
    let engine = nanotdb::Engine::open_read_only(root).expect("clean root opens");
    let mut out = Vec::new();
    for m in engine.metrics(db).expect("clean database") {
        let i = usize::from(m.id);
        if out.len() <= i {
            out.resize(i + 1, None);
        }
        out[i] = Some((m.name, m.value_type));
    }
    out
}

fn line(db: &str, names: &[Option<(String, ValueType)>], id: u16, ts: i64, bits: u64) -> String {
    let (name, vt) = names
        .get(usize::from(id))
        .and_then(|n| n.as_ref())
        .expect("clean ids resolve");
    let mut out = Vec::new();
    nanotdb::lineproto::write_line(&mut out, db, name, Value::from_bits(*vt, bits), ts);
    String::from_utf8(out).unwrap().trim_end().to_string()
}

/// Export lines of the frames of a clean data file that end after `d`.
fn data_at_risk(
    db: &str,
    names: &[Option<(String, ValueType)>],
    clean: &[u8],
    d: usize,
) -> Multiset {
    let scan = nanotdb::datafile::scan_bytes(clean, true);
    assert!(scan.damage.is_none(), "clean data file is intact");
    let mut lines = Vec::new();
    let mut frame = nanotdb::frame::DecodedFrame::default();
    for f in &scan.frames {
        let (start, h) = (f.offset as usize, &f.header);
        if start + h.frame_len() as usize <= d {
            continue;
        }
        let b = start + h.header_len;
        let c = h.clen as usize;
        let crc = u32::from_le_bytes(clean[b + c..b + c + 4].try_into().unwrap());
        nanotdb::frame::decode_frame_into(h, &clean[b..b + c], crc, &mut frame).unwrap();
        for i in 0..frame.len() {
            lines.push(line(db, names, frame.id(i), frame.ts(i), frame.val(i)));
        }
    }
    multiset(lines.iter().map(String::as_str))
}

/// One record of a clean WAL: its end offset, export line, and for our
/// checksummed records whether it ends its group and the batch id it carries.
struct Rec {
    end: usize,
    line: String,
    ends_group: bool,
    batch: Option<u64>,
}

fn wal_records(db: &str, names: &[Option<(String, ValueType)>], clean: &[u8]) -> Vec<Rec> {
    let scan = nanotdb::wal::scan_wal(clean);
    assert!(
        scan.stop.is_none() && scan.damage.is_empty(),
        "clean WAL is intact"
    );
    let mut out = Vec::new();
    for (off, r) in &scan.records {
        let off = *off as usize;
        // uvarint payload length
        let (mut len, mut shift, mut p) = (0usize, 0, off);
        loop {
            let b = clean[p];
            len |= usize::from(b & 0x7f) << shift;
            p += 1;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let payload = &clean[p..p + len];
        let flags = payload[5];
        let checked = flags & 0x01 != 0;
        out.push(Rec {
            end: p + len,
            line: line(db, names, r.metric_id, r.ts, r.value.bits()),
            ends_group: !checked || flags & 0x02 != 0,
            batch: (flags & 0x04 != 0)
                .then(|| u64::from_le_bytes(payload[len - 12..len - 4].try_into().unwrap())),
        });
    }
    out
}

/// Export lines of WAL records whose group (a single record in a v1.4.0
/// WAL) ends after `d`, or that belong to a batch `lost_batch` says is lost.
fn wal_at_risk(recs: &[Rec], d: usize, lost_batch: &dyn Fn(u64) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut group: Vec<&Rec> = Vec::new();
    for r in recs {
        group.push(r);
        if r.ends_group {
            let lost = r.end > d || r.batch.is_some_and(lost_batch);
            if lost {
                out.extend(group.iter().map(|g| g.line.clone()));
            }
            group.clear();
        }
    }
    out.extend(group.iter().map(|g| g.line.clone()));
    out
}

/// The expectations of one case: `clean`/`mutated` are the target's bytes,
/// `clean_root` the undamaged root, `dbs` the databases checked.
pub fn expect(
    kind: Kind,
    rel: &Path,
    clean_root: &Path,
    dbs: &[String],
    clean: &[u8],
    mutated: &[u8],
    everything: &Multiset,
) -> Expect {
    let Some(d) = super::mutate::first_difference(clean, mutated) else {
        return Expect::default();
    };
    let db = dbs[0].as_str();
    let mut e = Expect::default();
    match kind {
        Kind::Data | Kind::Raw => {
            e.at_risk = data_at_risk(db, &names(clean_root, db), clean, d);
            let scan = nanotdb::datafile::scan_bytes(mutated, true);
            if scan.damage.is_none() && frames_verify(mutated, &scan) {
                e.silent_ok = Some(
                    "the damaged file is a valid data file (whole frames cut, removed or repeated)",
                );
            }
        }
        Kind::Wal | Kind::WalV1 => {
            let recs = wal_records(db, &names(clean_root, db), clean);
            let lines = wal_at_risk(&recs, d, &|_| false);
            e.at_risk = multiset(lines.iter().map(String::as_str));
            // A batch spanning databases is lost whole: its other parts too.
            let lost: Vec<u64> = recs
                .iter()
                .filter(|r| r.end > d)
                .filter_map(|r| r.batch)
                .collect();
            add_batches(&mut e, clean_root, dbs, &|id| lost.contains(&id));
            let m = nanotdb::wal::scan_wal(mutated);
            let clean_scan = m.stop.is_none() && m.damage.is_empty() && m.discarded_torn == 0;
            if kind == Kind::WalV1 {
                e.undetectable = Some(
                    "v1.4.0's WAL records carry no checksum: a changed byte can decode as another valid sample",
                );
            } else if clean_scan && m.skipped_missing_baseline == 0 {
                e.silent_ok =
                    Some("the damaged WAL is a valid WAL (whole groups cut, removed or repeated)");
            } else if clean.starts_with(mutated) && m.stop.is_none() && m.damage.is_empty() {
                // Cut inside a write group: what a crash mid-write leaves
                // (§4.11: never acknowledged, dropped without a warning).
                e.silent_ok = Some("the WAL was cut inside a write group, as a crash leaves it");
            }
        }
        Kind::CommitLog => {
            let lost: Vec<u64> = commit_entries(clean)
                .iter()
                .filter(|en| en.1 > d)
                .map(|en| en.2)
                .collect();
            add_batches(&mut e, clean_root, dbs, &|id| lost.contains(&id));
            if commit_entries(mutated).last().map_or(0, |en| en.1) == mutated.len() {
                e.silent_ok =
                    Some("the damaged commit log is a valid log (as if a batch never committed)");
            }
        }
        Kind::Catalog => {
            e.at_risk = everything.clone();
            let first = |b: &[u8]| {
                serde_json::Deserializer::from_slice(b)
                    .into_iter::<serde_json::Value>()
                    .next()
                    .and_then(|v| v.ok())
            };
            let (c, m) = (first(clean), first(mutated));
            let empty = mutated.iter().all(u8::is_ascii_whitespace);
            if (m.is_some() || empty) && m != c {
                e.undetectable = Some(
                    "catalog.json has no checksum: valid JSON naming other metrics, ids or types is a legitimate catalog",
                );
            }
        }
        Kind::Metric | Kind::Manifest | Kind::EngineToml | Kind::Checkpoints => {
            e.at_risk = everything.clone();
        }
    }
    let _ = rel;
    e
}

/// Adds the samples of every WAL group of `dbs` carrying a batch id for
/// which `lost` holds.
fn add_batches(e: &mut Expect, clean_root: &Path, dbs: &[String], lost: &dyn Fn(u64) -> bool) {
    for db in dbs {
        let wal = clean_root.join(db).join(format!("{db}.wal"));
        let bytes = std::fs::read(&wal).unwrap_or_default();
        let recs = wal_records(db, &names(clean_root, db), &bytes);
        for l in wal_at_risk(&recs, usize::MAX, lost) {
            *e.at_risk.entry(l).or_insert(0) += 1;
        }
    }
}

/// Whether every frame of a scan passes full verification.
fn frames_verify(bytes: &[u8], scan: &nanotdb::datafile::DataScan) -> bool {
    let mut frame = nanotdb::frame::DecodedFrame::default();
    scan.frames.iter().all(|f| {
        let b = f.offset as usize + f.header.header_len;
        let c = f.header.clen as usize;
        let crc = u32::from_le_bytes(bytes[b + c..b + c + 4].try_into().unwrap());
        nanotdb::frame::decode_frame_into(&f.header, &bytes[b..b + c], crc, &mut frame).is_ok()
    })
}
