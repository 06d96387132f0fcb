"""`/docs` works without internet: every asset it references is served by Roadbed itself (issue 11)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from roadbed.api.app import create_app
from roadbed.settings import Settings

_ASSET_REFS = re.compile(r"""<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@pytest_asyncio.fixture(loop_scope="session")
async def docs_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: the docs need neither the database nor Temporal.
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://roadbed") as http:
        yield http


async def test_docs_reference_no_external_host(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get("/docs")
    assert response.status_code == 200
    html = response.text
    refs = _ASSET_REFS.findall(html)
    assert refs, html
    assert not [ref for ref in refs if "//" in ref], refs
    # Nor any absolute URL the page's script would load (a favicon, a CDN bundle).
    assert not [m.group(0) for m in re.finditer(r"https?://", html)], html


async def test_docs_assets_are_served_with_their_content_type(docs_client: httpx.AsyncClient) -> None:
    html = (await docs_client.get("/docs")).text
    refs = _ASSET_REFS.findall(html)
    by_suffix = {ref.rsplit(".", 1)[-1]: ref for ref in refs}
    assert {"js", "css"} <= set(by_suffix), refs
    expected = {"js": "javascript", "css": "text/css", "png": "image/png"}
    for suffix, ref in by_suffix.items():
        asset = await docs_client.get(ref)
        assert asset.status_code == 200, ref
        assert expected[suffix] in asset.headers["content-type"], (ref, asset.headers["content-type"])
        assert asset.content, ref


async def test_redoc_is_not_served_from_a_cdn(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get("/redoc")
    assert response.status_code == 404 or "https://" not in response.text
