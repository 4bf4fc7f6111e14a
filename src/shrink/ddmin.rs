//! Delta debugging (Zeller & Hildebrandt's ddmin): the smallest subset of a list that a test
//! still finds interesting, trying halves, then complements, then finer splits. Bounded by the
//! test itself: when it answers [`Probe::OutOfBudget`] the search stops with what it has.

/// What a test said about one subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The subset still shows the failure: keep it.
    Fails,
    /// It does not (passes, fails otherwise, or is not a valid scenario).
    Passes,
    /// No budget left to find out.
    OutOfBudget,
}

/// A subset of `items` for which `test` says [`Probe::Fails`] (or `items` itself), 1-minimal
/// unless the budget ran out. Tries the empty subset first; keeps the items' order.
pub fn ddmin<T: Clone, E>(
    items: Vec<T>,
    test: &mut impl FnMut(&[T]) -> Result<Probe, E>,
) -> Result<Vec<T>, E> {
    let mut current = items;
    if current.is_empty() {
        return Ok(current);
    }
    match test(&[])? {
        Probe::Fails => return Ok(Vec::new()),
        Probe::OutOfBudget => return Ok(current),
        Probe::Passes => {}
    }
    let mut n = 2usize;
    while current.len() >= 2 {
        let chunks = split(&current, n);
        debug_assert_eq!(chunks.iter().map(Vec::len).sum::<usize>(), current.len());
        let mut next: Option<(Vec<T>, usize)> = None;
        for chunk in &chunks {
            match test(chunk)? {
                Probe::Fails => {
                    next = Some((chunk.clone(), 2));
                    break;
                }
                Probe::OutOfBudget => return Ok(current),
                Probe::Passes => {}
            }
        }
        // With two chunks each complement is the other chunk, tried already.
        if next.is_none() && chunks.len() > 2 {
            for skip in 0..chunks.len() {
                let complement: Vec<T> = chunks
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != skip)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                match test(&complement)? {
                    Probe::Fails => {
                        next = Some((complement, (n - 1).max(2)));
                        break;
                    }
                    Probe::OutOfBudget => return Ok(current),
                    Probe::Passes => {}
                }
            }
        }
        match next {
            Some((smaller, granularity)) => {
                debug_assert!(smaller.len() < current.len());
                current = smaller;
                n = granularity;
            }
            None if n >= current.len() => break,
            None => n = (n * 2).min(current.len()),
        }
    }
    Ok(current)
}

/// `items` in `n` contiguous chunks of near-equal size (`n` ≤ `items.len()`).
fn split<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let n = n.clamp(1, items.len().max(1));
    let mut chunks = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = start + (items.len() - start) / (n - i);
        chunks.push(items[start..end].to_vec());
        start = end;
    }
    debug_assert_eq!(start, items.len());
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn minimise(items: Vec<u32>, needs: &[u32], budget: usize) -> (Vec<u32>, usize) {
        let mut tests = 0;
        let result = ddmin(items, &mut |subset: &[u32]| -> Result<Probe, Infallible> {
            if tests == budget {
                return Ok(Probe::OutOfBudget);
            }
            tests += 1;
            let fails = needs.iter().all(|n| subset.contains(n));
            Ok(if fails { Probe::Fails } else { Probe::Passes })
        });
        (result.unwrap_or_else(|e| match e {}), tests)
    }

    #[test]
    fn finds_the_items_the_failure_needs() {
        let (min, tests) = minimise((0..40).collect(), &[3, 31], 1000);
        assert_eq!(min, vec![3, 31]);
        assert!(tests <= 80, "{tests} tests");
        let (min, _) = minimise((0..7).collect(), &[6], 1000);
        assert_eq!(min, vec![6]);
    }

    #[test]
    fn an_empty_subset_that_fails_wins_at_once() {
        assert_eq!(minimise((0..9).collect(), &[], 1000), (vec![], 1));
    }

    #[test]
    fn out_of_budget_keeps_the_best_so_far() {
        // Empty set, then two halvings; the third halving finds no budget.
        let (min, tests) = minimise((0..40).collect(), &[3], 3);
        assert_eq!(tests, 3);
        assert_eq!(min, (0..10).collect::<Vec<u32>>());
    }

    #[test]
    fn split_covers_everything_in_order() {
        let chunks = split(&[1, 2, 3, 4, 5], 3);
        assert_eq!(chunks, vec![vec![1], vec![2, 3], vec![4, 5]]);
    }
}
