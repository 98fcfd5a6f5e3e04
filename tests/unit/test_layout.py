"""The shape of `service/` (docs/ARCHITECTURE.md): wings whose imports run one way, no cycles,
a pure wire at the bottom, the database libraries in the store alone, cli over service."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"

# Bottom to top: a wing may import itself and the wings before it in this list, nothing after.
# `admin` (chat-admin's view of the database) stands beside `core`, which never needs it.
ORDER = ["wire", "credentials", "config", "store", "limits", "core", "pipeline", "net"]
BESIDE = {"admin": "store"}  # admin may import what `store` may, and `store` itself
SHELL = {"server", "main"}  # the composition root: it may import every wing
DATABASE = {"sqlalchemy", "alembic"}
PURE_OK = {
    "__future__", "collections", "dataclasses", "datetime", "enum", "json", "math", "re",
    "typing", "secrets", "ipaddress", "bisect", "hashlib", "hmac", "itertools", "functools",
    "unicodedata",  # Unicode character properties: computation only
    "orjson",  # a faster JSON codec: computation only, no I/O
}  # fmt: skip


def _wing(module: str) -> str:
    """`service.store.writer` -> `store`; `service.config` -> `config`."""
    return module.split(".")[1]


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SERVICE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1:
            yield ".".join(parts), path


def _imports(path: Path) -> set[str]:
    """Every import, those under `if TYPE_CHECKING:` included: a cycle is a cycle to a reader."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:  # `from service.wire import events` imports a module
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if _is_module(submodule) else node.module)
    return names


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _allowed(wing: str) -> set[str]:
    if wing in SHELL:
        return set(ORDER) | SHELL | set(BESIDE)
    if wing in BESIDE:
        below = BESIDE[wing]
        return set(ORDER[: ORDER.index(below) + 1]) | {wing}
    return set(ORDER[: ORDER.index(wing) + 1])


def test_every_module_belongs_to_a_wing() -> None:
    for module, _ in _modules():
        wing = _wing(module)
        assert wing in set(ORDER) | set(BESIDE) | SHELL, f"{module} is in no wing"


def test_imports_run_one_way_between_wings() -> None:
    wrong = []
    for module, path in _modules():
        allowed = _allowed(_wing(module))
        for name in _imports(path):
            if name.startswith("service.") and _wing(name) not in allowed:
                wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    modules = dict(_modules())
    graph = {
        module: {name for name in _imports(path) if name in modules and name != module}
        for module, path in modules.items()
    }
    cycles = {tuple(cycle) for cycle in _cycles(graph)}
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in sorted(cycles))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_wire_is_pure() -> None:
    for module, path in _modules():
        if _wing(module) == "wire":
            outside = {
                i for i in _imports(path)
                if i.split(".")[0] not in PURE_OK and _wing_or_none(i) != "wire"
            }  # fmt: skip
            assert not outside, f"{module} imports {outside}"


def _wing_or_none(name: str) -> str | None:
    return _wing(name) if name.startswith("service.") else None


def test_only_the_store_touches_the_database_libraries() -> None:
    for module, path in _modules():
        if _wing(module) != "store":
            touched = {i for i in _imports(path) if i.split(".")[0] in DATABASE}
            assert not touched, f"{module} imports {touched}"


def test_service_never_imports_cli() -> None:
    for module, path in _modules():
        assert not any(i.split(".")[0] == "cli" for i in _imports(path)), module
