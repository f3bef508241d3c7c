import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import EMPTY_VALUES
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from addresses.models import Address, AddressCategory
from customers.choices import CustomerKind, RelationshipStage
from customers.models import Customer
from customers.search import customer_search
from geo.choices import LOCATED_GROUPS, RegionLevel
from geo.models import Region

LOCATED_CHOICES = (
    ("none", _("Not located")),
    ("coarse", _("District or coarser")),
    ("precise", _("Precise (street or rooftop)")),
)
SORT_CHOICES = (
    ("name", _("Name (pinyin)")),
    ("-name", _("Name, descending")),
    ("-created", _("Newest first")),
    ("created", _("Oldest first")),
    ("-updated", _("Recently updated")),
    ("updated", _("Least recently updated")),
)
# Every sort ends on the primary key, in the same direction, so pages are stable
# and one composite index ((name, id), (created_at, id) ...) serves it both ways.
SORT_FIELDS = {"name": "name", "created": "created_at", "updated": "updated_at"}
PHONE_SEPARATORS = str.maketrans("", "", " -()+")


def _has_address(**lookups):
    lookups.setdefault("customer", OuterRef("pk"))
    return Exists(Address.objects.filter(**lookups))


def phone_digits(value: str) -> str | None:
    """The digits of a search term that looks like (the start of) a phone number, else None."""
    digits = value.translate(PHONE_SEPARATORS)
    if digits.startswith("86") and len(digits) == 13:  # +86 138 ...
        digits = digits[2:]
    return digits if digits.isdigit() and len(digits) >= 4 else None


MAX_ID = 2**63 - 1  # a bigint: larger would fail in the database, not in the form


class IdsFilter(django_filters.BaseInFilter, django_filters.Filter):
    """Comma-separated integer ids: anything else makes the filter set invalid (a 400, not a 500)."""

    field_class = forms.IntegerField


def invalid_ids(params) -> bool:
    """Whether the `ids` parameters hold anything but comma-separated positive integers."""
    for value in params.getlist("ids"):
        for part in value.split(","):
            part = part.strip()
            if part and not (part.isascii() and part.isdigit() and 0 < int(part) <= MAX_ID):
                return True
    return False


class CustomerFilterSet(django_filters.FilterSet):
    """One definition of "these customers", shared by the list, the map and exports.

    Address-based filters are EXISTS subqueries, so a customer with several
    matching addresses appears once and no DISTINCT is needed.
    """

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    region = django_filters.CharFilter(method="filter_region", label=_("Region"))
    kind = django_filters.ChoiceFilter(choices=CustomerKind.choices, label=_("Kind"))
    stage = django_filters.MultipleChoiceFilter(choices=RelationshipStage.choices, label=_("Stage"))
    owner = django_filters.NumberFilter(field_name="owner_id", label=_("Owner"))
    category = django_filters.ModelMultipleChoiceFilter(
        queryset=AddressCategory.objects.all(), method="filter_category", label=_("Category")
    )
    located = django_filters.ChoiceFilter(
        choices=LOCATED_CHOICES, method="filter_located", label=_("Location")
    )
    created = django_filters.DateFromToRangeFilter(field_name="created_at", label=_("Created"))
    updated = django_filters.DateFromToRangeFilter(field_name="updated_at", label=_("Updated"))
    ids = IdsFilter(field_name="pk", label=_("Selected customers"), min_value=1, max_value=MAX_ID)
    sort = django_filters.ChoiceFilter(
        choices=SORT_CHOICES, method="filter_sort", label=_("Sort"), empty_label=None
    )

    class Meta:
        model = Customer
        fields = ()

    def __init__(self, *args, deep_page=False, **kwargs):
        # For a deep page of a large result the region test is better done against
        # a hash of the region's customer ids while walking the name index than by
        # one index probe per customer; see filter_region.
        self.deep_page = deep_page
        super().__init__(*args, **kwargs)

    def active_filters(self) -> set[str]:
        """Names of the filters given a value (call once the form is valid)."""
        active = set()
        for name, value in self.form.cleaned_data.items():
            if isinstance(value, QuerySet):
                value = list(value)  # categories: already fetched while validating
            if value not in EMPTY_VALUES:
                active.add(name)
        return active

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("sort"):
            queryset = self.filter_sort(queryset, "sort", "name")
        return queryset

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        digits = phone_digits(value)
        if digits:
            # A prefix match on an indexed column (varchar_pattern_ops on PostgreSQL).
            return queryset.filter(Q(phone__startswith=digits) | Q(external_id=value))
        if "@" in value:
            return queryset.filter(email__iexact=value)
        return customer_search(queryset, value)[0]

    def filter_region(self, queryset, name, value):
        region = Region.objects.filter(code=value.strip()).only("pk", "level", "path").first()
        self.region = region  # the list reads some regions' pages off an address index
        if region is None:
            return queryset.none()
        categories = self.form.cleaned_data.get("category")
        if region.level == RegionLevel.DISTRICT and categories and not self.deep_page:
            # A district is small: start from its addresses and test the category on
            # their customers' addresses there, so only the few matches are looked up
            # among the customers (see filter_category, which then has nothing to do).
            self._category_done = True
            with_category = _has_address(
                customer=OuterRef("customer_id"), categories__in=[c.pk for c in categories]
            )
            in_district = (
                Address.objects.filter(district_id=region.pk)
                .filter(with_category)
                .values("customer_id")
                .distinct()
            )
            return queryset.filter(pk__in=in_district)
        in_region = _has_address(**{f"{region.level}_id": region.pk})
        if self.deep_page:
            # Wrapped, the EXISTS is not turned into a join, so PostgreSQL may run it
            # as one hashed subplan (slower for a small region or page 1, so only here).
            return queryset.filter(Coalesce(in_region, Value(False), output_field=BooleanField()))
        return queryset.filter(in_region)

    def filter_category(self, queryset, name, value):
        if not value or getattr(self, "_category_done", False):
            return queryset
        return queryset.filter(_has_address(categories__in=[c.pk for c in value]))

    def filter_located(self, queryset, name, value):
        return queryset.filter(_has_address(precision__in=LOCATED_GROUPS[value]))

    def filter_sort(self, queryset, name, value):
        descending = value.startswith("-")
        field = SORT_FIELDS[value.lstrip("-")]
        prefix = "-" if descending else ""
        return queryset.order_by(prefix + field, prefix + "pk")


def owner_choices():
    """Users who can own customers (active members of a role group), for the owner filter."""
    from crm.roles import ROLES

    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=ROLES)
        .distinct()
        .order_by("username")
        .only("pk", "username", "first_name", "last_name")
    )
