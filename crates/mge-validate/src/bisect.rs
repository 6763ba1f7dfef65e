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
