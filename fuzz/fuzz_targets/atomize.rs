//! Fuzz target: atomization of arbitrary bytes (as UTF-8 text) in every grammar never panics,
//! and the atoms always tile the input and reassemble it byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mge_atomize::{atomize, Config};
use mge_core::Language;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let config = Config {
        target_loc: 1 + (data.len() % 10) as u32,
        max_loc: 15,
    };
    for (path, lang) in [
        ("f.py", Language::Python),
        ("f.ts", Language::TypeScript),
        ("f.tsx", Language::TypeScript),
        ("f.js", Language::JavaScript),
    ] {
        let f = atomize(path, src, lang, &config);
        if let Err(e) = f.check_tiling() {
            panic!("{e}");
        }
        assert_eq!(f.reassemble(src), src);
    }
});
