"""Unscoped map cells one level finer (level 16: clusters at zoom 14 read MapCell)."""

from django.db import migrations
from django.db.models import Avg, Count, F

LEVEL = 16


def add_level(apps, schema_editor):
    from crm.db.bulk_insert import bulk_insert_rows
    from geo import mapmath

    Address = apps.get_model("addresses", "Address")
    MapCell = apps.get_model("addresses", "MapCell")
    MapCell.objects.filter(scope="", level=LEVEL).delete()
    grouped = (
        Address.objects.filter(map_key__isnull=False)
        .order_by()
        .annotate(cell=F("map_key").bitrightshift(mapmath.key_shift(LEVEL)))
        .values("cell")
        .annotate(n=Count("pk"), lat=Avg("lat"), lng=Avg("lng"))
        .values_list("cell", "n", "lat", "lng")
    )
    rows = []
    for code, n, lat, lng in grouped:
        x, y = mapmath.unmorton(code)
        rows.append(("", LEVEL, x, y, n, float(lat) * n, float(lng) * n))
    rows.sort()
    columns = ("scope", "level", "x", "y", "count", "lat_sum", "lng_sum")
    for i in range(0, len(rows), 100_000):
        bulk_insert_rows(MapCell, columns, rows[i : i + 100_000])


def drop_level(apps, schema_editor):
    apps.get_model("addresses", "MapCell").objects.filter(scope="", level=LEVEL).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("addresses", "0009_customer_name_copy"),
    ]

    operations = [
        migrations.RunPython(add_level, drop_level, elidable=False),
    ]
