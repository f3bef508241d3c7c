"""Delete where users expect it (issue #34 item 7): managers delete customers and addresses from
their pages after a confirmation and restore them from the trash; sales users get a styled 403;
sales may add categories where the setting allows; styled 403 / 404 / 500 pages."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from addresses.models import Address, AddressCategory
from addresses.services import address_create
from customers.models import Customer, TrashItem

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@pytest.fixture
def customer(make_customer, sales):
    customer = make_customer("华南贸易", owner=sales)
    address_create(customer=customer, actor=sales, district_code="440305", detail="科苑路15号")
    address_create(
        customer=customer, actor=sales, kind="billing", district_code="110105", detail="建国路88号"
    )
    return customer


def test_sales_cannot_delete_and_get_a_styled_403(client, sales, customer):
    client.force_login(sales)
    for url in (
        reverse("customers:delete", args=[customer.pk]),
        reverse("addresses:delete", args=[customer.addresses.first().pk]),
        reverse("addresses:trash"),
    ):
        response = client.get(url, **ZH)
        assert response.status_code == 403
        html = response.content.decode()
        assert 'data-status="403"' in html and "只有经理可以删除客户和地址" in html and "dz-navbar" in html
    assert client.post(reverse("customers:delete", args=[customer.pk])).status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'id="customer-delete"' not in page and "data-address-delete" not in page


def test_manager_deletes_a_customer_after_confirming_and_restores_it(client, manager, customer):
    client.force_login(manager)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert f'href="/customers/{customer.pk}/delete/"' in page
    confirm = client.get(reverse("customers:delete", args=[customer.pk]), **ZH).content.decode()
    assert "删除“华南贸易”？" in confirm and "科苑路15号" in confirm and "建国路88号" in confirm
    assert Customer.objects.filter(pk=customer.pk).exists()  # a GET deletes nothing
    response = client.post(reverse("customers:delete", args=[customer.pk]), **ZH)
    assert response.status_code == 302 and response.url == reverse("customers:list")
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert client.get(customer.get_absolute_url()).status_code == 404

    trash = client.get(reverse("addresses:trash"), **ZH).content.decode()
    item = TrashItem.objects.get(object_id=customer.pk)
    assert "华南贸易" in trash and f'action="/addresses/trash/{item.pk}/restore/"' in trash
    response = client.post(reverse("addresses:trash_restore", args=[item.pk]))
    assert response.status_code == 302 and response.url == customer.get_absolute_url()
    assert Address.objects.filter(customer_id=customer.pk).count() == 2
    history = client.get(customer.get_absolute_url(), **ZH).content.decode()
    assert "删除了客户" in history and "从回收站恢复了客户" in history
    assert "回收站是空的" in client.get(reverse("addresses:trash"), **ZH).content.decode()
    assert client.post(reverse("addresses:trash_restore", args=[item.pk])).status_code == 404


def test_manager_deletes_an_address_and_the_history_says_so(client, manager, customer):
    address = customer.addresses.get(kind="billing")
    client.force_login(manager)
    confirm = client.get(reverse("addresses:delete", args=[address.pk]), **ZH).content.decode()
    assert "删除此地址？" in confirm and "建国路88号" in confirm
    response = client.post(reverse("addresses:delete", args=[address.pk]))
    assert response.status_code == 302 and response.url == customer.get_absolute_url()
    assert list(customer.addresses.values_list("kind", flat=True)) == ["delivery"]
    page = client.get(customer.get_absolute_url(), **ZH).content.decode()
    history = page[page.index('id="history"') :]
    assert "删除了地址" in history and "建国路88号" in history and "manager1" in history
    item = TrashItem.objects.get(object_id=address.pk)
    client.post(reverse("addresses:trash_restore", args=[item.pk]))
    assert customer.addresses.filter(pk=address.pk).exists()
    assert "恢复了地址" in client.get(customer.get_absolute_url(), **ZH).content.decode()


def test_a_restore_that_cannot_happen_is_explained(client, manager, customer):
    address = customer.addresses.get(kind="billing")
    client.force_login(manager)
    client.post(reverse("addresses:delete", args=[address.pk]))
    client.post(reverse("customers:delete", args=[customer.pk]))
    item = TrashItem.objects.get(object_id=address.pk, kind="address")
    response = client.post(reverse("addresses:trash_restore", args=[item.pk]), follow=True, **ZH)
    assert "请先恢复客户" in response.content.decode()


def test_sales_add_categories_only_where_the_setting_allows(client, sales, settings):
    client.force_login(sales)
    settings.SALES_MAY_CREATE_CATEGORIES = False
    assert client.get(reverse("addresses:category_create"), **ZH).status_code == 403
    assert "addresses/categories/new/" not in client.get(reverse("addresses:category_list")).content.decode()
    settings.SALES_MAY_CREATE_CATEGORIES = True
    assert "addresses/categories/new/" in client.get(reverse("addresses:category_list")).content.decode()
    response = client.post(reverse("addresses:category_create"), {"name": "我的重点", "colour": "#0055aa"})
    assert response.status_code == 302
    category = AddressCategory.objects.get(name="我的重点")
    assert client.get(reverse("addresses:category_edit", args=[category.pk])).status_code == 403


def test_404_page_is_styled_in_both_languages(client, sales):
    client.force_login(sales)
    zh = client.get("/customers/999999/", **ZH)
    assert (
        zh.status_code == 404 and "此页面不存在" in zh.content.decode() and "dz-navbar" in zh.content.decode()
    )
    en = client.get("/customers/999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert "This page does not exist" in en.content.decode()


@pytest.mark.parametrize(("language", "text"), [("zh-hans", "出错了"), ("en", "Something went wrong")])
def test_500_page_is_styled_in_both_languages(language, text):
    with translation.override(language):
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert (
        response.status_code == 500 and text in html and "dz-navbar" in html and 'data-status="500"' in html
    )


def test_admin_lists_the_trash_read_only(client, django_user_model, customer):
    from customers.services import customer_delete

    customer_delete(customer=customer)
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    response = client.get("/admin/customers/trashitem/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "华南贸易" in response.content.decode()
    assert "/admin/customers/trashitem/add/" not in response.content.decode()
