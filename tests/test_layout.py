"""The layout of DESIGN.md: each item kind is a package of its own beside `workspaces`,
and dependencies point one way. `workspaces` and `permissions` never import a kind
(they reach the kinds through `portal.workspaces.kinds`, which each kind fills at
start-up); a kind imports no other kind but the exceptions named in `ALLOWED`.
Imports are read from the source (ast), so a lazy import inside a function counts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parent.parent / "portal"
KINDS = ("documents", "memos", "tasks", "meetings")
# The only imports between kinds: a meeting's task outcome creates the task through
# `tasks.service.add_task` (DESIGN.md's other exception, an agenda point naming a
# document, needs no import: it is an `Item` of kind "document").
ALLOWED = {"meetings": {"tasks"}}


def imported_modules(path: Path) -> set[str]:
    """The absolute names of what a source file imports."""
    module = ".".join(path.relative_to(PORTAL.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return resolve_imports(path.read_text(), package)


def resolve_imports(source: str, package: str) -> set[str]:
    """The absolute names imported by `source`, a module of `package`.

    `from .. import tasks` yields both `portal` and `portal.tasks`: a name imported
    from a package may be a module of it.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def kinds_imported(paths: list[Path]) -> dict[str, set[str]]:
    """The item kinds each file imports, by file (relative to portal/)."""
    found = {}
    for path in paths:
        kinds = {
            kind
            for name in imported_modules(path)
            for kind in KINDS
            if name == f"portal.{kind}" or name.startswith(f"portal.{kind}.")
        }
        if kinds:
            found[str(path.relative_to(PORTAL))] = kinds
    return found


def sources(package: str) -> list[Path]:
    return sorted((PORTAL / package).rglob("*.py"))


@pytest.mark.parametrize("kind", KINDS)
def test_each_item_kind_is_a_package_beside_workspaces(kind):
    for module in ("__init__.py", "models.py", "service.py", "api.py"):
        assert (PORTAL / kind / module).is_file(), f"portal/{kind}/{module} is missing"


def test_workspaces_and_permissions_import_no_item_kind():
    paths = [*sources("workspaces"), PORTAL / "permissions.py"]
    assert kinds_imported(paths) == {}


@pytest.mark.parametrize("kind", KINDS)
def test_an_item_kind_imports_no_other_kind_but_the_named_exceptions(kind):
    allowed = {kind} | ALLOWED.get(kind, set())
    found = kinds_imported(sources(kind))
    assert {path: kinds - allowed for path, kinds in found.items() if kinds - allowed} == {}


def test_the_import_reader_sees_relative_and_lazy_imports():
    source = (
        "from ..tasks import service\n"
        "def f():\n    from .. import memos\n"
        "import portal.meetings.models\n"
    )
    names = resolve_imports(source, "portal.workspaces")
    assert {"portal.tasks.service", "portal.memos", "portal.meetings.models"} <= names


def test_every_item_kind_registers_itself_at_start_up(app):
    from portal.workspaces import kinds
    from portal.workspaces.models import Item

    registered = {kind.name: kind for kind in kinds.registered()}
    assert set(registered) == {"document", "memo", "task", "meeting"}
    for name, kind in registered.items():
        assert issubclass(kind.model, Item)
        assert kind.model.__mapper__.polymorphic_identity == name
    # A page of mixed kinds loads every kind's columns in its one query.
    loaded = {m.class_ for m in kinds.any_item()._aliased_insp.with_polymorphic_mappers}
    assert loaded == {Item} | {kind.model for kind in registered.values()}
