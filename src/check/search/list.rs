//! The call and return entries of a partition's completed operations, in real-time order, as a
//! doubly linked list over arrays: the search lifts an operation out when it linearizes it and
//! puts it back when it backtracks, both in O(1) (removed entries keep their own links).

pub(crate) struct EntryList {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// Per entry: the operation, whether it is the call, and its position in the history.
    op: Vec<u32>,
    is_call: Vec<bool>,
    pos: Vec<u32>,
    call_entry: Vec<u32>,
    return_entry: Vec<u32>,
    head: u32,
}

impl EntryList {
    /// `spans[i]` = (call position, return position) of operation `i`; positions are distinct.
    pub(crate) fn new(spans: &[(u32, u32)]) -> Self {
        let n = spans.len();
        let mut entries: Vec<(u32, u32, bool)> = Vec::with_capacity(2 * n);
        for (op, &(call, ret)) in spans.iter().enumerate() {
            debug_assert!(call < ret, "an operation returns after its call");
            entries.push((call, op as u32, true));
            entries.push((ret, op as u32, false));
        }
        entries.sort_unstable();
        let count = entries.len();
        let (head, tail) = (count as u32, count as u32 + 1);
        let mut list = EntryList {
            next: vec![0; count + 2],
            prev: vec![0; count + 2],
            op: Vec::with_capacity(count),
            is_call: Vec::with_capacity(count),
            pos: Vec::with_capacity(count),
            call_entry: vec![0; n],
            return_entry: vec![0; n],
            head,
        };
        let mut last = head;
        for (index, &(pos, op, is_call)) in entries.iter().enumerate() {
            let e = index as u32;
            list.op.push(op);
            list.is_call.push(is_call);
            list.pos.push(pos);
            if is_call {
                list.call_entry[op as usize] = e;
            } else {
                list.return_entry[op as usize] = e;
            }
            list.next[last as usize] = e;
            list.prev[e as usize] = last;
            last = e;
        }
        list.next[last as usize] = tail;
        list.prev[tail as usize] = last;
        list
    }

    pub(crate) fn first(&self) -> u32 {
        self.next[self.head as usize]
    }

    pub(crate) fn next(&self, entry: u32) -> u32 {
        self.next[entry as usize]
    }

    /// The operation whose call this entry is; `None` for a return entry or the end.
    pub(crate) fn call_op(&self, entry: u32) -> Option<u32> {
        let e = entry as usize;
        (e < self.op.len() && self.is_call[e]).then(|| self.op[e])
    }

    /// The history position of an entry; the end of the list is "never".
    pub(crate) fn pos(&self, entry: u32) -> u32 {
        self.pos.get(entry as usize).copied().unwrap_or(u32::MAX)
    }

    pub(crate) fn lift(&mut self, op: u32) {
        self.unlink(self.call_entry[op as usize]);
        self.unlink(self.return_entry[op as usize]);
    }

    /// Undoes the matching `lift`; lifts and unlifts must nest like a stack.
    pub(crate) fn unlift(&mut self, op: u32) {
        self.relink(self.return_entry[op as usize]);
        self.relink(self.call_entry[op as usize]);
    }

    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        self.prev[n as usize] = e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls_in_order(list: &EntryList) -> Vec<u32> {
        let mut out = Vec::new();
        let mut e = list.first();
        while (e as usize) < list.op.len() {
            if let Some(op) = list.call_op(e) {
                out.push(op);
            }
            e = list.next(e);
        }
        out
    }

    #[test]
    fn lift_and_unlift_nest() {
        let mut list = EntryList::new(&[(0, 5), (1, 2), (3, 4)]);
        assert_eq!(list.call_op(list.first()), Some(0));
        list.lift(1);
        list.lift(0);
        assert_eq!(calls_in_order(&list), vec![2]);
        list.unlift(0);
        list.unlift(1);
        assert_eq!(calls_in_order(&list), vec![0, 1, 2]);
        assert_eq!(list.pos(list.next(list.next(list.first()))), 2);
    }
}
