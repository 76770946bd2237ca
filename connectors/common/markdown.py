"""Markdown cut at its headings: what the document connectors read sections from.

Only ATX headings (`## Timeline`) start a section, and never inside a fenced code
block. That is the subset pmhub's templates write and GitHub renders; a full
CommonMark parser would add a dependency to find the same lines. Setext headings
(a line underlined with `===`) are read as body text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class MarkdownSection:
    level: int  # 0 for the text before the first heading
    heading: str
    start: int  # index of the heading line (of the first line, for level 0)
    end: int  # index after the section's last body line
    body: tuple[str, ...]  # the lines under the heading, up to the next heading


def heading_of(line: str) -> tuple[int, str] | None:
    found = _ATX.match(line)
    if found is None:
        return None
    return len(found.group(1)), (found.group(2) or "").strip()


def split_sections(text: str) -> list[MarkdownSection]:
    """Every heading with the lines up to the next heading (of any level), in order."""
    lines = text.splitlines()
    marks: list[tuple[int, int, str]] = []  # (line index, level, heading)
    fence: str | None = None
    for index, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
            continue
        if opened:
            fence = opened.group(1)
            continue
        found = heading_of(line)
        if found is not None:
            marks.append((index, *found))
    sections: list[MarkdownSection] = []
    first = marks[0][0] if marks else len(lines)
    if first > 0:
        sections.append(MarkdownSection(0, "", 0, first, tuple(lines[:first])))
    for number, (index, level, heading) in enumerate(marks):
        end = marks[number + 1][0] if number + 1 < len(marks) else len(lines)
        sections.append(MarkdownSection(level, heading, index, end, tuple(lines[index + 1 : end])))
    return sections


def plain_text(lines: tuple[str, ...] | list[str]) -> str:
    """Body lines as a reader sees them: HTML comments and blank edges removed."""
    text = "\n".join(lines)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
