//! The set of linearized completed operations, and its compressed form for memo keys.
//!
//! Operations are indexed in invocation order, so the set is almost always "everything before
//! `first_clear`, plus a few operations shortly after": the key stores `first_clear` and only the
//! words from there to the last set bit, a handful of words even for huge histories.

pub(crate) struct Bits {
    words: Vec<u64>,
    len: usize,
    first_clear: usize,
    /// An upper bound on the last non-zero word, lowered lazily.
    hi_word: usize,
}

impl Bits {
    pub(crate) fn new(len: usize) -> Self {
        Bits {
            words: vec![0; len.div_ceil(64).max(1)],
            len,
            first_clear: 0,
            hi_word: 0,
        }
    }

    pub(crate) fn set(&mut self, i: usize) {
        debug_assert!(i < self.len && !self.get(i), "set an unset bit in range");
        self.words[i / 64] |= 1 << (i % 64);
        self.hi_word = self.hi_word.max(i / 64);
        while self.first_clear < self.len && self.get(self.first_clear) {
            if self.first_clear.is_multiple_of(64) && self.words[self.first_clear / 64] == u64::MAX
            {
                self.first_clear += 64;
            } else {
                self.first_clear += 1;
            }
        }
        self.first_clear = self.first_clear.min(self.len);
    }

    pub(crate) fn clear(&mut self, i: usize) {
        debug_assert!(self.get(i), "clear a set bit");
        self.words[i / 64] &= !(1 << (i % 64));
        self.first_clear = self.first_clear.min(i);
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Appends `[first_clear | word count << 32, words from first_clear's word to the last set]`.
    pub(crate) fn push_key_words(&mut self, key: &mut Vec<u64>) {
        while self.hi_word > 0 && self.words[self.hi_word] == 0 {
            self.hi_word -= 1;
        }
        let from = self.first_clear / 64;
        let count = if self.first_clear >= self.len || self.hi_word < from {
            0
        } else {
            self.hi_word + 1 - from
        };
        key.push(self.first_clear as u64 | ((count as u64) << 32));
        key.extend_from_slice(&self.words[from..from + count]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bits: &mut Bits) -> Vec<u64> {
        let mut k = Vec::new();
        bits.push_key_words(&mut k);
        k
    }

    #[test]
    fn equal_sets_give_equal_keys_whatever_the_history() {
        let mut a = Bits::new(200);
        let mut b = Bits::new(200);
        for i in 0..70 {
            a.set(i);
        }
        a.set(130);
        a.clear(130);
        for i in (0..70).rev() {
            b.set(i);
        }
        assert_eq!(key(&mut a), key(&mut b));
        assert_eq!(key(&mut a), vec![70 | (1 << 32), (1 << 6) - 1]);
        a.set(72);
        assert_ne!(key(&mut a), key(&mut b));
        a.clear(3);
        assert_eq!(key(&mut a)[0] & 0xffff_ffff, 3);
    }
}
