//! The memo table of visited configurations (linearized set, model state), with its memory
//! counted against a cap.
//!
//! Keys are the compressed linearized sets (a few words each, see `search/mod.rs`), kept in one
//! flat arena; the table stores entry ids and we hash with a fixed-seed hasher. Memory is counted
//! as allocated capacity, and every growth is checked against the cap *before* it happens, so the
//! table never exceeds it. Heap data inside a state (a long string) is shared, not counted.

use hashbrown::HashTable;
use std::mem::size_of;

/// Bytes used by all live memo tables of one check, against the configured cap.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryMeter {
    pub used_bytes: u64,
    pub peak_bytes: u64,
    pub max_bytes: u64,
}

impl MemoryMeter {
    pub(crate) fn new(max_bytes: u64) -> Self {
        MemoryMeter {
            used_bytes: 0,
            peak_bytes: 0,
            max_bytes,
        }
    }

    /// Records `bytes` more, unless that would pass the cap.
    pub(crate) fn charge(&mut self, bytes: u64) -> bool {
        let after = self.used_bytes.saturating_add(bytes);
        if after > self.max_bytes {
            return false;
        }
        self.used_bytes = after;
        self.peak_bytes = self.peak_bytes.max(after);
        true
    }

    pub(crate) fn release(&mut self, bytes: u64) {
        debug_assert!(bytes <= self.used_bytes, "released more than charged");
        self.used_bytes = self.used_bytes.saturating_sub(bytes);
    }
}

pub(crate) enum Insert {
    New,
    Seen,
    OutOfMemory,
}

pub(crate) struct Memo<S> {
    table: HashTable<u32>,
    hashes: Vec<u64>,
    spans: Vec<(u32, u32)>,
    states: Vec<S>,
    words: Vec<u64>,
    charged_bytes: u64,
}

/// Table bytes per bucket: the id plus hashbrown's control byte.
const TABLE_BUCKET_BYTES: u64 = size_of::<u32>() as u64 + 1;

/// Buckets hashbrown allocates for a capacity (7/8 load factor, power-of-two buckets).
fn buckets(capacity: usize) -> u64 {
    if capacity == 0 {
        0
    } else {
        ((capacity * 8).div_ceil(7)).next_power_of_two() as u64
    }
}

impl<S: Eq> Memo<S> {
    pub(crate) fn new() -> Self {
        Memo {
            table: HashTable::new(),
            hashes: Vec::new(),
            spans: Vec::new(),
            states: Vec::new(),
            words: Vec::new(),
            charged_bytes: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    pub(crate) fn charged_bytes(&self) -> u64 {
        self.charged_bytes
    }

    /// Inserts (key, state) unless already present.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: &[u64],
        state: &S,
        meter: &mut MemoryMeter,
    ) -> Insert
    where
        S: Clone,
    {
        let (hashes, spans, states, words) = (&self.hashes, &self.spans, &self.states, &self.words);
        let seen = self.table.find(hash, |&id| {
            let id = id as usize;
            let (offset, len) = spans[id];
            hashes[id] == hash
                && words[offset as usize..(offset + len) as usize] == *key
                && states[id] == *state
        });
        if seen.is_some() {
            return Insert::Seen;
        }
        if !self.make_room(key.len(), meter) {
            return Insert::OutOfMemory;
        }
        let id = self.states.len() as u32;
        let offset = self.words.len() as u32;
        self.words.extend_from_slice(key);
        self.spans.push((offset, key.len() as u32));
        self.hashes.push(hash);
        self.states.push(state.clone());
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, id, |&other| hashes[other as usize]);
        Insert::New
    }

    fn make_room(&mut self, key_words: usize, meter: &mut MemoryMeter) -> bool {
        let entry_bytes = (size_of::<u64>() + size_of::<(u32, u32)>() + size_of::<S>()) as u64;
        let len = self.states.len();
        let mut charge = 0u64;
        let entries_cap = grown(len, 1, self.states.capacity());
        charge += (entries_cap - self.states.capacity()) as u64 * entry_bytes;
        let words_cap = grown(self.words.len(), key_words, self.words.capacity());
        charge += (words_cap - self.words.capacity()) as u64 * size_of::<u64>() as u64;
        let table_cap = if self.table.len() < self.table.capacity() {
            self.table.capacity()
        } else {
            (self.table.capacity() * 2).max(64)
        };
        charge += (buckets(table_cap) - buckets(self.table.capacity())) * TABLE_BUCKET_BYTES;
        if charge == 0 {
            return true;
        }
        if u32::try_from(words_cap).is_err() || !meter.charge(charge) {
            return false;
        }
        self.charged_bytes += charge;
        reserve_to(&mut self.states, entries_cap);
        reserve_to(&mut self.hashes, entries_cap);
        reserve_to(&mut self.spans, entries_cap);
        reserve_to(&mut self.words, words_cap);
        if table_cap > self.table.capacity() {
            let hashes = &self.hashes;
            let additional = table_cap - self.table.len();
            self.table.reserve(additional, |&id| hashes[id as usize]);
        }
        true
    }
}

/// The capacity after making room for `add` more: doubling, so growth is amortised O(1).
fn grown(len: usize, add: usize, capacity: usize) -> usize {
    if len + add <= capacity {
        capacity
    } else {
        (capacity * 2).max(len + add).max(64)
    }
}

fn reserve_to<T>(v: &mut Vec<T>, capacity: usize) {
    if capacity > v.capacity() {
        v.reserve_exact(capacity - v.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_equal_keys_and_respects_the_cap() {
        let mut meter = MemoryMeter::new(1 << 20);
        let mut memo: Memo<u8> = Memo::new();
        assert!(matches!(
            memo.insert(7, &[1, 2], &0, &mut meter),
            Insert::New
        ));
        assert!(matches!(
            memo.insert(7, &[1, 2], &0, &mut meter),
            Insert::Seen
        ));
        assert!(matches!(
            memo.insert(7, &[1, 3], &0, &mut meter),
            Insert::New
        ));
        assert!(matches!(
            memo.insert(7, &[1, 2], &1, &mut meter),
            Insert::New
        ));
        assert_eq!(memo.len(), 3);
        assert_eq!(meter.used_bytes, memo.charged_bytes());
        let mut tiny = MemoryMeter::new(100);
        let mut full: Memo<u8> = Memo::new();
        assert!(matches!(
            full.insert(1, &[1], &0, &mut tiny),
            Insert::OutOfMemory
        ));
        assert_eq!(tiny.used_bytes, 0);
    }
}
