"""Geometry of the dashboard's SVG charts, computed on the server; the templates only draw it.

The charts use SVG presentation attributes (`fill`, `x`, `width`), never `style=`, which the
Content-Security-Policy would block. Each chart is an image with a title and a description for screen
readers, and the same numbers are in a table next to it.
"""

import math
from dataclasses import dataclass

from dashboard.queries import LensStats, ModuleStats

WIDTH = 800
LABEL_WIDTH = 250  # module and lens names, right-aligned at LABEL_WIDTH - 10
PLOT_WIDTH = 390
ROW = 30
BAR = 18
TOP = 40  # room for the legend

COMPLETED = "#1a7f37"
IN_PROGRESS = "#d4a72c"
NOT_STARTED = "#d0d7de"
ESTIMATE = "#57606a"
MEDIAN = "#0969da"


def shorten(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    fill: str
    label: str  # a tooltip: "3 completed (25%)"


@dataclass(frozen=True)
class Bar:
    y: float
    text_y: float
    label: str
    full_label: str
    segments: list[Segment]
    numbers: str


@dataclass(frozen=True)
class LegendItem:
    x: float
    fill: str
    label: str
    hollow: bool = False

    @property
    def text_x(self) -> float:
        return self.x + 20

    @property
    def marker_x(self) -> float:
        return self.x + 7


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    bar_height: int
    plot_x: int
    plot_width: int
    bars: list[Bar]
    legend: list[LegendItem]
    description: str
    label_x: int = LABEL_WIDTH - 10
    numbers_x: int = LABEL_WIDTH + PLOT_WIDTH + 10


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def _bar(index: int, parts: list[tuple[int, str, str]], whole: int, **labels: str) -> Bar:
    """The bar of row `index`: a segment per (count, fill, label) part with a count, as its share of `whole`."""
    y = TOP + index * ROW
    x = float(LABEL_WIDTH)
    segments = []
    for count, fill, label in parts:
        width = PLOT_WIDTH * count / whole if whole else 0
        if width:
            segments.append(Segment(round(x, 2), round(width, 2), fill, label))
        x += width
    return Bar(y=y, text_y=y + BAR / 2 + 4, segments=segments, **labels)


def _stacked_bars(bars: list[Bar], legend: list[LegendItem], description: str) -> StackedBars:
    return StackedBars(
        width=WIDTH,
        height=TOP + max(len(bars), 1) * ROW,
        bar_height=BAR,
        plot_x=LABEL_WIDTH,
        plot_width=PLOT_WIDTH,
        bars=bars,
        legend=legend,
        description=description,
    )


def stacked_bars(modules: list[ModuleStats], cohort: int) -> StackedBars:
    """One bar per module, split into completed, in progress and not started shares of the cohort."""
    bars = []
    for index, module in enumerate(modules):
        parts = [
            (count, fill, f"{module.title}: {count} {name} ({_percent(count, cohort)})")
            for count, fill, name in (
                (module.completed, COMPLETED, "completed"),
                (module.in_progress, IN_PROGRESS, "in progress"),
                (module.not_started, NOT_STARTED, "not started"),
            )
        ]
        bars.append(
            _bar(
                index,
                parts,
                cohort,
                label=shorten(module.title),
                full_label=module.title,
                numbers=f"{module.completed} · {module.in_progress} · {module.not_started}",
            )
        )
    legend = [
        LegendItem(LABEL_WIDTH, COMPLETED, "Completed"),
        LegendItem(LABEL_WIDTH + 110, IN_PROGRESS, "In progress"),
        LegendItem(LABEL_WIDTH + 230, NOT_STARTED, "Not started"),
    ]
    if cohort:
        described = "; ".join(
            f"{m.title}: {m.completed} completed, {m.in_progress} in progress, {m.not_started} not started"
            for m in modules
        )
        description = f"Of {cohort} learners active in the course: {described}."
    else:
        description = "No learner has progress in this course yet."
    return _stacked_bars(bars, legend, description)


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class DotRow:
    y: float
    text_y: float
    label: str
    full_label: str
    heading: bool  # a module's name above its lenses
    estimate_x: float | None = None
    median_x: float | None = None
    summary: str = ""

    @property
    def dot_y(self) -> float:
        return self.y + 9

    @property
    def line_x1(self) -> float | None:
        return min(self.estimate_x, self.median_x) if self.median_x is not None else None

    @property
    def line_x2(self) -> float | None:
        return max(self.estimate_x, self.median_x) if self.median_x is not None else None


@dataclass(frozen=True)
class DotPlot:
    width: int
    height: int
    plot_x: int
    plot_width: int
    axis_y: float
    rows: list[DotRow]
    ticks: list[Tick]
    legend: list[LegendItem]
    description: str
    label_x: int = LABEL_WIDTH - 10
    grid_top: int = TOP - 6
    estimate_color: str = ESTIMATE
    median_color: str = MEDIAN

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 16

    @property
    def axis_label_x(self) -> int:
        return self.plot_x + self.plot_width + 12


def minutes(seconds: float) -> str:
    value = seconds / 60
    return f"{value:.1f} min" if value < 10 else f"{round(value)} min"


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def dot_plot(lenses: list[LensStats]) -> DotPlot:
    """One row per required lens: its estimated minutes (hollow) and learners' median minutes (filled)."""
    values = [lens.estimated_seconds / 60 for lens in lenses]
    values += [lens.median_seconds / 60 for lens in lenses if lens.median_seconds is not None]
    top = max([*values, 1.0]) * 1.08
    step = _nice_step(top)
    top = math.ceil(top / step) * step

    def x(seconds: float) -> float:
        return round(LABEL_WIDTH + PLOT_WIDTH * (seconds / 60) / top, 2)

    rows: list[DotRow] = []
    y = float(TOP)
    current = None
    for lens in lenses:
        if lens.module_title != current:
            current = lens.module_title
            rows.append(DotRow(y, y + 14, shorten(current, 60), current, heading=True))
            y += ROW * 0.8
        if lens.median_seconds is None:
            summary = f"{lens.title}: estimated {minutes(lens.estimated_seconds)}; no tracked completion yet"
        else:
            summary = (
                f"{lens.title}: estimated {minutes(lens.estimated_seconds)}, median {minutes(lens.median_seconds)} "
                f"over {lens.timed} learner{'s' if lens.timed != 1 else ''}"
            )
        rows.append(
            DotRow(
                y=y,
                text_y=y + 14,
                label=shorten(lens.title),
                full_label=lens.title,
                heading=False,
                estimate_x=x(lens.estimated_seconds),
                median_x=x(lens.median_seconds) if lens.median_seconds is not None else None,
                summary=summary,
            )
        )
        y += ROW
    ticks = []
    value = 0.0
    while value <= top + 1e-9:
        label = f"{value:g}"
        ticks.append(Tick(round(LABEL_WIDTH + PLOT_WIDTH * value / top, 2), label))
        value += step
    legend = [
        LegendItem(LABEL_WIDTH, ESTIMATE, "Estimated", hollow=True),
        LegendItem(LABEL_WIDTH + 120, MEDIAN, "Median actual"),
    ]
    timed = [lens for lens in lenses if lens.median_seconds is not None]
    description = f"{len(lenses)} required lenses and tests; {len(timed)} with tracked completions. " + " ".join(
        row.summary + "." for row in rows if not row.heading
    )
    return DotPlot(
        width=WIDTH,
        height=int(y) + 40,
        plot_x=LABEL_WIDTH,
        plot_width=PLOT_WIDTH,
        axis_y=y + 4,
        rows=rows,
        ticks=ticks,
        legend=legend,
        description=description,
    )


SCORE_FILLS = {1: "#cf222e", 2: "#fb8f44", 3: "#d4a72c", 4: "#7ab55c", 5: "#1a7f37"}


def score_bars(rows) -> StackedBars:
    """One bar per learning outcome or question (`assessment.reports.ScoreRow`): its answers by score 1 to 5."""
    bars = []
    for index, row in enumerate(rows):
        parts = [
            (count, SCORE_FILLS[score], f"{row.title}: {count} scored {score}/5 ({_percent(count, row.total)})")
            for score, count in row.counts.items()
        ]
        bars.append(
            _bar(
                index,
                parts,
                row.total,
                label=shorten(row.title, 32),
                full_label=f"{row.kind}: {row.title}",
                numbers=" · ".join(str(count) for count in row.in_order),
            )
        )
    legend = [LegendItem(LABEL_WIDTH + (score - 1) * 60, SCORE_FILLS[score], f"{score}/5") for score in SCORE_FILLS]
    if rows:
        described = "; ".join(
            f"{r.kind} {r.title}: " + ", ".join(f"{c} scored {s}" for s, c in r.counts.items()) for r in rows
        )
        description = f"Answers by AI score from 1 to 5: {described}."
    else:
        description = "No answer in this course has been scored yet."
    return _stacked_bars(bars, legend, description)
