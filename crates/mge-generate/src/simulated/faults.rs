//! Fault kinds, their mix, and the injection of faults into reference code.

use std::collections::{BTreeMap, HashSet};

use mge_core::Language;
use serde::{Deserialize, Serialize};

use super::rng::SplitMix64;
use super::sites::{find_sites, CodeParser, Replacement, Site};

/// What one injected fault changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    SyntaxError,
    MisspelledIdentifier,
    WrongArity,
    WrongImportName,
    FlippedComparison,
    FlippedOperator,
    OffByOne,
    SwappedArguments,
}

impl FaultKind {
    pub const ALL: [FaultKind; 8] = [
        FaultKind::SyntaxError,
        FaultKind::MisspelledIdentifier,
        FaultKind::WrongArity,
        FaultKind::WrongImportName,
        FaultKind::FlippedComparison,
        FaultKind::FlippedOperator,
        FaultKind::OffByOne,
        FaultKind::SwappedArguments,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::SyntaxError => "syntax_error",
            FaultKind::MisspelledIdentifier => "misspelled_identifier",
            FaultKind::WrongArity => "wrong_arity",
            FaultKind::WrongImportName => "wrong_import_name",
            FaultKind::FlippedComparison => "flipped_comparison",
            FaultKind::FlippedOperator => "flipped_operator",
            FaultKind::OffByOne => "off_by_one",
            FaultKind::SwappedArguments => "swapped_arguments",
        }
    }

    /// The mix class this kind is drawn under.
    pub fn class(self) -> FaultClass {
        match self {
            FaultKind::SyntaxError => FaultClass::Syntax,
            FaultKind::MisspelledIdentifier => FaultClass::MisspelledIdentifier,
            FaultKind::WrongArity | FaultKind::WrongImportName => FaultClass::ArityOrImport,
            FaultKind::FlippedComparison
            | FaultKind::FlippedOperator
            | FaultKind::OffByOne
            | FaultKind::SwappedArguments => FaultClass::Logic,
        }
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four classes weighted by [`FaultMix`], in fallback order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultClass {
    Syntax,
    MisspelledIdentifier,
    ArityOrImport,
    Logic,
}

impl FaultClass {
    /// Fallback order: a line without a site of the drawn class tries the next one, cyclically.
    pub const ORDER: [FaultClass; 4] = [
        FaultClass::Syntax,
        FaultClass::MisspelledIdentifier,
        FaultClass::ArityOrImport,
        FaultClass::Logic,
    ];
}

/// Mix weights of the fault classes (relative; they need not sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaultMix {
    pub syntax: f64,
    pub misspelled_identifier: f64,
    pub arity_or_import: f64,
    pub logic: f64,
}

impl Default for FaultMix {
    fn default() -> Self {
        FaultMix {
            syntax: 0.20,
            misspelled_identifier: 0.25,
            arity_or_import: 0.20,
            logic: 0.35,
        }
    }
}

impl FaultMix {
    /// A mix that draws only `class` (falling back to the others where a line has no such site).
    pub fn only(class: FaultClass) -> FaultMix {
        let mut mix = FaultMix {
            syntax: 0.0,
            misspelled_identifier: 0.0,
            arity_or_import: 0.0,
            logic: 0.0,
        };
        *mix.weight_mut(class) = 1.0;
        mix
    }

    pub fn weight(&self, class: FaultClass) -> f64 {
        match class {
            FaultClass::Syntax => self.syntax,
            FaultClass::MisspelledIdentifier => self.misspelled_identifier,
            FaultClass::ArityOrImport => self.arity_or_import,
            FaultClass::Logic => self.logic,
        }
    }

    fn weight_mut(&mut self, class: FaultClass) -> &mut f64 {
        match class {
            FaultClass::Syntax => &mut self.syntax,
            FaultClass::MisspelledIdentifier => &mut self.misspelled_identifier,
            FaultClass::ArityOrImport => &mut self.arity_or_import,
            FaultClass::Logic => &mut self.logic,
        }
    }

    /// Weights must be finite and non-negative, and at least one positive.
    pub fn validate(&self) -> Result<(), String> {
        for class in FaultClass::ORDER {
            let w = self.weight(class);
            if !w.is_finite() || w < 0.0 {
                return Err(format!(
                    "weight of {class:?} is {w}; expected a finite value >= 0"
                ));
            }
        }
        if FaultClass::ORDER.iter().all(|c| self.weight(*c) == 0.0) {
            return Err("all fault mix weights are 0".to_string());
        }
        Ok(())
    }

    fn draw(&self, rng: &mut SplitMix64) -> usize {
        let total: f64 = FaultClass::ORDER.iter().map(|c| self.weight(*c)).sum();
        let mut x = rng.next_f64() * total;
        for (i, class) in FaultClass::ORDER.iter().enumerate() {
            let w = self.weight(*class);
            if x < w {
                return i;
            }
            x -= w;
        }
        FaultClass::ORDER
            .iter()
            .rposition(|c| self.weight(*c) > 0.0)
            .unwrap_or(0)
    }
}

/// One fault the simulated provider injected: ground truth for tests and benchmarks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedFault {
    pub kind: FaultKind,
    /// 1-based line in the generated code.
    pub line: u32,
    /// 1-based byte column of the change in that line.
    pub column: u32,
    pub original: String,
    pub replacement: String,
}

/// The result of [`inject_faults`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub code: String,
    /// Faults in line order; at most one per line.
    pub faults: Vec<InjectedFault>,
    /// Lines offering at least one fault site (the population the fault rate applies to).
    pub eligible_lines: u32,
}

/// Inject faults into `code`: each eligible line independently, with probability `fault_rate`,
/// gets one fault of a class drawn from `mix` (falling back along [`FaultClass::ORDER`] when the
/// line has no site of that class).
pub fn inject_faults(
    code: &str,
    language: Language,
    fault_rate: f64,
    mix: &FaultMix,
    rng: &mut SplitMix64,
) -> Injection {
    let mut parser = CodeParser::new(language);
    let parsed = parser.parse(code);
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(code.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut by_line: BTreeMap<usize, Vec<Site>> = BTreeMap::new();
    for site in find_sites(&parsed, language) {
        if site.range.end <= code.len() && !code[site.range.clone()].contains('\n') {
            let row = line_starts.partition_point(|&s| s <= site.range.start) - 1;
            by_line.entry(row).or_default().push(site);
        }
    }
    let names = parsed.names();
    let mut base_errors: Option<usize> = None;
    let mut edits: Vec<(Site, String)> = Vec::new();
    for line_sites in by_line.values() {
        if !rng.chance(fault_rate) {
            continue;
        }
        let first = mix.draw(rng);
        for step in 0..FaultClass::ORDER.len() {
            let class = FaultClass::ORDER[(first + step) % FaultClass::ORDER.len()];
            let mut candidates: Vec<&Site> = line_sites
                .iter()
                .filter(|s| s.kind.class() == class)
                .collect();
            let chosen = if class == FaultClass::Syntax {
                let base = *base_errors.get_or_insert_with(|| parser.error_count(code));
                let mut chosen = None;
                while !candidates.is_empty() {
                    let site = candidates.swap_remove(rng.below(candidates.len()));
                    let mut edited = code.to_string();
                    edited.replace_range(site.range.clone(), "");
                    if parser.error_count(&edited) > base {
                        chosen = Some((site.clone(), String::new()));
                        break;
                    }
                }
                chosen
            } else if candidates.is_empty() {
                None
            } else {
                let site = candidates[rng.below(candidates.len())];
                let text = replacement(
                    site,
                    &code[site.range.clone()],
                    parser.language(),
                    &names,
                    rng,
                );
                Some((site.clone(), text))
            };
            if let Some(edit) = chosen {
                edits.push(edit);
                break;
            }
        }
    }

    let mut faults = Vec::with_capacity(edits.len());
    let mut out = code.to_string();
    for (site, text) in edits.iter().rev() {
        out.replace_range(site.range.clone(), text);
    }
    for (site, text) in &edits {
        let row = line_starts.partition_point(|&s| s <= site.range.start) - 1;
        faults.push(InjectedFault {
            kind: site.kind,
            line: u32::try_from(row + 1).unwrap_or(u32::MAX),
            column: u32::try_from(site.range.start - line_starts[row] + 1).unwrap_or(u32::MAX),
            original: code[site.range.clone()].to_string(),
            replacement: text.clone(),
        });
    }
    Injection {
        code: out,
        faults,
        eligible_lines: u32::try_from(by_line.len()).unwrap_or(u32::MAX),
    }
}

fn replacement(
    site: &Site,
    original: &str,
    language: Language,
    names: &HashSet<String>,
    rng: &mut SplitMix64,
) -> String {
    match &site.replacement {
        Replacement::Fixed(text) => text.clone(),
        Replacement::Integer(n) => {
            if *n == 0 || rng.chance(0.5) {
                n.saturating_add(1).to_string()
            } else {
                (n - 1).to_string()
            }
        }
        Replacement::Misspell => misspell(original, language, names, rng),
    }
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "match", "case", "type",
];

const JS_KEYWORDS: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "implements",
    "interface",
    "package",
    "private",
    "protected",
    "public",
    "await",
    "async",
    "of",
    "as",
    "type",
    "any",
    "number",
    "string",
    "boolean",
    "undefined",
];

fn is_valid_name(name: &str, language: Language) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| {
        c.is_alphabetic() || c == '_' || (c == '$' && language != Language::Python)
    });
    let keywords = match language {
        Language::Python => PYTHON_KEYWORDS,
        Language::TypeScript | Language::JavaScript => JS_KEYWORDS,
    };
    first_ok
        && chars
            .all(|c| c.is_alphanumeric() || c == '_' || (c == '$' && language != Language::Python))
        && !keywords.contains(&name)
}

/// A one-letter misspelling of `name` (drop, double or swap), valid as a name and absent from
/// the unit.
pub(crate) fn misspell(
    name: &str,
    language: Language,
    names: &HashSet<String>,
    rng: &mut SplitMix64,
) -> String {
    let chars: Vec<char> = name.chars().collect();
    for _ in 0..16 {
        let i = rng.below(chars.len().max(1));
        let mut out = chars.clone();
        match rng.below(3) {
            0 if out.len() > 1 => {
                out.remove(i);
            }
            2 if i + 1 < out.len() && out[i] != out[i + 1] => out.swap(i, i + 1),
            _ => out.insert(i, chars.get(i).copied().unwrap_or('x')),
        }
        let candidate: String = out.into_iter().collect();
        if candidate != name && is_valid_name(&candidate, language) && !names.contains(&candidate) {
            return candidate;
        }
    }
    let mut candidate = format!("{name}_");
    while names.contains(&candidate) {
        candidate.push('_');
    }
    candidate
}
