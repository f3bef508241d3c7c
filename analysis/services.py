"""Writes of the analysis app: contacts, activities (and follow-ups), orders, and the lifecycle
stage the orders imply. Customer changes go through customers/services.py.

Orders (`orders_upsert`) are batch-native: the form, the import and the API send batches, one
order being a batch of one. The order number is the key: a number seen again updates that
order (the same customer's only); within one batch the first row with a number wins and
later ones are rejected, like the customer import's external ids.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from addresses.models import Address
from analysis.choices import ActivityKind, OrderStatus
from analysis.freshness import orders_data_changed
from analysis.models import Activity, Contact, CustomerScore, Order
from crm.db.batch_lookup import in_values
from crm.db.bulk_insert import bulk_insert_rows
from customers.choices import RelationshipStage
from customers.models import Customer
from customers.services import customer_update, customers_upsert

CONTACT_FIELDS = ("name", "title", "phone", "mobile", "email", "is_primary")


@transaction.atomic
def contact_create(*, customer: Customer, actor=None, **fields) -> Contact:
    """Validate and add a contact to a customer; a primary one takes the flag from the others."""
    contact = Contact(customer=customer, **{k: v for k, v in fields.items() if k in CONTACT_FIELDS})
    _check_fields(fields, CONTACT_FIELDS)
    contact.full_clean(validate_constraints=False)
    if contact.is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor=None, **changes) -> Contact:
    """Validate and apply `changes` to a contact."""
    _check_fields(changes, CONTACT_FIELDS)
    for name, value in changes.items():
        setattr(contact, name, value)
    contact.full_clean(validate_constraints=False)
    if contact.is_primary:
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False)
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor=None) -> None:
    """Remove a contact; activities that named them keep their text."""
    contact.delete()


ACTIVITY_FIELDS = (
    "kind",
    "subject",
    "note",
    "occurred_at",
    "contact",
    "lat",
    "lng",
    "follow_up_on",
    "assignee",
)


@transaction.atomic
def activity_create(*, customer: Customer, actor=None, **fields) -> Activity:
    """Log a call, visit, meeting, email or note; a `follow_up_on` date makes it a follow-up for
    `assignee` (the author when none is named). A visit may carry where it was logged."""
    _check_fields(fields, ACTIVITY_FIELDS)
    fields.setdefault("occurred_at", timezone.now())
    if fields.get("contact") is not None and fields["contact"].customer_id != customer.pk:
        raise ValidationError({"contact": _("This contact belongs to another customer.")})
    if fields.get("follow_up_on") and fields.get("assignee") is None:
        fields["assignee"] = actor
    if (fields.get("lat") is None) != (fields.get("lng") is None):
        raise ValidationError({"lat": _("Give both latitude and longitude, or neither.")})
    activity = Activity(customer=customer, author=actor, **fields)
    activity.full_clean()
    activity.save()
    return activity


def visit_check_in(*, customer: Customer, actor, lat=None, lng=None, note: str = "") -> Activity:
    """A visit logged on the spot (the map's route panel): now, and where the browser was."""
    return activity_create(
        customer=customer,
        actor=actor,
        kind=ActivityKind.VISIT,
        subject=_("Visit to %(name)s") % {"name": customer.name},
        note=note,
        lat=None if lat is None else Decimal(str(lat)).quantize(Decimal("0.000001")),
        lng=None if lng is None else Decimal(str(lng)).quantize(Decimal("0.000001")),
    )


@transaction.atomic
def follow_up_done(*, activity: Activity, actor=None) -> Activity:
    """Close a follow-up (idempotent)."""
    if activity.done_at is None:
        activity.done_at = timezone.now()
        activity.save(update_fields=["done_at"])
    return activity


def _check_fields(fields, allowed):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)!r}")


# --- orders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderInput:
    """One order as a channel gives it: values may still be text (a CSV cell)."""

    number: str
    customer_external_id: str | None = None
    customer_id: int | None = None
    ordered_on: object = None  # date or ISO text
    amount: object = None  # Decimal, number or text
    currency: str = ""
    status: str = OrderStatus.OPEN
    delivery_address_id: int | None = None


@dataclass
class OrdersResult:
    """What an `orders_upsert` batch did: counts, and the errors of rejected rows by index."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: dict[int, list[str]] = field(default_factory=dict)
    customer_ids: set[int] = field(default_factory=set)


_ORDER_VALUES = (
    "customer_id",
    "ordered_on",
    "amount",
    "currency",
    "amount_base",
    "status",
    "delivery_address_id",
)
_ORDER_INSERT = ("number", *_ORDER_VALUES, "created_at", "updated_at")
_CENT = Decimal("0.01")
_STATUSES = frozenset(OrderStatus.values)  # TextChoices.values builds a new list on every read


@transaction.atomic
def orders_upsert(
    *, items: Sequence[OrderInput], actor=None, dry_run: bool = False, today: datetime.date | None = None
) -> OrdersResult:
    """Validate and write a batch of orders, keyed by number; returns counts and per-row errors.

    With an `actor`, only customers `Customer.objects.visible_to(actor)` count as known (an
    order for any other is rejected like one for an unknown customer); without one (system
    imports) every customer does. A row without a delivery address gets the customer's primary
    one. Stages move by the lifecycle rule when scores are next recomputed (`scores_recompute`,
    a background task the import queues after its last batch).
    """
    result = OrdersResult()
    today = today or timezone.localdate()
    customers = _order_customers(items, actor)
    existing = {
        row[0]: row[1:]
        for row in Order.objects.filter(
            number__in=in_values([i.number for i in items if i.number], db_type="text")
        ).values_list("number", "pk", *_ORDER_VALUES)
    }
    addresses = _order_addresses(items, customers)
    rates = _Rates.from_settings()
    seen: set[str] = set()
    new_rows, changed = [], []
    now = timezone.now()
    for index, item in enumerate(items):
        values, errors = _order_clean(item, customers, addresses, today, rates)
        number = (item.number or "").strip()
        if number in seen:
            errors.append(_("Order number %(number)s appears earlier in this batch.") % {"number": number})
        current = existing.get(number)
        if current is not None and values and current[1] != values["customer_id"]:  # (pk, customer_id, ...)
            errors.append(_("Order %(number)s belongs to another customer.") % {"number": number})
        if errors:
            result.errors[index] = errors
            continue
        seen.add(number)
        result.customer_ids.add(values["customer_id"])
        if current is None:
            new_rows.append((number, *(values[f] for f in _ORDER_VALUES), now, now))
            result.created += 1
            continue
        pk, old = current[0], dict(zip(_ORDER_VALUES, current[1:]))
        diff = {f: v for f, v in values.items() if old[f] != v}
        if diff:
            changed.append((pk, diff))
            result.updated += 1
        else:
            result.unchanged += 1
    if dry_run:
        return result
    if new_rows or changed:
        orders_data_changed()
    bulk_insert_rows(Order, _ORDER_INSERT, new_rows)
    _orders_update(changed, now)
    return result


def _orders_update(changed: list[tuple[int, dict]], now) -> None:
    """Write changed orders, each with only the fields that changed (grouped by field set)."""
    by_fields: dict[tuple, list[Order]] = {}
    for pk, diff in changed:
        by_fields.setdefault(tuple(diff), []).append(Order(pk=pk, updated_at=now, **diff))
    for names, orders in by_fields.items():
        Order.objects.bulk_update(orders, [*names, "updated_at"], batch_size=2000)


def _order_customers(items, actor) -> dict:
    """Customers the batch names (by external id or id) that the actor may see: key -> (pk, primary address)."""
    scope = Customer.objects.visible_to(actor) if actor is not None else Customer.objects.all()
    ext_ids = sorted({i.customer_external_id for i in items if i.customer_external_id})
    ids = sorted({i.customer_id for i in items if i.customer_id})
    out = {}
    if ext_ids:
        for pk, ext in scope.filter(external_id__in=in_values(ext_ids, db_type="text")).values_list(
            "pk", "external_id"
        ):
            out[("ext", ext)] = pk
    if ids:
        for pk in scope.filter(pk__in=ids).values_list("pk", flat=True):
            out[("id", pk)] = pk
    return out


def _order_addresses(items, customers) -> dict:
    """address id -> customer id for the addresses the batch names, plus ("primary", customer) -> id."""
    named = sorted({i.delivery_address_id for i in items if i.delivery_address_id})
    out: dict = dict(Address.objects.filter(pk__in=named).values_list("pk", "customer_id")) if named else {}
    customer_ids = sorted(set(customers.values()))
    for start in range(0, len(customer_ids), 10_000):
        chunk = customer_ids[start : start + 10_000]
        rows = (
            Address.objects.filter(customer_id__in=chunk)
            .order_by("customer_id", "-is_primary", "id")
            .values_list("customer_id", "pk")
        )
        for customer_id, pk in rows:
            out.setdefault(("primary", customer_id), pk)
    return out


@dataclass(frozen=True)
class _Rates:
    base: str
    by_currency: dict[str, Decimal]

    @classmethod
    def from_settings(cls) -> "_Rates":
        rates = {c.upper(): Decimal(str(r)) for c, r in settings.ANALYSIS_EXCHANGE_RATES.items()}
        return cls(base=settings.ANALYSIS_BASE_CURRENCY, by_currency=rates)


def _order_clean(
    item: OrderInput, customers, addresses, today, rates: _Rates
) -> tuple[dict | None, list[str]]:
    """The row's values ready to write, or the reasons it is rejected."""
    errors = []
    if not (item.number or "").strip():
        errors.append(_("The order number is missing."))
    elif len(item.number.strip()) > 64:
        errors.append(_("The order number is longer than 64 characters."))
    key = ("ext", item.customer_external_id) if item.customer_external_id else ("id", item.customer_id)
    customer_id = customers.get(key)
    if customer_id is None:
        errors.append(_("Unknown customer %(customer)s.") % {"customer": key[1] or "—"})
    ordered_on = item.ordered_on
    if isinstance(ordered_on, datetime.datetime):
        ordered_on = ordered_on.date()
    elif not isinstance(ordered_on, datetime.date):
        text = str(ordered_on or "").strip()
        if len(text) > 10 and text[10] in " T":  # a spreadsheet's date with its midnight time
            text = text[:10]
        try:
            ordered_on = parse_date(text)
        except ValueError:
            ordered_on = None
        if ordered_on is None:
            errors.append(
                _("The order date %(value)s is not a date (YYYY-MM-DD).") % {"value": item.ordered_on or "—"}
            )
    if isinstance(ordered_on, datetime.date) and ordered_on > today:
        errors.append(_("The order date %(value)s is in the future.") % {"value": ordered_on.isoformat()})
    amount = _decimal(item.amount)
    if amount is None:
        errors.append(
            _("The amount %(value)s is not a number.") % {"value": item.amount if item.amount != "" else "—"}
        )
    elif amount < 0:
        errors.append(_("The amount must not be negative."))
    elif amount >= Decimal("1e12"):
        errors.append(_("The amount is too large."))
    currency = (item.currency or rates.base).strip().upper()
    rate = rates.by_currency.get(currency)
    if rate is None:
        errors.append(_("Unknown currency %(value)s.") % {"value": currency})
    status = (item.status or OrderStatus.OPEN).strip().lower()
    if status not in _STATUSES:
        errors.append(_("Unknown order status %(value)s.") % {"value": status})
    address_id = item.delivery_address_id
    if address_id and customer_id is not None and addresses.get(address_id) != customer_id:
        errors.append(_("The delivery address is not one of this customer's addresses."))
    if errors:
        return None, errors
    if not address_id:
        address_id = addresses.get(("primary", customer_id))
    amount = amount.quantize(_CENT)
    return {
        "customer_id": customer_id,
        "ordered_on": ordered_on,
        "amount": amount,
        "currency": currency,
        "amount_base": (amount * rate).quantize(_CENT),
        "status": status,
        "delivery_address_id": address_id,
    }, []


def _decimal(value) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int | float):
        value = str(value)
    text = str(value or "").strip().replace(",", "").replace("，", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_CROSSINGS_SQL = """
SELECT s.customer_id, s.order_count
FROM analysis_customerscore s LEFT JOIN analysis_scored_before b ON b.customer_id = s.customer_id
WHERE (COALESCE(b.order_count, 0) < 1 AND s.order_count >= 1)
   OR (COALESCE(b.order_count, 0) < 2 AND s.order_count >= 2)
"""


def lifecycle_apply(*, crossed: Sequence[tuple[int, int]], actor=None) -> int:
    """Move stages by the lifecycle rule: potential → new at the first order, → existing from the
    second. `crossed` holds (customer id, orders now) for the customers that crossed one of those
    thresholds since the last scoring, so a stage set by hand stays until the next threshold.
    Written through customers/services.py in batches; returns how many customers changed."""
    moved = 0
    for start in range(0, len(crossed), 10_000):
        wanted = {
            pk: RelationshipStage.EXISTING if n >= 2 else RelationshipStage.NEW
            for pk, n in crossed[start : start + 10_000]
        }
        rows = [
            (pk, ext, wanted[pk])
            for pk, ext, stage in Customer.objects.filter(pk__in=list(wanted)).values_list(
                "pk", "external_id", "stage"
            )
            if stage != wanted[pk]
        ]
        with_ext = [{"external_id": ext, "stage": stage} for _pk, ext, stage in rows if ext]
        if with_ext:
            customers_upsert(rows=with_ext, fields=["stage"], actor=actor)
        for customer in Customer.objects.filter(pk__in=[pk for pk, ext, _s in rows if not ext]):
            customer_update(customer=customer, actor=actor, stage=wanted[customer.pk])
        moved += len(rows)
    return moved


# --- scores (RFM, churn risk) --------------------------------------------------------------------

_SCORE_SQL = """
WITH agg AS (
    SELECT customer_id, COUNT(*) AS n, SUM(amount_base) AS revenue,
           SUM(CASE WHEN ordered_on > %s THEN amount_base ELSE 0 END) AS revenue_year,
           MIN(ordered_on) AS first_on, MAX(ordered_on) AS last_on
    FROM analysis_order WHERE status <> 'cancelled' GROUP BY customer_id
), timed AS (
    SELECT agg.*, {days} AS days, {span} AS span FROM agg
), ranked AS (
    SELECT timed.*,
           CASE WHEN n > 1 AND span > 0 THEN span / (n - 1) END AS usual,
           PERCENT_RANK() OVER (ORDER BY days DESC) AS pr_r,
           PERCENT_RANK() OVER (ORDER BY n) AS pr_f,
           PERCENT_RANK() OVER (ORDER BY revenue) AS pr_m
    FROM timed
), scored AS (
    SELECT ranked.*,
           {quintile_r} AS r, {quintile_f} AS f, {quintile_m} AS m
    FROM ranked
)
INSERT INTO analysis_customerscore (
    customer_id, order_count, revenue, revenue_last_year, first_order_on, last_order_on,
    days_since_last, usual_interval_days, recency, frequency, monetary, segment, churn_risk, computed_on
)
SELECT customer_id, n, revenue, revenue_year, first_on, last_on, days, usual, r, f, m,
       CASE WHEN days > %s THEN 'lost'
            WHEN r >= 3 AND f >= 3 AND m >= 3 THEN 'key_value'
            WHEN r >= 3 AND m >= 3 THEN 'key_develop'
            WHEN f >= 3 AND m >= 3 THEN 'key_keep'
            WHEN m >= 3 THEN 'key_winback'
            WHEN r >= 3 AND f >= 3 THEN 'value'
            WHEN r >= 3 THEN 'develop'
            WHEN f >= 3 THEN 'keep'
            ELSE 'winback' END,
       CASE WHEN days > %s THEN FALSE
            WHEN usual IS NOT NULL THEN days > %s * usual
            ELSE days > %s END,
       %s
FROM scored
"""


def _quintile(name: str) -> str:
    # Ties share a percent rank, so customers with the same figure get the same score.
    return (
        f"CASE WHEN {name} >= 0.8 THEN 5 WHEN {name} >= 0.6 THEN 4 WHEN {name} >= 0.4 THEN 3 "
        f"WHEN {name} >= 0.2 THEN 2 ELSE 1 END"
    )


@dataclass(frozen=True)
class ScoresResult:
    scored: int
    stages_moved: int


@transaction.atomic
def scores_recompute(*, today: datetime.date | None = None, lifecycle: bool = True) -> ScoresResult:
    """Recompute every customer's RFM scores, segment and churn risk from their orders (cancelled
    ones left out) in one SQL statement, then move the stages of customers whose order count
    crossed a lifecycle threshold since the last run (`lifecycle_apply`)."""
    today = today or timezone.localdate()
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        days, span = "(%s::date - MAX(ordered_on))", "(MAX(ordered_on) - MIN(ordered_on))"
    else:
        days = "CAST(julianday(%s) - julianday(MAX(ordered_on)) AS INTEGER)"
        span = "CAST(julianday(MAX(ordered_on)) - julianday(MIN(ordered_on)) AS INTEGER)"
    # The aggregates are computed in `agg`; `timed` reads them back by name.
    days = days.replace("MAX(ordered_on)", "last_on")
    span = span.replace("MAX(ordered_on)", "last_on").replace("MIN(ordered_on)", "first_on")
    sql = _SCORE_SQL.format(
        days=days,
        span=span,
        quintile_r=_quintile("pr_r"),
        quintile_f=_quintile("pr_f"),
        quintile_m=_quintile("pr_m"),
    )
    lost = settings.ANALYSIS_LOST_DAYS
    params = [
        today - datetime.timedelta(days=365),
        today,
        lost,
        lost,
        settings.ANALYSIS_CHURN_INTERVAL_MULTIPLE,
        settings.ANALYSIS_CHURN_SINGLE_ORDER_DAYS,
        today,
    ]
    orders_data_changed()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS analysis_scored_before")
        cursor.execute(
            "CREATE TEMPORARY TABLE analysis_scored_before AS "
            "SELECT customer_id, order_count FROM analysis_customerscore"
        )
        cursor.execute("DELETE FROM analysis_customerscore")
        cursor.execute(sql, params)
        written = cursor.rowcount
        crossed = []
        if lifecycle:
            cursor.execute(_CROSSINGS_SQL)
            crossed = cursor.fetchall()
        cursor.execute("DROP TABLE analysis_scored_before")
    # SQLite gives no row count for an INSERT led by WITH.
    scored = written if written >= 0 else CustomerScore.objects.count()
    return ScoresResult(scored=scored, stages_moved=lifecycle_apply(crossed=crossed) if crossed else 0)


@transaction.atomic
def contacts_bulk_create(*, contacts: Sequence[Contact], actor=None) -> list[Contact]:
    """Insert many already-validated contacts (demo data, imports); at most one primary each."""
    return Contact.objects.bulk_create(list(contacts), batch_size=2000)


@transaction.atomic
def activities_bulk_create(*, activities: Sequence[Activity], actor=None) -> list[Activity]:
    """Insert many already-validated activities (demo data, imports)."""
    return Activity.objects.bulk_create(list(activities), batch_size=2000)
