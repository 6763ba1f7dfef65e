//! Fault kinds, their mix, and the injection of faults into reference code.

use std::collections::HashSet;
use std::sync::OnceLock;

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
}

/// The fault sites of one unit's code, for one or many draws.
///
/// Building it is cheap: the code is parsed only when a draw first selects a line (at the default
/// rate most small units are returned untouched without a parse). Whether dropping a syntax token
/// really breaks the parse is checked on first use. Both are cached.
pub struct FaultSites {
    code: String,
    language: Language,
    line_starts: Vec<usize>,
    /// Rows holding anything but whitespace: the lines a draw considers.
    candidate_rows: Vec<usize>,
    analysis: OnceLock<Analysis>,
}

/// What the parse found.
struct Analysis {
    sites: Vec<Site>,
    /// Per row: the indices into `sites` of the row's sites (empty when the row has none).
    by_row: Vec<Vec<usize>>,
    eligible_lines: u32,
    names: HashSet<String>,
    base_errors: OnceLock<usize>,
    breaks_parse: Vec<OnceLock<bool>>,
}

impl FaultSites {
    pub fn new(code: &str, language: Language) -> FaultSites {
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(code.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let candidate_rows = code
            .split('\n')
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(row, _)| row)
            .collect();
        FaultSites {
            code: code.to_string(),
            language,
            line_starts,
            candidate_rows,
            analysis: OnceLock::new(),
        }
    }

    fn row_of(&self, at: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= at) - 1
    }

    fn analysis(&self) -> &Analysis {
        self.analysis.get_or_init(|| {
            let mut parser = CodeParser::new(self.language);
            let parsed = parser.parse(&self.code);
            let mut by_row = vec![Vec::new(); self.line_starts.len()];
            let mut sites = Vec::new();
            for site in find_sites(&parsed, self.language) {
                let text = self.code.get(site.range.clone()).unwrap_or("\n");
                if !text.contains('\n') {
                    by_row[self.row_of(site.range.start)].push(sites.len());
                    sites.push(site);
                }
            }
            let eligible = by_row.iter().filter(|r| !r.is_empty()).count();
            Analysis {
                breaks_parse: sites.iter().map(|_| OnceLock::new()).collect(),
                sites,
                by_row,
                eligible_lines: u32::try_from(eligible).unwrap_or(u32::MAX),
                names: parsed.names(),
                base_errors: OnceLock::new(),
            }
        })
    }

    /// Lines offering at least one fault site (parses the code if no draw did yet).
    pub fn eligible_lines(&self) -> u32 {
        self.analysis().eligible_lines
    }

    /// Draw faults: every non-blank line is selected independently with probability
    /// `fault_rate`; a selected line that offers a fault site gets one fault of a class drawn
    /// from `mix` (falling back along [`FaultClass::ORDER`] when the line has no usable site of
    /// that class). Each eligible line is thus faulted with probability `fault_rate`.
    pub fn inject(&self, fault_rate: f64, mix: &FaultMix, rng: &mut SplitMix64) -> Injection {
        let selected: Vec<usize> = self
            .candidate_rows
            .iter()
            .copied()
            .filter(|_| rng.chance(fault_rate))
            .collect();
        if selected.is_empty() {
            return Injection {
                code: self.code.clone(),
                faults: Vec::new(),
            };
        }
        let analysis = self.analysis();
        let mut parser: Option<CodeParser> = None;
        let mut edits: Vec<(usize, String)> = Vec::new();
        // Misspellings made so far: two sites never get the same new name (which would agree).
        let mut misspelled: HashSet<String> = HashSet::new();
        for row in selected {
            if analysis.by_row[row].is_empty() {
                continue;
            }
            let first = mix.draw(rng);
            for step in 0..FaultClass::ORDER.len() {
                let class = FaultClass::ORDER[(first + step) % FaultClass::ORDER.len()];
                if let Some(edit) =
                    self.fault_on_row(analysis, row, class, rng, &mut parser, &mut misspelled)
                {
                    edits.push(edit);
                    break;
                }
            }
        }

        self.apply(analysis, edits)
    }

    /// Rows offering a usable site of `class` (for syntax, a token whose removal breaks the
    /// parse): the lines [`FaultSites::inject_one`] draws from.
    pub fn rows_with(&self, class: FaultClass) -> usize {
        let analysis = self.analysis();
        let mut parser = None;
        (0..analysis.by_row.len())
            .filter(|&row| {
                analysis.by_row[row].iter().any(|&i| {
                    analysis.sites[i].kind.class() == class
                        && (class != FaultClass::Syntax
                            || self.breaks_parse(analysis, i, &mut parser))
                })
            })
            .count()
    }

    /// Exactly one fault of `class`, on a row drawn uniformly among [`FaultSites::rows_with`]
    /// (no fallback to another class); `None` when the code offers no such site.
    pub fn inject_one(&self, class: FaultClass, rng: &mut SplitMix64) -> Option<Injection> {
        let analysis = self.analysis();
        let mut parser = None;
        let mut rows: Vec<usize> = (0..analysis.by_row.len())
            .filter(|&row| {
                analysis.by_row[row]
                    .iter()
                    .any(|&i| analysis.sites[i].kind.class() == class)
            })
            .collect();
        while !rows.is_empty() {
            let row = rows.swap_remove(rng.below(rows.len()));
            let mut misspelled = HashSet::new();
            if let Some(edit) =
                self.fault_on_row(analysis, row, class, rng, &mut parser, &mut misspelled)
            {
                return Some(self.apply(analysis, vec![edit]));
            }
        }
        None
    }

    /// One fault of `class` on `row`: the site index and its replacement text.
    fn fault_on_row(
        &self,
        analysis: &Analysis,
        row: usize,
        class: FaultClass,
        rng: &mut SplitMix64,
        parser: &mut Option<CodeParser>,
        misspelled: &mut HashSet<String>,
    ) -> Option<(usize, String)> {
        let mut candidates: Vec<usize> = analysis.by_row[row]
            .iter()
            .copied()
            .filter(|&i| analysis.sites[i].kind.class() == class)
            .collect();
        if class == FaultClass::Syntax {
            while !candidates.is_empty() {
                let i = candidates.swap_remove(rng.below(candidates.len()));
                if self.breaks_parse(analysis, i, parser) {
                    return Some((i, String::new()));
                }
            }
            return None;
        }
        if candidates.is_empty() {
            return None;
        }
        let i = candidates[rng.below(candidates.len())];
        let site = &analysis.sites[i];
        let original = &self.code[site.range.clone()];
        let taken = |name: &str| analysis.names.contains(name) || misspelled.contains(name);
        let text = replacement(site, original, self.language, &taken, rng);
        if site.replacement == Replacement::Misspell {
            misspelled.insert(text.clone());
        }
        Some((i, text))
    }

    /// The code with `edits` (site index, replacement; in line order) applied.
    fn apply(&self, analysis: &Analysis, edits: Vec<(usize, String)>) -> Injection {
        let mut out = self.code.clone();
        for (i, text) in edits.iter().rev() {
            out.replace_range(analysis.sites[*i].range.clone(), text);
        }
        let faults = edits
            .into_iter()
            .map(|(i, replacement)| {
                let site = &analysis.sites[i];
                let row = self.row_of(site.range.start);
                let column = site.range.start - self.line_starts[row] + 1;
                InjectedFault {
                    kind: site.kind,
                    line: u32::try_from(row + 1).unwrap_or(u32::MAX),
                    column: u32::try_from(column).unwrap_or(u32::MAX),
                    original: self.code[site.range.clone()].to_string(),
                    replacement,
                }
            })
            .collect();
        Injection { code: out, faults }
    }

    /// True when deleting syntax site `i` makes the parse gain an error.
    fn breaks_parse(&self, analysis: &Analysis, i: usize, parser: &mut Option<CodeParser>) -> bool {
        *analysis.breaks_parse[i].get_or_init(|| {
            let parser = parser.get_or_insert_with(|| CodeParser::new(self.language));
            let base = *analysis
                .base_errors
                .get_or_init(|| parser.error_count(&self.code));
            let mut edited = self.code.clone();
            edited.replace_range(analysis.sites[i].range.clone(), "");
            parser.has_more_errors_than(&edited, base)
        })
    }
}

/// Inject faults into `code` (see [`FaultSites::inject`]); to draw many times from the same
/// code, build [`FaultSites`] once instead.
pub fn inject_faults(
    code: &str,
    language: Language,
    fault_rate: f64,
    mix: &FaultMix,
    rng: &mut SplitMix64,
) -> Injection {
    FaultSites::new(code, language).inject(fault_rate, mix, rng)
}

fn replacement(
    site: &Site,
    original: &str,
    language: Language,
    taken: &dyn Fn(&str) -> bool,
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
        Replacement::Misspell => misspell(original, language, taken, rng),
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

/// A one-letter misspelling of `name` (drop, double or swap), valid as a name and not `taken`
/// (names of the unit and earlier misspellings).
pub(crate) fn misspell(
    name: &str,
    language: Language,
    taken: &dyn Fn(&str) -> bool,
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
        if candidate != name && is_valid_name(&candidate, language) && !taken(&candidate) {
            return candidate;
        }
    }
    let mut candidate = format!("{name}_");
    while taken(&candidate) {
        candidate.push('_');
    }
    candidate
}
