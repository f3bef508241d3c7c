import pytest
from django.urls import reverse

from addresses.choices import Channel
from addresses.models import Address, AddressVersion
from addresses.services import address_create, address_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(admin)
    client.user = admin
    return client


@pytest.mark.parametrize(
    "model",
    [
        "geo/region",
        "customers/customer",
        "addresses/address",
        "addresses/addressversion",
        "addresses/addresscategory",
        "customers/territory",
        "imports/importjob",
    ],
)
def test_admin_lists_every_model(admin_client, make_customer, model):
    address_create(customer=make_customer("华为"), district_code="440305", detail="x")
    response = admin_client.get(f"/admin/{model}/")
    assert response.status_code == 200


def test_admin_address_filters_cascade_from_province_to_city(admin_client, make_customer):
    address_create(customer=make_customer(), district_code="440305", detail="x")
    city_link = f"city={_region_pk('440300')}"
    page = admin_client.get("/admin/addresses/address/").content.decode()
    assert f"province={_region_pk('440000')}" in page and city_link not in page
    page = admin_client.get(
        "/admin/addresses/address/?province=" + str(_region_pk("440000"))
    ).content.decode()
    assert city_link in page


def _region_pk(code):
    from geo.models import Region

    return Region.objects.get(code=code).pk


def test_admin_add_address_goes_through_the_write_path(admin_client, make_customer):
    customer = make_customer()
    response = admin_client.post(
        reverse("admin:addresses_address_add"),
        {
            "customer": customer.pk,
            "kind": "delivery",
            "raw_text": "广东省深圳市南山区科技园",
            "precision": "none",
            "versions-TOTAL_FORMS": 0,
            "versions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    address = Address.objects.get(customer=customer)
    assert address.district.code == "440305"
    version = AddressVersion.objects.get(address=address)
    assert version.channel == Channel.ADMIN and version.actor == admin_client.user


def test_admin_stale_edit_is_refused_with_a_message(admin_client, make_customer):
    address = address_create(customer=make_customer(), district_code="440305", detail="old")
    url = reverse("admin:addresses_address_change", args=[address.pk])
    address_update(address=address, expected_version=1, detail="changed meanwhile")
    response = admin_client.post(
        url,
        {
            "customer": address.customer_id,
            "kind": "delivery",
            "detail": "mine",
            "region": address.region_id,
            "precision": address.precision,
            "lat": address.lat,
            "lng": address.lng,
            "seen_version": 1,
            "versions-TOTAL_FORMS": 1,
            "versions-INITIAL_FORMS": 1,
        },
    )
    assert response.status_code == 200
    assert "version" in response.content.decode()
    assert Address.objects.get(pk=address.pk).detail == "changed meanwhile"


def test_admin_rejects_region_chain_violation_as_field_error(admin_client, make_customer):
    customer = make_customer()
    response = admin_client.post(
        reverse("admin:addresses_address_add"),
        {
            "customer": customer.pk,
            "kind": "delivery",
            "raw_text": "",
            "detail": "",
            "precision": "none",
            "versions-TOTAL_FORMS": 0,
            "versions-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert not Address.objects.exists()


def test_admin_shows_an_import_job_with_its_checkpoints_read_only(admin_client, tmp_path):
    from imports.models import ImportCheckpoint, ImportJob

    job = ImportJob.objects.create(
        source_name="客户.csv",
        file_path=str(tmp_path / "c.csv"),
        file_sha256="ab" * 32,
        status="done",
        workers=2,
    )
    ImportCheckpoint.objects.create(job=job, worker=0, rows_done=10, created=9, rejected=1, finished=True)
    ImportCheckpoint.objects.create(job=job, worker=1, rows_done=12, created=12, finished=True)
    assert "客户.csv" in admin_client.get("/admin/imports/importjob/?status=done").content.decode()
    page = admin_client.get(f"/admin/imports/importjob/{job.pk}/change/").content.decode()
    assert page.count('<td class="field-rows_done">') == 2 and 'name="_save"' not in page
    response = admin_client.post(f"/admin/imports/importjob/{job.pk}/change/", {"status": "failed"})
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == "done"
