"""Reads of the import's own data: the column presets a user may apply."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db.models import Q

from crm.roles import ROLES
from imports.models import ColumnPreset
from imports.presets import Preset, shipped_presets


def user_team(*, user) -> Group | None:
    """A user's team: their first group that is not a role (Dizhi's roles are groups too).
    None when they have none: their presets are then everyone's."""
    return user.groups.exclude(name__in=ROLES).order_by("name").first()


def column_presets(*, user) -> list[Preset]:
    """The shipped presets, then those saved for everyone or for the user's teams (no user: the
    command without --actor, everyone's only)."""
    teams = Q(team__isnull=True)
    if user is not None:
        teams |= Q(team__in=user.groups.exclude(name__in=ROLES))
    saved = ColumnPreset.objects.filter(teams).order_by("name", "id")
    return [
        *shipped_presets().values(),
        *(Preset(f"saved:{p.pk}", p.name, dict(p.mapping)) for p in saved),
    ]


def column_preset_find(*, user, key: str) -> Preset | None:
    """A preset by key ("salesforce", "saved:12") or, for the command, by name (any case)."""
    for preset in column_presets(user=user):
        if key in (preset.key, preset.name) or key.casefold() == preset.name.casefold():
            return preset
    return None
