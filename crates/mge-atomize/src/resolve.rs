//! Module specifiers to plan files: Python dotted and relative modules, TS/JS relative
//! specifiers with extension and `index` probing. Paths are project-relative and `/`-separated.

use std::collections::HashMap;

use mge_core::Language;

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

fn python_candidates(base: &str, dotted: &str) -> [String; 4] {
    let rel = dotted.replace('.', "/");
    let p = join(base, &rel);
    [
        format!("{p}.py"),
        join(&p, "__init__.py"),
        format!("{p}.pyi"),
        join(&p, "__init__.pyi"),
    ]
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
    if dots > 0 {
        let mut base = dir_of(importer).to_string();
        for _ in 1..dots {
            base = dir_of(&base).to_string();
        }
        if rest.is_empty() {
            return first_present(
                files,
                &[join(&base, "__init__.py"), join(&base, "__init__.pyi")],
            );
        }
        return first_present(files, &python_candidates(&base, rest));
    }
    // Absolute: from the project root, then from each directory above the importer (script
    // directories and `src/` layouts put those on `sys.path`).
    if let Some(i) = first_present(files, &python_candidates("", rest)) {
        return Some(i);
    }
    let mut dir = dir_of(importer);
    while !dir.is_empty() {
        if let Some(i) = first_present(files, &python_candidates(dir, rest)) {
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
    for out_dir in ["dist", "build", "lib", "out"] {
        let prefix = format!("{out_dir}/");
        let inner = format!("/{out_dir}/");
        let mapped = if let Some(rest) = joined.strip_prefix(&prefix) {
            format!("src/{rest}")
        } else if let Some(i) = joined.find(&inner) {
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

fn probe_script(files: &HashMap<&str, usize>, joined: &str) -> Option<usize> {
    if let Some(&i) = files.get(joined) {
        return Some(i);
    }
    let mut candidates = Vec::new();
    // `./b.js` in TS ESM code names `b.ts`.
    for ext in [".js", ".jsx", ".mjs", ".cjs"] {
        if let Some(stem) = joined.strip_suffix(ext) {
            for e in SCRIPT_EXTENSIONS {
                candidates.push(format!("{stem}.{e}"));
            }
        }
    }
    for e in SCRIPT_EXTENSIONS {
        candidates.push(format!("{joined}.{e}"));
    }
    for e in SCRIPT_EXTENSIONS {
        candidates.push(join(joined, &format!("index.{e}")));
    }
    first_present(files, &candidates)
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
