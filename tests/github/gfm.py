"""Markdown as GitHub renders it: cmark-gfm (GitHub's own fork of cmark, through ``cmarkgfm``)
with its extensions (tables, autolinks, strikethrough, task lists) and raw HTML kept
(``<details>``, ``<sub>``, our marker comment), then the top-level blocks a reader sees, in
order, as ``(tag, text)``."""

from __future__ import annotations

from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

__all__ = ["render", "rendered_blocks"]

_VOID = {"br", "hr", "img", "input", "meta", "link"}


def render(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class _Blocks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []
        self.depth = 0
        self.tag = ""
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        if self.depth == 0:
            self.tag, self.text = tag, []
        self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        self.depth -= 1
        if self.depth == 0:
            self.blocks.append((self.tag, " ".join("".join(self.text).split())))

    def handle_data(self, data: str) -> None:
        if self.depth > 0:
            self.text.append(data)


def rendered_blocks(markdown: str) -> list[tuple[str, str]]:
    """The top-level elements of the rendered HTML (comments and blank text skipped)."""
    parser = _Blocks()
    parser.feed(render(markdown))
    parser.close()
    return parser.blocks
