"""The address history's keyed chain: what each AddressVersion's `hash` is.

`hash` = HMAC-SHA256, keyed with settings.HISTORY_KEY (from the environment, never the database),
over every other column of the row, `prev_hash` (the previous version's `hash`) included, as one
canonical JSON array. Someone who can write the database but lacks the key cannot edit a row, nor
rebuild a chain with plain SHA-256; HistoryHead keeps each chain's length and last hash, so a
deleted row shows too. Both the write path and trust.history (verify_history) use this module.
"""

import hashlib
import hmac
import json
from json.encoder import encode_basestring

from django.conf import settings

# The canonical JSON of history snapshots and payloads: sorted keys, no spaces, UTF-8.
canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def flat_json(value) -> str:
    """`canonical_json(value)`, faster for what history holds (a flat dict of text, None, booleans
    and lists of ints: verify_history encodes two per row); anything else goes to the encoder."""
    if value.__class__ is not dict:
        return canonical_json(value)
    parts = []
    for key in sorted(value):
        v = value[key]
        if v.__class__ is str:
            text = encode_basestring(v)
        elif v is None:
            text = "null"
        elif v is True or v is False:
            text = "true" if v else "false"
        elif v.__class__ is list and all(i.__class__ is int for i in v):
            text = "[" + ",".join(map(str, v)) + "]"
        else:
            return canonical_json(value)
        parts.append(f"{encode_basestring(key)}:{text}")
    return "{" + ",".join(parts) + "}"


def _key() -> bytes:
    return settings.HISTORY_KEY.encode()


def batch_mac(*, actor_id: int | None, actor_name: str, channel: str, created_at):
    """The HMAC state after the columns a batch's rows share (who, how, when); copy it per row."""
    mac = hmac.new(_key(), digestmod=hashlib.sha256)
    actor = "null" if actor_id is None else str(int(actor_id))
    mac.update(
        f"[{actor},{encode_basestring(actor_name)},{encode_basestring(channel)},"
        f"{encode_basestring(created_at.isoformat())},".encode()
    )
    return mac


def row_mac(
    base,
    *,
    address_id: int,
    customer_id: int,
    version: int,
    before: str,
    after: str,
    changed: str,
    prev_hash: str,
) -> str:
    """The row's `hash` from its batch's HMAC state and its own columns (JSON given as canonical text)."""
    mac = base.copy()
    mac.update(
        f"{int(address_id)},{int(customer_id)},{int(version)},{before},{after},{changed},"
        f"{encode_basestring(prev_hash)}]".encode()
    )
    return mac.hexdigest()


def version_mac(
    *, address_id, customer_id, version, actor_id, actor_name, channel, created_at, before, after, changed_fields,
    prev_hash,
) -> str:  # fmt: skip
    """The `hash` a row with these column values must carry (JSON columns as decoded values)."""
    base = batch_mac(actor_id=actor_id, actor_name=actor_name, channel=channel, created_at=created_at)
    return row_mac(
        base,
        address_id=address_id,
        customer_id=customer_id,
        version=version,
        before=flat_json(before),
        after=flat_json(after),
        changed=canonical_json(changed_fields),
        prev_hash=prev_hash,
    )


def macs_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
