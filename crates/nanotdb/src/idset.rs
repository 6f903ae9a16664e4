//! A set of metric ids as a bitmap over the whole u16 id space: membership
//! in one load and mask, where a hash set would hash every id (the WAL asks
//! for each sample whether its metric is already named).

use crate::sample::MetricId;

/// Words of a bitmap over every possible metric id.
const WORDS: usize = (u16::MAX as usize + 1) / 64;

/// A set of metric ids (8 KiB, whatever it holds).
#[derive(Clone)]
pub(crate) struct IdSet(Box<[u64; WORDS]>);

impl std::fmt::Debug for IdSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.ids()).finish()
    }
}

impl Default for IdSet {
    fn default() -> IdSet {
        IdSet::empty()
    }
}

impl IdSet {
    /// The empty set.
    pub fn empty() -> IdSet {
        IdSet(Box::new([0; WORDS]))
    }

    /// The set of `ids`.
    pub fn of(ids: &[MetricId]) -> IdSet {
        let mut set = IdSet::empty();
        for &id in ids {
            set.insert(id);
        }
        set
    }

    /// Adds `id`; true if it was not in the set.
    #[inline]
    pub fn insert(&mut self, id: MetricId) -> bool {
        let (w, bit) = (usize::from(id) / 64, 1u64 << (id % 64));
        let new = self.0[w] & bit == 0;
        self.0[w] |= bit;
        new
    }

    /// Removes `id`.
    pub fn remove(&mut self, id: MetricId) {
        self.0[usize::from(id) / 64] &= !(1u64 << (id % 64));
    }

    /// Whether `id` is in the set.
    #[inline]
    pub fn contains(&self, id: MetricId) -> bool {
        self.0[usize::from(id) / 64] & (1 << (id % 64)) != 0
    }

    /// Empties the set.
    pub fn clear(&mut self) {
        self.0.fill(0);
    }

    /// Keeps only the ids also in `other`.
    pub fn and(&mut self, other: &IdSet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a &= b;
        }
    }

    /// Removes the ids in `other`.
    pub fn and_not(&mut self, other: &IdSet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a &= !b;
        }
    }

    /// The ids in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = MetricId> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            (0..64)
                .filter(move |b| bits & (1 << b) != 0)
                .map(move |b| (w * 64 + b) as MetricId)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_set_operations() {
        let mut a = IdSet::empty();
        assert!(a.insert(0));
        assert!(a.insert(65535));
        assert!(a.insert(64));
        assert!(!a.insert(64));
        assert!(a.contains(64) && !a.contains(63));
        let b = IdSet::of(&[64, 7]);
        let mut both = a.clone();
        both.and(&b);
        assert_eq!(both.ids().collect::<Vec<_>>(), vec![64]);
        a.and_not(&b);
        assert_eq!(a.ids().collect::<Vec<_>>(), vec![0, 65535]);
        a.remove(0);
        assert_eq!(a.ids().collect::<Vec<_>>(), vec![65535]);
        a.clear();
        assert_eq!(a.ids().count(), 0);
    }
}
