fn main() {
    let args: Vec<String> = std::env::args().collect();
    let src = std::fs::read_to_string(&args[1]).unwrap();
    let lang = mge_core::Language::from_path(&args[1]).unwrap();
    let g = mge_atomize::Grammar::for_file(&args[1], lang);
    let tree = mge_atomize::parse::parse(g, &src).unwrap();
    let mut c = tree.walk();
    let mut depth = 0;
    loop {
        let n = c.node();
        if n.is_named() || std::env::var("ALL").is_ok() {
            println!(
                "{}{}{} {}..{} {:?}",
                "  ".repeat(depth),
                c.field_name().map(|f| format!("{f}: ")).unwrap_or_default(),
                n.kind(),
                n.start_position().row + 1,
                n.end_position().row + 1,
                if n.child_count() == 0 {
                    &src[n.byte_range()]
                } else {
                    ""
                }
            );
        }
        if c.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if c.goto_next_sibling() {
                break;
            }
            if !c.goto_parent() {
                return;
            }
            depth -= 1;
        }
    }
}
