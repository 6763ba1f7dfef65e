//! Data-driven snapshots: hand-written sources of every atom kind in the four grammars, rendered
//! as one line per atom (lines, kind, qualified name, parent, LOC, complexity, modifiers,
//! defines) followed by its references (`kind name`).

use expect_test::{expect, Expect};
use mge_atomize::{atomize, AtomizedFile, Config};
use mge_core::Language;

fn render(f: &AtomizedFile) -> String {
    let mut out = String::new();
    for a in &f.atoms {
        let parent = a
            .parent
            .as_deref()
            .map(|p| format!(" ^{}", p.rsplit("::").next().unwrap_or(p)))
            .unwrap_or_default();
        let mods = if a.modifiers.is_empty() {
            String::new()
        } else {
            format!(" {:?}", a.modifiers).to_lowercase()
        };
        out.push_str(&format!(
            "{}-{} {} {}{} loc={} cc={}{} defs={:?}\n",
            a.start_line,
            a.end_line,
            a.kind,
            a.qualified_name,
            parent,
            a.loc,
            a.complexity,
            mods,
            a.defines
        ));
        if let Some(sig) = &a.signature {
            if a.kind.is_callable() || a.kind == mge_atomize::AtomKind::ClassHeader {
                out.push_str(&format!("    sig {sig}\n"));
            }
        }
        for r in &a.references {
            out.push_str(&format!("    {:?} {}\n", r.kind, r.dotted()));
        }
    }
    for d in &f.diagnostics {
        out.push_str(&format!(
            "! {}:{} {} {}\n",
            d.line, d.column, d.code, d.message
        ));
    }
    out
}

fn check_with(path: &str, src: &str, config: Config, expect: Expect) {
    let lang = Language::from_path(path).unwrap();
    let f = atomize(path, src, lang, &config);
    f.check_tiling().unwrap();
    assert_eq!(f.reassemble(src), src);
    expect.assert_eq(&render(&f));
}

fn check(path: &str, src: &str, expect: Expect) {
    check_with(path, src, Config::default(), expect)
}

#[test]
fn python_module_kinds() {
    check(
        "pkg/store.py",
        r#""""Stock keeping."""
import os
from .models import Item, Stock as S
from . import util

MAX = 3
LIMIT = 4
counter = 0
Alias: TypeAlias = dict[str, int]


class Store(Base):
    """A store."""
    name: str = "x"

    def __init__(self, items):
        super().__init__()
        self.items = items

    @property
    def size(self) -> int:
        return len(self.items) + MAX

    def add(self, item: Item) -> None:
        global counter
        counter += 1
        self.items.append(item)
        util.log(self.size)


if __name__ == "__main__":
    Store([]).add(S())
"#,
        expect![[r#"
            1-1 module_docstring <module_docstring> loc=0 cc=1 defs=[]
            2-4 import <imports> loc=3 cc=1 defs=["os", "Item", "S", "util"]
            5-7 constant <constants> loc=2 cc=1 defs=["MAX", "LIMIT"]
            8-8 assignment counter loc=1 cc=1 defs=["counter"]
            9-9 type_alias Alias loc=1 cc=1 defs=["Alias"]
                Type TypeAlias
            10-14 class_header Store loc=2 cc=1 defs=["Store", "Store.name"]
                sig class Store(Base)
                BaseClass Base
            15-18 method Store.__init__ ^Store#0 loc=3 cc=1 defs=["Store.__init__", "Store.items"]
                sig def __init__(self, items)
                SuperCall Base.__init__
            19-22 method Store.size ^Store#0 loc=3 cc=1 [decorated] defs=["Store.size"]
                sig def size(self) -> int
                SelfMember Store.items
                Data MAX
            23-28 method Store.add ^Store#0 loc=5 cc=1 defs=["Store.add"]
                sig def add(self, item: Item) -> None
                Type Item
                Data counter
                SelfMember Store.items
                Call util.log
                SelfMember Store.size
            29-32 main_block <main_block> loc=2 cc=2 defs=[]
                Call Store
                Call S
        "#]],
    );
}

#[test]
fn python_shadowing_nesting_generators_async_overloads() {
    check(
        "m.py",
        r#"from typing import overload
import asyncio

value = 1
items = []


def shadow(value, n: int):
    total = [value * i for i in range(n)]
    items = total
    return items + [lambda x: x + value]


def outer(a):
    def inner(b):
        return a + b + value
    return inner


def gen(n):
    for i in range(n):
        if i % 2 and i > 3:
            yield i


async def fetch(delay: float) -> int:
    await asyncio.sleep(delay)
    return value


@overload
def conv(x: int) -> int: ...
@overload
def conv(x: str) -> str: ...
def conv(x):
    return x
"#,
        expect![[r#"
            1-2 import <imports> loc=2 cc=1 defs=["overload", "asyncio"]
            3-5 assignment <assignments> loc=2 cc=1 defs=["value", "items"]
            6-11 function shadow loc=4 cc=2 defs=["shadow"]
                sig def shadow(value, n: int)
            12-17 function outer loc=4 cc=1 defs=["outer"]
                sig def outer(a)
                Data value
                SelfMember outer.inner
            18-23 function gen loc=4 cc=4 [generator] defs=["gen"]
                sig def gen(n)
            24-28 function fetch loc=3 cc=1 [async] defs=["fetch"]
                sig async def fetch(delay: float) -> int
                Call asyncio.sleep
                Data value
            29-32 function conv loc=2 cc=1 [decorated, overload] defs=["conv"]
                sig def conv(x: int) -> int
                Call overload
            33-34 function conv loc=2 cc=1 [decorated, overload] defs=["conv"]
                sig def conv(x: str) -> str
                Call overload
            35-36 function conv loc=2 cc=1 defs=["conv"]
                sig def conv(x)
        "#]],
    );
}

#[test]
fn python_oversized_function_is_split_at_statement_boundaries() {
    let mut body = String::from("def long(n):\n    \"\"\"Sum things.\"\"\"\n    total = 0\n");
    for i in 0..12 {
        body.push_str(&format!("    total += n * {i}\n"));
    }
    body.push_str("    def helper(k):\n        return k + total\n");
    body.push_str("    if total > 100:\n");
    for i in 0..14 {
        body.push_str(&format!("        total -= {i}\n"));
    }
    body.push_str("    else:\n        total = 0\n    return helper(total)\n");
    check(
        "long.py",
        &body,
        expect![[r#"
            1-11 function long loc=10 cc=1 defs=["long"]
                sig def long(n)
            12-15 block long[2] ^long#0 loc=4 cc=1 defs=[]
            16-17 nested_function long.helper ^long#0 loc=2 cc=1 defs=["long.helper"]
                sig def helper(k)
            18-27 block long[3] ^long#0 loc=10 cc=2 defs=[]
            28-35 block long[4] ^long#0 loc=8 cc=1 defs=[]
                SelfMember long.helper
        "#]],
    );
}

#[test]
fn typescript_kinds() {
    check(
        "src/shapes.ts",
        r#"import { Vec as V } from './vec';
import * as math from "./math";
export { Matrix } from './matrix';
export * from './transform';

/** Area of anything. */
export function area(s: Shape): number;
export function area(s: Circle): number;
export function area(s: any): number { return math.pi * s.r; }

export interface Shape extends Named<string> { kind: Kind }
export type Kind = 'circle' | 'square';
export enum Color { Red = 1, Green }
const MAX_SIDES = 12, MIN_SIDES = 3;

export default class Circle<T> extends Base<T> implements Shape {
  @observable radius: number = 1;
  static count = 0;
  kind: Kind = 'circle';

  @log
  scale(f: T): Circle<T> { return this.resize(f); }

  resize = (f: T): Circle<T> => { super.touch(); return new Circle(); };

  async *points(n: number): AsyncGenerator<V> { yield new V(n, MAX_SIDES); }
}

export const double = async (x: number) => { await tick(); return x * 2; };
declare function tick(): Promise<void>;
namespace Registry { export const all: Shape[] = []; }
"#,
        expect![[r#"
            1-4 import <imports> loc=4 cc=1 [exported] defs=["V", "math"]
            5-7 function area loc=1 cc=1 [exported, overload] defs=["area"]
                sig export function area(s: Shape): number;
                Type Shape
            8-8 function area loc=1 cc=1 [exported, overload] defs=["area"]
                sig export function area(s: Circle): number;
                Type Circle
            9-9 function area loc=1 cc=1 [exported] defs=["area"]
                sig export function area(s: any): number
                Data math.pi
            10-11 interface Shape loc=1 cc=1 [exported] defs=["Shape"]
                Type Named
                Type Kind
            12-12 type_alias Kind loc=1 cc=1 [exported] defs=["Kind"]
            13-13 enum Color loc=1 cc=1 [exported] defs=["Color"]
            14-14 constant MAX_SIDES loc=1 cc=1 defs=["MAX_SIDES", "MIN_SIDES"]
            15-21 class_header Circle loc=5 cc=1 [exported, default] defs=["default", "Circle", "Circle.radius", "Circle.count", "Circle.kind"]
                sig export default class Circle<T> extends Base<T> implements Shape
                BaseClass Base
                Type Shape
                Call observable
                Type Kind
                Call log
            22-22 method Circle.scale ^Circle#0 loc=1 cc=1 defs=["Circle.scale"]
                sig scale(f: T): Circle<T>
                Type Circle
                SelfMember Circle.resize
            23-24 method Circle.resize ^Circle#0 loc=1 cc=1 defs=["Circle.resize"]
                sig resize =
                Type Circle
                SuperCall Base.touch
                Call Circle
            25-27 method Circle.points ^Circle#0 loc=2 cc=1 [async, generator] defs=["Circle.points"]
                sig async *points(n: number): AsyncGenerator<V>
                Type V
                Call V
                Data MAX_SIDES
            28-29 function double loc=1 cc=1 [exported, async] defs=["double"]
                sig export const double = async (x: number)
                Call tick
            30-30 function tick loc=1 cc=1 [ambient, overload] defs=["tick"]
                sig declare function tick(): Promise<void>;
            31-31 statement <statement> loc=1 cc=1 defs=["Registry"]
                Type Shape
        "#]],
    );
}

#[test]
fn tsx_components() {
    check(
        "src/App.tsx",
        r#"import React from 'react';
import { Button } from './Button';

type Props = { title: string };

export function App({ title }: Props) {
  const [n, setN] = React.useState(0);
  return <div className="app"><Button onClick={() => setN(n + 1)} label={title} /></div>;
}
"#,
        expect![[r#"
            1-2 import <imports> loc=2 cc=1 defs=["React", "Button"]
            3-4 type_alias Props loc=1 cc=1 defs=["Props"]
            5-9 function App loc=4 cc=1 [exported] defs=["App"]
                sig export function App({ title }: Props)
                Type Props
                Call React.useState
                Call Button
        "#]],
    );
}

#[test]
fn javascript_kinds() {
    check(
        "lib/queue.mjs",
        r#"import EventEmitter from 'node:events';
import { clamp } from './util.js';

export const DEFAULT_SIZE = 8;
let created = 0;

export class Queue extends EventEmitter {
  #items = [];
  constructor(size = DEFAULT_SIZE) {
    super();
    this.size = clamp(size, 1, 64);
    created += 1;
  }
  push(x) {
    if (this.#items.length >= this.size) this.emit('full');
    else this.#items.push(x);
  }
  *drain() { while (this.#items.length) yield this.#items.shift(); }
}

export default function make(size) { return new Queue(size); }
export { make as create };
"#,
        expect![[r#"
            1-2 import <imports> loc=2 cc=1 defs=["EventEmitter", "clamp"]
            3-4 constant DEFAULT_SIZE loc=1 cc=1 [exported] defs=["DEFAULT_SIZE"]
            5-5 assignment created loc=1 cc=1 defs=["created"]
            6-8 class_header Queue loc=2 cc=1 [exported] defs=["Queue", "Queue.#items"]
                sig export class Queue extends EventEmitter
                BaseClass EventEmitter
            9-13 method Queue.constructor ^Queue#0 loc=5 cc=1 defs=["Queue.constructor", "Queue.size"]
                sig constructor(size = DEFAULT_SIZE)
                Data DEFAULT_SIZE
                SuperCall EventEmitter.constructor
                Call clamp
                Data created
            14-17 method Queue.push ^Queue#0 loc=4 cc=2 defs=["Queue.push"]
                sig push(x)
                SelfMember Queue.#items
                SelfMember Queue.size
                SelfMember Queue.emit
            18-19 method Queue.drain ^Queue#0 loc=2 cc=2 [generator] defs=["Queue.drain"]
                sig *drain()
                SelfMember Queue.#items
            20-21 function make loc=1 cc=1 [exported, default] defs=["default", "make"]
                sig export default function make(size)
                Call Queue
            22-22 export <export> loc=1 cc=1 [exported] defs=[]
                Data make
        "#]],
    );
}

#[test]
fn syntax_errors_give_one_unparsed_atom() {
    check(
        "bad.py",
        "def f(:\n    return 1\n",
        expect![[r#"
        1-2 unparsed <unparsed> loc=2 cc=1 defs=[]
        ! 1:7 missing_node syntax error: missing ')'
    "#]],
    );
    check(
        "bad.ts",
        "function f( {\n",
        expect![[r#"
        1-1 unparsed <unparsed> loc=1 cc=1 defs=[]
        ! 1:1 syntax_error syntax error: unexpected function
    "#]],
    );
}

#[test]
fn crlf_tabs_bom_and_non_ascii_survive() {
    check(
        "w.py",
        "\u{feff}# coding: utf-8\r\nNAME = 'héllo wörld ✓'\r\n\r\ndef f(x):\r\n\treturn x  # ünïcode\r\n",
        expect![[r#"
            1-2 constant NAME loc=1 cc=1 defs=["NAME"]
            3-5 function f loc=2 cc=1 defs=["f"]
                sig def f(x)
        "#]],
    );
}

#[test]
fn comments_and_empty_files() {
    check("empty.py", "", expect![[""]]);
    check(
        "c.ts",
        "// only a comment\n\n/* block */\n",
        expect![[r#"
        1-3 statement <module> loc=0 cc=1 defs=[]
    "#]],
    );
}

#[test]
fn deep_nesting_gives_a_diagnostic_not_a_stack_overflow() {
    let depth = 5000;
    let src = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
    let f = atomize("deep.py", &src, Language::Python, &Config::default());
    f.check_tiling().unwrap();
    assert_eq!(f.reassemble(&src), src);
    assert!(
        f.diagnostics.iter().any(|d| d.code == "deep_nesting"),
        "{:?}",
        f.diagnostics
    );

    // Blocks nested 5,000 deep, one per line, in a function over the ceiling.
    let mut src = String::from("function f(x) {\n");
    for _ in 0..depth {
        src.push_str("if (x) {\n");
    }
    src.push_str("x();\n");
    for _ in 0..depth {
        src.push_str("}\n");
    }
    src.push_str("}\n");
    let f = atomize("deep.js", &src, Language::JavaScript, &Config::default());
    f.check_tiling().unwrap();
    assert_eq!(f.reassemble(&src), src);
    assert!(
        f.diagnostics.iter().any(|d| d.code == "deep_nesting"),
        "{:?}",
        f.diagnostics
    );
}

#[test]
fn configured_limits_are_used() {
    let src = "def f(a):\n    b = a\n    c = b\n    d = c\n    e = d\n    return e\n";
    check_with(
        "small.py",
        src,
        Config {
            target_loc: 2,
            max_loc: 3,
        },
        expect![[r#"
            1-2 function f loc=2 cc=1 defs=["f"]
                sig def f(a)
            3-4 block f[2] ^f#0 loc=2 cc=1 defs=[]
            5-6 block f[3] ^f#0 loc=2 cc=1 defs=[]
        "#]],
    );
}
