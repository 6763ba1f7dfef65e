//! A fixed-work driver for instruction-count profiling (`valgrind --tool=callgrind`): parses or
//! atomizes the given files `ROUNDS` times (default 1) on one thread, so the two totals of the
//! same files can be compared.
//!
//! `cargo run --release -p mge-atomize --example profile_atomize -- parse|atomize FILE...`
//!
//! With `dump`, every file's whole atomization is printed as one JSON line (to compare two
//! builds byte for byte); files that are not UTF-8 are left out.

use mge_atomize::{atomize, parse::parse, Config, Grammar};
use mge_core::Language;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let files: Vec<(String, Language, String)> = args
        .filter_map(|path| {
            let language = Language::from_path(&path)
                .unwrap_or_else(|| panic!("{path}: not a Python, TypeScript or JavaScript file"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Some((path, language, text)),
                Err(e) if mode == "dump" => {
                    eprintln!("{path}: skipped: {e}");
                    None
                }
                Err(e) => panic!("{path}: cannot be read: {e}"),
            }
        })
        .collect();
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let config = Config::default();
    let mut atoms = 0usize;
    for _ in 0..rounds {
        for (path, language, text) in &files {
            match mode.as_str() {
                "parse" => {
                    let tree = parse(Grammar::for_file(path, *language), text);
                    atoms += usize::from(tree.is_some());
                }
                "atomize" => atoms += atomize(path, text, *language, &config).atoms.len(),
                "dump" => {
                    let file = atomize(path, text, *language, &config);
                    atoms += file.atoms.len();
                    println!("{}", serde_json::to_string(&file).expect("atoms serialize"));
                }
                _ => panic!("mode must be `parse`, `atomize` or `dump`, not `{mode}`"),
            }
        }
    }
    println!("{mode}: {} files, {atoms} results", files.len());
}
