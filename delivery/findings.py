"""A sync's findings (its report's diagnostics) grouped by file, for the content status page."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "info")


@dataclass
class FileFindings:
    path: str
    draft: bool
    findings: list[dict] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f["severity"] == s) for s in SEVERITIES}


def group_findings(report: dict, *, severity: str = "", state: str = "") -> list[FileFindings]:
    """The diagnostics of `report` by file (files in path order, findings by line), filtered by severity
    ("error", "warning", "info") and by the file's state ("draft" or "published")."""
    # A draft is listed by its path (or, in a richer report, as {"path": ...}).
    drafts = {
        d if isinstance(d, str) else d.get("path", "") for d in report.get("drafts") or [] if isinstance(d, str | dict)
    }
    files: dict[str, FileFindings] = {}
    for finding in report.get("diagnostics") or []:
        if severity and finding.get("severity") != severity:
            continue
        path = finding.get("path", "")
        draft = path in drafts
        if (state == "draft" and not draft) or (state == "published" and draft):
            continue
        files.setdefault(path, FileFindings(path=path, draft=draft)).findings.append(finding)
    for entry in files.values():
        entry.findings.sort(key=lambda f: (f.get("line", 0), f.get("severity", "")))
    return [files[path] for path in sorted(files)]
