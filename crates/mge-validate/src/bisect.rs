//! From failures back to atoms: suspects from file:line positions, and a bisection over a
//! caller's predicate when positions do not point anywhere. Pure.

use std::collections::BTreeSet;
use std::future::Future;

use mge_atomize::AtomizedFile;

use crate::report::Violation;

/// The lines an atom covers in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomSpan {
    pub atom: String,
    pub file: String,
    pub start_line: u32,
    pub end_line: u32,
}

/// The spans of every atom of some atomized files.
pub fn spans(files: &[AtomizedFile]) -> Vec<AtomSpan> {
    files
        .iter()
        .flat_map(|f| {
            f.atoms.iter().map(|a| AtomSpan {
                atom: a.id.clone(),
                file: f.path.clone(),
                start_line: a.start_line,
                end_line: a.end_line.max(a.start_line),
            })
        })
        .collect()
}

/// The atoms the violations point at, in order of first mention, without repeats: the
/// violation's own `atom` when set, otherwise the atom whose lines hold `file:line` (the
/// innermost, i.e. latest-starting, when spans nest). Violations without a position point
/// nowhere.
pub fn suspects(violations: &[Violation], spans: &[AtomSpan]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for v in violations {
        let atom = v.atom.clone().or_else(|| {
            spans
                .iter()
                .filter(|s| s.file == v.file && s.start_line <= v.line && v.line <= s.end_line)
                .max_by_key(|s| s.start_line)
                .map(|s| s.atom.clone())
        });
        if let Some(a) = atom {
            if seen.insert(a.clone()) {
                out.push(a);
            }
        }
    }
    out
}

/// The result of a bisection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bisection {
    /// Atoms whose restoration (together) makes the project pass; each is needed given the
    /// others found later in the search. Empty when `isolated` is false.
    pub culprits: Vec<String>,
    /// False when restoring every suspect still fails: the cause is elsewhere.
    pub isolated: bool,
    /// Predicate calls made.
    pub calls: u32,
}

/// The bisection as a state machine: ask [`Bisector::query`] which atoms to restore, run the
/// project, answer with [`Bisector::answer`]. Assumes that restoring more atoms never turns a
/// pass into a failure. Finds `d` culprits among `n` suspects in about `1 + d·(1 + log2 n)`
/// queries, and never calls the predicate with nothing restored (the caller knows that fails).
#[derive(Debug, Clone)]
pub struct Bisector {
    suspects: Vec<String>,
    found: Vec<String>,
    state: State,
    calls: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Restore every suspect.
    All,
    /// Restore `found` only: are we done?
    FoundOnly {
        hi: usize,
    },
    /// Binary search for the smallest prefix: `pred(prefix[..lo] ∪ found)` fails and
    /// `pred(prefix[..hi] ∪ found)` passes.
    Search {
        lo: usize,
        hi: usize,
    },
    Done {
        isolated: bool,
    },
}

impl Bisector {
    pub fn new(suspects: Vec<String>) -> Bisector {
        let state = if suspects.is_empty() {
            State::Done { isolated: false }
        } else {
            State::All
        };
        Bisector {
            suspects,
            found: Vec::new(),
            state,
            calls: 0,
        }
    }

    /// The atoms to restore for the next predicate call, or `None` when finished.
    pub fn query(&self) -> Option<Vec<String>> {
        let mut restored = match self.state {
            State::All => return Some(self.suspects.clone()),
            State::FoundOnly { .. } => Vec::new(),
            State::Search { lo, hi } => self.suspects[..(lo + hi).div_ceil(2)].to_vec(),
            State::Done { .. } => return None,
        };
        restored.extend(self.found.iter().cloned());
        Some(restored)
    }

    /// Records whether the project passed with the atoms of the last query restored.
    pub fn answer(&mut self, passes: bool) {
        self.calls += 1;
        self.state = match self.state {
            State::All if !passes => State::Done { isolated: false },
            State::All => self.search(self.suspects.len()),
            State::FoundOnly { .. } if passes => State::Done { isolated: true },
            State::FoundOnly { hi } => self.search(hi),
            State::Search { lo, hi } => {
                let mid = (lo + hi).div_ceil(2);
                if passes {
                    self.narrow(lo, mid)
                } else {
                    self.narrow(mid, hi)
                }
            }
            done @ State::Done { .. } => done,
        };
    }

    fn search(&mut self, hi: usize) -> State {
        self.narrow(0, hi)
    }

    fn narrow(&mut self, lo: usize, hi: usize) -> State {
        if hi == 0 {
            // Restoring `found` alone must pass by the invariant; monotonicity was broken.
            return State::Done { isolated: false };
        }
        if hi - lo > 1 {
            return State::Search { lo, hi };
        }
        self.found.push(self.suspects[hi - 1].clone());
        if hi - 1 == 0 {
            State::Done { isolated: true }
        } else {
            State::FoundOnly { hi: hi - 1 }
        }
    }

    pub fn finish(self) -> Bisection {
        let isolated = matches!(self.state, State::Done { isolated: true });
        let mut culprits = if isolated { self.found } else { Vec::new() };
        culprits.reverse();
        Bisection {
            culprits,
            isolated,
            calls: self.calls,
        }
    }
}

/// Bisects `suspects` with a synchronous predicate "does the project pass with these atoms
/// restored to their last passing versions".
pub fn bisect<E>(
    suspects: &[String],
    mut passes_with_restored: impl FnMut(&[String]) -> Result<bool, E>,
) -> Result<Bisection, E> {
    let mut b = Bisector::new(suspects.to_vec());
    while let Some(q) = b.query() {
        let ok = passes_with_restored(&q)?;
        b.answer(ok);
    }
    Ok(b.finish())
}

/// [`bisect`] with an asynchronous predicate.
pub async fn bisect_async<E, F, Fut>(
    suspects: &[String],
    mut passes_with_restored: F,
) -> Result<Bisection, E>
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: Future<Output = Result<bool, E>>,
{
    let mut b = Bisector::new(suspects.to_vec());
    while let Some(q) = b.query() {
        let ok = passes_with_restored(q).await?;
        b.answer(ok);
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("a{i}")).collect()
    }

    /// Passes when every culprit is restored.
    fn run(n: usize, culprits: &[usize]) -> Bisection {
        let suspects = names(n);
        let bad: Vec<String> = culprits.iter().map(|&i| suspects[i].clone()).collect();
        bisect::<()>(&suspects, |restored| {
            Ok(bad.iter().all(|b| restored.contains(b)))
        })
        .unwrap()
    }

    #[test]
    fn one_culprit_among_many_takes_logarithmic_calls() {
        let b = run(1000, &[617]);
        assert_eq!(b.culprits, ["a617"]);
        assert!(b.isolated);
        // 1 (all) + 10 (search) + 1 (found only); log2(1000) < 10.
        assert!(b.calls <= 12, "{} calls", b.calls);
    }

    #[test]
    fn a_cause_outside_the_suspects_is_not_isolated() {
        let suspects = names(8);
        let b = bisect::<()>(&suspects, |_| Ok(false)).unwrap();
        assert!(!b.isolated && b.culprits.is_empty());
        assert_eq!(b.calls, 1);
        let none = bisect::<()>(&[], |_| Ok(true)).unwrap();
        assert_eq!(none.calls, 0);
    }

    #[test]
    fn the_predicate_error_is_returned() {
        let r = bisect(&names(4), |_| Err::<bool, _>("sandbox failed"));
        assert_eq!(r.unwrap_err(), "sandbox failed");
    }

    #[test]
    fn suspects_come_from_atoms_or_line_ranges_in_order() {
        let spans = vec![
            AtomSpan {
                atom: "f::a#0".into(),
                file: "f.py".into(),
                start_line: 1,
                end_line: 10,
            },
            AtomSpan {
                atom: "f::b#0".into(),
                file: "f.py".into(),
                start_line: 11,
                end_line: 20,
            },
            AtomSpan {
                atom: "g::c#0".into(),
                file: "g.py".into(),
                start_line: 1,
                end_line: 5,
            },
        ];
        let v = |file: &str, line: u32, atom: Option<&str>| {
            Violation::new(file, line, 1, "test_failure", "x").with_atom(atom.map(String::from))
        };
        let got = suspects(
            &[
                v("f.py", 12, None),
                v("g.py", 3, Some("explicit")),
                v("f.py", 15, None),
                v("f.py", 2, None),
                v("", 0, None),
            ],
            &spans,
        );
        assert_eq!(got, ["f::b#0", "explicit", "f::a#0"]);
    }

    #[test]
    fn the_async_driver_agrees_with_the_sync_one() {
        let suspects = names(50);
        let fut = bisect_async::<(), _, _>(&suspects, |restored: Vec<String>| async move {
            Ok(restored.contains(&"a3".to_string()) && restored.contains(&"a40".to_string()))
        });
        let b = poll_ready(fut);
        assert_eq!(b.unwrap().culprits, ["a3", "a40"]);
    }

    /// Drives a future whose awaits are all immediately ready.
    fn poll_ready<F: Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    proptest! {
        #[test]
        fn finds_exactly_the_culprits_within_the_call_bound(
            n in 1usize..300,
            picks in proptest::collection::btree_set(0usize..300, 1..4),
        ) {
            let culprits: Vec<usize> = picks.into_iter().filter(|&i| i < n).collect();
            prop_assume!(!culprits.is_empty());
            let b = run(n, &culprits);
            let want: Vec<String> = culprits.iter().map(|i| format!("a{i}")).collect();
            prop_assert!(b.isolated);
            prop_assert_eq!(&b.culprits, &want);
            let log = (n as f64).log2().ceil() as u32;
            let d = want.len() as u32;
            prop_assert!(b.calls <= 1 + d * (log + 1), "{} calls for n={} d={}", b.calls, n, d);
        }
    }
}
