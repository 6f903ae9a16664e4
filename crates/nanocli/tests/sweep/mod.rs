//! The corruption sweep's machinery (see `tests/corruption_sweep.rs`).

pub mod check;
pub mod expect;
pub mod mutate;
pub mod pipeline;
pub mod run;
pub mod scenario;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use check::{Baseline, Verdict};
use mutate::{Mutation, Rng};
use pipeline::{Multiset, Step};
use scenario::{Kind, Scenario, Target};

/// One failing case, with everything needed to reproduce it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub case: usize,
    pub summary: String,
    pub problems: Vec<String>,
}

/// Counts of a sweep, per file kind.
#[derive(Debug, Default)]
pub struct Report {
    pub per_kind: BTreeMap<Kind, BTreeMap<Verdict, usize>>,
    pub failures: Vec<Failure>,
    pub cases: usize,
}

impl Report {
    pub fn table(&self) -> String {
        let mut s = String::from(
            "kind          cases  identical  warned  refused  undetectable  failing\n",
        );
        for (k, v) in &self.per_kind {
            let n: usize = v.values().sum();
            let g = |x| v.get(&x).copied().unwrap_or(0);
            let failing = self
                .failures
                .iter()
                .filter(|f| f.summary.contains(&format!("[{k:?}]")))
                .count();
            s.push_str(&format!(
                "{:<13} {n:>5}  {:>9}  {:>6}  {:>7}  {:>12}  {failing:>7}\n",
                format!("{k:?}"),
                g(Verdict::Identical),
                g(Verdict::Warned),
                g(Verdict::Refused),
                g(Verdict::Undetectable),
            ));
        }
        s
    }
}

/// The (scenario, target) of case `i`: file kinds in turn, then the
/// targets of that kind in turn, so every kind gets its share.
fn pick(scenarios: &[Scenario], i: usize) -> (usize, usize) {
    let kind = Kind::ALL[i % Kind::ALL.len()];
    let of_kind: Vec<(usize, usize)> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(si, s)| {
            s.targets
                .iter()
                .enumerate()
                .filter(move |(_, t)| t.kind == kind)
                .map(move |(ti, _)| (si, ti))
        })
        .collect();
    of_kind[(i / Kind::ALL.len()) % of_kind.len()]
}

/// The mutation of case `i` of a sweep seeded with `seed`.
fn mutation(seed: u64, i: usize, kind: Kind, clean: &[u8]) -> Mutation {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    Mutation::random(&mut rng, clean.len(), &scenario::hot_offsets(kind, clean))
}

/// Runs the pipeline on an undamaged copy: the reference every case is
/// compared with. It must succeed without a single warning.
fn baseline(s: &Scenario, t: &Target) -> Baseline {
    let copy = nanotdb_testkit::copy_tree(s.root());
    let scratch = tempfile::tempdir().unwrap();
    let ops = pipeline::run_all(copy.path(), t, scratch.path());
    let mut b = Baseline::new();
    for op in ops {
        assert!(
            op.outcome.ok() && !op.outcome.stderr.contains("WARN") && !op.lines.is_empty(),
            "{} {:?}: clean run of {:?} {} failed or warned: {}",
            s.name,
            t.rel,
            op.step,
            op.db,
            op.outcome.stderr
        );
        b.insert((op.step, op.db), op.lines);
    }
    b
}

/// Runs the cases `cases` of the sweep seeded with `seed` on `threads`
/// threads.
pub fn sweep(seed: u64, cases: &[usize], threads: usize) -> Report {
    let scenarios = scenario::all();
    let baselines: Mutex<HashMap<(usize, usize), std::sync::Arc<Baseline>>> =
        Mutex::new(HashMap::new());
    let report = Mutex::new(Report::default());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = cases.get(k) else { break };
                    let (si, ti) = pick(&scenarios, i);
                    let (s, t) = (&scenarios[si], &scenarios[si].targets[ti]);
                    let cached = baselines.lock().unwrap().get(&(si, ti)).cloned();
                    let base = cached.unwrap_or_else(|| {
                        let b = std::sync::Arc::new(baseline(s, t));
                        baselines.lock().unwrap().insert((si, ti), b.clone());
                        b
                    });
                    let (verdict, failure) = one_case(seed, i, s, t, &base);
                    let mut r = report.lock().unwrap();
                    r.cases += 1;
                    *r.per_kind
                        .entry(t.kind)
                        .or_default()
                        .entry(verdict)
                        .or_default() += 1;
                    r.failures.extend(failure);
                }
            });
        }
    });
    let mut r = report.into_inner().unwrap();
    r.failures.sort_by_key(|f| f.case);
    r
}

/// Damages a copy of `s` as case `i` says, runs the pipeline and judges it.
fn one_case(
    seed: u64,
    i: usize,
    s: &Scenario,
    t: &Target,
    base: &Baseline,
) -> (Verdict, Option<Failure>) {
    let clean = std::fs::read(s.root().join(&t.rel)).unwrap();
    let m = mutation(seed, i, t.kind, &clean);
    let mutated = m.apply(&clean);
    let copy = nanotdb_testkit::copy_tree(s.root());
    std::fs::write(copy.path().join(&t.rel), &mutated).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let ops = pipeline::run_all(copy.path(), t, scratch.path());
    let mut everything = Multiset::new();
    for db in &t.dbs {
        for (l, n) in &base[&(Step::Export, db.clone())] {
            *everything.entry(l.clone()).or_default() += n;
        }
    }
    let e = expect::expect(
        t.kind,
        &t.rel,
        s.root(),
        &t.dbs,
        &clean,
        &mutated,
        &everything,
    );
    let file = Path::new(&t.rel).file_name().unwrap().to_str().unwrap();
    let j = check::judge(&ops, base, &e, file, t.kind.binary());
    let verdict = j.verdict.unwrap_or(Verdict::Identical);
    if std::env::var("NANOTDB_SWEEP_VERBOSE").is_ok() {
        eprintln!("case {i} {}/{}: {m}: {verdict:?}", s.name, t.rel.display());
        for op in &ops {
            let o = &op.outcome;
            let (code, err) = (o.code, run::tail(&o.stderr));
            eprintln!(
                "    {:?} {}: exit {code:?}, {} lines; {err}",
                op.step,
                op.db,
                op.lines.len()
            );
        }
    }
    let failure = (!j.problems.is_empty()).then(|| Failure {
        case: i,
        summary: format!(
            "case {i} (seed {seed:#x}) [{:?}] {}/{}: {m} (first damaged byte {:?}, file {} -> {} bytes)",
            t.kind,
            s.name,
            t.rel.display(),
            mutate::first_difference(&clean, &mutated),
            clean.len(),
            mutated.len()
        ),
        problems: j.problems,
    });
    (verdict, failure)
}
