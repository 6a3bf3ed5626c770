"""Accessibility checks of browser tests: axe-core (tests/vendor/axe-core/, version in its README) run in
the page with every rule axe enables (all WCAG 2.0-2.2 A/AA rules and the best-practice ones; not the
AAA and experimental rules axe leaves off), any violation at any impact a failure.

axe is put into the page with Playwright's `page.evaluate(source)`, which runs through the DevTools
protocol: the page's Content-Security-Policy (no inline or injected scripts) still holds for the page
itself and is not loosened for the test (no `bypass_csp`).

Each checked page is summed up on one line (label, rules run, violations), printed and kept in `RESULTS`;
the root conftest prints all of them at the end of the run, so they are in the output of `make test`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
_axe_source: str | None = None


@dataclass
class AxeResult:
    label: str
    url: str
    rules_run: int
    passes: int
    violations: list[dict]

    def summary(self) -> str:
        worst = ", ".join(f"{v['id']} ({v['impact']}, {len(v['nodes'])})" for v in self.violations)
        return (
            f"axe {self.label}: {self.rules_run} rules run, {self.passes} passed, "
            f"{len(self.violations)} violations{': ' + worst if worst else ''}"
        )


RESULTS: list[AxeResult] = []

_RUN = """async (context) => {
  const result = await axe.run(context || document, {resultTypes: ["violations"]});
  const rules = result.passes.length + result.violations.length + result.incomplete.length
    + result.inapplicable.length;
  return {
    rules_run: rules,
    passes: result.passes.length,
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({target: n.target, html: n.html.slice(0, 300), summary: n.failureSummary})),
    })),
  };
}"""


def _source() -> str:
    global _axe_source
    if _axe_source is None:
        _axe_source = AXE_SOURCE.read_text(encoding="utf-8")
    return _axe_source


def axe_violations(page, context=None, *, label: str | None = None) -> list[dict]:
    """Run every axe rule on the page (or the `context` selector in it); the violations, as dicts.

    Records the one-line summary under `label` (default: the page's path)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())
    outcome = page.evaluate(_RUN, context)
    url = page.url
    result = AxeResult(label or url, url, outcome["rules_run"], outcome["passes"], outcome["violations"])
    RESULTS.append(result)
    print(result.summary())
    return result.violations


def assert_accessible(page, label: str, context=None, record_property=None) -> None:
    """Fail with axe's findings when the page (or `context` in it) has any violation."""
    violations = axe_violations(page, context, label=label)
    if record_property is not None:
        record_property(f"axe {label}", RESULTS[-1].summary())
    assert violations == [], f"axe found violations on {label} ({page.url}):\n" + json.dumps(violations, indent=1)
