//! The atomic level checks the arity of a generated atom's calls: callables of the plan
//! (in the file, through `self.`, across files when the context has the sources, dataclass
//! constructors), Python builtins the file does not rebind, and standard-library functions
//! reached through imports. Each rule with a faulty call and with correct or unknowable ones.

use mge_atomize::Config;
use mge_validate::atomic::{AtomInput, AtomLimits, AtomicContext};
use mge_validate::Project;

/// Violations of the atomic check when the atom named `atom` of `path` is replaced by
/// `generated` (the other files as given). The atom's range starts after the blank lines
/// before it, so positions count lines from the start of `generated` there. `with_sources`: the context knows every source.
fn check(
    files: &[(&str, &str)],
    path: &str,
    atom: &str,
    generated: &str,
    with_sources: bool,
) -> Vec<String> {
    let mut p = Project::new();
    for (f, s) in files {
        p.insert(*f, *s);
    }
    let atomized = p.atomize(&Config::default());
    let mut context = AtomicContext::new(atomized.clone());
    if with_sources {
        context = context.with_sources(
            p.files()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        );
    }
    let file = atomized.iter().find(|f| f.path == path).unwrap();
    let a = file.atoms.iter().find(|a| a.name == atom).unwrap();
    let base = p.get(path).unwrap();
    let r = context
        .validate(&AtomInput {
            path,
            language: file.language,
            base_source: base,
            range: a.start_byte..a.end_byte,
            generated,
            expected: a,
            plan_files: &atomized,
            context_names: &[],
            limits: AtomLimits::default(),
        })
        .unwrap();
    r.violations.iter().map(|v| v.to_string()).collect()
}

fn one(path: &str, src: &str, atom: &str, generated: &str) -> Vec<String> {
    check(&[(path, src)], path, atom, generated, false)
}

#[test]
fn builtins_are_checked_unless_the_file_rebinds_them() {
    let src = "def size(items):\n    return len(items)\n";
    assert_eq!(
        one("m.py", src, "size", "def size(items):\n    return len()\n"),
        ["m.py:2:12: missing_argument: 'len' is missing argument 'obj' (obj)"]
    );
    assert_eq!(
        one("m.py", src, "size", "def size(items):\n    return len(items, 1)\n"),
        ["m.py:2:12: too_many_arguments: 'len' takes at most 1 positional argument(s) (obj) but 2 were given"]
    );
    let kinds = "def kinds(xs):\n    return isinstance(xs, list) and sorted(xs, key=len)\n";
    assert_eq!(one("m.py", kinds, "kinds", kinds), Vec::<String>::new());
    assert_eq!(
        one("m.py", kinds, "kinds", "def kinds(xs):\n    return isinstance(xs) and sorted(xs, key=len)\n"),
        ["m.py:2:12: missing_argument: 'isinstance' is missing argument 'class_or_tuple' (obj, class_or_tuple)"]
    );
    assert_eq!(
        one("m.py", kinds, "kinds", "def kinds(xs):\n    return isinstance(xs, list) and sorted(xs, reversed=True)\n"),
        ["m.py:2:37: unexpected_keyword: 'sorted' has no parameter 'reversed' (iterable, key=, reverse=)"]
    );
    // A parameter, a local or a module-level definition named like a builtin is not it.
    let param = "def size(len):\n    return len(1, 2)\n";
    assert_eq!(one("m.py", param, "size", param), Vec::<String>::new());
    let local = "def size(xs):\n    len = lambda a, b: a\n    return len(xs, 2)\n";
    assert_eq!(one("m.py", local, "size", local), Vec::<String>::new());
    let module = "def len(a, b):\n    return a\n\n\ndef size(xs):\n    return len(xs, 2)\n";
    assert_eq!(one("m.py", module, "size", module), Vec::<String>::new());
    // Exception classes take any arguments.
    let raise = "def fail():\n    raise ValueError(\"bad\")\n";
    assert_eq!(
        one(
            "m.py",
            raise,
            "fail",
            "def fail():\n    raise ValueError()\n"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn standard_library_calls_are_checked_through_the_imports() {
    let src = "import re\nfrom heapq import heappush\n\n\ndef add(heap, item):\n    heappush(heap, item)\n    return re.compile(item)\n";
    assert_eq!(one("m.py", src, "add", &src[27..]), Vec::<String>::new());
    let bad = "def add(heap, item):\n    heappush(heap)\n    return re.compile()\n";
    assert_eq!(
        one("m.py", src, "add", bad),
        [
            "m.py:4:5: missing_argument: 'heapq.heappush' is missing argument 'item' (heap, item)",
            "m.py:5:12: missing_argument: 're.compile' is missing argument 'pattern' (pattern, flags=)",
        ]
    );
    // A name the table does not describe is not checked.
    let unknown = "import re\n\n\ndef f(x):\n    return re.no_such(x, 1, 2, 3)\n";
    assert_eq!(
        one("m.py", unknown, "f", &unknown[11..]),
        Vec::<String>::new()
    );
}

#[test]
fn plan_callables_are_checked_in_the_file_through_self_and_across_files() {
    let src = "class C:\n    def m(self, z):\n        return z\n\n    def use(self):\n        return self.m(1)\n";
    let bad = "    def use(self):\n        return self.m(1, 2)\n";
    assert_eq!(
        one("m.py", src, "use", bad),
        ["m.py:5:16: too_many_arguments: 'C.m' takes at most 1 positional argument(s) (z) but 2 were given"]
    );
    let lib = "def f(a, b=1):\n    return a\n";
    let user = "from .lib import f\n\n\ndef g():\n    return f(1)\n";
    let files = [
        ("pkg/__init__.py", ""),
        ("pkg/lib.py", lib),
        ("pkg/user.py", user),
    ];
    let bad = "def g():\n    return f()\n";
    assert_eq!(
        check(&files, "pkg/user.py", "g", bad, true),
        ["pkg/user.py:3:12: missing_argument: 'f' is missing argument 'a' (a, b=)"]
    );
    // Without the other file's source its signature is unknown.
    assert_eq!(
        check(&files, "pkg/user.py", "g", bad, false),
        Vec::<String>::new()
    );
    assert_eq!(
        check(
            &files,
            "pkg/user.py",
            "g",
            "def g():\n    return f(1, 2)\n",
            true
        ),
        Vec::<String>::new()
    );
}

#[test]
fn dataclass_constructors_take_their_fields() {
    let src = "from dataclasses import dataclass, field\n\n\n@dataclass(frozen=True)\nclass P:\n    x: int\n    y: int = 0\n    tags: list = field(default_factory=list)\n\n\n@dataclass\nclass Q(P):\n    z: str = \"\"\n\n\ndef make():\n    return P(1), Q(1, 2, [], \"a\")\n";
    assert_eq!(
        one("m.py", src, "make", &src[src.find("def make").unwrap()..]),
        Vec::<String>::new()
    );
    assert_eq!(
        one("m.py", src, "make", "def make():\n    return P(), Q(1, 2, [], \"a\", 5)\n"),
        [
            "m.py:15:12: missing_argument: 'P.__init__' is missing argument 'x' (x, y=, tags=)",
            "m.py:15:17: too_many_arguments: 'Q.__init__' takes at most 4 positional argument(s) (x, y=, tags=, z=) but 5 were given",
        ]
    );
    // A dataclass with an __init__ of its own, or init=False, is checked against that or not.
    let own = "from dataclasses import dataclass\n\n\n@dataclass(init=False)\nclass R:\n    x: int\n\n\ndef make():\n    return R()\n";
    assert_eq!(
        one("m.py", own, "make", &own[own.find("def make").unwrap()..]),
        Vec::<String>::new()
    );
}
