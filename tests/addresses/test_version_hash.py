"""The history's hash format: what address_history_verify recomputes must never drift."""

import hashlib
import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from addresses.services import SNAPSHOT_FIELDS, version_hash

values = st.one_of(
    st.none(), st.booleans(), st.text(max_size=20), st.lists(st.integers(0, 10**6), max_size=4)
)
snapshots = st.fixed_dictionaries({key: values for key in (*SNAPSHOT_FIELDS, "region_name")})


@given(
    address_id=st.integers(1, 10**12),
    version=st.integers(1, 1000),
    actor_id=st.one_of(st.none(), st.integers(1, 10**6)),
    channel=st.text(max_size=12),
    before=st.one_of(st.none(), snapshots),
    after=snapshots,
    prev_hash=st.text(max_size=64),
)
def test_hash_is_the_sha256_of_the_sorted_compact_json_payload(
    address_id, version, actor_id, channel, before, after, prev_hash
):
    created_at = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
    payload = {
        "address": address_id,
        "version": version,
        "actor": actor_id,
        "channel": channel,
        "time": created_at.isoformat(),
        "before": before,
        "after": after,
        "prev": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert (
        version_hash(
            address_id=address_id,
            version=version,
            actor_id=actor_id,
            channel=channel,
            created_at=created_at,
            before=before,
            after=after,
            prev_hash=prev_hash,
        )
        == hashlib.sha256(text.encode()).hexdigest()
    )
