from django import template

from dashboard.charts import minutes

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as "45 s", "12 min" or "1 h 05 min"."""
    if seconds is None:
        return "-"
    seconds = round(float(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return minutes(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min"


@register.filter
def get_item(mapping: dict, key):
    """mapping[key], or None."""
    return mapping.get(key)
