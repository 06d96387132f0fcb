"""The text index of a built MkDocs site: one entry per page (its path below the site, title and plain text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

MAX_PAGE_TEXT = 200_000
_SKIP = {"script", "style", "svg", "template", "noscript"}
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class IndexedPage:
    path: str  # below the site root, as served: "" for the home page, "runbook/" for docs/runbook.md
    title: str
    text: str


class _ArticleText(HTMLParser):
    """The text of Material's `<article>` (the page content, without navigation), and its first `<h1>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # inside <article> when > 0
        self.skipping = 0
        self.in_h1 = False
        self.in_title = False
        self.h1: list[str] = []
        self.title: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "article":
            self.depth += 1
        elif tag == "title":
            self.in_title = True
        elif tag in _SKIP or "headerlink" in classes:
            self.skipping += 1
        elif tag == "h1" and self.depth:
            self.in_h1 = True
        if tag in ("p", "li", "h1", "h2", "h3", "h4", "td", "th", "pre", "br", "div") and self.depth:
            self.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "article" and self.depth:
            self.depth -= 1
        elif tag == "title":
            self.in_title = False
        elif tag in _SKIP or (tag == "a" and self.skipping):
            self.skipping = max(0, self.skipping - 1)
        elif tag == "h1":
            self.in_h1 = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        if self.skipping or not self.depth:
            return
        self.text.append(data)
        if self.in_h1:
            self.h1.append(data)


def _clean(parts: list[str]) -> str:
    return _SPACES.sub(" ", "".join(parts)).strip()


def index_page(html: str) -> tuple[str, str]:
    parser = _ArticleText()
    parser.feed(html)
    parser.close()
    title = _clean(parser.h1) or _clean(parser.title).split(" - ")[0]
    return title, _clean(parser.text)[:MAX_PAGE_TEXT]


def index_site(site: Path) -> list[IndexedPage]:
    """Every content page of the site (`use_directory_urls`: each page is a folder's index.html)."""
    pages = []
    for html in sorted(site.rglob("index.html")):
        relative = html.parent.relative_to(site).as_posix()
        if relative.startswith(("assets", "search")):
            continue
        title, text = index_page(html.read_text("utf-8", "replace"))
        pages.append(IndexedPage(path="" if relative == "." else f"{relative}/", title=title or relative, text=text))
    return pages
