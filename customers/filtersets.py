import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from addresses.models import Address, AddressCategory
from customers.choices import CustomerKind, RelationshipStage
from customers.models import Customer
from geo.choices import GeocodePrecision
from geo.models import Region

LOCATED_CHOICES = (
    ("none", _("Not located")),
    ("coarse", _("District or coarser")),
    ("precise", _("Precise (street or rooftop)")),
)
LOCATED_PRECISIONS = {
    "none": [GeocodePrecision.NONE],
    "coarse": [
        GeocodePrecision.DISTRICT,
        GeocodePrecision.CITY,
        GeocodePrecision.PROVINCE,
        GeocodePrecision.COUNTRY,
    ],
    "precise": [GeocodePrecision.ROOFTOP, GeocodePrecision.STREET],
}


def _has_address(**lookups):
    return Exists(Address.objects.filter(customer=OuterRef("pk"), **lookups))


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
    located = django_filters.ChoiceFilter(choices=LOCATED_CHOICES, method="filter_located", label=_("Location"))
    created = django_filters.DateFromToRangeFilter(field_name="created_at", label=_("Created"))
    updated = django_filters.DateFromToRangeFilter(field_name="updated_at", label=_("Updated"))
    sort = django_filters.OrderingFilter(
        fields=(("name", "name"), ("created_at", "created"), ("updated_at", "updated")),
        label=_("Sort"),
    )

    class Meta:
        model = Customer
        fields = ()

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        digits = value.replace(" ", "").replace("-", "").lstrip("+")
        if digits.isdigit() and len(digits) >= 4:
            return queryset.filter(Q(phone__startswith=digits) | Q(external_id=value))
        return queryset.filter(
            Q(name__icontains=value)
            | Q(email__iexact=value)
            | Q(external_id=value)
            | _has_address(raw_text__icontains=value)
        )

    def filter_region(self, queryset, name, value):
        region = Region.objects.filter(code=value).only("pk", "level").first()
        if region is None:
            return queryset.none()
        return queryset.filter(_has_address(**{f"{region.level}_id": region.pk}))

    def filter_category(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_has_address(categories__in=[c.pk for c in value]))

    def filter_located(self, queryset, name, value):
        return queryset.filter(_has_address(precision__in=LOCATED_PRECISIONS[value]))
