"""The history's hash format: what verify_history recomputes must never drift. It is an
HMAC-SHA256, keyed with settings.HISTORY_KEY, over every column as one compact JSON array."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from addresses.history import version_mac
from addresses.services import SNAPSHOT_FIELDS

values = st.one_of(
    st.none(), st.booleans(), st.text(max_size=20), st.lists(st.integers(0, 10**6), max_size=4)
)
snapshots = st.fixed_dictionaries({key: values for key in (*SNAPSHOT_FIELDS, "region_name")})


def _compact(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@given(
    address_id=st.integers(1, 10**12),
    customer_id=st.integers(1, 10**12),
    version=st.integers(1, 1000),
    actor_id=st.one_of(st.none(), st.integers(1, 10**6)),
    actor_name=st.text(max_size=20),
    channel=st.text(max_size=12),
    before=st.one_of(st.none(), snapshots),
    after=snapshots,
    changed=st.lists(st.text(max_size=10), max_size=5),
    prev_hash=st.text(max_size=64),
)
def test_hash_is_the_keyed_hmac_of_every_column_as_a_compact_json_array(
    address_id, customer_id, version, actor_id, actor_name, channel, before, after, changed, prev_hash
):
    created_at = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
    payload = [
        actor_id, actor_name, channel, created_at.isoformat(), address_id, customer_id, version,
        before, after, changed, prev_hash,
    ]  # fmt: skip
    text = "[" + ",".join(_compact(v) for v in payload) + "]"
    expected = hmac.new(settings.HISTORY_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()
    got = version_mac(
        address_id=address_id,
        customer_id=customer_id,
        version=version,
        actor_id=actor_id,
        actor_name=actor_name,
        channel=channel,
        created_at=created_at,
        before=before,
        after=after,
        changed_fields=changed,
        prev_hash=prev_hash,
    )
    assert got == expected
    # Without the key, SHA-256 of the same payload does not make a valid row.
    assert got != hashlib.sha256(text.encode()).hexdigest()


@given(
    value=st.one_of(
        snapshots, st.none(), st.lists(st.text(max_size=5)), st.dictionaries(st.text(max_size=5), values)
    )
)
def test_the_fast_encoder_writes_exactly_the_canonical_json(value):
    from addresses.history import canonical_json, flat_json

    assert flat_json(value) == canonical_json(value)
