"""Structured logging: one line per event with time, level, component, node and lane ids."""

from __future__ import annotations

import json
import logging
import sys

_CONTEXT = ("node", "lane", "component")


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), record.levelname.lower(), record.name]
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                parts.append(f"{key}={value}")
        parts.append(json.dumps(record.getMessage(), ensure_ascii=False))
        if record.exc_info:
            parts.append(json.dumps(self.formatException(record.exc_info), ensure_ascii=False))
        return " ".join(parts)


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pymodbus", "httpx", "amqtt", "transitions", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
