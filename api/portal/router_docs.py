"""TechDocs pages: `/docs/{namespace}/{kind}/{name}/` and everything below it, keeping MkDocs' paths, for signed-in
portal users. (`/docs` itself and `/docs/assets` are the API reference, mounted before these routes.)

Pages are served from the built site folder only: the entity part must be an entity name, each path segment a plain
name (no `..`, `.`, backslash or NUL, before and after decoding), and the resolved file must lie inside the site.
A service's docs are authored by its team and may hold raw HTML: every page is sent with a CSP `sandbox`, so
whatever script a page carries runs in an opaque origin, without the portal's cookies, pages or CSRF token.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from roadbed.api.errors import ApiError
from roadbed.api.portal.common import Me, mark_portal, signed_in
from roadbed.api.routers import techdocs as techdocs_api
from roadbed.techdocs import search_provider
from roadbed.techdocs.store import DocsKey

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_portal)])

SANDBOX = "sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".json": "application/json", ".svg": "image/svg+xml", ".xml": "application/xml", ".woff2": "font/woff2", ".map": "application/json"}


def page_file(site: Path, page: str) -> Path | None:
    """The file of `page` below `site`, a folder's index.html for a folder; None if it is not there or not inside."""
    parts = [part for part in page.split("/") if part]
    if any(part in (".", "..") or "\\" in part or "\x00" in part or part.startswith("%") for part in parts):
        return None
    root = site.resolve()
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    try:
        resolved = candidate.resolve(strict=True)
    except OSError:
        return None
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@router.get("/docs/{namespace}/{kind}/{name}")
async def docs_home(namespace: str, kind: str, name: str, _me: Me) -> Response:
    key = DocsKey.of(namespace, kind, name)
    return RedirectResponse(key.url, status_code=307)


def theme_assets() -> Path:
    """Material's own assets (the techdocs-core theme), as installed: public package files, not a repository's."""
    import material

    return Path(material.__file__).resolve().parent / "templates" / "assets"


@router.get("/docs/{namespace}/{kind}/{name}/assets/{asset:path}")
async def docs_theme_asset(namespace: str, kind: str, name: str, asset: str, request: Request) -> Response:
    """The theme's CSS, JavaScript and icons come from the installed package, without a session: a sandboxed page
    (opaque origin) fetches them without the portal's SameSite cookie. Anything else under `assets/` (a repository's
    own files) needs the session like every page."""
    key = DocsKey.of(namespace, kind, name)
    found = page_file(theme_assets(), asset) if asset else None
    if found is not None:
        return FileResponse(found, media_type=content_type(found), headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
    return await docs_page(key.namespace, key.kind, key.name, f"assets/{asset}", request, await signed_in(request))


@router.get("/docs/{namespace}/{kind}/{name}/{page:path}")
async def docs_page(namespace: str, kind: str, name: str, page: str, request: Request, _me: Me) -> Response:
    key = DocsKey.of(namespace, kind, name)
    if (namespace, kind, name) != (key.namespace, key.kind, key.name):  # links use lower case; any case is accepted
        return RedirectResponse(key.url + page, status_code=307)
    site = techdocs_api.techdocs_of(request).site_dir(key)
    found = page_file(site, page)
    if found is None:
        raise ApiError(404, "not_found", f"no TechDocs page {page!r} for {key.ref}" if site.is_dir() else f"no TechDocs built for {key.ref} yet")
    if found.name == "index.html" and page and not page.endswith("/") and not page.endswith("index.html"):
        return RedirectResponse(f"{key.url}{page}/", status_code=307)  # MkDocs' relative links need the folder's slash
    headers = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
    if found.suffix.lower() in (".html", ".htm", ".svg", ".xml", ".xhtml"):
        headers["Content-Security-Policy"] = SANDBOX
    return FileResponse(found, media_type=content_type(found), headers=headers)


def install_techdocs(app: FastAPI) -> None:
    """The build API and the pages (called by `install_portal`)."""
    app.include_router(techdocs_api.router)
    app.include_router(router)
    search_provider.register()  # docs pages in GET /v1/search and /search
