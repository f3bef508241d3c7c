"""Re-chain existing history under the keyed HMAC (addresses/history.py), record each actor's name
as it is now, and set every chain's head. Run `verify_history` before upgrading: this migration
vouches for the rows as they are."""

from django.conf import settings
from django.db import migrations

BATCH = 2000


def rekey(apps, schema_editor):
    from addresses import history

    AddressVersion = apps.get_model("addresses", "AddressVersion")
    HistoryHead = apps.get_model("addresses", "HistoryHead")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    names = dict(User.objects.values_list("pk", "username"))
    pending, heads = [], {}
    prev_address, prev_hash = None, ""
    for v in AddressVersion.objects.order_by("address_id", "version").iterator(chunk_size=BATCH):
        if v.address_id != prev_address:
            prev_address, prev_hash = v.address_id, ""
        v.actor_name = names.get(v.actor_id, "") if v.actor_id else ""
        v.prev_hash = prev_hash
        v.hash = history.version_mac(
            address_id=v.address_id,
            customer_id=v.customer_id,
            version=v.version,
            actor_id=v.actor_id,
            actor_name=v.actor_name,
            channel=v.channel,
            created_at=v.created_at,
            before=v.before,
            after=v.after,
            changed_fields=v.changed_fields,
            prev_hash=prev_hash,
        )
        prev_hash = v.hash
        heads[v.address_id] = HistoryHead(address_id=v.address_id, version=v.version, hash=v.hash)
        pending.append(v)
        if len(pending) >= BATCH:
            AddressVersion.objects.bulk_update(pending, ["actor_name", "prev_hash", "hash"])
            pending = []
    if pending:
        AddressVersion.objects.bulk_update(pending, ["actor_name", "prev_hash", "hash"])
    HistoryHead.objects.all().delete()
    HistoryHead.objects.bulk_create(heads.values(), batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("addresses", "0024_history_keyed_chain")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop, elidable=True)]
