//! Cross-file linking and context injection over small hand-written plans.

use expect_test::{expect, Expect};
use mge_atomize::{atomize, build_context, link, rescore, AtomizedFile, Config, PlanIndex};
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
fn python_imports_relative_imports_and_package_reexports() {
    check_links(
        &[
            ("shop/__init__.py", "from .models import Item\n"),
            (
                "shop/models.py",
                "class Base:\n    def save(self) -> None:\n        pass\n\n\nclass Item(Base):\n    def __init__(self, name: str):\n        super().__init__()\n        self.name = name\n\n    def label(self) -> str:\n        self.save()\n        return self.name\n",
            ),
            (
                "shop/cart.py",
                "import os\nfrom shop import Item\nfrom . import models as m\nimport shop.models\n\n\ndef total(items: list[Item]) -> int:\n    return len(items) + len(os.sep)\n\n\ndef make() -> m.Item:\n    return shop.models.Item('x')\n",
            ),
            ("app/main.py", "from ..shop.cart import total, missing\n\nprint(total([]))\n"),
        ],
        expect![[r#"
            app/main.py::<import>#0 -> app/main.py::<statement>#0 import total
            shop/__init__.py::<import>#0 -> shop/cart.py::<imports>#0 import Item
            shop/cart.py::<imports>#0 -> shop/cart.py::make#0 import m
            shop/cart.py::<imports>#0 -> shop/cart.py::make#0 import shop
            shop/cart.py::<imports>#0 -> shop/cart.py::total#0 import Item
            shop/cart.py::total#0 -> app/main.py::<import>#0 import total
            shop/cart.py::total#0 -> app/main.py::<statement>#0 control total
            shop/models.py::Base#0 -> shop/models.py::Base.save#0 contains Base.save
            shop/models.py::Base#0 -> shop/models.py::Item#0 type Base
            shop/models.py::Base#0 -> shop/models.py::Item.__init__#0 control Base.__init__
            shop/models.py::Base.save#0 -> shop/models.py::Item.label#0 control Item.save
            shop/models.py::Item#0 -> shop/__init__.py::<import>#0 import Item
            shop/models.py::Item#0 -> shop/cart.py::<imports>#0 import Item
            shop/models.py::Item#0 -> shop/cart.py::make#0 control shop.models.Item
            shop/models.py::Item#0 -> shop/cart.py::make#0 type m.Item
            shop/models.py::Item#0 -> shop/cart.py::total#0 type Item
            shop/models.py::Item#0 -> shop/models.py::Item.__init__#0 contains Item.__init__
            shop/models.py::Item#0 -> shop/models.py::Item.label#0 contains Item.label
            shop/models.py::Item.__init__#0 -> shop/models.py::Item.label#0 data Item.name
        "#]],
    );
}

#[test]
fn typescript_named_default_namespace_imports_and_reexports() {
    check_links(
        &[
            ("src/vec.ts", "export class Vec {\n  add(o: Vec): Vec { return o; }\n}\nexport default function zero(): Vec { return new Vec(); }\n"),
            ("src/index.ts", "export { Vec as Vector } from './vec';\nexport * from './shape';\n"),
            ("src/shape.ts", "export interface Shape { area(): number }\n"),
            (
                "src/scene.ts",
                "import { Vector, Shape } from './index';\nimport zero from './vec';\nimport * as V from './vec.js';\n\nexport class Scene implements Shape {\n  origin: Vector = zero();\n  area(): number { return this.shift(new V.Vec()); }\n  shift(v: Vector): number { return 0; }\n}\n",
            ),
        ],
        expect![[r#"
            src/index.ts::<imports>#0 -> src/scene.ts::<imports>#0 import Vector
            src/scene.ts::<imports>#0 -> src/scene.ts::Scene#0 import Shape
            src/scene.ts::<imports>#0 -> src/scene.ts::Scene#0 import Vector
            src/scene.ts::<imports>#0 -> src/scene.ts::Scene#0 import zero
            src/scene.ts::<imports>#0 -> src/scene.ts::Scene.area#0 import V
            src/scene.ts::<imports>#0 -> src/scene.ts::Scene.shift#0 import Vector
            src/scene.ts::Scene#0 -> src/scene.ts::Scene.area#0 contains Scene.area
            src/scene.ts::Scene#0 -> src/scene.ts::Scene.shift#0 contains Scene.shift
            src/scene.ts::Scene.shift#0 -> src/scene.ts::Scene.area#0 control Scene.shift
            src/shape.ts::Shape#0 -> src/scene.ts::Scene#0 type Shape
            src/vec.ts::Vec#0 -> src/index.ts::<imports>#0 import Vec
            src/vec.ts::Vec#0 -> src/scene.ts::<imports>#0 import Vector
            src/vec.ts::Vec#0 -> src/scene.ts::Scene#0 type Vector
            src/vec.ts::Vec#0 -> src/scene.ts::Scene.area#0 control V.Vec
            src/vec.ts::Vec#0 -> src/scene.ts::Scene.shift#0 type Vector
            src/vec.ts::Vec#0 -> src/vec.ts::Vec.add#0 contains Vec.add
            src/vec.ts::Vec#0 -> src/vec.ts::Vec.add#0 type Vec
            src/vec.ts::Vec#0 -> src/vec.ts::zero#0 control Vec
            src/vec.ts::Vec#0 -> src/vec.ts::zero#0 type Vec
            src/vec.ts::zero#0 -> src/scene.ts::<imports>#0 import default
            src/vec.ts::zero#0 -> src/scene.ts::Scene#0 control zero
        "#]],
    );
}

#[test]
fn context_holds_imports_signatures_class_header_and_description() {
    let files = files(&[
        ("pkg/models.py", "class Item:\n    \"\"\"A stock item.\"\"\"\n    name: str\n\n    def price(self, qty: int) -> float:\n        return qty * 1.5\n"),
        ("pkg/service.py", "from .models import Item\n\n\nclass Service:\n    def quote(self, item: Item, qty: int) -> float:\n        return item.price(qty) + self.fee()\n\n    def fee(self) -> float:\n        return 1.0\n"),
    ]);
    let index = PlanIndex::new(&files);
    let loc = index.locate("pkg/service.py::Service.quote#0").unwrap();
    let ctx = build_context(&index, loc, Some("Quote prices"));
    expect![[r#"
        AtomContext {
            atom_id: "pkg/service.py::Service.quote#0",
            imports: [
                "from .models import Item",
            ],
            signatures: [
                SymbolSignature {
                    symbol: "Item",
                    atom_id: "pkg/models.py::Item#0",
                    path: "pkg/models.py",
                    kind: ClassHeader,
                    signature: "class Item",
                },
                SymbolSignature {
                    symbol: "Service.fee",
                    atom_id: "pkg/service.py::Service.fee#0",
                    path: "pkg/service.py",
                    kind: Method,
                    signature: "def fee(self) -> float",
                },
            ],
            class_header: Some(
                "class Service\n    # members: Service.fee, Service.quote",
            ),
            docstring: None,
            task_description: Some(
                "Quote prices",
            ),
            completeness: 1.0,
            unresolved: [],
        }
    "#]]
    .assert_debug_eq(&ctx);
}

#[test]
fn class_body_fields_are_defined_by_their_declaration_not_by_writers() {
    check_links(
        &[(
            "src/counter.ts",
            "export class Counter {\n  #now: number;\n  hits = 0;\n\n  constructor(start: number) {\n    this.#now = start;\n    this.seen = 0;\n  }\n\n  tick(): void {\n    this.#now += 1;\n    this.hits += 1;\n    this.seen += 1;\n  }\n\n  rate(): number {\n    return this.hits / this.#now + this.seen;\n  }\n}\n",
        )],
        expect![[r#"
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.constructor#0 contains Counter.constructor
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.constructor#0 data Counter.#now
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.rate#0 contains Counter.rate
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.rate#0 data Counter.#now
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.rate#0 data Counter.hits
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.tick#0 contains Counter.tick
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.tick#0 data Counter.#now
            src/counter.ts::Counter#0 -> src/counter.ts::Counter.tick#0 data Counter.hits
            src/counter.ts::Counter.constructor#0 -> src/counter.ts::Counter.rate#0 data Counter.seen
            src/counter.ts::Counter.constructor#0 -> src/counter.ts::Counter.tick#0 data Counter.seen
        "#]],
    );
}

#[test]
fn python_class_annotations_define_members_and_init_defines_the_rest() {
    check_links(
        &[(
            "pkg/meter.py",
            "class Meter:\n    total: int = 0\n\n    def __init__(self) -> None:\n        self.total = 0\n        self.name = 'm'\n\n    def add(self, n: int) -> None:\n        self.total += n\n        self.name = 'added'\n\n    def show(self) -> str:\n        return f'{self.name}={self.total}'\n",
        )],
        expect![[r#"
            pkg/meter.py::Meter#0 -> pkg/meter.py::Meter.__init__#0 contains Meter.__init__
            pkg/meter.py::Meter#0 -> pkg/meter.py::Meter.__init__#0 data Meter.total
            pkg/meter.py::Meter#0 -> pkg/meter.py::Meter.add#0 contains Meter.add
            pkg/meter.py::Meter#0 -> pkg/meter.py::Meter.add#0 data Meter.total
            pkg/meter.py::Meter#0 -> pkg/meter.py::Meter.show#0 contains Meter.show
            pkg/meter.py::Meter#0 -> pkg/meter.py::Meter.show#0 data Meter.total
            pkg/meter.py::Meter.__init__#0 -> pkg/meter.py::Meter.add#0 data Meter.name
            pkg/meter.py::Meter.__init__#0 -> pkg/meter.py::Meter.show#0 data Meter.name
        "#]],
    );
}

#[test]
fn function_type_parameter_names_are_bound_in_the_type() {
    check_links(
        &[(
            "src/grid.ts",
            "export function row(): number {\n  return 0;\n}\n\nexport const payload = 1;\n\nexport type Cell = (row: number, col: number) => number;\nexport type Listener<P> = (payload: P, envelope: { row: P }) => void;\nexport type Make = new (row: number) => object;\n",
        )],
        expect![[r#""#]],
    );
}

#[test]
fn class_field_initializers_see_this_as_the_instance() {
    check_links(
        &[(
            "src/log.ts",
            "export class Log {\n  readonly entries: number[] = [];\n\n  constructor(private readonly now: () => number) {}\n\n  readonly record = (): void => {\n    this.entries.push(this.now());\n  };\n}\n",
        )],
        expect![[r#"
            src/log.ts::Log#0 -> src/log.ts::Log.constructor#0 contains Log.constructor
            src/log.ts::Log#0 -> src/log.ts::Log.record#0 contains Log.record
            src/log.ts::Log#0 -> src/log.ts::Log.record#0 data Log.entries
            src/log.ts::Log.constructor#0 -> src/log.ts::Log.record#0 data Log.now
        "#]],
    );
}
