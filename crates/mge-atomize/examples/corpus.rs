fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut n = 0;
    let mut atoms = 0;
    let mut over = 0;
    let mut errs = 0;
    for line in std::io::stdin().lines() {
        let p = line.unwrap();
        let Ok(src) = std::fs::read_to_string(&p) else {
            continue;
        };
        let Some(lang) = mge_core::Language::from_path(&p) else {
            continue;
        };
        let f = mge_atomize::atomize(&p, &src, lang, &Default::default());
        n += 1;
        atoms += f.atoms.len();
        if let Err(e) = f.check_tiling() {
            println!("TILING {e}");
        }
        if f.has_errors() {
            errs += 1;
        }
        for a in &f.atoms {
            if a.loc > 15 {
                over += 1;
                if args.len() > 1 {
                    println!(
                        "OVER {} {} {} {:?}",
                        p,
                        a.qualified_name,
                        a.loc,
                        f.diagnostics
                            .iter()
                            .map(|d| (d.line, &d.code))
                            .collect::<Vec<_>>()
                    );
                }
            }
        }
    }
    println!("files={n} atoms={atoms} over={over} errs={errs}");
}
