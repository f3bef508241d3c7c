"""The map shows exactly the customers `Customer.objects.visible_to(user)` gives, for every role,
after a change through every channel that alters what the map copies or scopes by (owner, stage,
kind, name, categories, territories; form, admin, bulk action, import, deletion).

The map restates the access rule over copies kept on each address (maps.scoping): these tests
compare its answers, at street zoom (points) and at country zoom (cell counts), with the rule.
"""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.http import QueryDict
from django.urls import reverse

from addresses.models import Address, AddressCategory
from addresses.services import address_create
from crm import roles
from customers.filtersets import CustomerFilterSet
from customers.models import Customer, Territory
from geo.models import Region

pytestmark = pytest.mark.django_db

WORLD = "-179,-85,179,85"
FILTERS = ("", "stage=existing", "kind=individual", "category={shop}", "region=440000")
SPOTS = {"440305": (22.53, 113.93), "110101": (39.91, 116.40), "310101": (31.23, 121.47)}


@pytest.fixture
def people(make_user, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", password="pw-boss")
    admin.groups.add(Group.objects.get(name=roles.ADMIN))
    return {
        "admin": admin,
        "manager": make_user("mgr", role=roles.MANAGER),
        "sales1": make_user("s1"),
        "sales2": make_user("s2"),
    }


@pytest.fixture
def shop():
    return AddressCategory.objects.create(name="门店", colour="#22c55e")


@pytest.fixture
def book(people, shop, make_customer):
    """Nine customers over Shenzhen, Beijing and Shanghai, owned by s1, s2 or nobody; s1 has
    Guangdong as territory, s2 Shanghai."""
    Territory.objects.create(user=people["sales1"], region=Region.objects.get(code="440000"))
    Territory.objects.create(user=people["sales2"], region=Region.objects.get(code="310000"))
    owners = (people["sales1"], people["sales2"], None)
    customers = []
    for i, (code, (lat, lng)) in enumerate([*SPOTS.items()] * 3):
        c = make_customer(
            f"客户{i}",
            owner=owners[i % 3],
            stage=("potential", "existing")[i % 2],
            kind=("enterprise", "individual")[i % 2],
            external_id=f"E{i}",
        )
        address_create(
            customer=c,
            district_code=code,
            lat=lat + i * 0.001,
            lng=lng,
            category_ids=[shop.pk] if i % 4 == 0 else [],
        )
        customers.append(c)
    return customers


def _map_customers(client, query: str) -> set[int]:
    data = client.get(reverse("map:clusters"), QueryDict(f"bbox={WORLD}&zoom=18&{query}")).json()
    assert not data["clusters"], data
    return {p["customer"] for p in data["points"]}


def _map_total(client, query: str, zoom: int) -> int:
    return client.get(reverse("map:clusters"), QueryDict(f"bbox={WORLD}&zoom={zoom}&{query}")).json()["total"]


def _expected(user, query: str) -> tuple[set[int], int]:
    visible = CustomerFilterSet(QueryDict(query), queryset=Customer.objects.visible_to(user)).qs
    located = Address.objects.filter(customer__in=visible, lat__isnull=False)
    return set(located.values_list("customer_id", flat=True)), located.count()


def assert_map_follows_the_access_rule(client, people, shop):
    for role, user in people.items():
        client.force_login(user)
        for template in FILTERS:
            query = template.format(shop=shop.pk)
            customers, addresses = _expected(user, query)
            assert _map_customers(client, query) == customers, (role, query)
            for zoom in (3, 6, 10):
                assert _map_total(client, query, zoom) == addresses, (role, query, zoom)
    client.logout()


def test_the_map_follows_the_access_rule_before_any_change(client, people, shop, book):
    assert_map_follows_the_access_rule(client, people, shop)


def test_an_owner_changed_in_the_admin_leaves_the_former_owners_map(client, people, shop, book):
    """The live leak of issue #30: the admin saved without the write path."""
    customer = book[0]  # s1's, in Shenzhen
    client.force_login(people["admin"])
    response = client.post(
        f"/admin/customers/customer/{customer.pk}/change/",
        {"name": customer.name, "kind": customer.kind, "stage": customer.stage, "owner": people["sales2"].pk,
         "phone": "", "email": "", "external_id": customer.external_id,
         "addresses-TOTAL_FORMS": "1", "addresses-INITIAL_FORMS": "1", "addresses-MIN_NUM_FORMS": "0",
         "addresses-MAX_NUM_FORMS": "1000", "addresses-0-id": customer.addresses.get().pk,
         "addresses-0-customer": customer.pk},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Address.objects.get(customer=customer).customer_owner_id == people["sales2"].pk
    client.force_login(people["sales2"])
    assert customer.pk in _map_customers(client, "")
    assert_map_follows_the_access_rule(client, people, shop)


def test_stage_kind_and_name_changed_in_the_admin(client, people, shop, book):
    customer = book[1]
    client.force_login(people["admin"])
    response = client.post(
        f"/admin/customers/customer/{customer.pk}/change/",
        {"name": "改名", "kind": "enterprise", "stage": "churned", "owner": "",
         "phone": "", "email": "", "external_id": customer.external_id,
         "addresses-TOTAL_FORMS": "1", "addresses-INITIAL_FORMS": "1", "addresses-MIN_NUM_FORMS": "0",
         "addresses-MAX_NUM_FORMS": "1000", "addresses-0-id": customer.addresses.get().pk,
         "addresses-0-customer": customer.pk},
    )  # fmt: skip
    assert response.status_code == 302
    assert Address.objects.filter(customer=customer, customer_name="改名", customer_stage="churned").exists()
    assert_map_follows_the_access_rule(client, people, shop)


def test_owner_changed_on_the_customer_form(client, people, shop, book):
    customer = book[3]  # s1's, in Shenzhen
    client.force_login(people["manager"])
    response = client.post(
        reverse("customers:edit", args=[customer.pk]),
        {"name": customer.name, "kind": "individual", "stage": "new", "owner": people["sales2"].pk},
    )
    assert response.status_code == 302
    assert_map_follows_the_access_rule(client, people, shop)


def test_owner_changed_by_the_bulk_action(client, people, shop, book):
    client.force_login(people["manager"])
    ids = [book[0].pk, book[3].pk, book[6].pk]
    response = client.post(reverse("customers:bulk_reassign"), {"ids": ids, "owner": people["sales2"].pk})
    assert response.status_code == 302
    assert_map_follows_the_access_rule(client, people, shop)


def test_categories_changed_by_the_bulk_action(client, people, shop, book):
    client.force_login(people["manager"])
    response = client.post(
        reverse("customers:bulk_categorize"),
        {"ids": [c.pk for c in book[:5]], "category": shop.pk, "mode": "remove"},
    )
    assert response.status_code == 302
    assert_map_follows_the_access_rule(client, people, shop)


def test_owner_and_stage_changed_by_an_import(client, people, shop, book, tmp_path):
    f = tmp_path / "owners.csv"
    f.write_text(
        "外部编号,客户名称,类型,阶段,负责人,区划代码,纬度,经度\n"
        f"E0,{book[0].name},individual,existing,s2,440305,22.53,113.93\n"
        f"E1,{book[1].name},enterprise,churned,s1,110101,39.911,116.40\n",
        encoding="utf-8",
    )
    call_command("import_customers", str(f), "--progress", "none", stdout=io.StringIO())
    assert Customer.objects.get(external_id="E0").owner == people["sales2"]
    assert_map_follows_the_access_rule(client, people, shop)


def test_territories_added_and_removed_in_the_admin(client, people, shop, book):
    client.force_login(people["sales2"])
    assert _map_total(client, "", 3) == _expected(people["sales2"], "")[1]  # cached per user scope
    client.force_login(people["admin"])
    beijing = Region.objects.get(code="110000")
    response = client.post(
        "/admin/customers/territory/add/", {"user": people["sales2"].pk, "region": beijing.pk}
    )
    assert response.status_code == 302
    shanghai = Territory.objects.get(user=people["sales2"], region__code="310000")
    response = client.post(f"/admin/customers/territory/{shanghai.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert_map_follows_the_access_rule(client, people, shop)


def test_a_deleted_customer_leaves_the_map(client, people, shop, book):
    from customers.services import customer_delete

    customer_delete(customer=book[0], actor=people["admin"])
    assert not Customer.objects.filter(pk=book[0].pk).exists()
    assert_map_follows_the_access_rule(client, people, shop)


def test_a_deleted_salesperson_s_customers_lose_their_owner_everywhere(client, people, shop, book):
    people["sales2"].delete()
    del people["sales2"]
    assert (
        not Address.objects.filter(customer_owner_id__isnull=False)
        .exclude(customer_owner_id__in=[u.pk for u in people.values()])
        .exists()
    )
    assert_map_follows_the_access_rule(client, people, shop)


def test_map_rebuild_repairs_copies_written_around_the_write_path(client, people, shop, book):
    # Bulk SQL outside Dizhi (a DBA's fix, a restore) leaves the copies stale...
    Customer.objects.filter(pk=book[0].pk).update(owner=people["sales2"])
    call_command("map_rebuild", stdout=io.StringIO())
    # ...and map_rebuild puts them right.
    assert Address.objects.get(customer=book[0]).customer_owner_id == people["sales2"].pk
    assert_map_follows_the_access_rule(client, people, shop)
