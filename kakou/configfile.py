"""Configuration files (TOML or YAML) read into pydantic models, with errors that name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def format_errors(exc: ValidationError) -> str:
    """One line per problem: the dotted key, then what is wrong with it."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {where}: {msg}")
    return "\n".join(lines)


def load_model(path: Path, model: type[M], what: str, error: type[Exception]) -> M:
    """Read `path` (.yaml/.yml as YAML, anything else as TOML) into `model`; raise `error` saying why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"cannot read {what} {path}: it does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    is_yaml = path.suffix in (".yaml", ".yml")
    try:
        raw = yaml.safe_load(text) if is_yaml else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise error(f"{path} is not valid {'YAML' if is_yaml else 'TOML'}: {exc}") from exc
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping of keys at the top level")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise error(f"{path} is invalid:\n{format_errors(exc)}") from exc
