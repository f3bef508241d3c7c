"""Writes of the import's own data: column presets."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from imports.columns import FIELDS
from imports.models import ColumnPreset
from imports.presets import IGNORE
from imports.selectors import user_team


@transaction.atomic
def column_preset_save(*, actor, name: str, mapping: dict[str, str]) -> ColumnPreset:
    """Save (or replace) the named preset of the actor's team."""
    name = name.strip()
    if not name:
        raise ValidationError({"preset_name": _("Give the preset a name.")})
    unknown = sorted({f for f in mapping.values() if f not in FIELDS and f != IGNORE})
    if unknown:
        raise ValidationError({"mapping": _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)}})
    team = user_team(user=actor)
    preset = ColumnPreset.objects.select_for_update().filter(team=team, name=name).first()
    if preset is None:
        preset = ColumnPreset(team=team, name=name)
    preset.mapping = {h: f for h, f in mapping.items() if h.strip()}
    preset.created_by = actor
    preset.save()
    return preset
