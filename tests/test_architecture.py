"""The direction of imports between packages (issue 9).

``chotdon`` is the domain core every other package builds on, so it imports none
of them; the studio and the transcriber run on an editor's laptop without the web
stack, so they never import the server; the overlay renderers are shared by both
sides and never import the server either. The check walks each module's syntax
tree (imports inside functions count too) and resolves relative imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level packages it must never import
FORBIDDEN: dict[str, frozenset[str]] = {
    "chotdon": frozenset({"server", "studio", "transcribe", "overlays", "assets"}),
    "studio": frozenset({"server"}),
    "transcribe": frozenset({"server"}),
    "overlays": frozenset({"server"}),
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """``(line, absolute module name)`` for every import in the file, including
    ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, _resolve(node, package)
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            yield node.lineno, _dynamic_import(node)


def _dynamic_import(node: ast.Call) -> str:
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if called not in ("import_module", "__import__") or not node.args:
        return ""
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""


def _resolve(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    base = package.split(".") if package else []
    if node.level - 1 >= len(base):
        # Python refuses it at run time; flag it rather than guess.
        return f"<beyond the top level>.{node.module or ''}"
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def violations(root: Path, rules: dict[str, frozenset[str]] = FORBIDDEN) -> list[str]:
    """Every forbidden import under ``root``'s packages, as ``file:line imports name``."""
    found: list[str] = []
    for package, banned in rules.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, target in imported_modules(path, root):
                top = target.split(".")[0]
                if top in banned or top == "<beyond the top level>":
                    found.append(f"{path.relative_to(root).as_posix()}:{line} imports {target}")
    return found


def test_packages_exist() -> None:
    for package in FORBIDDEN:
        assert (ROOT / package / "__init__.py").is_file(), package
        assert len(list((ROOT / package).rglob("*.py"))) >= 2, package


def test_no_forbidden_imports() -> None:
    assert violations(ROOT) == []


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_walker_catches_offending_modules(tmp_path: Path) -> None:
    for package in FORBIDDEN:
        _write(tmp_path, f"{package}/__init__.py", "")
    _write(tmp_path, "chotdon/bad.py", "import os\nimport studio.catalog\n")
    _write(tmp_path, "chotdon/nested/__init__.py", "from . import deep\n")
    _write(tmp_path, "chotdon/nested/deep.py", "def f() -> None:\n    from assets import x\n")
    _write(tmp_path, "studio/bad.py", "from server.events import EVENT_TYPES\n")
    _write(
        tmp_path, "transcribe/bad.py", "import importlib\nimportlib.import_module('server.db')\n"
    )
    _write(tmp_path, "overlays/ok.py", "from chotdon.money import price_now\nfrom . import theme\n")
    _write(tmp_path, "overlays/sub/__init__.py", "")
    _write(tmp_path, "overlays/sub/bad.py", "from ..theme import THEME\nfrom ... import server\n")
    assert violations(tmp_path) == [
        "chotdon/bad.py:2 imports studio.catalog",
        "chotdon/nested/deep.py:2 imports assets",
        "studio/bad.py:1 imports server.events",
        "transcribe/bad.py:2 imports server.db",
        "overlays/sub/bad.py:2 imports <beyond the top level>.",
    ]


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    _write(tmp_path, "overlays/__init__.py", "from .card import render_card\n")
    _write(tmp_path, "overlays/sub/__init__.py", "from . import inner\n")
    _write(tmp_path, "overlays/sub/inner.py", "from ..theme import THEME\nfrom .x import y\n")
    assert list(imported_modules(tmp_path / "overlays/__init__.py", tmp_path)) == [
        (1, "overlays.card")
    ]
    assert list(imported_modules(tmp_path / "overlays/sub/__init__.py", tmp_path)) == [
        (1, "overlays.sub")
    ]
    assert list(imported_modules(tmp_path / "overlays/sub/inner.py", tmp_path)) == [
        (1, "overlays.theme"),
        (2, "overlays.sub.x"),
    ]
    # a package whose own name is forbidden to another: "from .server" inside studio is
    # studio.server, not the server package
    _write(tmp_path, "studio/__init__.py", "")
    _write(tmp_path, "studio/a.py", "from .server import helper\n")
    assert violations(tmp_path, {"studio": frozenset({"server"})}) == []


# -- the server's wiring ----------------------------------------------------------------

# The app factory is imported by the command line that starts it, never by the routers
# or services it wires together: they take the context from server.context.
APP_IMPORTERS = frozenset({"server.cli", "server.cli_serve", "server.workers"})


def imported_names(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """Like :func:`imported_modules`, plus ``package.name`` for ``from package import name``
    (``from . import app`` imports the module ``server.app``)."""
    yield from imported_modules(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(node, package)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def app_importers(root: Path) -> list[str]:
    """Every server module, besides the entry points, that imports ``server.app``."""
    found: list[str] = []
    for path in sorted((root / "server").rglob("*.py")):
        name = module_name(path, root)
        if name in APP_IMPORTERS or name == "server.app":
            continue
        lines = sorted(
            {
                line
                for line, target in imported_names(path, root)
                if target == "server.app" or target.startswith("server.app.")
            }
        )
        found.extend(
            f"{path.relative_to(root).as_posix()}:{line} imports server.app" for line in lines
        )
    return found


def test_no_router_or_service_imports_the_app_factory() -> None:
    assert app_importers(ROOT) == []


def test_the_app_factory_imports_its_routers_at_the_top() -> None:
    tree = ast.parse((ROOT / "server/app.py").read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    nested = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top
    ]
    assert nested == []
    names = {
        f"{_resolve(n, 'server')}.{a.name}"
        for n in tree.body
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    assert {"server.api", "server.sockets", "server.orders.api", "server.pages"} <= names


def test_the_app_import_check_catches_offenders(tmp_path: Path) -> None:
    _write(tmp_path, "server/__init__.py", "")
    _write(tmp_path, "server/app.py", "from .context import AppContext\n")
    _write(
        tmp_path, "server/cli_serve.py", "def main() -> None:\n    from .app import create_app\n"
    )
    _write(tmp_path, "server/a.py", "from . import app\n")
    _write(tmp_path, "server/b.py", "from .app import AppContext\n")
    _write(tmp_path, "server/orders/__init__.py", "")
    _write(tmp_path, "server/orders/c.py", "def f() -> None:\n    import server.app\n")
    _write(tmp_path, "server/orders/d.py", "from ..context import AppContext\nfrom .. import api\n")
    assert app_importers(tmp_path) == [
        "server/a.py:1 imports server.app",
        "server/b.py:1 imports server.app",
        "server/orders/c.py:2 imports server.app",
    ]
