from django import template

from quality.presentation import share as _share

register = template.Library()


@register.simple_tag
def share(figures, part, whole):
    """share figures "precise" "addresses" → "93%"."""
    return _share(figures.get(part), figures.get(whole))


@register.filter
def figure(figures, key):
    return figures.get(key) or 0
