//! Range functions over a range query read each series once, interleaved
//! with the others, through a sliding window: samples sharing a millisecond
//! (the later-stored wins), staleness markers, windows closed at both ends,
//! and a storage that hands a series' samples out of time order (that series
//! is re-read and sorted) must all give the values a sorted, per-step read
//! gives.

use std::ops::ControlFlow;

use nanotdb_promql::{
    Error, LabelMatcher, Labels, QueryOptions, QueryValue, SeriesRef, Storage, range_query,
};

/// Prometheus' staleness marker.
const STALE: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

/// Series with fixed samples, handed out in the order given; `read_many`
/// interleaves the series round-robin as a storage whose files mix series
/// would.
struct Fixed(Vec<(SeriesRef, Vec<(i64, f64)>)>);

impl Fixed {
    fn samples(&self, s: &SeriesRef) -> &[(i64, f64)] {
        self.0
            .iter()
            .find(|(r, _)| r.key == s.key)
            .map_or(&[], |(_, p)| p.as_slice())
    }
}

impl Storage for Fixed {
    fn select(&self, matchers: &[LabelMatcher]) -> Result<Vec<SeriesRef>, Error> {
        Ok(self
            .0
            .iter()
            .filter(|(s, _)| matchers.iter().all(|m| m.matches(s.labels.get(&m.name))))
            .map(|(s, _)| s.clone())
            .collect())
    }

    fn read(
        &self,
        series: &SeriesRef,
        t0: i64,
        t1: i64,
        f: &mut dyn FnMut(i64, f64) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        for &(t, v) in self.samples(series) {
            if (t0..=t1).contains(&t) && f(t, v).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn read_many(
        &self,
        series: &[SeriesRef],
        t0: i64,
        t1: i64,
        f: &mut dyn FnMut(usize, i64, f64) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let lists: Vec<&[(i64, f64)]> = series.iter().map(|s| self.samples(s)).collect();
        let longest = lists.iter().map(|l| l.len()).max().unwrap_or(0);
        for k in 0..longest {
            for (i, l) in lists.iter().enumerate() {
                if let Some(&(t, v)) = l.get(k)
                    && (t0..=t1).contains(&t)
                    && f(i, t, v).is_break()
                {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

fn series(k: &str, samples: Vec<(i64, f64)>) -> (SeriesRef, Vec<(i64, f64)>) {
    let labels = Labels::from_pairs(vec![
        ("__name__".to_string(), "m".to_string()),
        ("k".to_string(), k.to_string()),
    ]);
    let key = format!("m{{k=\"{k}\"}}");
    (SeriesRef { labels, key }, samples)
}

fn storage() -> Fixed {
    Fixed(vec![
        // Two samples at 30 s (the later-stored one, 5, counts) and a
        // staleness marker at 45 s (never in a window).
        series(
            "a",
            vec![
                (0, 1.0),
                (15_000, 2.0),
                (30_000, 3.0),
                (30_000, 5.0),
                (45_000, STALE),
                (60_000, 7.0),
            ],
        ),
        // Out of time order: re-read and sorted.
        series(
            "b",
            vec![(30_000, 3.0), (0, 1.0), (15_000, 2.0), (60_000, 4.0)],
        ),
    ])
}

/// Each series' `k` label and points of a range query over 30..90 s by 30 s.
fn run(query: &str) -> Vec<(String, Vec<(i64, f64)>)> {
    let s = storage();
    let QueryValue::Matrix(m) =
        range_query(&s, query, 30_000, 90_000, 30_000, &QueryOptions::default())
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    else {
        panic!("{query}: not a matrix");
    };
    m.into_iter()
        .map(|s| (s.labels.get("k").to_string(), s.points))
        .collect()
}

#[test]
fn windows_are_closed_deduplicated_and_skip_staleness_markers() {
    assert_eq!(
        run("sum_over_time(m[30s])"),
        vec![
            (
                "a".to_string(),
                vec![(30_000, 8.0), (60_000, 12.0), (90_000, 7.0)]
            ),
            (
                "b".to_string(),
                vec![(30_000, 6.0), (60_000, 7.0), (90_000, 4.0)]
            ),
        ]
    );
    assert_eq!(
        run("count_over_time(m[30s])"),
        vec![
            (
                "a".to_string(),
                vec![(30_000, 3.0), (60_000, 2.0), (90_000, 1.0)]
            ),
            (
                "b".to_string(),
                vec![(30_000, 3.0), (60_000, 2.0), (90_000, 1.0)]
            ),
        ]
    );
}

#[test]
fn a_window_without_samples_gives_no_point() {
    // At 90 s a 10 s window holds nothing; at 60 s only the 60 s sample.
    assert_eq!(
        run("last_over_time(m[10s])"),
        vec![
            ("a".to_string(), vec![(30_000, 5.0), (60_000, 7.0)]),
            ("b".to_string(), vec![(30_000, 3.0), (60_000, 4.0)]),
        ]
    );
}

#[test]
fn rate_extrapolates_as_prometheus() {
    // Series b at 60 s: window [0, 60] s holds 1, 2, 3 (0..30 s) and 4
    // (60 s): increase 3 over 60 s sampled, no extrapolation needed (the
    // samples touch both edges), rate 3 / 60.
    let got = run("rate(m[1m])");
    let b = got.iter().find(|(k, _)| k == "b").expect("series b");
    assert_eq!(b.1.iter().find(|p| p.0 == 60_000), Some(&(60_000, 0.05)));
}
