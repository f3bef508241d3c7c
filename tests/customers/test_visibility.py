import pytest
from django.contrib.auth.models import AnonymousUser

from addresses.services import address_create
from customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_customer, sales, other_sales, manager):
    mine = make_customer("我的客户", owner=sales)
    theirs_in_sz = make_customer("深圳客户", owner=other_sales)
    address_create(customer=theirs_in_sz, district_code="440305", detail="科技园")
    theirs_in_bj = make_customer("北京客户", owner=other_sales)
    address_create(customer=theirs_in_bj, district_code="110105", detail="建国路")
    unowned = make_customer("无主客户", owner=None)
    return {"mine": mine, "sz": theirs_in_sz, "bj": theirs_in_bj, "unowned": unowned}


def test_sales_user_sees_only_own_customers_without_territory(world, sales):
    assert set(Customer.objects.visible_to(sales)) == {world["mine"]}


def test_sales_user_never_sees_another_users_customer_outside_territory(world, sales, make_territory):
    make_territory(sales, "440000")  # Guangdong
    visible = set(Customer.objects.visible_to(sales))
    assert world["bj"] not in visible


def test_territory_covers_the_whole_subtree(world, sales, make_territory):
    make_territory(sales, "440000")  # province → the Nanshan customer is inside
    assert set(Customer.objects.visible_to(sales)) == {world["mine"], world["sz"]}


def test_city_territory(world, sales, make_territory):
    make_territory(sales, "110100")
    assert set(Customer.objects.visible_to(sales)) == {world["mine"], world["bj"]}


def test_visible_to_has_no_duplicates_for_customers_with_several_addresses(world, sales, make_territory):
    make_territory(sales, "440000")
    address_create(customer=world["sz"], district_code="440304", detail="福田")
    assert Customer.objects.visible_to(sales).filter(pk=world["sz"].pk).count() == 1


def test_manager_sees_everything(world, manager):
    assert Customer.objects.visible_to(manager).count() == 4


def test_superuser_sees_everything(world, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    assert Customer.objects.visible_to(root).count() == 4


def test_anonymous_sees_nothing(world):
    assert Customer.objects.visible_to(AnonymousUser()).count() == 0


def test_inactive_user_sees_nothing(world, sales):
    sales.is_active = False
    assert Customer.objects.visible_to(sales).count() == 0
