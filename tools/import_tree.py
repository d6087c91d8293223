"""Lay out kakou as Python imports it, for the tools that read a package from its folder.

pyproject's package-dir maps the design card's folders (edge/, central/, sync/, …) into one
import root, `kakou.*`; the editable install does it with an import hook. mypy and
import-linter (grimp) run no import hooks: they find `kakou` on a path and walk its folder,
where they would see kakou/ alone. So this builds build/import-tree/kakou/ from symbolic links
to the real folders and files, runs the tool against it, and prints the real files' paths in its
report. `make lint` runs it:

    python tools/import_tree.py mypy          # kakou, then the tests
    python tools/import_tree.py mypy [mypy's arguments]
    python tools/import_tree.py lint-imports

The tests are checked one folder at a time, as pytest imports them: each folder's helpers
(central_helpers, sync_harness, …) are top-level modules, and every folder has a conftest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "import-tree"


def _mapping() -> dict[str, str]:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    return dict(tool["setuptools"]["package-dir"])


def build() -> Path:
    """The tree, laid anew (links only; a file added since the last run is seen through them)."""
    if TREE.exists():
        shutil.rmtree(TREE)
    for package, folder in sorted(_mapping().items(), key=lambda item: item[0].count(".")):
        target = TREE.joinpath(*package.split("."))
        source = ROOT / folder
        if "." not in package:  # the root package: a real folder of links, so subpackages can sit beside
            target.mkdir(parents=True)
            for entry in source.iterdir():
                if entry.name != "__pycache__":
                    target.joinpath(entry.name).symlink_to(entry)
        else:
            if target.is_symlink():  # a folder kakou/ also holds: the mapping wins, as in setuptools
                target.unlink()
            target.symlink_to(source, target_is_directory=True)
    return TREE


def _real_paths(text: str) -> str:
    """build/import-tree/kakou/edge/x.py → edge/x.py in a tool's report."""
    prefixes = sorted(_mapping().items(), key=lambda item: -item[0].count("."))
    for package, folder in prefixes:
        linked = TREE.relative_to(ROOT).joinpath(*package.split(".")).as_posix() + "/"
        text = text.replace(linked, folder.rstrip("/") + "/")
    return text


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    sys.stdout.write(_real_paths(done.stdout))
    sys.stderr.write(_real_paths(done.stderr))
    return done.returncode


def run(tool: str, args: list[str]) -> int:
    build()
    executable = str(Path(sys.executable).parent / tool)
    env = {**os.environ, "PYTHONPATH": str(TREE)}
    if tool == "lint-imports":
        # It puts its working folder first on the path, where the repository's own kakou/ would shadow the tree.
        return _run([executable, str(ROOT / "pyproject.toml"), *args], TREE, env)
    if tool == "mypy" and not args:
        failed = _run([executable], ROOT, env)
        for folder in sorted({p.parent for p in (ROOT / "tests").rglob("*.py")}):
            files = sorted(str(p.relative_to(ROOT)) for p in folder.glob("*.py"))
            folder_env = {**env, "MYPYPATH": os.pathsep.join([str(folder), str(ROOT / "tests")])}
            failed |= _run([executable, "--explicit-package-bases", *files], ROOT, folder_env)
        return failed
    return _run([executable, *args], ROOT, env)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(build())
    else:
        sys.exit(run(sys.argv[1], sys.argv[2:]))
