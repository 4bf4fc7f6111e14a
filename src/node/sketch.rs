//! A node's abstract protocol state: the coverage signal guided exploration
//! (`faultlab explore`) steers by. A service describes where its protocol stands in a few
//! small, bucketed dimensions (Raft: role × term gap × commit lag × "uncommitted entries of an
//! old term"); two runs that visit the same abstract states tested the same thing, a run that
//! reaches a new one tested something new.
//!
//! Dimensions must be *abstract*: a raw term or index would make every state new and the signal
//! worthless, so counts go through [`bucket`] (0, 1, 2, 3–4, 5–8, …). The host asks for a
//! sketch after every handler only when a run collects coverage; a service that writes none
//! adds nothing.

use std::fmt;

/// At most this many dimensions per sketch: more would make the state space too fine to fill.
pub const SKETCH_DIMS_MAX: usize = 12;

/// The abstract state of one node after a handler. Fixed size, no allocation: the host builds
/// one per handler in coverage runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sketch {
    dims: [(&'static str, i64); SKETCH_DIMS_MAX],
    len: usize,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            dims: [("", 0); SKETCH_DIMS_MAX],
            len: 0,
        }
    }
}

impl Sketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dimension (a short static name and a small value). Dimensions past
    /// [`SKETCH_DIMS_MAX`] are ignored: a sketch stays coarse.
    pub fn dim(&mut self, name: &'static str, value: i64) -> &mut Self {
        if self.len < SKETCH_DIMS_MAX {
            self.dims[self.len] = (name, value);
            self.len += 1;
        }
        self
    }

    /// Adds a dimension holding a count, bucketed (see [`bucket`]).
    pub fn count(&mut self, name: &'static str, n: u64) -> &mut Self {
        self.dim(name, bucket(n))
    }

    /// Adds a yes/no dimension.
    pub fn flag(&mut self, name: &'static str, on: bool) -> &mut Self {
        self.dim(name, i64::from(on))
    }

    /// The dimensions written so far.
    pub fn dims(&self) -> &[(&'static str, i64)] {
        &self.dims[..self.len]
    }

    /// True when the service wrote no dimension.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A stable 64-bit key (FNV-1a over names and values): the same in every process.
    pub fn key(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for (name, value) in self.dims() {
            eat(name.as_bytes());
            eat(&[0]);
            eat(&value.to_le_bytes());
        }
        h
    }
}

/// `role=leader term_gap=1 …`: how the audit and the explore report print a state.
impl fmt::Display for Sketch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

/// A count bucketed by powers of two: 0 → 0, 1 → 1, 2 → 2, 3–4 → 3, 5–8 → 4, 9–16 → 5, …
/// (AFL's hit-count buckets, coarser at the top). Small differences near zero matter for a
/// protocol (one entry behind or two), large ones do not.
pub fn bucket(n: u64) -> i64 {
    match n {
        0 => 0,
        1 => 1,
        n => i64::from(64 - (n - 1).leading_zeros()) + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        let got: Vec<i64> = [0, 1, 2, 3, 4, 5, 8, 9, 16, 17, u64::MAX]
            .iter()
            .map(|&n| bucket(n))
            .collect();
        assert_eq!(got, vec![0, 1, 2, 3, 3, 4, 4, 5, 5, 6, 65]);
    }

    #[test]
    fn the_key_depends_on_names_values_and_order_only() {
        let mut a = Sketch::new();
        a.dim("role", 2).count("lag", 3);
        let mut b = Sketch::new();
        b.dim("role", 2).count("lag", 4);
        assert_eq!(a.key(), b.key(), "3 and 4 share a bucket");
        let mut c = Sketch::new();
        c.count("lag", 3).dim("role", 2);
        assert_ne!(a.key(), c.key());
        let mut d = Sketch::new();
        d.dim("role", 1).count("lag", 3);
        assert_ne!(a.key(), d.key());
        assert_eq!(a.to_string(), "role=2 lag=3");
        assert!(Sketch::new().is_empty());
    }

    #[test]
    fn extra_dimensions_are_ignored() {
        let mut s = Sketch::new();
        for _ in 0..SKETCH_DIMS_MAX + 3 {
            s.dim("x", 1);
        }
        assert_eq!(s.dims().len(), SKETCH_DIMS_MAX);
    }
}
