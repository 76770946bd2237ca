"""A Google Doc's body as the Docs API sees it: text addressed by index, paragraph
styles, bullets and links, changed by batchUpdate requests and imported from Markdown or
HTML the way Drive's conversion does (headings, paragraphs, list items, links).

Indexes count characters; the fake's documents hold no characters outside the Basic
Multilingual Plane, where that equals Docs' UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

Json = dict[str, Any]
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")


class DocError(ValueError):
    """A request Docs would refuse with 400 INVALID_ARGUMENT."""


@dataclass
class Block:
    """A paragraph as imported: its text, named style, bullet preset, links in it."""

    text: str
    style: str = "NORMAL_TEXT"
    bullet: str | None = None
    links: list[tuple[int, int, str]] = field(default_factory=list)


def _inline(text: str) -> tuple[str, list[tuple[int, int, str]]]:
    text = _EMPHASIS.sub(r"\2", text)
    plain, links, last = "", [], 0
    for match in _LINK.finditer(text):
        plain += text[last : match.start()]
        start = len(plain)
        plain += match.group(1)
        links.append((start, len(plain), match.group(2)))
        last = match.end()
    return plain + text[last:], links


def from_markdown(source: str) -> list[Block]:
    blocks: list[Block] = []
    for raw in source.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.strip().startswith("<!--"):
            continue
        style, bullet = "NORMAL_TEXT", None
        if heading := re.match(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*$", line):
            style, line = f"HEADING_{len(heading.group(1))}", heading.group(2)
        elif item := re.match(r"^\s*[-*+]\s+(\[[ xX]\]\s+)?(.*)$", line):
            bullet = "BULLET_CHECKBOX" if item.group(1) else "BULLET_DISC_CIRCLE_SQUARE"
            line = item.group(2)
        text, links = _inline(line)
        blocks.append(Block(text, style, bullet, links))
    return blocks


class _Html(HTMLParser):
    BLOCKS = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr"})

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[Block] = []
        self._open: Block | None = None
        self._href: str | None = None
        self._link_start = 0
        self._in_list = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("ul", "ol"):
            self._in_list = True
        if tag in self.BLOCKS:
            self._close()
            style = f"HEADING_{tag[1]}" if tag.startswith("h") and len(tag) == 2 else "NORMAL_TEXT"  # noqa: PLR2004
            bullet = "BULLET_DISC_CIRCLE_SQUARE" if tag == "li" else None
            self._open = Block("", style, bullet)
        elif tag == "a":
            self._href = dict(attrs).get("href")
            self._link_start = len(self._open.text) if self._open else 0
        elif tag == "br" and self._open is not None:
            self._close()
            self._open = Block("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href and self._open is not None:
            self._open.links.append((self._link_start, len(self._open.text), self._href))
            self._href = None
        elif tag in self.BLOCKS:
            self._close()
        elif tag in ("ul", "ol"):
            self._in_list = False

    def handle_data(self, data: str) -> None:
        text = re.sub(r"\s+", " ", data)
        if self._open is None:
            if not text.strip():
                return
            self._open = Block("")
        self._open.text += text if self._open.text else text.lstrip()

    def _close(self) -> None:
        if self._open is not None and self._open.text.strip():
            self._open.text = self._open.text.strip()
            self.blocks.append(self._open)
        self._open = None


def from_html(source: str) -> list[Block]:
    parser = _Html()
    parser.feed(source)
    parser.close()
    parser._close()
    return parser.blocks


class DocBody:
    """Characters from index 1 on; each "\\n" carries its paragraph's style and bullet."""

    def __init__(self, blocks: list[Block]) -> None:
        self.chars: list[str] = []
        self.links: list[str | None] = []
        self.styles: dict[int, tuple[str, str | None]] = {}  # newline position -> style
        for block in blocks or [Block("")]:
            start = len(self.chars)
            self.chars += [*block.text, "\n"]
            self.links += [None] * (len(block.text) + 1)
            for first, after, url in block.links:
                for i in range(start + first, start + after):
                    self.links[i] = url
            self.styles[len(self.chars) - 1] = (block.style, block.bullet)

    @property
    def end(self) -> int:
        return len(self.chars) + 1

    def _attrs(self, position: int) -> list[tuple[str, str | None]]:
        return [self.styles.get(i, ("NORMAL_TEXT", None)) for i in range(position)]

    def _paragraph_ends(self, start: int, end: int) -> list[int]:
        """Newline positions of the paragraphs overlapping [start, end) (indexes)."""
        found, first = [], start - 1
        for position, char in enumerate(self.chars):
            if char == "\n" and position >= first:
                found.append(position)
                if position >= end - 2:
                    break
        return found

    def _check(self, start: int, end: int | None = None) -> None:
        if start < 1 or (end is not None and (end <= start or end > self.end)):
            raise DocError(f"Invalid range {start}-{end}")

    def insert_text(self, index: int, text: str) -> None:
        self._check(index)
        if index >= self.end:
            raise DocError(
                f"Index {index} must be less than the end index of the segment, {self.end}."
            )
        position = index - 1
        newline = next(i for i in range(position, len(self.chars)) if self.chars[i] == "\n")
        inherited = self.styles.get(newline, ("NORMAL_TEXT", None))
        shifted = {(i + len(text) if i >= position else i): v for i, v in self.styles.items()}
        self.chars[position:position] = list(text)
        self.links[position:position] = [None] * len(text)
        for offset, char in enumerate(text):
            if char == "\n":
                shifted[position + offset] = inherited
        self.styles = shifted

    def delete(self, start: int, end: int) -> None:
        self._check(start, end)
        if end >= self.end:
            raise DocError("The range cannot include the newline at the end of the segment.")
        first, after = start - 1, end - 1
        count = after - first
        kept = {}
        for i, value in self.styles.items():
            if i < first:
                kept[i] = value
            elif i >= after:
                kept[i - count] = value
        del self.chars[first:after]
        del self.links[first:after]
        self.styles = kept

    def set_style(
        self, start: int, end: int, style: str | None = None, bullet: Any = False
    ) -> None:
        self._check(start, end)
        for position in self._paragraph_ends(start, end):
            old_style, old_bullet = self.styles.get(position, ("NORMAL_TEXT", None))
            self.styles[position] = (
                style or old_style,
                old_bullet if bullet is False else bullet,
            )

    def set_link(self, start: int, end: int, url: str | None) -> None:
        self._check(start, end)
        for i in range(start - 1, end - 1):
            self.links[i] = url

    def paragraphs(self) -> list[tuple[int, int, str, str, str | None]]:
        """(start index, end index, text with "\\n", style, bullet) per paragraph."""
        found, start = [], 0
        for position, char in enumerate(self.chars):
            if char == "\n":
                style, bullet = self.styles.get(position, ("NORMAL_TEXT", None))
                found.append(
                    (
                        start + 1,
                        position + 2,
                        "".join(self.chars[start : position + 1]),
                        style,
                        bullet,
                    )
                )
                start = position + 1
        return found

    def plain(self) -> str:
        return "".join(self.chars)

    def render(self, document_id: str, title: str, revision: str) -> Json:
        content: list[Json] = [
            {
                "endIndex": 1,
                "sectionBreak": {
                    "sectionStyle": {
                        "columnSeparatorStyle": "NONE",
                        "contentDirection": "LEFT_TO_RIGHT",
                        "sectionType": "CONTINUOUS",
                    }
                },
            }
        ]
        lists: Json = {}
        for start, end, text, style, bullet in self.paragraphs():
            paragraph: Json = {
                "elements": self._runs(start, text),
                "paragraphStyle": {"namedStyleType": style, "direction": "LEFT_TO_RIGHT"},
            }
            if style.startswith("HEADING_"):
                paragraph["paragraphStyle"]["headingId"] = f"h.{start:06d}"
            if bullet:
                list_id = f"kix.{bullet.lower()}"
                paragraph["bullet"] = {"listId": list_id, "textStyle": {}}
                # Unordered levels carry a glyph symbol; a checklist has no glyph.
                level: Json = (
                    {"glyphType": "GLYPH_TYPE_UNSPECIFIED"}
                    if bullet == "BULLET_CHECKBOX"
                    else {"glyphSymbol": "\u25cf"}
                )
                lists[list_id] = {"listProperties": {"nestingLevels": [level]}}
            content.append({"startIndex": start, "endIndex": end, "paragraph": paragraph})
        return {
            "documentId": document_id,
            "title": title,
            "revisionId": revision,
            "suggestionsViewMode": "SUGGESTIONS_INLINE",
            "body": {"content": content},
            "lists": lists,
            "documentStyle": {
                "pageSize": {
                    "height": {"magnitude": 792, "unit": "PT"},
                    "width": {"magnitude": 612, "unit": "PT"},
                }
            },
        }

    def _runs(self, start: int, text: str) -> list[Json]:
        runs: list[Json] = []
        offset = 0
        while offset < len(text):
            link = self.links[start - 1 + offset]
            length = 1
            while offset + length < len(text) and self.links[start - 1 + offset + length] == link:
                length += 1
            style: Json = {"link": {"url": link}} if link else {}
            runs.append(
                {
                    "startIndex": start + offset,
                    "endIndex": start + offset + length,
                    "textRun": {"content": text[offset : offset + length], "textStyle": style},
                }
            )
            offset += length
        return runs
