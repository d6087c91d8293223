"""Every word a screen names is in its dictionary, in Chinese and in English: the keys that the
page and its scripts name literally (`K.t("key")`, `K.both("key")`, `data-t="key"`, …) are in the
words the page is served (its generated `*-terms.js` and `check-texts.js`), with both texts
filled in. A key missing there would show as the bare key on the screen, in either language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kakou.central.routes import ui as central_ui
from kakou.edge import ui as edge_ui

ROOT = Path(__file__).resolve().parents[2]
PAGES = {  # page → (its HTML, where its /ui/ or /static/ scripts live)
    "console": ROOT / "central" / "static" / "console.html",
    "field": ROOT / "central" / "static" / "field.html",
    "lane": ROOT / "edge" / "static" / "lane.html",
}
FOLDERS = {"/ui/": (ROOT / "central" / "static", ROOT / "edge" / "static"), "/static/": (ROOT / "edge" / "static",)}

# K.t("key"…), K.both("key"…), and t("key"…) / both("key"…) inside kakou-ui.js itself.
NAMED_IN_JS = re.compile(r"""(?<![\w.])(?:K\.)?(?:t|both)\(\s*"([\w/.-]+)"\s*[,)]|"data-t[bp]?":\s*"([\w/.-]+)\"""")
NAMED_IN_HTML = re.compile(r"""\bdata-t[bp]?="([\w/.-]+)\"""")


def _served(path: str) -> str:
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(central_ui.router)
    edge_ui.mount_ui(app)
    with TestClient(app) as client:
        resp = client.get(path)
        assert resp.status_code == 200, path
        return resp.text


def _terms(script: str) -> dict[str, list[str]]:
    """Every `K.addTerms({...})` of a generated script, merged."""
    found: dict[str, list[str]] = {}
    for m in re.finditer(r"K\.addTerms\((\{.*?\})\);\n", script, re.S):
        found |= json.loads(m.group(1))
    return found


def _scripts(html: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', html)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_key_a_page_names_is_defined_in_both_languages(page: str) -> None:
    html = PAGES[page].read_text(encoding="utf-8")
    words: dict[str, list[str]] = {}
    named = set(NAMED_IN_HTML.findall(html))
    for src in _scripts(html):
        prefix = "/ui/" if src.startswith("/ui/") else "/static/"
        name = src.removeprefix(prefix)
        files = [folder / name for folder in FOLDERS[prefix] if (folder / name).is_file()]
        if files:
            named |= {a or b for a, b in NAMED_IN_JS.findall(files[0].read_text(encoding="utf-8"))}
        else:  # generated: the words themselves
            words |= _terms(_served(src))
    assert f"/{page}-terms.js" in " ".join(_scripts(html)), "the page loads its words"
    assert len(named) > 20, named  # the pattern still finds what the scripts name
    missing = sorted(k for k in named if k not in words)
    assert not missing, f"{page}: named but not defined: {missing}"
    half = sorted(k for k in named if not (words[k][0].strip() and words[k][1].strip()))
    assert not half, f"{page}: not in both languages: {half}"


def test_a_screen_keeps_its_own_word_over_the_common_one() -> None:
    """The console says 待审核 for a rule awaiting review (its own word); the lane screen has the
    shared 待复核."""
    console = _terms(_served("/ui/console-terms.js"))
    lane = _terms(_served("/static/lane-terms.js"))
    assert console["pending_review"] == ["Awaiting review", "待审核"]
    assert lane["pending_review"] == ["Awaiting review", "待复核"]
