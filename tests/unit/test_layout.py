"""The import direction of STYLE.md: a pure middle, I/O at the edges, cli over service."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = {"protocol", "messages", "errors", "timeutil", "config", "session", "private", "events",
        "outcomes", "rules", "masking", "rooms", "room_index", "throttle", "fair_queue",
        "addresses", "paging", "account_watch", "hash_cost", "decoy_cost"}  # fmt: skip
DATABASE = {"sqlalchemy", "alembic"}
PERSISTENCE = {"store", "store_base", "operator_store", "message_store", "models", "db", "writer",
               "instance_lock", "message_checks", "driver_statement", "batch_reads",
               "room_store", "room_statements", "change_marker",
               "failed_login_store"}  # fmt: skip


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _service_modules() -> dict[str, set[str]]:
    return {p.stem: _imports(p) for p in (ROOT / "service").glob("*.py")}


def test_pure_modules_import_only_the_stdlib_and_each_other() -> None:
    for module, imports in _service_modules().items():
        if module in PURE:
            outside = {i for i in imports if i.split(".")[0] not in _STDLIB_OK}
            outside -= {f"service.{name}" for name in PURE} | {"service"}
            assert not outside, f"service/{module}.py imports {outside}"


def test_only_persistence_modules_touch_the_database_libraries() -> None:
    for module, imports in _service_modules().items():
        if module not in PERSISTENCE:
            touched = {i for i in imports if i.split(".")[0] in DATABASE}
            assert not touched, f"service/{module}.py imports {touched}"


def test_service_never_imports_cli() -> None:
    for module, imports in _service_modules().items():
        assert not any(i.split(".")[0] == "cli" for i in imports), module


_STDLIB_OK = {
    "__future__", "collections", "dataclasses", "datetime", "enum", "json", "math", "re",
    "typing", "secrets", "ipaddress", "bisect", "hashlib", "hmac",
    "orjson",  # a faster JSON codec: computation only, no I/O
}  # fmt: skip
