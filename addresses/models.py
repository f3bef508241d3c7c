from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from addresses.choices import AddressKind, Channel
from addresses.querysets import AddressQuerySet
from crm.db.search_keys import SearchKeysField
from geo.choices import GeocodePrecision


class AddressCategory(models.Model):
    """A user-defined label for addresses (e.g. "warehouse", "key account"), shown in its colour."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#3b82f6",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour like #3b82f6."))],
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("address category")
        verbose_name_plural = _("address categories")
        ordering = ["name"]

    def __str__(self):
        return self.name


_LAT = [MinValueValidator(-90), MaxValueValidator(90)]
COARSE_PRECISIONS = [
    GeocodePrecision.NONE,
    GeocodePrecision.COUNTRY,
    GeocodePrecision.PROVINCE,
    GeocodePrecision.CITY,
]
_LNG = [MinValueValidator(-180), MaxValueValidator(180)]


class Address(models.Model):
    """Where a customer is: structured region chain, detail line, WGS-84 point.

    `region` is the deepest known division; `country`/`province`/`city`/`district`
    are denormalised from it by the write path (addresses/services.py) so that a
    filter or count per level is a single indexed column.
    """

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="addresses",
        db_index=False,  # led by the (customer, id) index below
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=AddressKind.choices, default=AddressKind.DELIVERY
    )
    is_primary = models.BooleanField(_("primary"), default=False)
    raw_text = models.TextField(_("address as entered"), blank=True)
    detail = models.CharField(_("detail line"), max_length=300, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    # The deepest region, checked by the database. The four level fields below are copies of
    # its ancestors, written only by the write path from the same Region rows: their own
    # foreign-key checks (one index probe and row lock each, per address written) would only
    # repeat this one. Regions are never deleted (load_regions retires them), so no index on
    # region_id is needed for PROTECT either.
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    country = models.ForeignKey(
        "geo.Region",
        verbose_name=_("country"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # led by the (country, customer) index below
        db_constraint=False,  # a copy of region's ancestor: see below
    )
    province = models.ForeignKey(
        "geo.Region",
        verbose_name=_("province"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # led by the (province, customer) index below
        db_constraint=False,  # a copy of region's ancestor: see below
    )
    city = models.ForeignKey(
        "geo.Region",
        verbose_name=_("city"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # led by the (city, customer) index below
        db_constraint=False,  # a copy of region's ancestor: see below
    )
    district = models.ForeignKey(
        "geo.Region",
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # led by the (district, customer) index below
        db_constraint=False,  # a copy of region's ancestor: see below
    )
    lat = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True, validators=_LAT
    )
    lng = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True, validators=_LNG
    )
    precision = models.CharField(
        _("geocode precision"), max_length=10, choices=GeocodePrecision.choices, default=GeocodePrecision.NONE
    )
    geocode_source = models.CharField(_("geocode source"), max_length=80, blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    categories = models.ManyToManyField(
        AddressCategory, verbose_name=_("categories"), blank=True, related_name="addresses"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Keys of the character pairs of raw_text and detail, for the list's search (crm.db.search_keys;
    # GIN-indexed on PostgreSQL by addresses/migrations/0015), kept by the write path.
    search_keys = SearchKeysField(_("search keys"), source=("raw_text", "detail"))
    # Morton cell of (lat, lng), kept by the write path; see geo/mapmath.py and maps/cells.py.
    map_key = models.BigIntegerField(_("map cell key"), null=True, blank=True, editable=False)
    # Copies of the customer's name, stage, kind and owner, kept by customers/services.py and
    # the address write path, so map filters on them read one covering index, not a join, and
    # a region's customers come off one index already in name order (customers.selectors).
    customer_name = models.CharField(
        _("customer name"),
        max_length=200,
        blank=True,
        default="",
        editable=False,
        db_collation=settings.PINYIN_COLLATION,
    )
    customer_stage = models.CharField(
        _("customer stage"), max_length=12, blank=True, default="", editable=False
    )
    customer_kind = models.CharField(
        _("customer kind"), max_length=12, blank=True, default="", editable=False
    )
    # The customer-level facts the list's and map's filters test, copied onto each of the
    # customer's addresses by the write path (maps.cells.customer_scope_tags): every
    # region any of its addresses lies in and every category any of them has, as " r12 r340 c5 ".
    customer_scopes = models.TextField(_("customer scopes"), blank=True, default="", editable=False)
    customer_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer owner"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    objects = AddressQuerySet.as_manager()

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["customer", "-is_primary", "kind", "id"]
        indexes = [
            # A customer's addresses, and the list's per-customer EXISTS tests as index-only scans.
            models.Index(fields=["customer", "id"], name="addresses_address_cust_id"),
            models.Index(fields=["province", "customer"], name="addresses_address_province"),
            models.Index(fields=["city", "customer"], name="addresses_address_city"),
            models.Index(fields=["district", "customer"], name="addresses_address_district"),
            models.Index(fields=["country", "customer"], name="addresses_address_country"),
            # A province's or city's customers in name order, for the list's pages (see
            # customers.selectors.region_page_ids).
            models.Index(
                fields=["province", "customer_name", "customer"], name="addresses_address_prov_name"
            ),
            models.Index(fields=["city", "customer_name", "customer"], name="addresses_address_city_name"),
            models.Index(fields=["map_key", "customer"], name="addresses_address_map_key"),
            # Addresses still to locate precisely (a data-quality list); the usual district,
            # street or rooftop points are not indexed, so a bulk import writes nothing here.
            models.Index(
                fields=["precision"],
                condition=Q(precision__in=COARSE_PRECISIONS),
                name="addresses_address_coarse",
            ),
            # Covering map indexes (PostgreSQL only): addresses/migrations/0004_customer_copies_for_map.py.
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind"],
                condition=Q(is_primary=True),
                name="%(app_label)s_%(class)s_one_primary_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True) | Q(lat__gte=-90, lat__lte=90),
                name="%(app_label)s_%(class)s_lat_range",
            ),
            models.CheckConstraint(
                condition=Q(lng__isnull=True) | Q(lng__gte=-180, lng__lte=180),
                name="%(app_label)s_%(class)s_lng_range",
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lng__isnull=True) | Q(lat__isnull=False, lng__isnull=False),
                name="%(app_label)s_%(class)s_lat_lng_together",
            ),
            # The chain is filled from the top: no district without its province,
            # no province without its country. (A district may lack a city: 仙桃.)
            models.CheckConstraint(
                condition=Q(district__isnull=True) | Q(province__isnull=False),
                name="%(app_label)s_%(class)s_district_has_province",
            ),
            models.CheckConstraint(
                condition=Q(city__isnull=True) | Q(province__isnull=False),
                name="%(app_label)s_%(class)s_city_has_province",
            ),
            models.CheckConstraint(
                condition=Q(province__isnull=True) | Q(country__isnull=False),
                name="%(app_label)s_%(class)s_province_has_country",
            ),
            models.CheckConstraint(
                condition=Q(region__isnull=True) | Q(country__isnull=False),
                name="%(app_label)s_%(class)s_region_has_country",
            ),
            models.CheckConstraint(
                condition=Q(precision=GeocodePrecision.NONE) | Q(lat__isnull=False),
                name="%(app_label)s_%(class)s_precision_needs_point",
            ),
        ]

    def __str__(self):
        return self.one_line()

    def one_line(self) -> str:
        """The address as one line, Chinese order (province city district detail)."""
        country = self.country if self.country_id else None
        return address_line(
            self.detail,
            self.raw_text,
            country.code if country else None,
            country.name if country else None,
            *(r.name if r is not None else None for r in (self.province, self.city, self.district)),
        )


def address_line(detail: str, raw_text: str, country_code, country_name, *names) -> str:
    """Address.one_line over plain values (province, city and district names, None when
    unknown): for readers of many rows that fetch values, not model instances."""
    parts = []
    for name in names:
        if name is not None and (not parts or parts[-1] != name):
            parts.append(name)
    if country_code and country_code != "CN":
        parts.insert(0, country_name)
    if detail:
        parts.append(detail)
    return " ".join(parts) or raw_text


class AddressVersion(models.Model):
    """Append-only history of an address, one row per change.

    Rows of one address form a keyed chain (`hash` is an HMAC, with a key kept outside the
    database, over every other column and `prev_hash`), and the chain's head is kept in
    HistoryHead, so editing, adding or deleting rows is detectable (trust.history verifies).
    Rows outlive their address and their actor: no cascade or SET_NULL ever rewrites them.
    """

    address = models.ForeignKey(
        Address,
        verbose_name=_("address"),
        on_delete=models.DO_NOTHING,  # history outlives the address (a deletion leaves a tombstone)
        db_constraint=False,
        related_name="versions",
        db_index=False,  # leads the (address, version) unique index
    )
    customer_id = models.BigIntegerField(_("customer id"), db_index=True)
    version = models.PositiveIntegerField(_("version"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,  # the id stays when the user goes (actor_name says who it was)
        db_constraint=False,
        related_name="+",
        db_index=False,  # the partial index below: imports and the self-service link have no actor
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    created_at = models.DateTimeField(_("time"))
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"))
    changed_fields = models.JSONField(_("changed fields"), default=list)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("address version")
        verbose_name_plural = _("address versions")
        ordering = ["address", "version"]
        indexes = [
            models.Index(
                fields=["actor"], condition=Q(actor__isnull=False), name="addresses_addressversion_actor"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["address", "version"], name="%(app_label)s_%(class)s_unique_version"
            ),
        ]

    def __str__(self):
        return f"{self.address_id} v{self.version}"


class HistoryHead(models.Model):
    """The head of one address's history chain: how many versions it has and the last one's
    hash. Deleting history rows (the newest, or all of them) leaves the head disagreeing."""

    address_id = models.BigIntegerField(_("address id"), primary_key=True)  # outlives the address
    version = models.PositiveIntegerField(_("versions"))
    hash = models.CharField(_("last hash"), max_length=64)

    class Meta:
        verbose_name = _("history head")
        verbose_name_plural = _("history heads")
        ordering = ["address_id"]

    def __str__(self):
        return f"{self.address_id} v{self.version}"
