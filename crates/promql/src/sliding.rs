//! Range functions over a grid of steps in one forward pass per series.
//!
//! A range query's windows overlap (a 5 m window every 1 m step), so reading
//! every series' samples for the whole query and cutting each step's window
//! out of them holds the whole range in memory and searches it twice per
//! step. Here each series keeps only the samples of its current window: the
//! storage read feeds samples in time order, and a step's window is reduced
//! as soon as a later sample proves it complete. All of a selector's series
//! are fed from one storage pass, interleaved.

use std::ops::ControlFlow;

use crate::error::Error;
use crate::eval::{Ctx, Ser, Window, is_stale, read_series};
use crate::storage::SeriesRef;

/// Series fed by one storage pass: enough that a selector of ordinary size
/// is read in one pass over the files, few enough that a storage which
/// gathers a pass's samples before handing them out stays bounded (the
/// engine sorts a partition holding out-of-order samples in memory: 1,024
/// series of a day at 15 s are 140 MiB there).
const PASS_SERIES: usize = 1024;

/// Samples read between two checks of the sample limit and the deadline.
const CHECK_EVERY: usize = 1 << 16;

/// The steps a range argument is reduced at.
pub(crate) struct Grid<'g> {
    /// The window end of each step (step time, `@`, minus offset), never
    /// decreasing.
    pub refs: &'g [i64],
    /// Window length (ms).
    pub range: i64,
    /// For each step's own time.
    pub ctx: &'g Ctx<'g>,
}

/// One series' sliding window and the values reduced so far.
#[derive(Default)]
pub(crate) struct SeriesWindows {
    /// Non-stale samples; `buf[head..]` may still be in a window.
    buf: Vec<(i64, f64)>,
    head: usize,
    /// The newest sample, held back until a later one shows that no other
    /// sample shares its millisecond (the later-stored one wins).
    pending: Option<(i64, f64)>,
    /// The first step not reduced yet.
    next: usize,
    /// One value per step; empty until the first value.
    vals: Vec<Option<f64>>,
    /// A sample went back in time: the series must be re-read sorted.
    disordered: bool,
}

impl SeriesWindows {
    /// Feeds the series' next sample.
    pub fn push(&mut self, g: &Grid, t: i64, v: f64, f: &impl Fn(&Window, usize) -> Option<f64>) {
        if self.disordered {
            return;
        }
        match self.pending {
            Some((pt, _)) if t == pt => {
                self.pending = Some((t, v));
                return;
            }
            Some((pt, _)) if t < pt => {
                self.disordered = true;
                return;
            }
            Some(p) if !is_stale(p.1) => self.buf.push(p),
            _ => {}
        }
        self.pending = Some((t, v));
        // Every sample still to come is at or after `t`.
        self.reduce_steps(g, Some(t), f);
    }

    /// Reduces the remaining steps once the series has no more samples, and
    /// hands back its values (empty when it has none).
    pub fn finish(
        mut self,
        g: &Grid,
        f: &impl Fn(&Window, usize) -> Option<f64>,
    ) -> Vec<Option<f64>> {
        if let Some(p) = self.pending.take()
            && !is_stale(p.1)
        {
            self.buf.push(p);
        }
        self.reduce_steps(g, None, f);
        self.vals
    }

    /// Reduces the steps whose window ends before `before` (all of them for
    /// `None`). Their windows are complete: the buffer holds every sample up
    /// to their end, and none after it (a step still pending ends at or
    /// after the buffer's newest sample).
    fn reduce_steps(
        &mut self,
        g: &Grid,
        before: Option<i64>,
        f: &impl Fn(&Window, usize) -> Option<f64>,
    ) {
        while let Some(&end) = g.refs.get(self.next) {
            if before.is_some_and(|t| end >= t) {
                break;
            }
            let lo = end.saturating_sub(g.range);
            while self.buf.get(self.head).is_some_and(|p| p.0 < lo) {
                self.head += 1;
            }
            let points = &self.buf[self.head..];
            if !points.is_empty() {
                let w = Window {
                    points,
                    end,
                    range: g.range,
                    step_ts: g.ctx.ts(self.next),
                };
                if let Some(x) = f(&w, self.next) {
                    if self.vals.is_empty() {
                        self.vals = vec![None; g.refs.len()];
                    }
                    self.vals[self.next] = Some(x);
                }
            }
            self.next += 1;
        }
        // Drop what no window needs any more, amortised over the pushes.
        if self.head >= 32 && self.head * 2 >= self.buf.len() {
            self.buf.drain(..self.head);
            self.head = 0;
        }
    }
}

/// Reduces every window of `series`' samples in `[t0, t1]` with `f`, one
/// storage pass per [`PASS_SERIES`] series; the series with values, in
/// `series` order.
pub(crate) fn reduce_selected(
    g: &Grid,
    series: &[SeriesRef],
    t0: i64,
    t1: i64,
    f: &impl Fn(&Window, usize) -> Option<f64>,
) -> Result<Vec<Ser>, Error> {
    let ctx = g.ctx;
    let mut out = Vec::new();
    for pass in series.chunks(PASS_SERIES) {
        let mut states: Vec<SeriesWindows> = Vec::new();
        states.resize_with(pass.len(), SeriesWindows::default);
        let (mut unchecked, mut failed) = (0usize, None);
        ctx.storage.read_many(pass, t0, t1, &mut |i, t, v| {
            unchecked += 1;
            if unchecked == CHECK_EVERY {
                unchecked = 0;
                if let Err(e) = ctx.charge(CHECK_EVERY) {
                    failed = Some(e);
                    return ControlFlow::Break(());
                }
            }
            if let Some(s) = states.get_mut(i) {
                s.push(g, t, v, f);
            }
            ControlFlow::Continue(())
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        ctx.charge(unchecked)?;
        let mut vals: Vec<Vec<Option<f64>>> = Vec::with_capacity(pass.len());
        let mut disordered = Vec::new();
        for (k, state) in states.into_iter().enumerate() {
            if state.disordered {
                disordered.push(k);
                vals.push(Vec::new());
            } else {
                vals.push(state.finish(g, f));
            }
        }
        // A storage may break its time-order promise; those series are
        // read again, sorted, rather than answered wrong.
        let again: Vec<SeriesRef> = disordered.iter().map(|&k| pass[k].clone()).collect();
        let mut slots = disordered.into_iter();
        read_series(ctx, &again, t0, t1, |_, pts| {
            if let Some(k) = slots.next() {
                vals[k] = reduce_points(g, &pts, f);
            }
            Ok(())
        })?;
        for (s, vals) in pass.iter().zip(vals) {
            if !vals.is_empty() {
                out.push(Ser {
                    labels: s.labels.clone(),
                    vals,
                });
            }
        }
    }
    Ok(out)
}

/// Reduces every window of one series' points, already in time order with
/// one point per millisecond.
pub(crate) fn reduce_points(
    g: &Grid,
    points: &[(i64, f64)],
    f: &impl Fn(&Window, usize) -> Option<f64>,
) -> Vec<Option<f64>> {
    let mut state = SeriesWindows::default();
    for &(t, v) in points {
        state.push(g, t, v, f);
    }
    state.finish(g, f)
}
