//! Buffers kept from one request to the next: ingest bodies and their
//! parsed samples are a few hundred KB each, which the allocator would
//! otherwise map afresh (and the kernel fault in and zero) per request.

use std::sync::Mutex;

/// At most `max` spare values of `T`, shared by every request.
pub struct Spares<T> {
    items: Mutex<Vec<T>>,
    max: usize,
}

impl<T> Spares<T> {
    /// An empty pool keeping at most `max` values.
    pub const fn new(max: usize) -> Spares<T> {
        Spares {
            items: Mutex::new(Vec::new()),
            max,
        }
    }

    /// A kept value, if there is one.
    pub fn take(&self) -> Option<T> {
        self.items.lock().ok().and_then(|mut v| v.pop())
    }

    /// Keeps `value` unless `max` are kept already.
    pub fn give_back(&self, value: T) {
        if let Ok(mut v) = self.items.lock()
            && v.len() < self.max
        {
            v.push(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_max_values() {
        let s = Spares::new(2);
        assert_eq!(s.take(), None::<u8>);
        s.give_back(1);
        s.give_back(2);
        s.give_back(3);
        assert_eq!((s.take(), s.take(), s.take()), (Some(2), Some(1), None));
    }
}
