"""Writes of the quality app: blocking keys, the duplicate scan, merging customers and undoing a
merge. Customer and address changes go through customers.services and addresses.services."""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from addresses.choices import Channel
from addresses.models import Address
from addresses.services import AddressInput, address_update, addresses_move, addresses_save
from crm.db.batch_lookup import in_values
from crm.db.bulk_insert import bulk_insert_rows
from customers.models import Customer
from customers.services import customer_create, customer_delete, customer_update
from geo.choices import GeocodePrecision
from geo.models import Region
from quality.choices import PairStatus, SubmissionAction, SubmissionStatus
from quality.matching import MAX_BLOCK, blocking_keys, email_key, phone_key, score_pair
from quality.models import (
    CustomerAlias,
    CustomerKey,
    CustomerMerge,
    DuplicatePair,
    PointsEntry,
    QualitySnapshot,
    ReminderDigest,
    SelfServiceLink,
    SelfServiceSubmission,
)
from quality.policy import duplicate_threshold, link_days, points_rules, self_service_review, undo_period
from quality.records import records_all, records_for
from quality.schedule import status_q

# Customer fields a merge lets the user pick from either side.
MERGE_FIELDS = ("name", "kind", "stage", "owner", "phone", "email")
_KEY_COLUMNS = ("customer_id", "kind", "key")


# -- blocking keys ------------------------------------------------------------------


@transaction.atomic
def customer_keys_refresh(*, customer_ids: Sequence[int]) -> int:
    """Recompute the blocking keys of these customers; returns how many keys they have now."""
    ids = list(customer_ids)
    CustomerKey.objects.filter(customer_id__in=in_values(ids)).delete()
    rows = [(r.id, kind, key[:320]) for r in records_for(ids) for kind, key in sorted(blocking_keys(r))]
    bulk_insert_rows(CustomerKey, _KEY_COLUMNS, rows)
    return len(rows)


def customer_keys_rebuild(*, progress=None) -> int:
    """Recompute every customer's blocking keys (COPY in chunks); returns how many."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Deferred foreign-key checks of rows written earlier in the same transaction
                # would make TRUNCATE refuse ("pending trigger events"): run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"TRUNCATE {CustomerKey._meta.db_table}")  # noqa: S608
        else:
            CustomerKey.objects.all().delete()
    total = done = 0
    for records in records_all():
        rows = [(r.id, kind, key[:320]) for r in records for kind, key in blocking_keys(r)]
        with transaction.atomic():
            bulk_insert_rows(CustomerKey, _KEY_COLUMNS, rows)
        total += len(rows)
        done += len(records)
        if progress:
            progress(done)
    return total


# -- the scan -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    candidates: int  # pairs sharing a blocking key
    pairs: int  # of them, pairs at or above the threshold (open or already decided)
    new: int  # of them, not known before


def _candidate_sql(only: bool) -> str:
    table = CustomerKey._meta.db_table
    keys = table
    restrict = ""
    if only:
        # Only the blocks these customers are in (their keys off the customer index, each block
        # off the (kind, key) index): a save-time rescan costs a few probes, not a table scan.
        ids = "SELECT unnest(%s::bigint[])" if connection.vendor == "postgresql" else "{ids}"
        keys = (
            f"(SELECT k.kind, k.key FROM {table} k WHERE (k.kind, k.key) IN "  # noqa: S608
            f"(SELECT m.kind, m.key FROM {table} m WHERE m.customer_id IN ({ids})))"
        )
        restrict = f"AND (k1.customer_id IN ({ids}) OR k2.customer_id IN ({ids}))"
    # Blocks too big to mean anything (MAX_BLOCK) are skipped.
    return (
        f"WITH blocks AS (SELECT kind, key FROM {keys} AS s GROUP BY kind, key "  # noqa: S608
        f"HAVING COUNT(*) BETWEEN 2 AND {MAX_BLOCK}) "
        f"SELECT DISTINCT k1.customer_id, k2.customer_id FROM blocks b "
        f"JOIN {table} k1 ON k1.kind = b.kind AND k1.key = b.key "
        f"JOIN {table} k2 ON k2.kind = b.kind AND k2.key = b.key AND k2.customer_id > k1.customer_id "
        f"WHERE true {restrict} ORDER BY 1, 2"
    )


def duplicates_scan(*, customer_ids: Sequence[int] | None = None, chunk: int = 20000) -> ScanResult:
    """Find pairs of customers sharing a blocking key, score them and keep those at or above the
    threshold as DuplicatePair rows (a pair already decided keeps its decision). With
    `customer_ids`, only pairs involving those customers (their keys must be current)."""
    params: list = []
    sql = _candidate_sql(customer_ids is not None)
    if customer_ids is not None:
        ids = [int(i) for i in customer_ids]
        if not ids:
            return ScanResult(0, 0, 0)
        if connection.vendor == "postgresql":
            params = [ids, ids, ids]
        else:
            sql = sql.format(ids=",".join(map(str, ids)))
    candidates = pairs = new = 0
    # The pairs are read in full before any is written (no statement stays open across the
    # writes); blocks are capped (MAX_BLOCK), so the pairs stay few next to the customers.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    for i in range(0, len(found), chunk):
        batch = found[i : i + chunk]
        candidates += len(batch)
        kept, added = _score_and_keep(batch)
        pairs += kept
        new += added
    return ScanResult(candidates, pairs, new)


def _score_and_keep(batch: list[tuple[int, int]]) -> tuple[int, int]:
    records = {r.id: r for r in records_for(sorted({i for pair in batch for i in pair}))}
    limit, now, found = duplicate_threshold(), timezone.now(), []
    for a, b in batch:
        if a in records and b in records:
            match = score_pair(records[a], records[b])
            if match.score >= limit:
                found.append((a, b, match))
    if not found:
        return 0, 0
    with transaction.atomic():
        known = {
            (a, b): (pk, status)
            for pk, a, b, status in DuplicatePair.objects.filter(
                customer_a_id__in=in_values({a for a, _b, _m in found})
            ).values_list("pk", "customer_a_id", "customer_b_id", "status")
        }
        fresh = [
            (a, b, m.score, list(m.reasons), PairStatus.OPEN, now) for a, b, m in found if (a, b) not in known
        ]
        bulk_insert_rows(
            DuplicatePair, ("customer_a_id", "customer_b_id", "score", "reasons", "status", "found_at"), fresh
        )
        update = [
            DuplicatePair(pk=known[a, b][0], score=m.score, reasons=list(m.reasons))
            for a, b, m in found
            if (a, b) in known and known[a, b][1] == PairStatus.OPEN
        ]
        DuplicatePair.objects.bulk_update(update, ["score", "reasons"], batch_size=2000)
    return len(found), len(fresh)


def duplicates_refresh_for(*, customer_ids: Sequence[int]) -> ScanResult:
    """Refresh these customers' keys and pairs (after they or their addresses changed); open
    pairs of theirs that no longer match are dropped."""
    ids = list(customer_ids)
    customer_keys_refresh(customer_ids=ids)
    stale = DuplicatePair.objects.filter(status=PairStatus.OPEN).filter(
        customer_a_id__in=ids
    ) | DuplicatePair.objects.filter(status=PairStatus.OPEN, customer_b_id__in=ids)
    stale.delete()
    return duplicates_scan(customer_ids=ids)


@transaction.atomic
def pair_dismiss(*, pair: DuplicatePair, actor) -> DuplicatePair:
    """Mark a pair "not a duplicate": later scans keep it out of the review list."""
    pair.status = PairStatus.DISMISSED
    pair.decided_at, pair.decided_by = timezone.now(), actor
    pair.save(update_fields=["status", "decided_at", "decided_by"])
    return pair


# -- merge and undo -----------------------------------------------------------------


def _customer_values(customer: Customer) -> dict:
    return {
        "id": customer.pk,
        "name": customer.name,
        "kind": customer.kind,
        "stage": customer.stage,
        "owner": customer.owner_id,
        "phone": customer.phone,
        "email": customer.email,
        "external_id": customer.external_id,
        "created_at": customer.created_at.isoformat() if customer.created_at else None,
    }


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    other: Customer,
    values: dict | None = None,
    actor=None,
    pair: DuplicatePair | None = None,
) -> CustomerMerge:
    """Merge `other` into `survivor`: its addresses (with their categories and history) move to
    the survivor, the fields named in `values` take the other's value ("other") or stay, its
    external id stays as an alias of the survivor, and the other customer is removed. Undo with
    `customer_merge_undo` within QUALITY_MERGE_UNDO_DAYS."""
    if survivor.pk == other.pk:
        raise ValidationError(_("A customer cannot be merged into itself."))
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, other.pk])}
    if len(locked) != 2:
        raise ValidationError(_("One of the customers no longer exists."))
    survivor, other = locked[survivor.pk], locked[other.pk]
    before_survivor, before_other = _customer_values(survivor), _customer_values(other)
    moving = list(Address.objects.filter(customer=other).order_by("pk").values_list("pk", "is_primary"))
    moved = addresses_move(
        address_ids=[pk for pk, _p in moving], customer=survivor, actor=actor, channel=Channel.SYSTEM
    )
    versions = {a.pk: a.version for a in moved}
    changes = {}
    for name, side in (values or {}).items():
        if name not in MERGE_FIELDS:
            raise ValidationError(_("Unknown field “%(name)s”.") % {"name": name})
        if side == "other":
            changes[name] = getattr(other, name)
    other_external = other.external_id
    customer_delete(customer=other, actor=actor)
    if other_external and not survivor.external_id:
        changes["external_id"] = other_external
        other_external = None
    if changes:
        survivor = customer_update(customer=survivor, actor=actor, **changes)
    merge = CustomerMerge.objects.create(
        survivor=survivor,
        merged_id=before_other["id"],
        merged=before_other,
        survivor_before=before_survivor,
        survivor_after=_customer_values(survivor),
        moved=[{"id": pk, "is_primary": primary, "version": versions.get(pk)} for pk, primary in moving],
        score=pair.score if pair else None,
        reasons=pair.reasons if pair else [],
        actor=actor if actor is not None and actor.is_authenticated else None,
        created_at=timezone.now(),
    )
    if other_external:
        CustomerAlias.objects.create(external_id=other_external, customer=survivor, merge=merge)
    CustomerAlias.objects.filter(customer_id=before_other["id"]).update(customer=survivor)
    duplicates_refresh_for(customer_ids=[survivor.pk])
    return merge


class UndoRefused(ValidationError):
    """The merge cannot be undone (too late, already undone, or the survivor changed since)."""


@transaction.atomic
def customer_merge_undo(*, merge: CustomerMerge, actor=None) -> Customer:
    """Undo a merge: the merged customer comes back with its id, values and external id, its
    addresses go back to it (ids, categories and history kept), the survivor gets its values
    back. Refused after the undo period, or when the survivor or a moved address changed since
    the merge (no three-way merge: the user merges again instead)."""
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise UndoRefused(_("This merge was already undone."), code="undone")
    if timezone.now() - merge.created_at > undo_period():
        raise UndoRefused(
            _("This merge is too old to undo (the limit is %(days)s days).") % {"days": undo_period().days},
            code="too_old",
        )
    survivor = Customer.objects.select_for_update().filter(pk=merge.survivor_id).first()
    if survivor is None or _customer_values(survivor) != merge.survivor_after:
        raise UndoRefused(
            _("The surviving customer was changed after the merge, so it cannot be undone."),
            code="survivor_changed",
        )
    versions = dict(
        Address.objects.filter(pk__in=[m["id"] for m in merge.moved]).values_list("pk", "version")
    )
    if (
        any(versions.get(m["id"]) != m["version"] for m in merge.moved)
        or Address.objects.filter(customer=survivor)
        .exclude(pk__in=[m["id"] for m in merge.moved])
        .filter(updated_at__gt=merge.created_at)
        .exists()
    ):
        raise UndoRefused(
            _("Addresses were changed after the merge, so it cannot be undone."), code="addresses_changed"
        )
    merge.aliases.all().delete()
    before = merge.survivor_before
    changes = {
        name: before[name]
        for name in (*MERGE_FIELDS, "external_id")
        if merge.survivor_after[name] != before[name]
    }
    if "owner" in changes:
        changes["owner_id"] = changes.pop("owner")
    if changes:
        survivor = customer_update(customer=survivor, actor=actor, **_as_update(changes))
    data = merge.merged
    restored = customer_create(
        actor=actor,
        id=data["id"],
        name=data["name"],
        kind=data["kind"],
        stage=data["stage"],
        owner_id=data["owner"],
        phone=data["phone"],
        email=data["email"],
        external_id=data["external_id"],
    )
    addresses_move(
        address_ids=[m["id"] for m in merge.moved],
        customer=restored,
        primary={m["id"]: m["is_primary"] for m in merge.moved},
        actor=actor,
        channel=Channel.SYSTEM,
    )
    merge.undone_at = timezone.now()
    merge.undone_by = actor if actor is not None and actor.is_authenticated else None
    merge.save(update_fields=["undone_at", "undone_by"])
    duplicates_refresh_for(customer_ids=[survivor.pk, restored.pk])
    a, b = sorted((survivor.pk, restored.pk))
    DuplicatePair.objects.update_or_create(
        customer_a_id=a,
        customer_b_id=b,
        defaults={
            "score": merge.score or 0.0,
            "reasons": merge.reasons,
            "status": PairStatus.OPEN,
            "found_at": merge.undone_at,
        },
    )
    return restored


def _as_update(changes: dict) -> dict:
    """customer_update takes `owner` as a user: turn an owner id back into one."""
    if "owner_id" in changes:
        from django.contrib.auth import get_user_model

        owner_id = changes.pop("owner_id")
        changes["owner"] = get_user_model().objects.filter(pk=owner_id).first() if owner_id else None
    return changes


# -- daily snapshot -----------------------------------------------------------------


def _address_figures(now, china_id: int | None) -> dict:
    """Aggregates of one pass over addresses (grouped by the caller)."""
    precise = [GeocodePrecision.ROOFTOP, GeocodePrecision.STREET]
    coarse = [GeocodePrecision.CITY, GeocodePrecision.PROVINCE, GeocodePrecision.COUNTRY]
    in_china = Q(country_id=china_id) & ~Q(postcode="")
    return {
        "addresses": Count("pk"),
        "with_postcode": Count("pk", filter=~Q(postcode="")),
        "with_detail": Count("pk", filter=~Q(detail="")),
        "with_district": Count("pk", filter=Q(district__isnull=False)),
        "precise": Count("pk", filter=Q(precision__in=precise)),
        "district_precision": Count("pk", filter=Q(precision=GeocodePrecision.DISTRICT)),
        "coarse": Count("pk", filter=Q(precision__in=coarse)),
        "not_located": Count("pk", filter=Q(precision=GeocodePrecision.NONE)),
        "unverified": Count("pk", filter=status_q("unverified", now)),
        "overdue": Count("pk", filter=status_q("overdue", now)),
        "due": Count("pk", filter=status_q("due", now)),
        "invalid_postcode": Count("pk", filter=in_china & ~Q(postcode__regex=r"^[0-9]{6}$")),
        "postcode_lost_zero": Count("pk", filter=in_china & Q(postcode__regex=r"^[0-9]{5}$")),
    }


def _customer_figures() -> dict[int, dict]:
    """Per owner (0: nobody): customers, with phone / email, invalid phone / email; one pass."""
    out: dict[int, dict] = {}
    rows = Customer.objects.order_by().values_list("owner_id", "phone", "email").iterator(chunk_size=5000)
    for owner_id, phone, email in rows:
        f = out.setdefault(owner_id or 0, dict.fromkeys(_CUSTOMER_KEYS, 0))
        f["customers"] += 1
        if phone:
            f["with_phone"] += 1
            if not phone_key(phone):
                f["invalid_phone"] += 1
        if email:
            f["with_email"] += 1
            if not email_key(email):
                f["invalid_email"] += 1
    return out


_CUSTOMER_KEYS = ("customers", "with_phone", "with_email", "invalid_phone", "invalid_email")


@transaction.atomic
def quality_snapshot_take(*, day=None) -> int:
    """Compute today's figures (everything, per province, per owner) and store them, replacing
    any taken earlier the same day; returns the rows written."""
    now = timezone.now()
    day = day or timezone.localdate()
    china_id = Region.objects.filter(code="CN").values_list("pk", flat=True).first()
    figures = _address_figures(now, china_id)
    rows: dict[tuple[str, int], dict] = {("all", 0): Address.objects.order_by().aggregate(**figures)}
    for row in Address.objects.order_by().values("province_id").annotate(**figures):
        rows["province", row.pop("province_id") or 0] = row
    for row in Address.objects.order_by().values("customer_owner_id").annotate(**figures):
        rows["owner", row.pop("customer_owner_id") or 0] = row
    everyone = dict.fromkeys(_CUSTOMER_KEYS, 0)
    for owner_id, f in _customer_figures().items():
        rows.setdefault(("owner", owner_id), {}).update(f)
        for k in _CUSTOMER_KEYS:
            everyone[k] += f[k]
    rows["all", 0].update(everyone)
    pairs = DuplicatePair.objects.filter(status=PairStatus.OPEN)
    rows["all", 0]["open_duplicates"] = pairs.count()
    for owner_id, n in pairs.order_by().values_list("customer_a__owner_id").annotate(n=Count("pk")):
        rows.setdefault(("owner", owner_id or 0), {})["open_duplicates"] = n
    QualitySnapshot.objects.filter(day=day).delete()
    QualitySnapshot.objects.bulk_create(
        QualitySnapshot(day=day, scope=scope, scope_id=scope_id, figures=f, taken_at=now)
        for (scope, scope_id), f in rows.items()
    )
    return len(rows)


def address_confirm(*, address: Address, actor, channel: str = Channel.FORM) -> Address:
    """Record that an address was checked with the customer today (e.g. "confirmed by phone")."""
    return address_update(
        address=address, expected_version=None, actor=actor, channel=channel, verified_at=timezone.now()
    )


# -- self-service links -------------------------------------------------------------

_LINK_SALT = "quality.self_service"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def self_service_link_create(*, customer: Customer, actor, send_to: str = "") -> tuple[SelfServiceLink, str]:
    """A new link for `customer`; returns it and its token (shown once, never stored)."""
    token = signing.Signer(salt=_LINK_SALT).sign(secrets.token_urlsafe(24))
    now = timezone.now()
    link = SelfServiceLink.objects.create(
        customer=customer,
        token_hash=_token_hash(token),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        expires_at=now + timedelta(days=link_days()),
        sent_to=send_to,
    )
    return link, token


def self_service_link_send(*, link: SelfServiceLink, url: str) -> None:
    """E-mail the link to the customer's address."""
    send_mail(
        _("Please check the addresses we have for you"),
        _("Hello %(name)s,\n\nplease confirm or correct the addresses we have on file for you:\n%(url)s\n\n"
          "The link works once, until %(expires)s.")
        % {"name": link.customer.name, "url": url, "expires": link.expires_at.date().isoformat()},
        None,
        [link.sent_to],
    )  # fmt: skip


class LinkInvalid(Exception):
    """The token is unknown, tampered with, expired, used or revoked (one answer for all)."""


def self_service_link_get(*, token: str, for_update: bool = False) -> SelfServiceLink:
    """The usable link of a token; raises LinkInvalid."""
    try:
        signing.Signer(salt=_LINK_SALT).unsign(token)
    except signing.BadSignature:
        raise LinkInvalid from None
    links = SelfServiceLink.objects.select_related("customer")
    if for_update:
        links = links.select_for_update(of=("self",))
    link = links.filter(token_hash=_token_hash(token)).first()
    if link is None or link.used_at or link.revoked_at or link.expires_at <= timezone.now():
        raise LinkInvalid
    return link


@transaction.atomic
def self_service_link_revoke(*, link: SelfServiceLink, actor=None) -> None:
    SelfServiceLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


@dataclass(frozen=True)
class Answer:
    """A customer's answer for one of their addresses: "confirm", or "correct" with new text."""

    address_id: int
    action: str
    raw_text: str = ""


@transaction.atomic
def self_service_submit(*, token: str, answers: Sequence[Answer]) -> list[SelfServiceSubmission]:
    """Apply a customer's answers through the write path (channel self_service): a confirmation
    sets `verified_at`; a correction is applied, or kept for review when the setting says so or
    its text cannot be placed. Every answer is kept; points per QUALITY_POINTS. Uses up the link."""
    link = self_service_link_get(token=token, for_update=True)
    now = timezone.now()
    link.used_at = now
    link.save(update_fields=["used_at"])
    own = {a.pk: a for a in Address.objects.filter(customer_id=link.customer_id)}
    rules, kept = points_rules(), []
    for answer in answers:
        address = own.get(answer.address_id)
        if address is None or answer.action not in SubmissionAction.values:
            continue
        submission = SelfServiceSubmission(
            link=link, customer_id=link.customer_id, address=address, action=answer.action,
            raw_text=answer.raw_text.strip(), created_at=now, status=SubmissionStatus.APPLIED,
        )  # fmt: skip
        if answer.action == SubmissionAction.CORRECT:
            problem = _correction_problem(address, submission.raw_text)
            if problem is not None or self_service_review():
                submission.status, submission.problem = SubmissionStatus.PENDING, problem or ""
        if submission.status == SubmissionStatus.APPLIED:
            try:
                with transaction.atomic():
                    _apply_answer(address, submission)
            except ValidationError as exc:  # e.g. a stored postcode the write path now rejects
                submission.status, submission.problem = SubmissionStatus.PENDING, " ".join(exc.messages)
        submission.save()
        if submission.status == SubmissionStatus.APPLIED:
            _award(submission, rules)
        kept.append(submission)
    return kept


def _correction_problem(address: Address, raw_text: str) -> str | None:
    """Why a correction cannot be applied as it is (None: it can): checked by a dry run of the
    write path, which must place it in a region."""
    if not raw_text:
        return _("No address was entered.")
    result = addresses_save(
        items=[AddressInput(address_id=address.pk, raw_text=raw_text)],
        channel=Channel.SELF_SERVICE,
        dry_run=True,
    )
    if result.errors:
        return " ".join(m for messages in result.errors[0].values() for m in messages)
    if result.addresses[0].region_id is None:
        return _("The address could not be placed in a region.")
    return None


def _apply_answer(address: Address, submission: SelfServiceSubmission, actor=None) -> None:
    changes = {"verified_at": timezone.now()}
    if submission.action == SubmissionAction.CORRECT:
        changes["raw_text"] = submission.raw_text
    address_update(
        address=address, expected_version=None, actor=actor, channel=Channel.SELF_SERVICE, **changes
    )


def _award(submission: SelfServiceSubmission, rules: dict[str, int]) -> None:
    points = rules.get(submission.action, 0)
    if points:
        PointsEntry.objects.create(
            customer_id=submission.customer_id, points=points, reason=submission.action,
            address=submission.address, submission=submission, created_at=timezone.now(),
        )  # fmt: skip


@transaction.atomic
def self_service_review_decide(
    *, submission: SelfServiceSubmission, apply: bool, actor, raw_text: str = ""
) -> SelfServiceSubmission:
    """A reviewer applies (optionally with corrected text) or rejects a held answer."""
    submission = SelfServiceSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.status != SubmissionStatus.PENDING:
        raise ValidationError(_("This answer was already decided."))
    if apply:
        if submission.address is None:
            raise ValidationError(_("The address no longer exists."))
        if raw_text:
            submission.raw_text = raw_text.strip()
        _apply_answer(submission.address, submission, actor=actor)
        submission.status = SubmissionStatus.APPLIED
        _award(submission, points_rules())
    else:
        submission.status = SubmissionStatus.REJECTED
    submission.decided_at, submission.decided_by = timezone.now(), actor
    submission.save()
    return submission


# -- weekly reminders ---------------------------------------------------------------


def reminders_send(*, today=None, base_url: str = "") -> int:
    """E-mail each salesperson with addresses never verified or overdue one digest a week;
    returns how many were sent. A digest is claimed (its row committed) before it is sent and
    marked after: a run stopped midway and run again sends nobody a second one."""
    from django.contrib.auth import get_user_model

    today = today or timezone.localdate()
    week = today - timedelta(days=today.weekday())
    todo = status_q("unverified") | status_q("overdue")
    counts = dict(
        Address.objects.filter(todo, customer_owner__isnull=False)
        .order_by()
        .values_list("customer_owner_id")
        .annotate(n=Count("pk"))
    )
    users = (
        get_user_model().objects.filter(pk__in=list(counts), is_active=True).exclude(email="").order_by("pk")
    )
    sent = 0
    for user in users:
        with transaction.atomic():
            digest, _created = ReminderDigest.objects.select_for_update().get_or_create(
                user=user, week=week, defaults={"addresses": counts[user.pk]}
            )
            if digest.sent_at is not None:
                continue
            send_mail(
                _("Addresses to verify this week: %(n)s") % {"n": counts[user.pk]},
                _("You have %(n)s addresses never verified or overdue for verification.\n%(url)s")
                % {"n": counts[user.pk], "url": f"{base_url}/quality/verify/"},
                None,
                [user.email],
            )
            digest.sent_at = timezone.now()
            digest.save(update_fields=["sent_at"])
        sent += 1
    return sent
