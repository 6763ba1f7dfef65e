fn main() {
    let args: Vec<String> = std::env::args().collect();
    let src = std::fs::read_to_string(&args[1]).unwrap();
    let lang = mge_core::Language::from_path(&args[1]).unwrap();
    let f = mge_atomize::atomize(&args[1], &src, lang, &Default::default());
    for a in &f.atoms {
        println!(
            "{:>4}-{:<4} {:<16} {:<30} loc={} cc={} score={:.1} cc={:.2} par={:?} defs={:?}",
            a.start_line,
            a.end_line,
            a.kind.as_str(),
            a.qualified_name,
            a.loc,
            a.complexity,
            a.atomicity.score,
            a.context_completeness,
            a.parent.as_deref().map(|p| p.rsplit("::").next().unwrap()),
            a.defines
        );
        for r in &a.references {
            println!("            ref {:?} {} ", r.kind, r.dotted());
        }
        if std::env::var("SIG").is_ok() {
            println!(
                "            sig={:?} doc={:?} mods={:?}",
                a.signature, a.docstring, a.modifiers
            );
        }
    }
    for i in &f.imports {
        println!("import {:?}", i);
    }
    for d in &f.diagnostics {
        println!("diag {:?}", d);
    }
    println!("tiling: {:?}", f.check_tiling());
    assert_eq!(f.reassemble(&src), src);
}
