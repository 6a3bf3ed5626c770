from django import template
from django.conf import settings

from assessment import reports

register = template.Library()


@register.simple_tag
def learner_score(answer):
    """The answer's latest AI score for its learner to see: only with ASSESSMENT_SHOW_LEARNERS (1 query)."""
    if not settings.ASSESSMENT_SHOW_LEARNERS or answer is None or not getattr(answer, "pk", None):
        return None
    return reports.latest_by_answer([answer.pk]).get(answer.pk)
