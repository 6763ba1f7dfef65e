//! Where the faults were caught: counts per class and per finer kind, cumulative shares per
//! level, and the table the benchmark prints.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::{caught_at, Class, Levels, Mutant};

/// The seed's cumulative targets over all classes, per level.
pub const TARGETS: [f64; 4] = [0.90, 0.95, 0.98, 0.99];

const LEVEL_NAMES: [&str; 4] = ["atomic", "module", "component", "system"];

/// Faults of one group and the level that caught each first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    pub faults: usize,
    /// Caught first at atomic, module, component, system.
    pub first: [usize; 4],
    /// Passed every level, the test suite included ("equivalent mutants": no level and no test
    /// can tell them from the reference).
    pub survived: usize,
}

impl Row {
    fn add(&mut self, levels: &Levels) {
        self.faults += 1;
        match caught_at(levels) {
            Some(k) => self.first[k] += 1,
            None => self.survived += 1,
        }
    }

    /// Share caught at or before each level.
    pub fn cumulative(&self) -> [f64; 4] {
        let mut out = [0.0; 4];
        let mut sum = 0;
        for (k, n) in self.first.iter().enumerate() {
            sum += n;
            out[k] = if self.faults == 0 {
                0.0
            } else {
                sum as f64 / self.faults as f64
            };
        }
        out
    }
}

/// The catch-rate table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    pub by_class: BTreeMap<Class, Row>,
    /// Per class, per finer kind of the injector.
    pub by_kind: BTreeMap<(Class, &'static str), Row>,
    pub all: Row,
}

impl Tally {
    pub fn new(mutants: &[Mutant], levels: &[Levels]) -> Tally {
        let mut t = Tally::default();
        for (m, l) in mutants.iter().zip(levels) {
            t.by_class.entry(m.class).or_default().add(l);
            t.by_kind.entry((m.class, m.kind)).or_default().add(l);
            t.all.add(l);
        }
        t
    }

    /// Which cumulative targets over all classes are met, per level.
    pub fn targets_met(&self) -> [bool; 4] {
        let c = self.all.cumulative();
        [0, 1, 2, 3].map(|k| c[k] + 1e-12 >= TARGETS[k])
    }

    /// The printed table: cumulative shares per class and level, then where each class and
    /// kind is caught first.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let pct = |x: f64| format!("{:.1}%", 100.0 * x);
        let _ = writeln!(
            s,
            "Cumulative share caught, by level (levels run in order):"
        );
        let _ = writeln!(
            s,
            "{:<22} {:>7} {:>8} {:>8} {:>10} {:>8} {:>9}",
            "class", "faults", "atomic", "module", "component", "system", "survived"
        );
        let mut line = |name: &str, r: &Row| {
            let c = r.cumulative();
            let _ = writeln!(
                s,
                "{:<22} {:>7} {:>8} {:>8} {:>10} {:>8} {:>9}",
                name,
                r.faults,
                pct(c[0]),
                pct(c[1]),
                pct(c[2]),
                pct(c[3]),
                r.survived
            );
        };
        for (class, r) in &self.by_class {
            line(class.as_str(), r);
        }
        line("all classes", &self.all);
        let met = self.targets_met();
        let _ = writeln!(
            s,
            "{:<22} {:>7} {:>8} {:>8} {:>10} {:>8}",
            "seed target (all)",
            "",
            format!("{} {}", pct(TARGETS[0]), mark(met[0])),
            format!("{} {}", pct(TARGETS[1]), mark(met[1])),
            format!("{} {}", pct(TARGETS[2]), mark(met[2])),
            format!("{} {}", pct(TARGETS[3]), mark(met[3])),
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "Where caught first (count), by class and kind:");
        let _ = writeln!(
            s,
            "{:<38} {:>7} {:>7} {:>7} {:>10} {:>7} {:>9}",
            "class / kind", "faults", "atomic", "module", "component", "system", "survived"
        );
        for (class, r) in &self.by_class {
            counts(&mut s, class.as_str(), r);
            for ((c, kind), k) in &self.by_kind {
                if c == class {
                    counts(&mut s, &format!("  {kind}"), k);
                }
            }
        }
        counts(&mut s, "all classes", &self.all);
        s
    }
}

fn mark(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

fn counts(s: &mut String, name: &str, r: &Row) {
    let _ = writeln!(
        s,
        "{:<38} {:>7} {:>7} {:>7} {:>10} {:>7} {:>9}",
        name, r.faults, r.first[0], r.first[1], r.first[2], r.first[3], r.survived
    );
}

/// Name of level `k` (0 atomic .. 3 system).
pub fn level_name(k: usize) -> &'static str {
    LEVEL_NAMES.get(k).copied().unwrap_or("none")
}
