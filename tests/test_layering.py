"""The layering, enforced (issue 16): the contract package (`kakou.sync`), the recognisers
(`kakou.models`) and the device protocols (`kakou.protocols`) import neither the edge nor central;
central never imports the edge; and no module imports another module's private names.

import-linter would state the same contracts, but it finds a package's modules by walking its
folder, and kakou's subpackages live in the design card's folders (edge/, central/, …) mapped
into `kakou.*` by pyproject's package-dir: it would see an empty `kakou`. So the imports are
read here with `ast`, from the same mapping. `make lint` runs this file."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "kakou.sync": ("kakou.edge", "kakou.central"),
    "kakou.models": ("kakou.edge", "kakou.central"),
    "kakou.protocols": ("kakou.edge", "kakou.central"),
    "kakou.central": ("kakou.edge",),
}


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


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_every_package_is_read() -> None:
    modules = _modules()
    for known in ("kakou.sync.messages", "kakou.edge.decision", "kakou.central.routes.security", "kakou.cli"):
        assert known in modules  # the checks below would otherwise pass on nothing
    imported = {i for i, _, _ in _imports(modules["kakou.edge.decision"], "kakou.edge.decision")}
    assert "kakou.sync.checks" in imported


def test_lower_layers_never_import_higher_ones() -> None:
    broken = []
    for module, path in _modules().items():
        for source, forbidden in FORBIDDEN.items():
            if not _under(module, source):
                continue
            for imported, _, line in _imports(path, module):
                if any(_under(imported, f) for f in forbidden):
                    broken.append(f"{path.relative_to(ROOT)}:{line} {module} imports {imported}")
    assert not broken, "\n".join(broken)


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
