//! Properties over arbitrary input: atomization never panics; the atoms always tile the file and
//! reassemble it byte for byte; parseable input never yields an `unparsed` atom.

use mge_atomize::{atomize, AtomKind, Config};
use mge_core::Language;
use proptest::prelude::*;

/// Source-like text: fragments of the four grammars glued with arbitrary separators.
fn source() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("def f(a, b=1):\n    return a + b\n".to_string()),
        Just("class C(B):\n    x: int = 0\n    def m(self):\n        return self.x\n".to_string()),
        Just("import os\nfrom .m import y as z\n".to_string()),
        Just("if __name__ == '__main__':\n    f(1)\n".to_string()),
        Just("    for i in range(3):\n        pass\n".to_string()),
        Just("export function g(x: number): number { return x; }\n".to_string()),
        Just("class K extends Base { m() { return this.n(); } }\n".to_string()),
        Just("const h = async (x) => { await x; };\n".to_string()),
        Just("import { a as b } from './b';\n".to_string()),
        Just("/* comment */\n// line\n# hash\n".to_string()),
        Just("\r\n\t\u{feff}é✓\n".to_string()),
        "[ -~\\n\\t]{0,40}",
        "\\PC{0,20}",
    ];
    prop::collection::vec(fragment, 0..12).prop_map(|v| v.concat())
}

fn check_invariants(path: &str, src: &str, lang: Language, config: &Config) {
    let f = atomize(path, src, lang, config);
    f.check_tiling().unwrap();
    assert_eq!(f.reassemble(src), src);
    if !f.has_errors() {
        assert!(f.atoms.iter().all(|a| a.kind != AtomKind::Unparsed));
    }
    for a in &f.atoms {
        assert!(a.start_line <= a.end_line);
        assert!((0.0..=1.0).contains(&a.context_completeness));
        assert_eq!(a.atomicity.criteria.len(), 10);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn python_input_always_tiles(src in source(), target in 1u32..12, extra in 0u32..8) {
        let config = Config { target_loc: target, max_loc: target + extra };
        check_invariants("p.py", &src, Language::Python, &config);
    }

    #[test]
    fn script_input_always_tiles(src in source(), target in 1u32..12, extra in 0u32..8) {
        let config = Config { target_loc: target, max_loc: target + extra };
        check_invariants("s.ts", &src, Language::TypeScript, &config);
        check_invariants("s.tsx", &src, Language::TypeScript, &config);
        check_invariants("s.js", &src, Language::JavaScript, &config);
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        for (path, lang) in [("a.py", Language::Python), ("a.ts", Language::TypeScript), ("a.jsx", Language::JavaScript)] {
            check_invariants(path, &src, lang, &Config::default());
        }
    }
}
