//! Edge rules found by checking the fixture plans' edges by hand: each test is one small plan
//! holding the case, with every link written down.

use expect_test::{expect, Expect};
use mge_atomize::{atomize, link, rescore, AtomizedFile, Config};
use mge_core::Language;

fn files(sources: &[(&str, &str)]) -> Vec<AtomizedFile> {
    let mut files: Vec<AtomizedFile> = sources
        .iter()
        .map(|(p, s)| atomize(p, s, Language::from_path(p).unwrap(), &Config::default()))
        .collect();
    rescore(&mut files, true);
    files
}

fn check_links(sources: &[(&str, &str)], expect: Expect) {
    let files = files(sources);
    let linkage = link(&files);
    let mut out = String::new();
    for l in &linkage.links {
        out.push_str(&format!(
            "{} -> {} {} {}\n",
            l.provider, l.dependent, l.kind, l.symbol
        ));
    }
    for u in &linkage.unresolved {
        out.push_str(&format!(
            "unresolved {} in {}: {}\n",
            u.symbol, u.atom, u.reason
        ));
    }
    expect.assert_eq(&out);
}

#[test]
fn a_method_called_on_a_module_constant_is_a_data_use() {
    // `WORD_RE.findall()` uses the constant's value; `helper()` calls a function.
    check_links(
        &[(
            "words.py",
            "import re\n\nWORD_RE = re.compile(r\"\\w+\")\n\n\ndef helper(text):\n    return text\n\n\ndef words(text):\n    return WORD_RE.findall(helper(text))\n",
        )],
        expect![[r#"
            words.py::WORD_RE#0 -> words.py::words#0 data WORD_RE.findall
            words.py::helper#0 -> words.py::words#0 control helper
        "#]],
    );
}

#[test]
fn a_typescript_method_called_on_a_module_constant_is_a_data_use() {
    check_links(
        &[(
            "src/words.ts",
            "const SPLITTER = /\\s+/;\n\nexport function words(text: string): string[] {\n  return text.split(SPLITTER).filter(Boolean);\n}\n\nexport const REGISTRY = new Map<string, number>();\n\nexport function register(name: string): void {\n  REGISTRY.set(name, words(name).length);\n}\n",
        )],
        expect![[r#"
            src/words.ts::REGISTRY#0 -> src/words.ts::register#0 data REGISTRY.set
            src/words.ts::SPLITTER#0 -> src/words.ts::words#0 data SPLITTER
            src/words.ts::words#0 -> src/words.ts::register#0 control words
        "#]],
    );
}

#[test]
fn an_import_through_a_package_reexport_also_needs_the_definition() {
    // `from util import to_money` goes through `util/__init__.py`: the import atom depends on
    // the re-exporting import and on `to_money` itself.
    check_links(
        &[
            ("util/__init__.py", "from .numbers import to_money\n"),
            (
                "util/numbers.py",
                "def to_money(value):\n    return round(value, 2)\n",
            ),
            (
                "shop/item.py",
                "from util import to_money\n\n\ndef price(value):\n    return to_money(value)\n",
            ),
        ],
        expect![[r#"
            shop/item.py::<import>#0 -> shop/item.py::price#0 import to_money
            util/__init__.py::<import>#0 -> shop/item.py::<import>#0 import to_money
            util/numbers.py::to_money#0 -> shop/item.py::<import>#0 import to_money
            util/numbers.py::to_money#0 -> shop/item.py::price#0 control to_money
            util/numbers.py::to_money#0 -> util/__init__.py::<import>#0 import to_money
        "#]],
    );
}

#[test]
fn a_typescript_import_through_an_index_barrel_also_needs_the_definition() {
    check_links(
        &[
            ("src/math/index.ts", "export { Vec2 } from './vector';\n"),
            (
                "src/math/vector.ts",
                "export class Vec2 {\n  constructor(public x: number, public y: number) {}\n}\n",
            ),
            (
                "src/shape.ts",
                "import { Vec2 } from './math';\n\nexport function origin(): Vec2 {\n  return new Vec2(0, 0);\n}\n",
            ),
        ],
        expect![[r#"
            src/math/index.ts::<import>#0 -> src/shape.ts::<import>#0 import Vec2
            src/math/vector.ts::Vec2#0 -> src/math/index.ts::<import>#0 import Vec2
            src/math/vector.ts::Vec2#0 -> src/math/vector.ts::Vec2.constructor#0 contains Vec2.constructor
            src/math/vector.ts::Vec2#0 -> src/shape.ts::<import>#0 import Vec2
            src/math/vector.ts::Vec2#0 -> src/shape.ts::origin#0 control Vec2
            src/math/vector.ts::Vec2#0 -> src/shape.ts::origin#0 type Vec2
            src/shape.ts::<import>#0 -> src/shape.ts::origin#0 import Vec2
        "#]],
    );
}

#[test]
fn string_annotations_are_forward_references_to_types() {
    // `-> "Node"` and `list["Node"]` name the class; `Literal["leaf"]` values and builtins in
    // the string make no reference.
    check_links(
        &[(
            "tree.py",
            "from typing import Literal\n\n\nclass Node:\n    def children(self) -> list[\"Node\"]:\n        return []\n\n    def kind(self) -> Literal[\"leaf\", \"branch\"]:\n        return \"leaf\"\n\n\ndef first(nodes: \"list[Node] | None\") -> \"Node | None\":\n    return nodes[0] if nodes else None\n",
        )],
        expect![[r#"
            tree.py::Node#0 -> tree.py::Node.children#0 contains Node.children
            tree.py::Node#0 -> tree.py::Node.children#0 type Node
            tree.py::Node#0 -> tree.py::Node.kind#0 contains Node.kind
            tree.py::Node#0 -> tree.py::first#0 type Node
        "#]],
    );
}

#[test]
fn a_block_of_a_split_function_calling_its_cut_out_nested_function_depends_on_it() {
    // `find` is long enough to be split: `visit` is cut out, and the block that calls it
    // needs it; the recursive call inside `visit` makes no self-link.
    let mut body = String::from("def find(graph):\n    seen = set()\n\n    def visit(name):\n        seen.add(name)\n        for other in graph[name]:\n            if other not in seen:\n                visit(other)\n\n");
    for i in 0..30 {
        body.push_str(&format!("    step_{i} = len(seen) + {i}\n"));
    }
    body.push_str("    for name in sorted(graph):\n        visit(name)\n    return seen\n");
    check_links(
        &[("walk.py", &body)],
        expect![[r#"
            walk.py::find#0 -> walk.py::find.visit#0 contains find.visit
            walk.py::find#0 -> walk.py::find[2]#0 contains find[2]
            walk.py::find#0 -> walk.py::find[3]#0 contains find[3]
            walk.py::find#0 -> walk.py::find[4]#0 contains find[4]
            walk.py::find#0 -> walk.py::find[5]#0 contains find[5]
            walk.py::find.visit#0 -> walk.py::find[5]#0 control find.visit
        "#]],
    );
}

#[test]
fn a_nested_function_left_inside_its_function_makes_no_link() {
    check_links(
        &[(
            "small.py",
            "def outer(items):\n    def key(item):\n        return -item\n\n    return sorted(items, key=key)\n",
        )],
        expect![""],
    );
}

#[test]
fn calling_an_element_of_a_module_table_is_a_data_use() {
    check_links(
        &[(
            "ops.py",
            "import operator\n\nOPS = {\"+\": operator.add}\n\n\ndef apply(sign, a, b):\n    return OPS[sign](a, b)\n",
        )],
        expect![[r#"
            ops.py::OPS#0 -> ops.py::apply#0 data OPS
        "#]],
    );
}

#[test]
fn a_typescript_block_calling_a_cut_out_nested_function_depends_on_it() {
    let mut body = String::from("export function find(graph: Map<string, string[]>): Set<string> {\n  const seen = new Set<string>();\n\n  function visit(name: string): void {\n    seen.add(name);\n    for (const other of graph.get(name) ?? []) {\n      if (!seen.has(other)) {\n        visit(other);\n      }\n    }\n  }\n\n");
    for i in 0..30 {
        body.push_str(&format!("  const step{i} = seen.size + {i};\n"));
    }
    body.push_str(
        "  for (const name of graph.keys()) {\n    visit(name);\n  }\n  return seen;\n}\n",
    );
    check_links(
        &[("src/walk.ts", &body)],
        expect![[r#"
            src/walk.ts::find#0 -> src/walk.ts::find.visit#0 contains find.visit
            src/walk.ts::find#0 -> src/walk.ts::find[2]#0 contains find[2]
            src/walk.ts::find#0 -> src/walk.ts::find[3]#0 contains find[3]
            src/walk.ts::find#0 -> src/walk.ts::find[4]#0 contains find[4]
            src/walk.ts::find#0 -> src/walk.ts::find[5]#0 contains find[5]
            src/walk.ts::find.visit#0 -> src/walk.ts::find[5]#0 control find.visit
        "#]],
    );
}

#[test]
fn a_typescript_nested_function_left_inside_its_function_or_an_arrow_makes_no_link() {
    check_links(
        &[(
            "src/small.ts",
            "export function outer(items: number[]): number[] {\n  function key(item: number): number {\n    return -item;\n  }\n  return items.map(key);\n}\n\nexport const arrow = (items: number[]): number[] => {\n  function twice(item: number): number {\n    return item * 2;\n  }\n  return items.map(twice);\n};\n",
        )],
        expect![""],
    );
}
