from django import template

from geo.presentation import region_label as _region_label

register = template.Library()


@register.filter
def region_label(region) -> str:
    return _region_label(region)
