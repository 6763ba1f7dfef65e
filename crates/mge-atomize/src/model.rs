//! The data atomization produces: atoms, their references, the import bindings of a file and the
//! diagnostics. Every type here is plain data (serde), shared with the link and context stages.

use std::fmt;

use mge_core::Language;
use serde::{Deserialize, Serialize};

use crate::atomicity::Atomicity;

/// Size limits of the decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Preferred LOC per atom: tiny neighbours are merged up to this size and oversized
    /// definitions are cut into blocks of about this size.
    pub target_loc: u32,
    /// Hard ceiling: a definition above it is split at statement boundaries of its body.
    pub max_loc: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            target_loc: 10,
            max_loc: 15,
        }
    }
}

/// What an atom is, decided from the syntax tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtomKind {
    /// The docstring opening a Python module.
    ModuleDocstring,
    /// One or more consecutive import statements (and TS/JS re-exports `export … from`).
    Import,
    /// Module-level bindings whose names are all upper case (`MAX = 3`, `const LIMIT = 3`).
    Constant,
    /// Other module-level assignments and variable declarations.
    Assignment,
    /// `type X = …` (TS, Python 3.12) and `X: TypeAlias = …`.
    TypeAlias,
    /// A TS interface.
    Interface,
    /// A TS enum.
    Enum,
    /// A class statement with its docstring and the fields declared before its first method.
    ClassHeader,
    /// Class fields declared between or after methods.
    ClassFields,
    /// A module-level function (also `const f = () => …`).
    Function,
    /// A function defined in a class body.
    Method,
    /// A function defined inside another function, cut out when the outer one is split.
    NestedFunction,
    /// A continuation of a definition split at statement boundaries; its parent is the head.
    Block,
    /// `export { a, b }`, `export default expr`, `export =`.
    Export,
    /// The Python `if __name__ == "__main__":` block.
    MainBlock,
    /// Any other module-level statement (calls, loops, namespaces, …).
    Statement,
    /// The whole file, when it has syntax errors.
    Unparsed,
}

impl AtomKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AtomKind::ModuleDocstring => "module_docstring",
            AtomKind::Import => "import",
            AtomKind::Constant => "constant",
            AtomKind::Assignment => "assignment",
            AtomKind::TypeAlias => "type_alias",
            AtomKind::Interface => "interface",
            AtomKind::Enum => "enum",
            AtomKind::ClassHeader => "class_header",
            AtomKind::ClassFields => "class_fields",
            AtomKind::Function => "function",
            AtomKind::Method => "method",
            AtomKind::NestedFunction => "nested_function",
            AtomKind::Block => "block",
            AtomKind::Export => "export",
            AtomKind::MainBlock => "main_block",
            AtomKind::Statement => "statement",
            AtomKind::Unparsed => "unparsed",
        }
    }

    /// Functions, methods and nested functions: the atoms a call can land on.
    pub fn is_callable(self) -> bool {
        matches!(
            self,
            AtomKind::Function | AtomKind::Method | AtomKind::NestedFunction
        )
    }

    /// Kinds whose consecutive small atoms are merged up to the target size.
    pub fn is_mergeable(self) -> bool {
        matches!(
            self,
            AtomKind::Import
                | AtomKind::Constant
                | AtomKind::Assignment
                | AtomKind::TypeAlias
                | AtomKind::ClassFields
                | AtomKind::Statement
                | AtomKind::Export
        )
    }
}

impl fmt::Display for AtomKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Qualities of a definition that do not change its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modifier {
    Async,
    Generator,
    /// Has decorators (Python `@d`, TS `@d`).
    Decorated,
    /// `export` in TS/JS.
    Exported,
    /// `export default`.
    Default,
    /// A TS overload signature or a Python `@overload` stub.
    Overload,
    Static,
    Abstract,
    /// Declared with `declare` (TS ambient declaration).
    Ambient,
}

/// How a reference uses the symbol it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// The symbol is called (`f()`, `new C()`, a decorator `@d`).
    Call,
    /// The symbol appears in a type annotation or type expression.
    Type,
    /// The symbol is a base class (`class A(B)`, `extends B`, interface `extends`).
    BaseClass,
    /// The symbol is read or written as a value.
    Data,
    /// `self.m` / `this.m`: `name` is the enclosing class, `attrs[0]` the member.
    SelfMember,
    /// `super().m()` / `super.m()` / `super(...)`: `name` is the first base class of the
    /// enclosing class, `attrs[0]` the member (`constructor`/`__init__` for a bare `super(...)`).
    SuperCall,
}

/// A name an atom uses that is not bound inside the atom's own local scopes (parameters, locals,
/// comprehension variables and shadowed names are excluded). Builtins are not recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reference {
    /// The name as bound at module level (or the class name for `SelfMember`/`SuperCall`).
    pub name: String,
    /// Attribute chain following the name: `m.f()` gives `["f"]`, `pkg.mod.f` gives
    /// `["mod", "f"]`, `self.m()` gives `["m"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<String>,
    pub kind: RefKind,
    /// 1-based line of the use.
    pub line: u32,
    /// 1-based column (in bytes) of the use.
    pub column: u32,
}

impl Reference {
    /// `name` followed by its attribute chain, dot-separated.
    pub fn dotted(&self) -> String {
        let mut s = self.name.clone();
        for a in &self.attrs {
            s.push('.');
            s.push_str(a);
        }
        s
    }
}

/// What an import statement binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// A whole module bound to a name: `import a.b` (binds `a`), `import a.b as m`,
    /// `from . import mod` when `mod` is a module, `import * as ns from './x'`.
    Module,
    /// One name of a module: `from x import y [as z]`, `import {a as b} from './b'`.
    Named,
    /// The default export of a module: `import d from './d'` (`imported` is `"default"`).
    Default,
    /// Every public name of a module: `from x import *`; `local` is empty.
    Wildcard,
    /// `export {X [as Y]} from './x'` (`local` is the exported name) and `export * from './x'`
    /// (`local` empty); TS/JS only. Binds nothing in the file's own scope.
    ReExport,
    /// `import './side-effect'`: binds nothing.
    SideEffect,
}

/// One name bound (or re-exported) by an import atom.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportBinding {
    /// The import atom holding the statement.
    pub atom_id: String,
    /// The name bound in this file (`z` for `from x import y as z`).
    pub local: String,
    /// The module as written: `a.b`, `.m`, `..pkg`, `./b`, `react`.
    pub module: String,
    /// The name taken from the module (`y`); `None` for whole-module imports.
    pub imported: Option<String>,
    pub kind: ImportKind,
    /// 1-based line of the import statement.
    pub line: u32,
}

/// Severity of a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The file has a syntax error: it became one `unparsed` atom.
    Error,
    /// Atomization went on but something could not be done (an oversized statement, nesting
    /// beyond the analysis limit).
    Warning,
}

/// A problem found while atomizing a file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code: `syntax_error`, `missing_node`, `oversized_statement`,
    /// `deep_nesting`.
    pub code: String,
    pub message: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column in bytes.
    pub column: u32,
}

/// One unit of generation: a contiguous byte range of a file with what it defines and uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Atom {
    /// Stable id: `<path>::<qualified_name>#<ordinal>`, where the ordinal counts earlier atoms of
    /// the file with the same qualified name (overloads, repeated blocks).
    pub id: String,
    pub kind: AtomKind,
    /// Short name (`method`, `imports`, `block 2`).
    pub name: String,
    /// Dotted name within the file (`Class.method`, `outer.inner`, `<import>`).
    pub qualified_name: String,
    /// The atom this one belongs to: a method's class header, a block's head.
    pub parent: Option<String>,
    pub start_byte: usize,
    /// Exclusive.
    pub end_byte: usize,
    /// 1-based line of `start_byte`.
    pub start_line: u32,
    /// 1-based line of the last byte.
    pub end_line: u32,
    /// Non-blank, non-comment lines.
    pub loc: u32,
    /// Cyclomatic complexity: 1 + decision nodes in the atom's own code.
    pub complexity: u32,
    /// The definition's signature without its body (`def f(a: int) -> str`), when it has one.
    pub signature: Option<String>,
    pub docstring: Option<String>,
    pub modifiers: Vec<Modifier>,
    /// Names the atom binds at module level; class members as `Class.member`.
    pub defines: Vec<String>,
    /// Names it uses that are bound outside it, in source order, builtins excluded.
    pub references: Vec<Reference>,
    /// Share of the references whose provider is known (0.0..=1.0; 1.0 with no references).
    pub context_completeness: f64,
    pub atomicity: Atomicity,
}

/// A file cut into atoms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomizedFile {
    /// Project-relative, `/`-separated path (used in ids and for cross-file resolution).
    pub path: String,
    pub language: Language,
    /// Length of the source in bytes.
    pub bytes: usize,
    /// Sorted by `start_byte`; they tile `0..bytes` exactly.
    pub atoms: Vec<Atom>,
    /// Every binding made by a module-level import statement, in source order.
    pub imports: Vec<ImportBinding>,
    pub diagnostics: Vec<Diagnostic>,
}

impl AtomizedFile {
    /// True when the file had a syntax error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn atom(&self, id: &str) -> Option<&Atom> {
        self.atoms.iter().find(|a| a.id == id)
    }

    /// The source rebuilt from the atoms' byte ranges (byte-identical to the input).
    pub fn reassemble(&self, source: &str) -> String {
        let mut out = String::with_capacity(source.len());
        for a in &self.atoms {
            out.push_str(&source[a.start_byte..a.end_byte]);
        }
        out
    }

    /// Checks that the atoms tile `0..bytes`: the first starts at 0, each starts where the
    /// previous ended, the last ends at `bytes`, none is empty. Returns the first violation.
    pub fn check_tiling(&self) -> Result<(), String> {
        let mut pos = 0usize;
        for a in &self.atoms {
            if a.start_byte != pos {
                return Err(format!(
                    "{}: atom {} starts at byte {} but the previous ended at {}",
                    self.path, a.id, a.start_byte, pos
                ));
            }
            if a.end_byte <= a.start_byte && self.bytes > 0 {
                return Err(format!("{}: atom {} is empty", self.path, a.id));
            }
            pos = a.end_byte;
        }
        if pos != self.bytes {
            return Err(format!(
                "{}: atoms end at byte {} but the file has {} bytes",
                self.path, pos, self.bytes
            ));
        }
        Ok(())
    }
}
