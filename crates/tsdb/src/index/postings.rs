//! Postings: sorted, duplicate-free streams of series refs, and the lazy set operations
//! that matcher evaluation composes from them.

use super::SeriesRef;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

/// A sorted, duplicate-free iterator of series refs that can skip ahead.
///
/// `size_hint().1` is an upper bound on the refs left; [`Intersect`] uses it to drive the
/// intersection from the shortest list.
pub trait Postings: Iterator<Item = SeriesRef> {
    /// Advances to the first ref `>= target` and returns it; `None` when there is none.
    ///
    /// Never moves backwards: if the ref returned last is already `>= target`, it is
    /// returned again. Before the first call to `next`, seeks from the start.
    fn seek(&mut self, target: SeriesRef) -> Option<SeriesRef>;
}

/// Postings of a type decided at run time (one per matcher, say).
pub type BoxPostings<'a> = Box<dyn Postings + 'a>;

impl<P: Postings + ?Sized> Postings for Box<P> {
    fn seek(&mut self, target: SeriesRef) -> Option<SeriesRef> {
        (**self).seek(target)
    }
}

/// A postings list as stored in the index: big-endian `u32` refs, read in place.
#[derive(Clone, Debug)]
pub struct ListPostings<'a> {
    rest: &'a [[u8; 4]],
    current: Option<SeriesRef>,
}

impl<'a> ListPostings<'a> {
    /// Reads `refs`, which must hold sorted big-endian `u32`s.
    pub fn new(refs: &'a [[u8; 4]]) -> Self {
        ListPostings {
            rest: refs,
            current: None,
        }
    }

    /// A list without refs.
    pub fn empty() -> Self {
        ListPostings::new(&[])
    }
}

impl Iterator for ListPostings<'_> {
    type Item = SeriesRef;

    fn next(&mut self) -> Option<SeriesRef> {
        self.current = match self.rest.split_first() {
            Some((first, rest)) => {
                self.rest = rest;
                Some(u32::from_be_bytes(*first) as SeriesRef)
            }
            None => None,
        };
        self.current
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rest.len(), Some(self.rest.len()))
    }
}

impl Postings for ListPostings<'_> {
    fn seek(&mut self, target: SeriesRef) -> Option<SeriesRef> {
        if self.current.is_some_and(|c| c >= target) {
            return self.current;
        }
        let skip = gallop(self.rest.len(), |i| {
            (u32::from_be_bytes(self.rest[i]) as SeriesRef) < target
        });
        self.rest = &self.rest[skip..];
        self.next()
    }
}

/// The first index in `0..n` for which `below` is false (`below` being true, then false),
/// probing 1, 2, 4, … ahead before bisecting: seeks in an intersection usually land close
/// to where the list already is.
fn gallop(n: usize, below: impl Fn(usize) -> bool) -> usize {
    let mut lo = 0;
    let mut step = 1;
    while lo + step <= n && below(lo + step - 1) {
        lo += step;
        step *= 2;
    }
    // `below` holds before `lo` and fails at `lo + step - 1` (or that is past the end).
    let mut hi = (lo + step - 1).min(n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Postings held in memory (results of other queries, the head, tests).
#[derive(Clone, Debug, Default)]
pub struct VecPostings {
    refs: Vec<SeriesRef>,
    /// Index of the next ref `next` returns.
    next: usize,
    current: Option<SeriesRef>,
}

impl VecPostings {
    /// Postings over `refs`, which are sorted and deduplicated here.
    pub fn new(mut refs: Vec<SeriesRef>) -> Self {
        refs.sort_unstable();
        refs.dedup();
        VecPostings {
            refs,
            next: 0,
            current: None,
        }
    }
}

impl Iterator for VecPostings {
    type Item = SeriesRef;

    fn next(&mut self) -> Option<SeriesRef> {
        self.current = self.refs.get(self.next).copied();
        self.next = (self.next + 1).min(self.refs.len());
        self.current
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.refs.len() - self.next;
        (n, Some(n))
    }
}

impl Postings for VecPostings {
    fn seek(&mut self, target: SeriesRef) -> Option<SeriesRef> {
        if self.current.is_some_and(|c| c >= target) {
            return self.current;
        }
        let rest = &self.refs[self.next..];
        self.next += gallop(rest.len(), |i| rest[i] < target);
        self.next()
    }
}

/// Refs present in every one of several postings.
pub struct Intersect<P> {
    /// Shortest first: it proposes candidates, the others confirm them by seeking.
    lists: Vec<P>,
    current: Option<SeriesRef>,
    done: bool,
}

impl<P: Postings> Intersect<P> {
    /// The intersection of `lists`; empty when `lists` is.
    pub fn new(mut lists: Vec<P>) -> Self {
        lists.sort_by_key(|p| p.size_hint().1.unwrap_or(usize::MAX));
        Intersect {
            done: lists.is_empty(),
            lists,
            current: None,
        }
    }

    /// Seeks every list to `candidate` until they all agree on one ref.
    fn agree_from(&mut self, mut candidate: SeriesRef) -> Option<SeriesRef> {
        'retry: loop {
            for list in &mut self.lists {
                match list.seek(candidate) {
                    None => break 'retry,
                    Some(r) if r > candidate => {
                        candidate = r;
                        continue 'retry;
                    }
                    Some(_) => {}
                }
            }
            self.current = Some(candidate);
            return self.current;
        }
        self.done = true;
        self.current = None;
        None
    }
}

impl<P: Postings> Iterator for Intersect<P> {
    type Item = SeriesRef;

    fn next(&mut self) -> Option<SeriesRef> {
        if self.done {
            return None;
        }
        match self.lists[0].next() {
            Some(candidate) => self.agree_from(candidate),
            None => {
                self.done = true;
                self.current = None;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let upper = if self.done {
            0
        } else {
            self.lists[0].size_hint().1.unwrap_or(usize::MAX)
        };
        (0, Some(upper))
    }
}

impl<P: Postings> Postings for Intersect<P> {
    fn seek(&mut self, target: SeriesRef) -> Option<SeriesRef> {
        if self.done {
            return None;
        }
        if self.current.is_some_and(|c| c >= target) {
            return self.current;
        }
        self.agree_from(target)
    }
}

/// Refs present in any of several postings (a k-way merge over a min-heap).
pub struct Merge<P> {
    lists: Vec<P>,
    /// The next unreturned ref of each list that has one, with the list's index.
    heads: BinaryHeap<Reverse<(SeriesRef, usize)>>,
    started: bool,
    current: Option<SeriesRef>,
}

impl<P: Postings> Merge<P> {
    /// The union of `lists`.
    pub fn new(lists: Vec<P>) -> Self {
        Merge {
            heads: BinaryHeap::with_capacity(lists.len()),
            lists,
            started: false,
            current: None,
        }
    }

    fn start(&mut self) {
        if !self.started {
            self.started = true;
            for (i, list) in self.lists.iter_mut().enumerate() {
                if let Some(r) = list.next() {
                    self.heads.push(Reverse((r, i)));
                }
            }
        }
    }

    /// Takes the smallest head, advancing every list that shares it.
    fn pop_smallest(&mut self) -> Option<SeriesRef> {
        let Reverse((smallest, _)) = *self.heads.peek()?;
        while let Some(mut head) = self.heads.peek_mut() {
            let Reverse((r, i)) = *head;
            if r != smallest {
                break;
            }
            // Replacing the top in place sifts once instead of a pop and a push.
            match self.lists[i].next() {
                Some(next) => *head = Reverse((next, i)),
                None => {
                    PeekMut::pop(head);
                }
            }
        }
        Some(smallest)
    }
}

impl<P: Postings> Iterator for Merge<P> {
    type Item = SeriesRef;

    fn next(&mut self) -> Option<SeriesRef> {
        self.start();
        self.current = self.pop_smallest();
        self.current
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let mut upper = self.heads.len();
        for list in &self.lists {
            upper = upper.saturating_add(list.size_hint().1.unwrap_or(usize::MAX));
        }
        (0, Some(upper))
    }
}

impl<P: Postings> Postings for Merge<P> {
    fn seek(&mut self, target: SeriesRef) -> Option<SeriesRef> {
        if self.current.is_some_and(|c| c >= target) {
            return self.current;
        }
        self.start();
        while let Some(&Reverse((r, i))) = self.heads.peek() {
            if r >= target {
                break;
            }
            self.heads.pop();
            if let Some(next) = self.lists[i].seek(target) {
                self.heads.push(Reverse((next, i)));
            }
        }
        self.current = self.pop_smallest();
        self.current
    }
}

/// Refs of `base` that are not in `excluded`.
pub struct Without<P, Q> {
    base: P,
    excluded: Q,
}

impl<P: Postings, Q: Postings> Without<P, Q> {
    /// `base` minus `excluded`.
    pub fn new(base: P, excluded: Q) -> Self {
        Without { base, excluded }
    }

    fn keeps(&mut self, r: SeriesRef) -> bool {
        self.excluded.seek(r) != Some(r)
    }
}

impl<P: Postings, Q: Postings> Iterator for Without<P, Q> {
    type Item = SeriesRef;

    fn next(&mut self) -> Option<SeriesRef> {
        loop {
            let r = self.base.next()?;
            if self.keeps(r) {
                return Some(r);
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.base.size_hint().1)
    }
}

impl<P: Postings, Q: Postings> Postings for Without<P, Q> {
    fn seek(&mut self, target: SeriesRef) -> Option<SeriesRef> {
        let r = self.base.seek(target)?;
        if self.keeps(r) { Some(r) } else { self.next() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(refs: &[u32]) -> Vec<[u8; 4]> {
        refs.iter().map(|r| r.to_be_bytes()).collect()
    }

    fn vec(refs: &[SeriesRef]) -> VecPostings {
        VecPostings::new(refs.to_vec())
    }

    #[test]
    fn list_postings_next_and_seek() {
        let bytes = list(&[2, 4, 8, 16, 32]);
        let mut p = ListPostings::new(&bytes);
        assert_eq!(p.size_hint(), (5, Some(5)));
        assert_eq!(p.seek(3), Some(4));
        assert_eq!(p.seek(1), Some(4), "seek never moves backwards");
        assert_eq!(p.next(), Some(8));
        assert_eq!(p.seek(16), Some(16));
        assert_eq!(p.seek(33), None);
        assert_eq!(p.next(), None);
        assert_eq!(p.seek(0), None);
        assert_eq!(ListPostings::new(&bytes).seek(0), Some(2));
    }

    #[test]
    fn gallop_finds_the_partition_point() {
        for n in 0..40 {
            let values: Vec<usize> = (0..n).map(|i| i * 2).collect();
            for target in 0..=2 * n + 1 {
                let want = values.partition_point(|&v| v < target);
                assert_eq!(
                    gallop(n, |i| values[i] < target),
                    want,
                    "n={n} target={target}"
                );
            }
        }
    }

    #[test]
    fn intersect_merge_without() {
        let a = || vec(&[1, 2, 3, 5, 8, 13, 21]);
        let b = || vec(&[2, 3, 4, 8, 21, 22]);
        let c = || vec(&[3, 8, 9, 21]);
        let got: Vec<_> = Intersect::new(vec![a(), b(), c()]).collect();
        assert_eq!(got, [3, 8, 21]);
        let got: Vec<_> = Merge::new(vec![a(), b(), c()]).collect();
        assert_eq!(got, [1, 2, 3, 4, 5, 8, 9, 13, 21, 22]);
        let got: Vec<_> = Without::new(a(), b()).collect();
        assert_eq!(got, [1, 5, 13]);
        assert_eq!(Intersect::<VecPostings>::new(vec![]).next(), None);
        assert_eq!(Merge::<VecPostings>::new(vec![]).next(), None);
        assert_eq!(Intersect::new(vec![a(), vec(&[])]).next(), None);
    }

    #[test]
    fn composed_seeks() {
        let mut i = Intersect::new(vec![vec(&[1, 3, 5, 7, 9]), vec(&[3, 4, 5, 9])]);
        assert_eq!(i.seek(4), Some(5));
        assert_eq!(i.seek(2), Some(5));
        assert_eq!(i.next(), Some(9));
        assert_eq!(i.next(), None);

        let mut m = Merge::new(vec![vec(&[1, 10, 20]), vec(&[5, 10, 30])]);
        assert_eq!(m.seek(6), Some(10));
        assert_eq!(m.next(), Some(20));
        assert_eq!(m.seek(21), Some(30));
        assert_eq!(m.next(), None);

        let mut w = Without::new(vec(&[1, 2, 3, 4, 5]), vec(&[2, 3]));
        assert_eq!(w.seek(2), Some(4));
        assert_eq!(w.next(), Some(5));

        // Nested: (a ∩ b) ∪ c, minus d.
        let nested = Without::new(
            Merge::new(vec![
                Box::new(Intersect::new(vec![vec(&[1, 2, 6]), vec(&[2, 6, 7])])) as BoxPostings,
                Box::new(vec(&[3, 7])),
            ]),
            vec(&[6]),
        );
        assert_eq!(nested.collect::<Vec<_>>(), [2, 3, 7]);
    }

    /// Set operations agree with `BTreeSet` on pseudo-random inputs, through `seek` too.
    #[test]
    fn agree_with_btreeset() {
        use std::collections::BTreeSet;
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut random = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..200 {
            let sets: Vec<BTreeSet<SeriesRef>> = (0..1 + random(4))
                .map(|_| (0..random(40)).map(|_| random(60)).collect())
                .collect();
            let postings = || {
                sets.iter()
                    .map(|s| VecPostings::new(s.iter().copied().collect()))
                    .collect::<Vec<_>>()
            };
            let all_of = sets.iter().skip(1).fold(sets[0].clone(), |acc, s| &acc & s);
            let any_of = sets.iter().fold(BTreeSet::new(), |acc, s| &acc | s);
            let base_minus = sets.iter().skip(1).fold(sets[0].clone(), |acc, s| &acc - s);

            let target = random(60);
            let check = |mut p: BoxPostings, expected: &BTreeSet<SeriesRef>| {
                let want: Vec<_> = expected.range(target..).copied().collect();
                let mut got: Vec<_> = p.seek(target).into_iter().collect();
                got.extend(p);
                assert_eq!(got, want, "seek({target}) over {sets:?}");
            };
            check(Box::new(Intersect::new(postings())), &all_of);
            check(Box::new(Merge::new(postings())), &any_of);
            let mut lists = postings().into_iter();
            let first: BoxPostings = Box::new(lists.next().unwrap());
            let without = lists.fold(first, |acc, p| Box::new(Without::new(acc, p)));
            check(without, &base_minus);
        }
    }
}
