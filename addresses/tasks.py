"""Background work on addresses (django.tasks): runs in-process by default,
on `manage.py db_worker` with TASKS_BACKEND=database."""

from django.tasks import task

from addresses.choices import Channel
from addresses.models import Address
from addresses.services import AddressInput, addresses_save
from geo import geocoding
from geo.choices import PRECISION_RANK


@task
def addresses_refine_location(*, address_ids: list[int]) -> int:
    """Ask the configured online geocoder for a finer point; save only improvements.

    Each save names the version it read, so an edit made meanwhile wins.
    """
    geocoder = geocoding.get_geocoder()
    addresses = list(
        Address.objects.filter(pk__in=address_ids).select_related("country", "province", "city", "district")
    )
    items = []
    for address in addresses:
        query = address.raw_text or address.one_line()
        result = geocoder.geocode(query, region_hint=address)
        if result is None or PRECISION_RANK[result.precision] >= PRECISION_RANK[address.precision]:
            continue
        items.append(
            AddressInput(
                address_id=address.pk,
                expected_version=address.version,
                lat=result.lat,
                lng=result.lng,
                precision=result.precision,
                geocode_source=result.source[:80],
            )
        )
    if not items:
        return 0
    return addresses_save(items=items, actor=None, channel=Channel.SYSTEM).updated
