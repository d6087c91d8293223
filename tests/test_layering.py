"""The layering rule import-linter cannot state (issue 16): no module imports another module's
private names.

Which package may import which (kakou.sync, kakou.models and kakou.protocols import neither the
edge nor central; central and the edge never import each other) is import-linter's, in
pyproject's [tool.importlinter]: it follows indirect imports too, so the direct-import check that
stood here is gone. Both run in `make lint`. The imports are read with `ast`, from pyproject's
package-dir mapping (edge/, central/, … are kakou.edge, kakou.central, …)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    dirs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    out: dict[str, Path] = {}
    for package, folder in dirs.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            # A folder mapped on its own (kakou.edge) is not also a module of its parent (kakou).
            out.setdefault(name, path)
    return out


def _imports(path: Path, module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package (a package's own for __init__)
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            found.append((base, [a.name for a in node.names], node.lineno))
    return found


def test_every_package_is_read() -> None:
    modules = _modules()
    for known in ("kakou.sync.messages", "kakou.edge.decision", "kakou.central.routes.security", "kakou.cli"):
        assert known in modules  # the checks below would otherwise pass on nothing
    imported = {i for i, _, _ in _imports(modules["kakou.edge.decision"], "kakou.edge.decision")}
    assert "kakou.sync.checks" in imported


def test_no_module_imports_another_modules_private_names() -> None:
    modules = _modules()
    broken = []
    for module, path in modules.items():
        for imported, names, line in _imports(path, module):
            if imported == module or not imported.startswith("kakou"):
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                broken.append(f"{path.relative_to(ROOT)}:{line} takes {', '.join(private)} from {imported}")
    assert not broken, "\n".join(broken)
