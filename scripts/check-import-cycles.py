#!/usr/bin/env python3
"""No import circles between the modules of a crate (CI runs this with the lints).

For every crate under crates/, each source file is a module (`foo.rs`, `foo/mod.rs` -> `foo`); a
module uses another when its code (not its comments, strings or `#[cfg(test)] mod tests`) names a
`crate::path` or `super::path`, grouped imports (`crate::a::{b, c::D}`) included, that resolves to
that module. A parent and its own submodules are
one unit (a parent declares its children). Any strongly connected group of two or more modules is
an import circle: it is printed with the paths that tie it, and the exit status is 1.

Usage: scripts/check-import-cycles.py   (from anywhere)
"""
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def module_name(src: pathlib.Path, path: pathlib.Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


def code_of(text: str) -> str:
    """The text without the unit tests, comments and string literals."""
    cut = text.find("#[cfg(test)]\nmod tests")
    if cut >= 0:
        text = text[:cut]
    lines = []
    for line in text.split("\n"):
        if line.strip().startswith("//"):
            continue
        line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
        lines.append(line.split("//")[0])
    return "\n".join(lines)


def related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "::") or b.startswith(a + "::")


IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def use_trees(code: str, root: str):
    """Every path named after `root::` (`crate` or `super`), grouped imports expanded:
    `crate::a::{b::C, d}` gives ["a", "b", "C"] and ["a", "d"]."""
    def tree(pos: int, prefix: list):
        parts = list(prefix)
        while True:
            if code.startswith("{", pos):
                # A group: each item, split at the commas of this level, is a tree of its own.
                depth, items, item_start = 0, [], pos + 1
                for i in range(pos, len(code)):
                    if code[i] == "{":
                        depth += 1
                    elif code[i] == "}":
                        depth -= 1
                        if depth == 0:
                            items.append(item_start)
                            break
                    elif code[i] == "," and depth == 1:
                        items.append(item_start)
                        item_start = i + 1
                found = []
                for item in items:
                    while item < len(code) and code[item].isspace():
                        item += 1
                    found.extend(tree(item, parts))
                return found
            m = IDENT.match(code, pos)
            if not m:
                return [parts]
            parts.append(m.group(0))
            pos = m.end()
            if not code.startswith("::", pos):
                return [parts]
            pos += 2

    found = []
    for m in re.finditer(rf"\b{root}::", code):
        found.extend(p for p in tree(m.end(), []) if p)
    return found


def edges(src: pathlib.Path):
    modules = {module_name(src, f): f for f in src.rglob("*.rs")}
    uses = collections.defaultdict(dict)

    def add(name: str, base: list, parts: list, how: str):
        full = base + parts
        target = next(("::".join(full[:k]) for k in range(len(full), 0, -1) if "::".join(full[:k]) in modules), None)
        if target and not related(name, target):
            uses[name].setdefault(target, how + "::".join(parts))

    for name, path in modules.items():
        code = code_of(path.read_text())
        for parts in use_trees(code, "crate"):
            add(name, [], parts, "crate::")
        parent = name.split("::")[:-1] if name != "crate" else []
        for parts in use_trees(code, "super"):
            add(name, parent, parts, "super::")
    return modules, uses


def circles(modules, uses):
    """Strongly connected groups of two or more modules (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in uses[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(modules):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    bad = 0
    for src in sorted((ROOT / "crates").glob("*/src")):
        modules, uses = edges(src)
        for group in circles(modules, uses):
            bad += 1
            print(f"{src.parent.name}: import circle between {', '.join(group)}:")
            for a in group:
                for b, via in sorted(uses[a].items()):
                    if b in group:
                        print(f"  {a} -> {b} ({via})")
        print(f"{src.parent.name}: {len(modules)} modules", file=sys.stderr)
    if bad:
        return 1
    print("no import circles between the modules of any crate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
