"""The interactive API docs (`/docs`), served entirely from this process.

FastAPI's default `/docs` page pulls Swagger UI's JavaScript and CSS (and a favicon) from public CDNs, so on a
machine without internet, which is where `roadbed up` often runs, the page stays blank. The assets come instead
from the `swagger-ui-bundle` PyPI package (a dependency, so they travel with every install and nothing is
vendored into this repository) and are mounted under `/docs/assets`. ReDoc is switched off: no package ships
it alongside, and one working docs page beats a second blank one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def swagger_ui_dir() -> Path:
    """Where the installed `swagger-ui-bundle` keeps Swagger UI's dist files (imported here, not at module load)."""
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` with local assets. The app must be built with `docs_url=None, redoc_url=None`."""
    app.mount(ASSETS_URL, StaticFiles(directory=swagger_ui_dir()), name="swagger-ui-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
