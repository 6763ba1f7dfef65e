//! Tree facts behind the atomicity rules that need more than counting: which calls are
//! nondeterministic, which are side effects, and whether a callable's inputs and output are
//! typed or documented.

use std::sync::OnceLock;

use rustc_hash::FxHashSet as HashSet;
use tree_sitter::Node;

use crate::parse::{child_by_field, kind_of, named_children_into};

use crate::classify::text;

/// Calls and attribute reads whose result depends on the clock, randomness or the environment.
const NONDETERMINISTIC: &[&str] = &[
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.perf_counter",
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "uuid1",
    "uuid4",
    "os.urandom",
    "os.getenv",
    "os.environ",
    "Date.now",
    "new Date",
    "Math.random",
    "crypto.randomUUID",
    "crypto.getRandomValues",
    "performance.now",
    "process.env",
    "process.hrtime",
];
/// Module prefixes that are nondeterministic as a whole.
const NONDETERMINISTIC_MODULES: &[&str] = &["random.", "secrets."];

/// Calls that touch files, the console, processes or the network.
const SIDE_EFFECTS: &[&str] = &[
    "open",
    "print",
    "input",
    "exit",
    "sys.exit",
    "os.system",
    "os.remove",
    "os.unlink",
    "os.mkdir",
    "os.makedirs",
    "os.rename",
    "os.rmdir",
    "write_text",
    "write_bytes",
    "fetch",
    "process.exit",
    "new XMLHttpRequest",
    "new WebSocket",
    "localStorage.setItem",
    "document.write",
    "execSync",
    "spawnSync",
    "writeFile",
    "writeFileSync",
    "appendFile",
    "appendFileSync",
    "unlinkSync",
    "mkdirSync",
];
const SIDE_EFFECT_MODULES: &[&str] = &[
    "subprocess.",
    "shutil.",
    "requests.",
    "urllib.",
    "socket.",
    "httpx.",
    "console.",
    "fs.",
    "axios.",
    "child_process.",
];

/// Whether `callee` is one of `names` or ends with `.` and one of them, or starts with one of
/// `modules`. `last_segments` holds the part after the last `.` of every name: a name can
/// match only a callee that ends with the same segment, so most callees are ruled out by one
/// lookup.
fn matches(
    callee: &str,
    names: &[&str],
    last_segments: &HashSet<&'static str>,
    modules: &[&str],
) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    (last_segments.contains(last)
        && names.iter().any(|p| {
            callee == *p
                || callee
                    .strip_suffix(p)
                    .is_some_and(|rest| rest.ends_with('.'))
        }))
        || modules.iter().any(|m| callee.starts_with(m))
}

/// The parts after the last `.` of `names`.
fn last_segments(names: &[&'static str]) -> HashSet<&'static str> {
    names
        .iter()
        .map(|n| n.rsplit('.').next().unwrap_or(n))
        .collect()
}

pub(crate) fn is_nondeterministic(callee: &str) -> bool {
    static LAST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let last = LAST.get_or_init(|| last_segments(NONDETERMINISTIC));
    matches(callee, NONDETERMINISTIC, last, NONDETERMINISTIC_MODULES)
}

pub(crate) fn is_side_effect(callee: &str) -> bool {
    static LAST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let last = LAST.get_or_init(|| last_segments(SIDE_EFFECTS));
    matches(callee, SIDE_EFFECTS, last, SIDE_EFFECT_MODULES)
}

/// For a callable definition: the first parameter (other than `self`/`cls`/`this`) that has
/// neither a type nor a mention in the docstring, or an undocumented, unannotated returned
/// value. `None` when inputs and output are clear.
pub(crate) fn unclear_io(src: &str, def: Node, doc: Option<&str>, python: bool) -> Option<String> {
    let doc = doc.unwrap_or("");
    let func = function_node(def);
    let params = func
        .child_by_field_name("parameters")
        .or_else(|| child_by_field(func, "parameter"));
    if let Some(params) = params {
        let mut list: Vec<Node> = Vec::new();
        if kind_of(params) == "identifier" {
            list.push(params);
        } else {
            named_children_into(params, &mut list);
        }
        for (i, p) in list.iter().enumerate() {
            let (name, typed) = param_info(src, *p);
            if name.is_empty() || (i == 0 && python && (name == "self" || name == "cls")) {
                continue;
            }
            if name == "this" {
                continue;
            }
            if !typed && !mentions(doc, &name) {
                return Some(format!(
                    "parameter '{name}' has no type and is not documented"
                ));
            }
        }
    }
    if child_by_field(func, "return_type").is_some() {
        return None;
    }
    let lower = doc.to_ascii_lowercase();
    if lower.contains("return") || lower.contains("yield") {
        return None;
    }
    if returns_value(src, func) {
        return Some("returns a value without a return type or documentation".to_string());
    }
    None
}

/// The function node of a definition (a field holding an arrow function gives the arrow).
fn function_node(def: Node) -> Node {
    if kind_of(def).ends_with("field_definition") {
        if let Some(v) = child_by_field(def, "value") {
            return v;
        }
    }
    def
}

fn mentions(doc: &str, name: &str) -> bool {
    let bare = name.trim_start_matches('*');
    !bare.is_empty()
        && doc
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == bare)
}

/// Name of a parameter and whether it is annotated.
fn param_info(src: &str, p: Node) -> (String, bool) {
    match kind_of(p) {
        "identifier" => (text(src, p).to_string(), false),
        "typed_parameter" | "typed_default_parameter" => {
            let name = p
                .child_by_field_name("name")
                .or_else(|| p.named_child(0))
                .map(|n| text(src, n).trim_start_matches('*').to_string())
                .unwrap_or_default();
            (name, true)
        }
        "default_parameter" => (
            child_by_field(p, "name")
                .map(|n| text(src, n).to_string())
                .unwrap_or_default(),
            false,
        ),
        "list_splat_pattern" | "dictionary_splat_pattern" => (
            p.named_child(0)
                .map(|n| text(src, n).to_string())
                .unwrap_or_default(),
            false,
        ),
        "required_parameter" | "optional_parameter" => {
            let name = p
                .child_by_field_name("pattern")
                .or_else(|| child_by_field(p, "name"))
                .map(|n| text(src, n).to_string())
                .unwrap_or_default();
            (name, child_by_field(p, "type").is_some())
        }
        "assignment_pattern" => (
            child_by_field(p, "left")
                .map(|n| text(src, n).to_string())
                .unwrap_or_default(),
            false,
        ),
        "rest_pattern" => (
            p.named_child(0)
                .map(|n| text(src, n).to_string())
                .unwrap_or_default(),
            false,
        ),
        "comment" | "positional_separator" | "keyword_separator" => (String::new(), true),
        _ => (text(src, p).to_string(), false),
    }
}

/// True when the function returns a value (a `return expr`, a `yield`, or an arrow function
/// with an expression body), nested functions excluded.
fn returns_value(src: &str, func: Node) -> bool {
    let Some(body) = child_by_field(func, "body") else {
        return false;
    };
    if kind_of(func) == "arrow_function" && kind_of(body) != "statement_block" {
        return true;
    }
    // The nodes looked for hold the `return` or `yield` keyword: without either, no tree walk.
    let Some(text) = src.get(body.byte_range()) else {
        return false;
    };
    if !text.contains("return") && !text.contains("yield") {
        return false;
    }
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        match kind_of(n) {
            "return_statement" if n.named_child_count() > 0 => return true,
            "yield" | "yield_expression" => return true,
            "function_definition"
            | "class_definition"
            | "lambda"
            | "function_declaration"
            | "function_expression"
            | "arrow_function"
            | "class_declaration"
            | "method_definition" => {}
            _ => named_children_into(n, &mut stack),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_patterns_match_whole_segments() {
        assert!(is_nondeterministic("time.time"));
        assert!(is_nondeterministic("datetime.datetime.now"));
        assert!(is_nondeterministic("random.choice"));
        assert!(is_nondeterministic("Math.random"));
        assert!(!is_nondeterministic("runtime.time_left"));
        assert!(!is_nondeterministic("mytime.time2"));
        assert!(is_side_effect("print"));
        assert!(is_side_effect("console.log"));
        assert!(is_side_effect("path.write_text"));
        assert!(!is_side_effect("reprint"));
        assert!(!is_side_effect("self.opened"));
    }
}
