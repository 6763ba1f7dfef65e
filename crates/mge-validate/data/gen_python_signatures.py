#!/usr/bin/env python3
"""Generate crates/mge-validate/data/python_signatures.json: the parameters of Python's builtins
and of the public functions and classes of its standard library, as `inspect.signature` gives
them on the interpreter that runs this script (the committed file: CPython 3.11).

    python3 crates/mge-validate/data/gen_python_signatures.py > crates/mge-validate/data/python_signatures.json

Output (compact JSON):

    {"python": "3.11.7",
     "builtins": {"len": [["obj", "P", 0]], ...},
     "modules": {"re": {"compile": [["pattern", "A", 0], ["flags", "A", 1]], ...}, ...}}

Each parameter is [name, kind, optional]: kind P positional-only, A positional-or-keyword,
V *args, K keyword-only, W **kwargs; optional 1 when it has a default. A class is listed by its
constructor's signature (`inspect.signature(cls)`, `self` left out).

Only what `inspect.signature` can state is listed; a callable it cannot describe (many C
builtins: `min`, `next`, `range`, ...) is left out, except for the few builtins in
DOCUMENTED below, whose forms the library reference documents as alternatives
("next(iterator[, default])"): they are given as the widest form, so a call is only flagged
when no documented form accepts it. Names absent from the table are never checked.
"""

import builtins
import importlib
import inspect
import json
import sys
import warnings

KIND = {
    inspect.Parameter.POSITIONAL_ONLY: "P",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "A",
    inspect.Parameter.VAR_POSITIONAL: "V",
    inspect.Parameter.KEYWORD_ONLY: "K",
    inspect.Parameter.VAR_KEYWORD: "W",
}

# Builtins without an introspectable signature, from the forms in the Python 3.11 library
# reference ("Built-in Functions"); positional-only, optional parts marked optional.
DOCUMENTED = {
    "next": [["iterator", "P", 0], ["default", "P", 1]],
    "iter": [["object", "P", 0], ["sentinel", "P", 1]],
    "getattr": [["object", "P", 0], ["name", "P", 0], ["default", "P", 1]],
    "min": [["iterable", "P", 0], ["args", "V", 0], ["key", "K", 1], ["default", "K", 1]],
    "max": [["iterable", "P", 0], ["args", "V", 0], ["key", "K", 1], ["default", "K", 1]],
    "range": [["start", "P", 0], ["stop", "P", 1], ["step", "P", 1]],
    "super": [["type", "P", 1], ["object_or_type", "P", 1]],
    "vars": [["object", "P", 1]],
    "dir": [["object", "P", 1]],
}

# Modules never imported here: they open windows, print, or are not meant to be imported.
SKIP_MODULES = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "__main__",
                "lib2to3", "pydoc_data", "ensurepip", "venv", "msilib", "winreg", "winsound",
                "_msi", "nt", "msvcrt", "_winapi"}


def params(obj):
    try:
        sig = inspect.signature(obj)
    except (ValueError, TypeError, RuntimeError):
        return None
    return [[p.name, KIND[p.kind], int(p.default is not inspect.Parameter.empty)]
            for p in sig.parameters.values()]


def builtin_table():
    out = {}
    for name in dir(builtins):
        if name.startswith("_"):
            continue
        obj = getattr(builtins, name)
        if not callable(obj):
            continue
        # Exception classes take any arguments; leave them out like any class whose
        # constructor the signature does not describe.
        if isinstance(obj, type) and issubclass(obj, BaseException):
            continue
        p = params(obj)
        if p is not None:
            out[name] = p
    out.update(DOCUMENTED)
    return dict(sorted(out.items()))


def module_table(name):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = importlib.import_module(name)
    except BaseException:  # noqa: BLE001 - any failure to import leaves the module out
        return None
    public = getattr(mod, "__all__", None)
    names = public if isinstance(public, (list, tuple)) else [n for n in dir(mod) if not n.startswith("_")]
    out = {}
    for n in names:
        obj = getattr(mod, n, None)
        if obj is None or not callable(obj):
            continue
        if isinstance(obj, type) and issubclass(obj, BaseException):
            continue
        p = params(obj)
        if p is not None:
            out[n] = p
    return dict(sorted(out.items()))


def main():
    modules = {}
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in SKIP_MODULES:
            continue
        table = module_table(name)
        if table:
            modules[name] = table
    # Submodules imported as `import os.path` / `from os import path`.
    for name in ("os.path", "collections.abc", "concurrent.futures", "importlib.resources",
                 "urllib.parse", "xml.etree.ElementTree", "email.message", "json.decoder",
                 "logging.handlers", "unittest.mock"):
        table = module_table(name)
        if table:
            modules[name] = table
    doc = {
        "python": ".".join(map(str, sys.version_info[:3])),
        "builtins": builtin_table(),
        "modules": dict(sorted(modules.items())),
    }
    json.dump(doc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
