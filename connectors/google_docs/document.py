"""A Google Doc's structure read as sections, and pmhub's draft section written back. Pure.

Docs addresses text by index in the body (UTF-16 code units; the body starts at 1 after
the section break, and each paragraph ends with its "\\n"). pmhub's draft section runs
from the last paragraph styled as a heading and reading `draft_heading` to the end of
the body. Its text, as pmhub wrote it, is hashed into the file's appProperties, so a
person's edit (or text added below it) shows as a different digest.

The draft's Markdown is written with Docs requests: paragraphs, `#` headings, `-` and
`- [ ]` bullets, and `[text](url)` links. That subset covers what pmhub writes there.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from hub.ports import DocumentSection, section_name

JsonDict = dict[str, Any]
HEADING_STYLES = {"TITLE": 1, **{f"HEADING_{n}": n for n in range(1, 7)}}
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_MD_BULLET = re.compile(r"^\s*[-*+]\s+(\[[ xX]\]\s+)?(.*)$")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Paragraph:
    start: int
    end: int  # after its "\n"
    text: str  # without the "\n"
    level: int  # 0: body text; 1-6: a heading
    bullet: bool


def paragraphs(document: JsonDict) -> list[Paragraph]:
    found = []
    for element in (document.get("body") or {}).get("content") or ():
        paragraph = element.get("paragraph") if isinstance(element, dict) else None
        if not isinstance(paragraph, dict):
            continue
        text = "".join(
            str((part.get("textRun") or {}).get("content") or "")
            for part in paragraph.get("elements") or ()
            if isinstance(part, dict)
        )
        style = (paragraph.get("paragraphStyle") or {}).get("namedStyleType")
        found.append(
            Paragraph(
                start=int(element.get("startIndex") or 0),
                end=int(element["endIndex"]),
                text=text.removesuffix("\n"),
                level=HEADING_STYLES.get(str(style), 0),
                bullet="bullet" in paragraph,
            )
        )
    return found


def body_end(document: JsonDict) -> int:
    content = (document.get("body") or {}).get("content") or [{}]
    return int(content[-1].get("endIndex") or 1)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _plain(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in "\n".join(lines).strip().splitlines())


def draft_start(found: list[Paragraph], heading: str) -> int | None:
    wanted = section_name(heading)
    matches = [i for i, p in enumerate(found) if p.level and section_name(p.text) == wanted]
    return matches[-1] if matches else None


def draft_text(found: list[Paragraph], heading: str) -> str | None:
    """The draft section's text as a reader sees it; None when there is no draft heading."""
    start = draft_start(found, heading)
    if start is None:
        return None
    return _plain([p.text for p in found[start + 1 :]])


def sections(found: list[Paragraph], heading: str) -> tuple[DocumentSection, ...]:
    start = draft_start(found, heading)
    result: list[DocumentSection] = []
    for index, paragraph in enumerate(found):
        if not paragraph.level:
            continue
        body: list[str] = []
        for following in found[index + 1 :]:
            if following.level:
                break
            body.append(following.text)
        result.append(
            DocumentSection(
                heading=paragraph.text.strip(),
                level=paragraph.level,
                text=_plain(body),
                draft=start is not None and index >= start,
            )
        )
    return tuple(result)


@dataclass(frozen=True)
class _Line:
    text: str
    level: int  # a Markdown heading's level, else 0
    bullet: str | None  # a Docs bullet preset
    links: tuple[tuple[int, int, str], ...]  # (start, end) in UTF-16 units within text


def _parse_line(raw: str) -> _Line:
    level, bullet, text = 0, None, raw.rstrip()
    if found := _MD_HEADING.match(text):
        level, text = len(found.group(1)), found.group(2)
    elif found := _MD_BULLET.match(text):
        checkbox = found.group(1) is not None
        bullet = "BULLET_CHECKBOX" if checkbox else "BULLET_DISC_CIRCLE_SQUARE"
        text = found.group(2)
    links: list[tuple[int, int, str]] = []
    plain = ""
    last = 0
    for match in _LINK.finditer(text):
        plain += text[last : match.start()]
        start = utf16_len(plain)
        plain += match.group(1)
        links.append((start, utf16_len(plain), match.group(2)))
        last = match.end()
    plain += text[last:]
    return _Line(plain, level, bullet, tuple(links))


def draft_plain(content: str) -> str:
    """What the draft section reads as once `content` is written (for the digest)."""
    return _plain([_parse_line(line).text for line in content.strip("\n").splitlines()])


def draft_requests(found: list[Paragraph], end: int, heading: str, content: str) -> list[JsonDict]:
    """Docs requests replacing everything after the draft heading with `content`."""
    start = draft_start(found, heading)
    if start is None:
        raise ValueError("no draft heading")
    head = found[start]
    lines = [_parse_line(line) for line in content.strip("\n").splitlines()] or [_parse_line("")]
    requests: list[JsonDict] = []
    trailing = head.end < end - 1  # something follows: one empty paragraph will remain
    if trailing:
        requests.append(
            {"deleteContentRange": {"range": {"startIndex": head.end, "endIndex": end - 1}}}
        )
    base = head.end - 1  # just before the heading's own newline
    inserted = "\n" + "\n".join(line.text for line in lines)
    requests.append({"insertText": {"location": {"index": base}, "text": inserted}})
    spans: list[tuple[int, int]] = []
    cursor = base + 1
    for line in lines:
        length = utf16_len(line.text)
        spans.append((cursor, cursor + length + 1))
        cursor += length + 1
    whole = {"startIndex": base + 1, "endIndex": cursor + (1 if trailing else 0)}
    requests.append(
        {
            "updateParagraphStyle": {
                "range": whole,
                "paragraphStyle": {"namedStyleType": "NORMAL_TEXT"},
                "fields": "namedStyleType",
            }
        }
    )
    requests.append({"deleteParagraphBullets": {"range": whole}})
    for line, (first, after) in zip(lines, spans, strict=True):
        span = {"startIndex": first, "endIndex": after}
        if line.level:
            requests.append(
                {
                    "updateParagraphStyle": {
                        "range": span,
                        "paragraphStyle": {"namedStyleType": f"HEADING_{line.level}"},
                        "fields": "namedStyleType",
                    }
                }
            )
        if line.bullet:
            requests.append(
                {"createParagraphBullets": {"range": span, "bulletPreset": line.bullet}}
            )
        for link_start, link_end, url in line.links:
            requests.append(
                {
                    "updateTextStyle": {
                        "range": {"startIndex": first + link_start, "endIndex": first + link_end},
                        "textStyle": {"link": {"url": url}},
                        "fields": "link",
                    }
                }
            )
    return requests
