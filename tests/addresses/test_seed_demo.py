import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from addresses.models import Address, AddressCategory, AddressVersion
from crm.roles import is_manager
from customers.models import Customer, Territory

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_realistic_data_through_the_write_path(capsys):
    call_command("seed_demo", customers=300)
    out = capsys.readouterr().out
    assert "admin" in out and "dizhi-admin" in out  # printed logins
    assert Customer.objects.count() == 300
    addresses = Address.objects.select_related("country", "province", "district")
    assert addresses.count() >= 300
    assert AddressVersion.objects.count() == addresses.count()  # one history row per write
    assert all(a.lat is not None and a.country_id for a in addresses)
    chinese = [a for a in addresses if a.country.code == "CN"]
    assert len(chinese) > 250
    assert all(a.district_id and a.province_id for a in chinese)
    assert len({a.district_id for a in chinese}) > 50  # spread over many districts
    assert Customer.objects.filter(addresses__kind="billing").exists()  # some have several addresses
    assert Customer.objects.exclude(name="").count() == 300
    assert AddressCategory.objects.count() >= 5
    assert Address.objects.filter(categories__isnull=False).exists()


def test_seed_demo_users_have_roles_and_territories_and_reruns_add_customers():
    call_command("seed_demo", customers=20, verbosity=0)
    call_command("seed_demo", customers=20, verbosity=0)
    User = get_user_model()
    assert is_manager(User.objects.get(username="manager"))
    sales = User.objects.get(username="sales")
    assert not is_manager(sales)
    assert Territory.objects.filter(user=sales, region__code="440000").exists()
    assert Customer.objects.count() == 40
    assert Customer.objects.values("external_id").distinct().count() == 40
    visible = Customer.objects.visible_to(sales)
    assert 0 < visible.count() < 40


def test_seed_demo_if_empty_adds_nothing_when_customers_exist():
    call_command("seed_demo", customers=10, verbosity=0)
    call_command("seed_demo", customers=10, if_empty=True, verbosity=0)
    assert Customer.objects.count() == 10
