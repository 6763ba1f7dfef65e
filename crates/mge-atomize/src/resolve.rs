//! Module specifiers to plan files: Python dotted and relative modules, TS/JS relative
//! specifiers with extension and `index` probing. Paths are project-relative and `/`-separated.

use mge_core::Language;
use rustc_hash::FxHashMap as HashMap;

/// The directory part of a path (`""` for a top-level file).
pub(crate) fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => "",
    }
}

fn join(dir: &str, rest: &str) -> String {
    if dir.is_empty() {
        rest.to_string()
    } else if rest.is_empty() {
        dir.to_string()
    } else {
        format!("{dir}/{rest}")
    }
}

/// Normalizes `.` and `..` segments; `None` when the path climbs above the root.
fn normalize(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            s => out.push(s),
        }
    }
    Some(out.join("/"))
}

/// Finds the file a module specifier names, among `files` (path → index).
pub(crate) fn resolve_module(
    files: &HashMap<&str, usize>,
    importer: &str,
    language: Language,
    spec: &str,
) -> Option<usize> {
    match language {
        Language::Python => resolve_python(files, importer, spec),
        Language::TypeScript | Language::JavaScript => resolve_script(files, importer, spec),
    }
}

/// Writes `base/rel` into `buf` (either part may be empty), the way [`join`] does.
fn join_into(buf: &mut String, base: &str, rel: &str) {
    buf.clear();
    buf.push_str(base);
    if !base.is_empty() && !rel.is_empty() {
        buf.push('/');
    }
    buf.push_str(rel);
}

/// The first of `p.py`, `p/__init__.py`, `p.pyi`, `p/__init__.pyi` present in `files`, where
/// `p` is `base` joined with the dotted module as a path. One buffer, no allocation per probe.
fn first_python(
    files: &HashMap<&str, usize>,
    buf: &mut String,
    base: &str,
    dotted: &str,
) -> Option<usize> {
    join_into(buf, base, "");
    if !base.is_empty() && !dotted.is_empty() {
        buf.push('/');
    }
    buf.extend(dotted.chars().map(|c| if c == '.' { '/' } else { c }));
    let stem = buf.len();
    for suffix in [".py", "/__init__.py", ".pyi", "/__init__.pyi"] {
        buf.truncate(stem);
        // An empty stem gives `/__init__.py` where `join` gives `__init__.py`.
        let tail = if stem == 0 {
            suffix.trim_start_matches('/')
        } else {
            suffix
        };
        buf.push_str(tail);
        if buf.starts_with(".py") {
            continue;
        }
        if let Some(&i) = files.get(buf.as_str()) {
            return Some(i);
        }
    }
    None
}

fn first_present(files: &HashMap<&str, usize>, candidates: &[String]) -> Option<usize> {
    candidates
        .iter()
        .filter(|c| !c.is_empty() && !c.starts_with(".py"))
        .find_map(|c| files.get(c.as_str()).copied())
}

fn resolve_python(files: &HashMap<&str, usize>, importer: &str, spec: &str) -> Option<usize> {
    let dots = spec.bytes().take_while(|&b| b == b'.').count();
    let rest = &spec[dots..];
    let mut buf = String::with_capacity(importer.len() + spec.len() + 16);
    if dots > 0 {
        let mut base = dir_of(importer);
        for _ in 1..dots {
            base = dir_of(base);
        }
        if rest.is_empty() {
            return first_present(
                files,
                &[join(base, "__init__.py"), join(base, "__init__.pyi")],
            );
        }
        return first_python(files, &mut buf, base, rest);
    }
    // Absolute: from the project root, then from each directory above the importer (script
    // directories and `src/` layouts put those on `sys.path`).
    if let Some(i) = first_python(files, &mut buf, "", rest) {
        return Some(i);
    }
    let mut dir = dir_of(importer);
    while !dir.is_empty() {
        if let Some(i) = first_python(files, &mut buf, dir, rest) {
            return Some(i);
        }
        dir = dir_of(dir);
    }
    None
}

const SCRIPT_EXTENSIONS: [&str; 9] = ["ts", "tsx", "d.ts", "mts", "cts", "js", "jsx", "mjs", "cjs"];

fn resolve_script(files: &HashMap<&str, usize>, importer: &str, spec: &str) -> Option<usize> {
    if !(spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == "..") {
        return None;
    }
    let joined = normalize(&join(dir_of(importer), spec))?;
    if let Some(i) = probe_script(files, &joined) {
        return Some(i);
    }
    // Tests often import the build output (`../dist/index.js`) of sources under `src/`.
    for (prefix, inner) in [
        ("dist/", "/dist/"),
        ("build/", "/build/"),
        ("lib/", "/lib/"),
        ("out/", "/out/"),
    ] {
        let mapped = if let Some(rest) = joined.strip_prefix(prefix) {
            format!("src/{rest}")
        } else if let Some(i) = joined.find(inner) {
            format!("{}/src/{}", &joined[..i], &joined[i + inner.len()..])
        } else {
            continue;
        };
        if let Some(i) = probe_script(files, &mapped) {
            return Some(i);
        }
    }
    None
}

/// Below this many files, a probe first checks that some file starts like every candidate.
const PREFIX_SCAN_MAX_FILES: usize = 64;

fn probe_script(files: &HashMap<&str, usize>, joined: &str) -> Option<usize> {
    if let Some(&i) = files.get(joined) {
        return Some(i);
    }
    // `./b.js` in TS ESM code names `b.ts`.
    let stem = [".js", ".jsx", ".mjs", ".cjs"]
        .iter()
        .find_map(|ext| joined.strip_suffix(ext));
    // Every candidate starts with the stem (or with the whole specifier path).
    let prefix = stem.unwrap_or(joined);
    if files.len() <= PREFIX_SCAN_MAX_FILES && !files.keys().any(|f| f.starts_with(prefix)) {
        return None;
    }
    let mut buf = String::with_capacity(joined.len() + 16);
    let mut probe = |base: &str, sep: &str, e: &str| {
        buf.clear();
        buf.push_str(base);
        buf.push_str(sep);
        buf.push_str(e);
        files.get(buf.as_str()).copied()
    };
    if let Some(stem) = stem {
        if let Some(i) = SCRIPT_EXTENSIONS.iter().find_map(|e| probe(stem, ".", e)) {
            return Some(i);
        }
    }
    if let Some(i) = SCRIPT_EXTENSIONS.iter().find_map(|e| probe(joined, ".", e)) {
        return Some(i);
    }
    let sep = if joined.is_empty() {
        "index."
    } else {
        "/index."
    };
    SCRIPT_EXTENSIONS.iter().find_map(|e| probe(joined, sep, e))
}

/// True when the specifier names a module of the project rather than a package (Python
/// relative imports, TS/JS `./` and `../` specifiers). Absolute Python modules may be either.
pub(crate) fn is_relative(spec: &str) -> bool {
    spec.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(paths: &[&'static str]) -> HashMap<&'static str, usize> {
        paths.iter().enumerate().map(|(i, p)| (*p, i)).collect()
    }

    #[test]
    fn python_modules_resolve_relative_absolute_and_packages() {
        let files = index(&[
            "app/__init__.py",
            "app/models.py",
            "app/sub/service.py",
            "src/lib/util.py",
        ]);
        let py = Language::Python;
        assert_eq!(
            resolve_module(&files, "app/sub/service.py", py, "..models"),
            Some(1)
        );
        assert_eq!(
            resolve_module(&files, "app/sub/service.py", py, ".."),
            Some(0)
        );
        assert_eq!(resolve_module(&files, "app/models.py", py, "."), Some(0));
        assert_eq!(
            resolve_module(&files, "app/sub/service.py", py, "app.models"),
            Some(1)
        );
        assert_eq!(
            resolve_module(&files, "app/sub/service.py", py, "app"),
            Some(0)
        );
        assert_eq!(
            resolve_module(&files, "src/lib/x.py", py, "lib.util"),
            Some(3)
        );
        assert_eq!(resolve_module(&files, "app/models.py", py, "os.path"), None);
        assert_eq!(resolve_module(&files, "app/models.py", py, "...up"), None);
    }

    #[test]
    fn script_specifiers_probe_extensions_and_index_files() {
        let files = index(&["src/a.ts", "src/lib/index.ts", "src/c.tsx", "web/d.js"]);
        let ts = Language::TypeScript;
        assert_eq!(resolve_module(&files, "src/b.ts", ts, "./a"), Some(0));
        assert_eq!(resolve_module(&files, "src/b.ts", ts, "./a.js"), Some(0));
        assert_eq!(resolve_module(&files, "src/b.ts", ts, "./lib"), Some(1));
        assert_eq!(resolve_module(&files, "src/lib/x.ts", ts, "../c"), Some(2));
        assert_eq!(
            resolve_module(&files, "src/b.ts", ts, "../web/d.js"),
            Some(3)
        );
        assert_eq!(resolve_module(&files, "src/b.ts", ts, "react"), None);
        assert_eq!(resolve_module(&files, "b.ts", ts, "../../x"), None);
        assert_eq!(
            resolve_module(&files, "tests/t.mjs", ts, "../dist/a.js"),
            Some(0)
        );
    }
}
