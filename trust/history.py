"""Verification of the whole address history (`manage.py verify_history`): every row's keyed hash
(addresses.history), every chain's links and numbering, every chain against its head
(HistoryHead) and its address. Streams three id-ordered scans side by side, so memory stays flat
at millions of versions."""

import hashlib
import hmac
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from addresses import history
from addresses.choices import Channel
from addresses.models import Address, AddressVersion, HistoryHead
from trust.models import HistoryCheckpoint

CHUNK = 5000
_COLUMNS = (
    "address_id", "version", "customer_id", "actor_id", "actor_name", "channel", "created_at",
    "before", "after", "changed_fields", "prev_hash", "hash",
)  # fmt: skip


@dataclass(frozen=True)
class HistoryProblem:
    """One thing verify_history found wrong: which address, which version (if one), what."""

    address_id: int | None  # None: the history as a whole (a checkpoint)
    version: int | None
    problem: str

    def __str__(self):
        if self.address_id is None:
            return f"history: {self.problem}"
        where = f"address {self.address_id}" + (f" v{self.version}" if self.version is not None else "")
        return f"{where}: {self.problem}"


@dataclass
class HistoryReport:
    """What verify_history checked and found."""

    addresses: int = 0
    versions: int = 0
    problems: list[HistoryProblem] = field(default_factory=list)
    seconds: float = 0.0
    checkpoint: HistoryCheckpoint | None = None  # kept by this check (checkpoint=True, all intact)

    @property
    def ok(self) -> bool:
        return not self.problems


def _chains() -> Iterator[tuple[int, list[tuple]]]:
    rows = AddressVersion.objects.order_by("address_id", "version").values_list(*_COLUMNS)
    current, chain = None, []
    for row in rows.iterator(chunk_size=CHUNK):
        if row[0] != current:
            if chain:
                yield current, chain
            current, chain = row[0], []
        chain.append(row)
    if chain:
        yield current, chain


class _Cursor:
    """An id-ordered scan that can be advanced to an id, handing back what it passed."""

    def __init__(self, rows):
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def until(self, key: int | None) -> Iterator[tuple]:
        """Rows with an id below `key` (all that remain when None)."""
        while self._next is not None and (key is None or self._next[0] < key):
            yield self._next
            self._next = next(self._rows, None)

    def take(self, key: int) -> tuple | None:
        if self._next is not None and self._next[0] == key:
            row, self._next = self._next, next(self._rows, None)
            return row
        return None


def _check_chain(address_id: int, chain: list[tuple], report: HistoryReport) -> None:
    problem = report.problems.append
    expected_version, prev_hash = 1, ""
    for (
        _a,
        version,
        customer_id,
        actor_id,
        actor_name,
        channel,
        created_at,
        before,
        after,
        changed,
        prev,
        h,
    ) in chain:
        mac = history.version_mac(
            address_id=address_id, customer_id=customer_id, version=version, actor_id=actor_id,
            actor_name=actor_name, channel=channel, created_at=created_at, before=before, after=after,
            changed_fields=changed, prev_hash=prev,
        )  # fmt: skip
        if not history.macs_equal(mac, h):
            problem(HistoryProblem(address_id, version, "the row does not match its keyed hash (edited)"))
        if version != expected_version:
            problem(
                HistoryProblem(address_id, version, f"versions {expected_version}…{version - 1} are missing")
                if version > expected_version
                else HistoryProblem(address_id, version, "the version number repeats or goes back")
            )
        if prev != prev_hash:
            problem(HistoryProblem(address_id, version, "the link to the previous version is broken"))
        expected_version, prev_hash = version + 1, h


class _HeadsDigest:
    """SHA-256 over each chain's head as it stood at `at` (its last row written by then), in
    address order: what a checkpoint keeps, and what a later check recomputes from the rows."""

    def __init__(self, at: datetime):
        self.at, self.sha, self.addresses, self.versions = at, hashlib.sha256(), 0, 0

    def add(self, address_id: int, chain: list[tuple]) -> None:
        then = [row for row in chain if row[6] <= self.at]
        if then:
            self.sha.update(f"{address_id},{then[-1][1]},{then[-1][11]};".encode())
            self.addresses += 1
            self.versions += len(then)


def checkpoint_mac(*, created_at: datetime, addresses: int, versions: int, digest: str) -> str:
    payload = f"{created_at.isoformat()}|{addresses}|{versions}|{digest}"
    return hmac.new(settings.HISTORY_KEY.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _check_checkpoint(checkpoint: HistoryCheckpoint, then: _HeadsDigest, report: HistoryReport) -> None:
    expected = checkpoint_mac(
        created_at=checkpoint.created_at,
        addresses=checkpoint.addresses,
        versions=checkpoint.versions,
        digest=checkpoint.digest,
    )
    when = timezone.localtime(checkpoint.created_at).strftime("%Y-%m-%d %H:%M")
    if not hmac.compare_digest(expected, checkpoint.mac):
        report.problems.append(HistoryProblem(None, None, f"the checkpoint of {when} was altered"))
    elif (then.addresses, then.versions, then.sha.hexdigest()) != (
        checkpoint.addresses,
        checkpoint.versions,
        checkpoint.digest,
    ):
        report.problems.append(
            HistoryProblem(
                None,
                None,
                f"the history as of the checkpoint of {when} ({checkpoint.addresses:,} addresses, "
                f"{checkpoint.versions:,} versions) now reads {then.addresses:,} addresses, {then.versions:,} "
                "versions, or other heads: rows written by then were deleted or replaced",
            )
        )


@transaction.atomic
def history_checkpoint_create(*, at: datetime, digest: "_HeadsDigest") -> HistoryCheckpoint:
    """Keep the heads' digest of a clean check (history_verify(checkpoint_at=...))."""
    value = digest.sha.hexdigest()
    return HistoryCheckpoint.objects.create(
        created_at=at,
        addresses=digest.addresses,
        versions=digest.versions,
        digest=value,
        mac=checkpoint_mac(created_at=at, addresses=digest.addresses, versions=digest.versions, digest=value),
    )


def history_verify(
    *, progress: Callable[[int], None] | None = None, checkpoint: bool = False
) -> HistoryReport:
    """Check every address's history chain against its keyed hashes, its head, its address and the
    latest checkpoint; with `checkpoint`, keep a new one when all is intact."""
    started = time.monotonic()
    report = HistoryReport(versions=0)
    latest = HistoryCheckpoint.objects.first()
    then = _HeadsDigest(latest.created_at) if latest is not None else None
    now = _HeadsDigest(timezone.now()) if checkpoint else None
    problem = report.problems.append
    heads = _Cursor(
        HistoryHead.objects.order_by("address_id")
        .values_list("address_id", "version", "hash")
        .iterator(chunk_size=CHUNK)
    )
    addresses = _Cursor(
        Address.objects.order_by("pk").values_list("pk", "version").iterator(chunk_size=CHUNK)
    )

    def orphans_before(key: int | None) -> None:
        for address_id, version, _h in heads.until(key):
            problem(HistoryProblem(address_id, None, f"its head says {version} versions, but all are gone"))
        for address_id, version in addresses.until(key):
            report.addresses += 1
            if version > 0 and address_id:
                problem(
                    HistoryProblem(
                        address_id, None, f"the address is at version {version} but has no history"
                    )
                )

    for address_id, chain in _chains():
        orphans_before(address_id)
        report.versions += len(chain)
        _check_chain(address_id, chain, report)
        for digest in (then, now):
            if digest is not None:
                digest.add(address_id, chain)
        last = chain[-1]
        last_version, last_hash, last_channel = last[1], last[11], last[5]
        head = heads.take(address_id)
        if head is None:
            problem(HistoryProblem(address_id, None, "the chain's head is missing"))
        elif head[1] != last_version:
            problem(
                HistoryProblem(
                    address_id, head[1], f"the head says {head[1]} versions, the history has {last_version}"
                )
            )
        elif not history.macs_equal(head[2], last_hash):
            problem(
                HistoryProblem(address_id, last_version, "the newest row is not the one the head recorded")
            )
        address = addresses.take(address_id)
        if address is not None:
            report.addresses += 1
            if address[1] != last_version:
                problem(
                    HistoryProblem(
                        address_id,
                        None,
                        f"the address is at version {address[1]}, its history at {last_version}",
                    )
                )
        elif last_channel != Channel.DELETION:
            problem(HistoryProblem(address_id, None, "the address is gone without a deletion in its history"))
        if progress is not None:
            progress(len(chain))
    orphans_before(None)
    if latest is not None:
        _check_checkpoint(latest, then, report)
    if now is not None and report.ok:
        report.checkpoint = history_checkpoint_create(at=now.at, digest=now)
    report.seconds = time.monotonic() - started
    return report
