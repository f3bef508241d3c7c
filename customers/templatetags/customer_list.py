from django import template

from customers import presentation

register = template.Library()

register.filter("css_colour", presentation.css_colour)
register.filter("precision_class", presentation.precision_class)
register.filter("stage_class", presentation.stage_class)
register.simple_tag(presentation.precision_title, name="precision_title")
