"""How regions read on a page: names in the UI language."""

from django.utils.translation import get_language


def region_label(region) -> str:
    """The region's name in the current language (the local name when it has no English one)."""
    if region is None:
        return ""
    if (get_language() or "").startswith("en") and region.name_en:
        return region.name_en
    return region.name


def region_path_label(chain) -> str:
    """A chain of regions as one line, country left out for China ("广东省 › 深圳市")."""
    return " › ".join(region_label(r) for r in (chain[1:] or chain))
