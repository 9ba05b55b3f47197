#!/usr/bin/env python3
"""The server's layers point down (docs/ARCHITECTURE.md, "The server's layers").

Reads every `crate::…` and `super::…` path in server/src and fails, naming each
offending line, when
  - a lower module (auth, feed, hub, backtest, session, store, notices) reaches an upper one (routes,
    state, config, cli, serve), or
  - two top-level modules, or two files of one module, import each other (a cycle).
A module's `mod.rs` only lists and re-exports its children: its own edges are not
counted against them. Standard library only; run by scripts/test.sh.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "server" / "src"
LOWER = {"auth", "feed", "hub", "backtest", "session", "store", "notices"}
UPPER = {"routes", "state", "config", "cli", "serve"}
PATH = re.compile(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super)::\{([^}]*)\}")


def module_of(file: Path) -> list[str]:
    """`server/src/hub/redis/link.rs` → ["hub", "redis", "link"]."""
    parts = list(file.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts == ["lib"] or parts == ["main"]:
        return []
    return parts


def code_lines(text: str):
    """Lines outside `#[cfg(test)]` modules and comments, with their numbers."""
    in_tests = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("#[cfg(test)]"):
            in_tests = True
        if in_tests or stripped.startswith("//"):
            continue
        yield number, line


def targets(module: list[str], line: str):
    """The module paths a line refers to, resolved from `module`."""
    found = []
    for base, rest in PATH.findall(line):
        found.append((base, [p for p in rest.split("::") if p]))
    for base, group in GROUP.findall(line):
        for item in group.split(","):
            name = item.strip().split("::")[0].strip()
            if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                found.append((base, [name]))
    for base, parts in found:
        if base == "crate":
            yield parts
        else:
            # `super` is the parent of the module the file is (a mod.rs is its folder's).
            here = module[:-1]
            while parts and parts[0] == "super":
                here, parts = here[:-1], parts[1:]
            yield here + parts


def main() -> int:
    files = sorted(ROOT.rglob("*.rs"))
    modules = {tuple(module_of(f)) for f in files}
    problems = []
    edges: dict[tuple, dict[tuple, str]] = {}
    for file in files:
        module = module_of(file)
        if not module:
            continue
        is_mod_rs = file.name == "mod.rs"
        text = file.read_text()
        for number, line in code_lines(text):
            where = f"server/src/{file.relative_to(ROOT)}:{number}"
            for target in targets(module, line):
                if not target:
                    continue
                if module[0] in LOWER and target[0] in UPPER:
                    problems.append(f"{where}: {module[0]} reaches up into {target[0]}: {line.strip()}")
                # The longest known module the path names (the rest is an item).
                while target and tuple(target) not in modules:
                    target = target[:-1]
                if not target:
                    continue
                if target[0] != module[0]:
                    edge = ((module[0],), (target[0],))
                elif not is_mod_rs and len(target) > 1 and target[:-1] == module[:-1] and target != module:
                    edge = (tuple(module), tuple(target))
                else:
                    continue
                edges.setdefault(edge[0], {}).setdefault(edge[1], f"{where}: {line.strip()}")
    seen = set()
    for a, outs in edges.items():
        for b, why in outs.items():
            back = edges.get(b, {}).get(a)
            if back and (b, a) not in seen:
                seen.add((a, b))
                problems.append(
                    f"cycle between {'::'.join(a)} and {'::'.join(b)}:\n    {why}\n    {back}"
                )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"layers: {len(problems)} upward import(s) or cycle(s) in server/src", file=sys.stderr)
        return 1
    print("layers: server/src points down, no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
