import pytest
from django.urls import reverse

from addresses.models import Address, AddressCategory
from addresses.services import address_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def addresses(make_customer, sales, other_sales, category):
    mine = make_customer("我的", owner=sales)
    theirs = make_customer("别人的", owner=other_sales)
    return [
        address_create(customer=mine, district_code="440305", category_ids=[category.pk]),
        address_create(customer=mine, district_code="440304", kind="billing", category_ids=[category.pk]),
        address_create(customer=theirs, district_code="110105", category_ids=[category.pk]),
    ]


def test_category_list_counts_only_visible_addresses(client, sales, manager, category, addresses):
    client.force_login(sales)
    response = client.get(reverse("addresses:category_list"))
    assert response.status_code == 200
    [row] = response.context["categories"]
    assert row.address_count == 2
    client.force_login(manager)
    [row] = client.get(reverse("addresses:category_list")).context["categories"]
    assert row.address_count == 3


def test_sales_user_sees_no_management_actions(client, sales, category):
    client.force_login(sales)
    html = client.get(reverse("addresses:category_list")).content.decode()
    assert reverse("addresses:category_create") not in html
    assert reverse("addresses:category_edit", args=[category.pk]) not in html
    assert reverse("addresses:category_delete", args=[category.pk]) not in html


def test_sales_user_cannot_manage_categories(client, sales, category):
    client.force_login(sales)
    assert client.get(reverse("addresses:category_create")).status_code == 403
    assert (
        client.post(reverse("addresses:category_create"), {"name": "x", "colour": "#000000"}).status_code
        == 403
    )
    assert (
        client.post(reverse("addresses:category_edit", args=[category.pk]), {"name": "y"}).status_code == 403
    )
    assert client.post(reverse("addresses:category_delete", args=[category.pk])).status_code == 403
    assert AddressCategory.objects.filter(pk=category.pk, name="仓库").exists()
    assert AddressCategory.objects.count() == 1


def test_manager_adds_a_category(client, manager, category):
    client.force_login(manager)
    page = client.get(reverse("addresses:category_create"))
    assert 'type="color"' in page.content.decode()
    response = client.post(
        reverse("addresses:category_create"),
        {"name": "重点客户", "description": "年采购额超过一百万", "colour": "#AA3300", "parent": category.pk},
    )
    assert response.status_code == 302 and response["Location"] == reverse("addresses:category_list")
    created = AddressCategory.objects.get(name="重点客户")
    assert created.colour == "#aa3300" and created.parent == category


def test_category_form_errors_are_inline(client, manager, category):
    client.force_login(manager)
    response = client.post(reverse("addresses:category_create"), {"name": "仓库", "colour": "red"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "name" in errors and "colour" in errors
    assert "is-invalid" in response.content.decode()


def test_manager_edits_a_category(client, manager, category):
    client.force_login(manager)
    assert client.get(reverse("addresses:category_edit", args=[category.pk])).status_code == 200
    response = client.post(
        reverse("addresses:category_edit", args=[category.pk]),
        {"name": "中心仓库", "description": "", "colour": "#112233", "parent": ""},
    )
    assert response.status_code == 302
    category.refresh_from_db()
    assert (category.name, category.colour) == ("中心仓库", "#112233")


def test_category_cannot_be_placed_under_its_child(client, manager, category):
    child = AddressCategory.objects.create(name="子类", parent=category)
    client.force_login(manager)
    response = client.post(
        reverse("addresses:category_edit", args=[category.pk]),
        {"name": "仓库", "colour": "#ff0000", "parent": child.pk},
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    category.refresh_from_db()
    assert category.parent is None


def test_delete_asks_for_confirmation_then_unassigns_addresses(client, manager, category, addresses):
    client.force_login(manager)
    url = reverse("addresses:category_delete", args=[category.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["address_count"] == 3
    assert "csrfmiddlewaretoken" in page.content.decode()
    assert AddressCategory.objects.filter(pk=category.pk).exists()  # GET deletes nothing

    response = client.post(url)
    assert response.status_code == 302
    assert not AddressCategory.objects.filter(pk=category.pk).exists()
    assert Address.objects.count() == 3  # addresses are never deleted
    for address in Address.objects.all():
        assert not address.categories.exists()
        last = address.versions.order_by("version").last()
        assert last.changed_fields == ["categories"] and last.actor == manager


def test_category_names_are_escaped(client, manager):
    AddressCategory.objects.create(name="<img src=x onerror=alert(1)>", colour="#ffffff")
    client.force_login(manager)
    html = client.get(reverse("addresses:category_list")).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_unknown_category_answers_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("addresses:category_edit", args=[9999])).status_code == 404
    assert client.get(reverse("addresses:category_delete", args=[9999])).status_code == 404
