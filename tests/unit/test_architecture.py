"""The structure stays clean: no import cycle, no production file over 400 lines, no import-linter exemption.

The import graph is read from the source (every `import` counts, including those inside functions and under
`TYPE_CHECKING`: a cycle hidden in a function is still a cycle), the way `lint-imports` and the structure
figures in issue #11 count. There are no allowlists: the last cycle was broken, the last long file split and the
last wrong-way import removed in #11, so none may come back. The layer contracts are in pyproject.toml
(`[tool.importlinter]`, run by `make lint`); see docs/architecture.md.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "integrations", "prompts")
MAX_LINES = 400



def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of ours that `name` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def _modules_in_cycles(graph: dict[str, set[str]]) -> set[str]:
    """Modules in a strongly connected component of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cyclic: set[str] = set()
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cyclic.update(component)
    return cyclic


def test_no_module_joins_an_import_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    cyclic = _modules_in_cycles(graph)
    assert cyclic == set(), f"modules in an import cycle: {sorted(cyclic)}"


def test_imports_inside_functions_and_under_type_checking_count(tmp_path: Path) -> None:
    source = tmp_path / "loop.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.deps import Deps\n"
        "def later():\n    from .executor import run\n    import bot.storage.db\n",
        encoding="utf-8",
    )
    known = {"bot.deps", "bot.agent.executor", "bot.agent.loop", "bot.storage", "bot.storage.db"}
    assert _imports("bot.agent.loop", source, known) == {"bot.deps", "bot.agent.executor", "bot.storage.db"}


def test_a_cycle_is_found_however_it_is_reached() -> None:
    graph = {"d": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}, "e": set(), "f": {"f"}}
    assert _modules_in_cycles(graph) == {"a", "b", "c"}


def test_no_production_file_grows_past_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT))
        for path in _modules().values()
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES
    }
    assert long == set(), f"split these by concept (at most {MAX_LINES} lines): {sorted(long)}"


def test_no_import_contract_exempts_an_import() -> None:
    """A lower layer that needs something of a surface gets it passed in or finds it below, never an ignore."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contracts = config["contracts"]
    assert {c["id"] for c in contracts} == {"integrations-independent", "bot-layers", "no-cycles"}
    exempted = {c["id"]: c["ignore_imports"] for c in contracts if c.get("ignore_imports")}
    assert exempted == {}, f"import-linter exemptions (move the code below, or pass it in): {exempted}"
