"""The layout's rules, checked on the source: arrows point one way.

The import graph of ``oracle/`` (every ``import``/``from … import`` of an
``oracle`` module, at the top of a module or inside a function) has no
cycle; no module imports a private (``_name``) symbol or module of another
module; ``gametheory`` and ``strategies`` import neither ``oracle`` nor torch;
modules stay small: at most :data:`MAX_MODULE_LINES` lines, functions at most
:data:`MAX_FUNCTION_LINES`, except those on the allow-lists of what is not split yet
(:data:`LONG_MODULES`, :data:`LONG_FUNCTIONS`), which may only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gametheory", "strategies", "oracle")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = _modules()
#: The house style asks for modules of about 500 lines; this is the hard ceiling.
MAX_MODULE_LINES = 550
#: ... and functions of about 60 lines.
MAX_FUNCTION_LINES = 60
#: Packages held to those sizes.
SIZED_PACKAGES = PACKAGES
#: Modules over MAX_MODULE_LINES, not split yet (none since issue 12). Only remove entries: a module that
#: shrinks under the limit must leave the list (the test says so), and no module may join it.
LONG_MODULES: frozenset[str] = frozenset()  # none left: every module is within MAX_MODULE_LINES
#: Functions over MAX_FUNCTION_LINES today (module.function), with the same rule.
LONG_FUNCTIONS = frozenset({
    "strategies.trigger_apply.apply_triggers",
    "strategies.trigger_generators.orthogonal_badnet",
    "strategies.trigger_generators.rotated_badnet",
    "oracle.data.allocation.allocate",
    "oracle.data.cifar10_jpeg.load_cifar10_jpeg",
    "oracle.data.poison.build_joint_dataset",
    "oracle.defenses.activation_clustering.activation_clustering",
    "oracle.defenses.filter_report.score",
    "oracle.defenses.spectral_signatures.spectral_signatures",
    "oracle.federated.simulator._run",
    "oracle.victims.train.train_victim",
})


def _imports(name: str, path: Path) -> list[tuple[str, str | None]]:
    """(module imported, symbol or None) for every import in the file, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:  # `from pkg import module`
                    out.append((f"{base}.{alias.name}", None))
                else:
                    out.append((base, alias.name))
    return out


def _internal(module: str) -> str | None:
    """The project module an imported name refers to (the longest known prefix), or None."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in MODULES:
            return candidate
    return None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        targets = {_internal(m) for m, _ in _imports(name, path)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_sees_top_level_and_function_local_imports():
    graph = _graph()
    assert "oracle.payoff_oracle" in graph["oracle.fill"]  # top level
    assert "oracle.fill" in graph["oracle.cli.common"]  # inside a function (the CLI defers its imports)
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_has_no_cycle():
    assert _cycle(_graph()) is None


def test_no_module_imports_a_private_name_of_another():
    offenders = []
    for name, path in MODULES.items():
        for module, symbol in _imports(name, path):
            target = _internal(module)
            if target is None or target == name:
                continue
            private_module = any(part.startswith("_") and part != "__init__" for part in module.split("."))
            if private_module or (symbol is not None and symbol.startswith("_")):
                offenders.append(f"{name}: {module}{'.' + symbol if symbol else ''}")
    assert offenders == []


@pytest.mark.parametrize("package", ["gametheory", "strategies"])
def test_the_pure_packages_import_neither_oracle_nor_torch(package):
    offenders = []
    for name, path in MODULES.items():
        if name.split(".")[0] != package:
            continue
        for module, _ in _imports(name, path):
            if module.split(".")[0] in ("oracle", "torch", "torchvision"):
                offenders.append(f"{name}: {module}")
    assert offenders == []


def test_arrows_point_down_from_the_command():
    """Nothing below the command imports it; the payoff oracle does not import the fill above it."""
    graph = _graph()
    def in_cli(m):
        return m == "oracle.cli" or m.startswith("oracle.cli.")

    assert not [m for m, targets in graph.items() if not in_cli(m) and any(in_cli(t) for t in targets)]
    # oracle.symmetric_fill fills games where each attacker chooses: beside the command, above oracle.fill
    above_fill = {"oracle.symmetric_fill"}
    assert not [m for m, targets in graph.items()
                if "oracle.fill" in targets and not in_cli(m) and m not in above_fill]
    # ... and imported only by the command and by the exports it prints (oracle.export, used by `table` and `plot`)
    assert not [m for m, targets in graph.items() if above_fill & set(targets) and not in_cli(m) and m != "oracle.export"]
    assert not [m for m, targets in graph.items() if "oracle.export" in targets and not in_cli(m)]


def _sizes(package: str) -> tuple[dict[str, int], dict[str, int]]:
    """Lines of each module of ``package`` over MAX_MODULE_LINES, and of each function over
    MAX_FUNCTION_LINES (``module.function``)."""
    long_modules, long_functions = {}, {}
    for name, path in MODULES.items():
        if name.split(".")[0] != package:
            continue
        source = path.read_text()
        if (n := len(source.splitlines())) > MAX_MODULE_LINES:
            long_modules[name] = n
        for node in ast.walk(ast.parse(source, str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                    long_functions[f"{name}.{node.name}"] = n
    return long_modules, long_functions


@pytest.mark.parametrize("package", SIZED_PACKAGES)
def test_modules_and_functions_stay_small(package):
    long_modules, long_functions = _sizes(package)
    assert {m: n for m, n in long_modules.items() if m not in LONG_MODULES} == {}
    assert {f: n for f, n in long_functions.items() if f not in LONG_FUNCTIONS} == {}


@pytest.mark.parametrize("package", SIZED_PACKAGES)
def test_the_allow_lists_only_shrink(package):
    """An entry that is now within the limits (or gone) must be removed from its list."""
    long_modules, long_functions = _sizes(package)
    mine = package + "."
    assert sorted(m for m in LONG_MODULES if m.startswith(mine) and m not in long_modules) == []
    assert sorted(f for f in LONG_FUNCTIONS if f.startswith(mine) and f not in long_functions) == []
