//! Level 1, atomic: one generated atom checked in its place in the file — it parses, defines
//! what the reference atom defines with the same parameters, every name it uses resolves, its
//! calls pass what their callees accept (callables of the plan, resolved through the atom's
//! context and `self.`/`this.`; Python builtins and standard library from the committed
//! signature table; see [`crate::arity`]), and its size and complexity stay within bounds.
//! Pure: no toolchain run.

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use mge_atomize::parse::{first_syntax_error, parse};
use mge_atomize::{atomize, atomize_parsed, Atom, AtomizedFile, Config, Grammar, PlanIndex};
use mge_core::{Language, ValidationLevel};
use serde::{Deserialize, Serialize};

use crate::names::{unresolved, unresolved_set};
use crate::project::ValidateError;
use crate::report::{codes, ReportBuilder, ValidationReport, Violation};
use crate::syntax::{callables, callables_for_calls, Callable};

/// Size and complexity bounds of a generated atom. A bound is never below twice the reference
/// atom's own figure, so a faithful atom always fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomLimits {
    /// Non-blank, non-comment lines.
    pub max_loc: u32,
    /// Cyclomatic complexity.
    pub max_complexity: u32,
}

impl Default for AtomLimits {
    fn default() -> Self {
        AtomLimits {
            max_loc: 40,
            max_complexity: 12,
        }
    }
}

/// What the atomic validator needs about one generated atom.
#[derive(Debug, Clone)]
pub struct AtomInput<'a> {
    /// Project-relative path of the file.
    pub path: &'a str,
    pub language: Language,
    /// The file the atom is generated into, holding the reference (or last) version of the
    /// atom at `range`.
    pub base_source: &'a str,
    /// Byte range of the atom in `base_source`.
    pub range: Range<usize>,
    /// The generated code replacing `base_source[range]`.
    pub generated: &'a str,
    /// The atom as atomization of the base file gave it (its `defines` and `signature` are
    /// what the generated code must provide).
    pub expected: &'a Atom,
    /// The atomized files of the plan, used to resolve names through imports; the entry for
    /// `path`, if present, is replaced by the file with the generated atom in place.
    pub plan_files: &'a [AtomizedFile],
    /// Names the generator was told exist besides the plan's (they count as resolved).
    pub context_names: &'a [String],
    pub limits: AtomLimits,
}

/// Validates one generated atom in its place in the file. For many atoms of one plan, build an
/// [`AtomicContext`] once and call [`AtomicContext::validate`]: this function builds a context
/// for the one call.
pub fn validate_atom(input: &AtomInput) -> Result<ValidationReport, ValidateError> {
    AtomicContext::new(input.plan_files.to_vec()).validate(input)
}

/// What atomic validation computes once per plan and per base file, shared by every atom's
/// validation: a generated atom is checked against its base file's atomization, signatures and
/// unresolved names, which do not change between attempts, and resolved against the plan's other
/// files, which are indexed with the generated file swapped in (never cloned per call).
pub struct AtomicContext {
    files: Vec<AtomizedFile>,
    /// Sources of the plan's files by path, when known: the callables of other files are read
    /// from them for the arity check (without, only calls into the atom's own file and to
    /// Python builtins and the standard library are checked).
    sources: HashMap<String, String>,
    /// Callables per path of `sources`, computed on first use.
    file_callables: Mutex<HashMap<String, Arc<Vec<Callable>>>>,
    /// Copies of `files` lent to validations running at the same time.
    spares: Mutex<Vec<Vec<AtomizedFile>>>,
    /// Per path and base-source hash.
    bases: Mutex<HashMap<(String, u64), Arc<BaseFile>>>,
}

impl std::fmt::Debug for AtomicContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicContext")
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

/// Bases kept at most; past it the cache starts over.
const MAX_BASES: usize = 512;

/// What validation needs of the file a generated atom goes into.
struct BaseFile {
    file: AtomizedFile,
    /// Whether the base itself has a syntax error.
    has_error: bool,
    defs: BTreeSet<String>,
    callables: Vec<Callable>,
    /// Per atom of `file`: the names it leaves unresolved in the reference (tolerated in a
    /// generated version).
    tolerated: Vec<BTreeSet<String>>,
}

impl AtomicContext {
    /// A context over the plan's atomized files (as generation starts from them).
    pub fn new(files: Vec<AtomizedFile>) -> AtomicContext {
        AtomicContext {
            files,
            sources: HashMap::new(),
            file_callables: Mutex::new(HashMap::new()),
            spares: Mutex::new(Vec::new()),
            bases: Mutex::new(HashMap::new()),
        }
    }

    /// The same context with the sources of the plan's files (by path), so that calls into
    /// other files are checked for arity too.
    pub fn with_sources(mut self, sources: HashMap<String, String>) -> AtomicContext {
        self.sources = sources;
        self
    }

    /// The callables of the plan file at `path`, from its source when the context has it.
    fn callables_at(&self, path: &str) -> Option<Arc<Vec<Callable>>> {
        let mut cache = self.file_callables.lock().expect("callables lock");
        if let Some(c) = cache.get(path) {
            return Some(c.clone());
        }
        let src = self.sources.get(path)?;
        let file = self.files.iter().find(|f| f.path == path)?;
        let grammar = Grammar::for_file(path, file.language);
        let found = Arc::new(
            parse(grammar, src)
                .map(|t| callables_for_calls(grammar, &t, src))
                .unwrap_or_default(),
        );
        cache.insert(path.to_string(), found.clone());
        Some(found)
    }

    /// The plan's files this context resolves names against.
    pub fn files(&self) -> &[AtomizedFile] {
        &self.files
    }

    /// Validates one generated atom in its place in the file, resolving names against the
    /// context's files (`input.plan_files` is not read).
    pub fn validate(&self, input: &AtomInput) -> Result<ValidationReport, ValidateError> {
        let mut report = ReportBuilder::new(ValidationLevel::Atomic);
        let base = input.base_source;
        let Range { start, end } = input.range.clone();
        if start > end
            || end > base.len()
            || !base.is_char_boundary(start)
            || !base.is_char_boundary(end)
        {
            return Err(ValidateError::BadRange {
                path: input.path.to_string(),
                start,
                end,
                len: base.len(),
            });
        }
        let id = Some(input.expected.id.clone());
        let path = input.path;
        let mut source = String::with_capacity(base.len() + input.generated.len());
        source.push_str(&base[..start]);
        source.push_str(input.generated);
        source.push_str(&base[end..]);
        let new_range = start..start + input.generated.len();
        let (line0, col0) = line_col(&source, start);

        report.checked(1);
        if input.generated.trim().is_empty() && !base[start..end].trim().is_empty() {
            report.violation(
                Violation::new(
                    path,
                    line0,
                    col0,
                    codes::EMPTY_ATOM,
                    "the generated atom is empty",
                )
                .with_atom(id),
            );
            return Ok(report.finish());
        }

        // 1. Parses in place.
        let grammar = Grammar::for_file(path, input.language);
        let Some(tree) = parse(grammar, &source) else {
            return Ok(report.finish());
        };
        let based = self.base(path, input.language, grammar, base);
        if let Some(d) = first_syntax_error(&tree) {
            let inside = {
                let off = line_offset(&source, d.line, d.column);
                off >= new_range.start.saturating_sub(1) && off <= new_range.end
            };
            let v = Violation::new(path, d.line, d.column, d.code.clone(), d.message.clone())
                .with_atom(id.clone());
            if !based.has_error || inside {
                report.violation(v);
                return Ok(report.finish());
            }
            report.warning(v);
        }

        // 2. Defines what the reference atom defines, with the same parameters.
        let new_file = atomize_parsed(
            path,
            &source,
            input.language,
            grammar,
            &tree,
            &Config::default(),
        );
        let new_overlap: Vec<usize> = overlapping(&new_file, &new_range);
        let new_defs: BTreeSet<&str> = new_overlap
            .iter()
            .flat_map(|&i| new_file.atoms[i].defines.iter().map(String::as_str))
            .collect();
        for d in &input.expected.defines {
            report.checked(1);
            if !new_defs.contains(d.as_str()) {
                report.violation(
                    Violation::new(
                        path,
                        line0,
                        col0,
                        codes::MISSING_DEFINITION,
                        format!("the atom must define '{d}' but does not"),
                    )
                    .with_atom(id.clone()),
                );
            }
        }
        for d in new_defs.iter().filter(|d| !based.defs.contains(**d)) {
            report.warning(
                Violation::new(
                    path,
                    line0,
                    col0,
                    codes::EXTRA_DEFINITION,
                    format!("the atom defines '{d}', which the plan does not expect"),
                )
                .with_atom(id.clone()),
            );
        }
        let expected_sigs = based
            .callables
            .iter()
            .filter(|c| c.start_byte >= start && c.start_byte < end);
        let got = callables(grammar, &tree, &source);
        for exp in expected_sigs {
            let Some(g) = got.iter().find(|g| {
                g.qualified_name == exp.qualified_name
                    && g.start_byte >= new_range.start
                    && g.start_byte < new_range.end
            }) else {
                continue;
            };
            report.checked(1);
            if g.shape() != exp.shape() {
                let (l, c) = line_col(&source, g.start_byte);
                report.violation(
                    Violation::new(
                        path,
                        l,
                        c,
                        codes::SIGNATURE_MISMATCH,
                        format!(
                            "'{}' takes ({}) but the plan expects ({})",
                            g.qualified_name,
                            g.shape(),
                            exp.shape()
                        ),
                    )
                    .with_atom(id.clone()),
                );
            }
        }

        // 3. Every name it uses resolves.
        let tolerated: BTreeSet<String> = overlapping(&based.file, &(start..end))
            .into_iter()
            .flat_map(|i| based.tolerated[i].iter().cloned())
            .collect();
        let allowed: BTreeSet<String> = input.context_names.iter().cloned().collect();
        let (((violations, checks), (arity, arity_checks)), new_file) =
            self.with_file(new_file, |index, fi| {
                let names = unresolved(
                    index,
                    fi,
                    &new_overlap,
                    &allowed,
                    &tolerated,
                    id.as_deref(),
                    Some(&tree),
                );
                // 3b. Its calls pass what their callees accept.
                let here = callables_for_calls(grammar, &tree, &source);
                let mut callables_of = |f: usize| {
                    if f == fi {
                        Some(here.clone())
                    } else {
                        self.callables_at(&index.files()[f].path)
                            .map(|c| c.as_ref().clone())
                    }
                };
                let calls = crate::arity::check_calls(
                    index,
                    fi,
                    &tree,
                    &source,
                    Some(new_range.clone()),
                    &mut callables_of,
                );
                (names, calls)
            });
        report.checked(checks + arity_checks);
        for v in violations {
            report.violation(v);
        }
        for v in arity {
            report.violation(v.with_atom(id.clone()));
        }

        // 4. Size and complexity.
        let loc = count_loc(input.generated, input.language);
        let max_loc = input
            .limits
            .max_loc
            .max(input.expected.loc.saturating_mul(2));
        report.checked(2);
        if loc > max_loc {
            report.violation(
                Violation::new(
                    path,
                    line0,
                    col0,
                    codes::ATOM_TOO_LARGE,
                    format!("the atom has {loc} lines of code; at most {max_loc} are allowed"),
                )
                .with_atom(id.clone()),
            );
        }
        let complexity: u32 = new_overlap
            .iter()
            .map(|&i| &new_file.atoms[i])
            .filter(|a| {
                a.start_byte >= new_range.start && a.end_byte <= new_range.end.max(a.start_byte)
            })
            .map(|a| a.complexity)
            .sum();
        let max_complexity = input
            .limits
            .max_complexity
            .max(input.expected.complexity.saturating_mul(2));
        if complexity > max_complexity {
            report.violation(
                Violation::new(
                    path,
                    line0,
                    col0,
                    codes::ATOM_TOO_COMPLEX,
                    format!(
                        "the atom has cyclomatic complexity {complexity}; at most {max_complexity} is allowed"
                    ),
                )
                .with_atom(id),
            );
        }
        Ok(report.finish())
    }

    /// The base file `base` at `path`, computed on first use.
    fn base(&self, path: &str, language: Language, grammar: Grammar, base: &str) -> Arc<BaseFile> {
        let key = (path.to_string(), {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            base.hash(&mut h);
            h.finish()
        });
        if let Some(b) = self.bases.lock().expect("base cache lock").get(&key) {
            return b.clone();
        }
        let file = atomize(path, base, language, &Config::default());
        let tree = parse(grammar, base);
        let has_error = tree.as_ref().and_then(first_syntax_error).is_some();
        let callables = tree
            .as_ref()
            .map(|t| callables(grammar, t, base))
            .unwrap_or_default();
        let defs = file
            .atoms
            .iter()
            .flat_map(|a| a.defines.iter().cloned())
            .collect();
        let (tolerated, file) = self.with_file(file, |index, fi| {
            (0..index.files()[fi].atoms.len())
                .map(|i| unresolved_set(index, fi, &[i]))
                .collect()
        });
        let built = Arc::new(BaseFile {
            file,
            has_error,
            defs,
            callables,
            tolerated,
        });
        let mut bases = self.bases.lock().expect("base cache lock");
        if bases.len() >= MAX_BASES {
            bases.clear();
        }
        bases.insert(key, built.clone());
        built
    }

    /// Runs `f` over an index of the plan's files with `file` in place of the file at its path
    /// (added when the plan has none), and gives `file` back.
    fn with_file<R>(
        &self,
        file: AtomizedFile,
        f: impl FnOnce(&PlanIndex, usize) -> R,
    ) -> (R, AtomizedFile) {
        let spare = self.spares.lock().expect("spare files lock").pop();
        let mut files = spare.unwrap_or_else(|| self.files.clone());
        let (fi, swapped) = match files.iter().position(|f| f.path == file.path) {
            Some(fi) => (fi, Some(std::mem::replace(&mut files[fi], file))),
            None => {
                files.push(file);
                (files.len() - 1, None)
            }
        };
        let result = f(&PlanIndex::new(&files), fi);
        let file = match swapped {
            Some(original) => std::mem::replace(&mut files[fi], original),
            None => files.pop().expect("pushed above"),
        };
        self.spares.lock().expect("spare files lock").push(files);
        (result, file)
    }
}

/// Indices of the atoms of `file` that overlap `range` (the atom holding its start when the
/// range is empty).
fn overlapping(file: &AtomizedFile, range: &Range<usize>) -> Vec<usize> {
    file.atoms
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            if range.is_empty() {
                a.start_byte <= range.start && range.start < a.end_byte
            } else {
                a.start_byte < range.end && a.end_byte > range.start
            }
        })
        .map(|(i, _)| i)
        .collect()
}

/// 1-based line and byte column of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (u32, u32) {
    let before = &src[..offset.min(src.len())];
    let line = before.bytes().filter(|&b| b == b'\n').count() as u32 + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |p| before.len() - p - 1) as u32
        + 1;
    (line, col)
}

/// Byte offset of a 1-based line and column.
fn line_offset(src: &str, line: u32, col: u32) -> usize {
    let mut off = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i as u32 + 1 == line {
            return off + (col as usize).saturating_sub(1);
        }
        off += l.len();
    }
    src.len()
}

/// Non-blank lines that are not comment-only.
pub fn count_loc(code: &str, language: Language) -> u32 {
    let comment = match language {
        Language::Python => "#",
        Language::TypeScript | Language::JavaScript => "//",
    };
    code.lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with(comment) && !l.starts_with("/*") && !l.starts_with('*')
        })
        .count() as u32
}
