"""Checking the directives of article bodies: `:::collapse` / `:::note` blocks, `::collapse[...]` /
`::note[...]` lines and `:footnote[...]` inside text.

An author who misspells a directive, forgets to close a block or leaves one empty would otherwise see it
shown raw or not at all, so every such slip is reported at its line: an unclosed block, an unknown name
that is close to a known one (or a name from other Markdown dialects, such as `:::warning`), a form the
directive does not have (`:::footnote`), an empty block, and attributes (`{open}`), which no directive takes.
Code blocks are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .diagnostics import FileReport, closest, one_of
from .reader import Line

# name -> the forms it has: "container" (`:::name` ... `:::`), "leaf" (`::name[...]`), "text" (`:name[...]`)
FORMS: dict[str, frozenset[str]] = {
    "collapse": frozenset({"container", "leaf", "text"}),
    "note": frozenset({"container", "leaf", "text"}),
    "footnote": frozenset({"leaf", "text"}),
}
# Directive names of other Markdown dialects that authors reach for: reported, never shown raw.
OTHER_DIALECTS = frozenset(
    {"warning", "info", "tip", "caution", "important", "danger", "details", "summary", "aside", "callout", "admonition"}
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_OPEN = re.compile(r"^\s*:::\s*([A-Za-z][\w-]*)\s*(\{[^}]*\})?")
_CLOSE = re.compile(r"^\s*:::\s*(\{[^}]*\})?\s*$")
_LEAF = re.compile(r"^\s*::([A-Za-z][\w-]*)(\{[^}]*\})?(\[)?(?:[^\]]*(\]))?(\{[^}]*\})?")
_TEXT = re.compile(r"(?<![:\w/]):([A-Za-z][\w-]*)(\{[^}]*\})?\[([^\]]*)(\])?(\{[^}]*\})?")
# What every directive and every closing mark holds: `:::`, or a colon before a name (`::note`, `:footnote`).
_ANY_DIRECTIVE = re.compile(r":::|:[A-Za-z]")


@dataclass
class _Open:
    name: str
    line: int
    has_content: bool = False


def check_directives(lines: list[Line], report: FileReport, *, body: str | None = None) -> None:
    """Report every directive problem in an article body (its numbered lines; `body`: the same lines joined)."""
    joined = "\n".join(line.text for line in lines) if body is None else body
    if _ANY_DIRECTIVE.search(joined) is None:
        return  # no directive and no `:::` at all (most articles): nothing to report, and one search says so
    stack: list[_Open] = []
    fenced = False
    for line in lines:
        text = line.text
        if ":" not in text and "`" not in text and "~" not in text:
            # No directive, fence or closing mark (most lines of an article): it only gives an open block text.
            if not fenced and stack and text.strip():
                stack[-1].has_content = True
            continue
        if _FENCE.match(text):
            fenced = not fenced
            continue
        if fenced:
            continue
        if close := _CLOSE.match(text):
            attribute = close.group(1)
            if attribute:
                report.warning(line.number, f"attribute `{attribute}` on a closing `:::` has no effect", "remove it")
            if not stack:
                report.error(line.number, "`:::` closes no open block", "remove it, or open the block above it")
                continue
            block = stack.pop()
            if not block.has_content:
                report.warning(block.line, f"`:::{block.name}` block is empty", "add its text, or remove the block")
            if stack:
                stack[-1].has_content = True
            continue
        opened = _OPEN.match(text)
        if opened:
            name, attribute = opened.group(1), opened.group(2)
            if stack:
                stack[-1].has_content = True
            _check_name(name, "container", f":::{name}", line.number, report, attribute)
            stack.append(_Open(name, line.number))
            continue
        if stack and text.strip():
            stack[-1].has_content = True
        leaf = _LEAF.match(text)
        if leaf:
            name = leaf.group(1)
            if _check_name(name, "leaf", f"::{name}", line.number, report, leaf.group(2) or leaf.group(5)):
                if leaf.group(3) and not leaf.group(4):
                    report.error(line.number, f"`::{name}[` is never closed", f"end it with `]`: `::{name}[text]`")
                elif not leaf.group(3):
                    report.error(line.number, f"`::{name}` needs its text in brackets", f"write `::{name}[text]`")
                elif not text[text.index("[") + 1 : text.rindex("]")].strip():
                    report.warning(line.number, f"`::{name}[]` is empty", "write its text between the brackets")
            continue
        for found in _TEXT.finditer(text):
            name = found.group(1)
            if name not in FORMS and name not in OTHER_DIALECTS and closest(name, list(FORMS)) is None:
                continue  # `word:[...]`-like prose, not a directive
            if _check_name(name, "text", f":{name}", line.number, report, found.group(2) or found.group(5)):
                if found.group(4) is None:
                    report.error(line.number, f"`:{name}[` is never closed", f"end it with `]`: `:{name}[text]`")
                elif not found.group(3).strip():
                    report.warning(line.number, f"`:{name}[]` is empty", "write its text between the brackets")
    for block in stack:
        report.error(block.line, f"`:::{block.name}` block is never closed", "end it with a line `:::`")


def _check_name(name: str, form: str, written: str, line: int, report: FileReport, attribute: str | None) -> bool:
    """Report an unknown name or a form the directive lacks; True when it is a known directive in this form."""
    lowered = name.lower()
    valid = sorted(n for n, forms in FORMS.items() if form in forms)
    marks = {"container": ":::", "leaf": "::", "text": ":"}[form]
    if lowered not in FORMS:
        near = closest(lowered, list(FORMS))
        if lowered in OTHER_DIALECTS or near is not None:
            hint = (
                f"did you mean `{marks}{near}`?" if near else f"directives here: {one_of([marks + v for v in valid])}"
            )
            report.error(line, f"unknown directive `{written}`; it would be shown as raw text", hint)
        return False
    if form not in FORMS[lowered]:
        forms = one_of(
            [
                {"container": f":::{lowered}", "leaf": f"::{lowered}[...]", "text": f":{lowered}[...]"}[f]
                for f in sorted(FORMS[lowered])
            ]
        )
        report.error(line, f"`{written}` is not a form `{lowered}` has", f"write {forms}")
        return False
    if name != lowered:
        report.warning(line, f"directive `{written}` is written in lowercase", f"write `{marks}{lowered}`")
    if attribute:
        report.warning(line, f"directive `{written}` takes no attributes; `{attribute}` is ignored", "remove it")
    return True


__all__ = ["FORMS", "check_directives"]
