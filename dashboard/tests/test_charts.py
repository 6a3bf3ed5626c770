"""The chart geometry: bar segments proportional to the counts, dots placed on the minutes axis."""

import pytest

from dashboard.charts import dot_plot, stacked_bars
from dashboard.queries import for_course_dashboard
from dashboard.tests.factories import make_cohort

pytestmark = pytest.mark.django_db


def test_bar_segments_are_proportional_to_the_learners_in_each_state():
    """Cohort of 5 on module "first": 1 completed, 2 in progress, 2 not started, across the plot's width."""
    stats = for_course_dashboard(make_cohort().course)
    bars = stacked_bars(stats.modules, stats.cohort)
    assert [(s.x, s.width) for s in bars.bars[0].segments] == [(250.0, 78.0), (328.0, 156.0), (484.0, 156.0)]


def test_dots_sit_on_the_minutes_axis():
    """Each required lens's estimate and median actual minutes, on an axis with round ticks."""
    plot = dot_plot(for_course_dashboard(make_cohort().course).lenses)
    assert [tick.label for tick in plot.ticks] == ["0", "2", "4", "6", "8"]
    placed = [(row.estimate_x, row.median_x) for row in plot.rows if not row.heading]
    assert placed == [(323.12, 323.12), (323.12, 412.5), (323.12, 534.38)]
