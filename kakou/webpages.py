"""What a browser gets from central and the edge besides the officers' screens: the API docs
(`/docs`, Swagger UI from the fastapi-offline package's own files, nothing fetched from another
host: a gate may have no internet) and error pages in HTML (Chinese first) where an API client
gets its JSON problem."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from kakou.sync.checks import text_tables_of

SWAGGER = Path(fastapi_offline.__file__).resolve().parent / "static"
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "favicon.png": "image/png"}

# What a person reads for each status: a title and what to do next, in Chinese and in English.
_ADVICE: dict[int, tuple[str, str, str, str]] = {
    400: ("请求无法处理", "Bad request", "请返回上一页重试。", "Go back and try again."),
    401: (
        "请先登录",
        "Please log in",
        "登录已过期或尚未登录：请返回页面重新登录。",
        "Your session expired or you are not logged in: go back and log in.",
    ),
    403: (
        "无权操作",
        "Not allowed",
        "您的角色不能执行此操作，请联系有权限的同事或管理员。",
        "Your role may not do this: ask a colleague who may, or an administrator.",
    ),
    404: (
        "页面不存在",
        "Page not found",
        "地址有误或记录已不存在。请从首页进入。",
        "The address is wrong or the record no longer exists. Start from the home page.",
    ),
    405: ("不支持的操作", "Method not allowed", "请从页面上的按钮操作。", "Use the buttons on the page."),
    409: (
        "与已保存的数据冲突",
        "Conflict",
        "数据已被他人更改：请刷新后重试。",
        "Someone changed it meanwhile: reload and try again.",
    ),
    422: ("输入有误", "Invalid input", "请检查填写的内容后重试。", "Check what you entered and try again."),
    500: (
        "服务器内部错误",
        "Server error",
        "请稍后重试；若持续出现，请联系运维人员。",
        "Try again shortly; if it persists, call operations.",
    ),
    503: (
        "服务暂不可用",
        "Service unavailable",
        "请稍后重试；若持续出现，请联系运维人员。",
        "Try again shortly; if it persists, call operations.",
    ),
}


def terms_script(*tables: tuple[Path, str]) -> str:
    """A screen's words for the browser, as a script for the UI helpers (`K.addTerms`, `{key:
    [english, chinese]}`): the named tables of terms files (TOML, `key = { zh = "…", en = "…" }`),
    a later table's word over an earlier one's (a screen's own table over [common])."""
    terms: dict[str, list[str]] = {}
    for path, table in tables:
        rows = text_tables_of(path.read_text(encoding="utf-8"))[table]
        terms |= {key: [en, zh] for key, (zh, en) in rows.items()}
    names = ", ".join(f"{'/'.join(path.parts[-3:])} [{table}]" for path, table in tables)
    return f"/* Generated from {names}. */\nK.addTerms({json.dumps(terms, ensure_ascii=False, indent=0)});\n"


def wants_html(request: Request) -> bool:
    """A browser navigating to a page (Accept: text/html…), not a script or an API client."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def error_page(status: int, detail: str | None = None, home: str = "/") -> HTMLResponse:
    """The error as a page: what happened and what to do, Chinese first, the technical detail last."""
    zh, en, todo_zh, todo_en = _ADVICE.get(status, _ADVICE[500 if status >= 500 else 400])
    extra = f'<p class="detail"><code>{html.escape(detail)}</code></p>' if detail else ""
    body = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {zh} — kakou 卡口</title>
<style>body{{font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC",system-ui,sans-serif;background:#0f1720;color:#e8eef4;
margin:0;padding:2em 1em}}main{{max-width:40em;margin:auto}}h1{{font-size:1.6rem}}.en{{color:#a9b8c6}}
a{{color:#8cc4ff;font-size:1.1rem}}code{{color:#a9b8c6;word-break:break-all}}</style></head>
<body><main data-testid="error-page"><p class="en">HTTP {status}</p><h1>{zh} <span class="en">{en}</span></h1>
<p>{todo_zh}</p><p class="en">{todo_en}</p><p><a href="{html.escape(home)}">返回首页 Home</a></p>{extra}
</main></body></html>"""
    return HTMLResponse(body, status_code=status)


def mount_docs(app: FastAPI, openapi_url: str, title: str) -> None:
    """`/docs`: Swagger UI served from the installed package (the app is built with docs_url=None).
    Its start-up script is served as a file of its own: the pages' content security policy runs
    scripts from this origin only, never inline ones."""
    page = bytes(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
            # no validator badge: it is an image from another host
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    ).decode()
    inline = re.search(r"<script>(.*?)</script>", page, re.S)
    start = inline.group(1) if inline else ""
    if inline:
        page = page.replace(inline.group(0), '<script src="/docs/start.js"></script>')

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/start.js", include_in_schema=False)
    def docs_start() -> Response:
        return Response(start, media_type="text/javascript")

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        if name not in DOCS_ASSETS:
            return Response(status_code=404)
        return FileResponse(SWAGGER / name, media_type=DOCS_ASSETS[name], headers={"Cache-Control": "max-age=86400"})
