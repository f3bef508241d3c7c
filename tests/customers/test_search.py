"""The list's free-text search: exact substring semantics on both plans, indexed on PostgreSQL."""

import pytest
from django.db import connection
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from addresses.services import address_create, address_update
from crm.db.search_keys import search_keys
from customers import search
from customers.models import Customer
from customers.search import customer_search

pytestmark = pytest.mark.django_db

LIST = reverse("customers:list")


@pytest.fixture
def people(make_customer, sales):
    made = {}
    for name, detail in [
        ("明腾科技有限公司", "深南大道1号"),
        ("欧阳娜娜", "科技园南区8栋"),
        ("100%纯净水厂", "建国路88号"),
        ("Acme_Trading", "Baker Street 221b"),
        ("哈哈哈超市", "人民路1号"),
        ("张伟", "解放路2号"),
    ]:
        customer = make_customer(name, owner=sales)
        address_create(customer=customer, district_code="440305", detail=detail)
        made[name] = customer
    return made


@pytest.mark.parametrize("walk_above", [search.WALK_ABOVE, -1], ids=["collect ids", "walk the sort order"])
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("科技", {"明腾科技有限公司", "欧阳娜娜"}),  # a name and an address line
        ("欧阳", {"欧阳娜娜"}),
        ("技有", {"明腾科技有限公司"}),
        ("科有", set()),  # both characters present, not adjacent
        ("哈哈", {"哈哈哈超市"}),
        ("%", {"100%纯净水厂"}),  # LIKE wildcards are literal characters
        ("_", {"Acme_Trading"}),
        ("acme_t", {"Acme_Trading"}),  # case-insensitive
        ("BAKER st", {"Acme_Trading"}),
        ("伟", {"张伟"}),
    ],
)
def test_search_is_an_exact_case_insensitive_substring_match(people, monkeypatch, walk_above, term, expected):
    monkeypatch.setattr(search, "WALK_ABOVE", walk_above)
    qs, walk = customer_search(Customer.objects.all(), term)
    assert set(qs.values_list("name", flat=True)) == expected
    # On PostgreSQL a term estimated above WALK_ABOVE walks the sort order.
    assert walk == (connection.vendor == "postgresql" and walk_above < 0)


def test_common_term_walks_the_sort_order_on_the_list(people, client, sales, monkeypatch):
    monkeypatch.setattr(search, "WALK_ABOVE", -1)
    client.force_login(sales)
    response = client.get(LIST, {"q": "科技"})
    assert {c.name for c in response.context["customers"]} == {"明腾科技有限公司", "欧阳娜娜"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL indexes")
def test_two_character_terms_use_the_search_key_indexes(people):
    qs, walk = customer_search(Customer.objects.all(), "科技")
    assert not walk
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
    assert "customers_customer_search_keys" in plan
    assert "addresses_address_search_keys" in plan


def test_search_follows_an_address_edit(people):
    customer = people["欧阳娜娜"]
    address = customer.addresses.get()
    address_update(address=address, expected_version=address.version, detail="人民路9号")
    assert set(customer_search(Customer.objects.all(), "人民路9")[0]) == {customer}
    assert not customer_search(Customer.objects.all(), "科技园")[0].filter(pk=customer.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="keys are stored on PostgreSQL")
def test_write_path_stores_the_search_keys_of_names_and_address_text(people):
    customer = Customer.objects.get(pk=people["欧阳娜娜"].pk)
    assert set(customer.search_keys) == set(search_keys("欧阳娜娜"))
    address = customer.addresses.get()
    assert set(address.search_keys) == set(search_keys(address.raw_text, address.detail))


@given(
    text=st.text(alphabet="科技欧阳哈abAB%_\\ ßẞİı", max_size=30),
    term=st.text(alphabet="科技欧阳哈abAB%_\\ ßẞİı", min_size=1, max_size=5),
)
def test_a_texts_keys_hold_every_key_of_a_term_it_contains(text, term):
    # The indexed search (crm.db.search_keys) narrows by keys, then tests the text: it relies on this.
    if term.upper() in text.upper():
        assert set(search_keys(term)) <= set(search_keys(text))


@given(text=st.text(alphabet="科技欧阳哈abAB %_", max_size=30))
def test_keys_are_the_texts_adjacent_character_pairs(text):
    upper = text.upper()
    pairs = {upper[i : i + 2] for i in range(len(upper) - 1)}
    assert {chr(k & 0xFFFF) + chr((k >> 16) & 0xFFFF) for k in search_keys(text)} == pairs


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate decides")
def test_a_common_term_walks_although_the_text_test_hides_how_common_it_is(make_customer, monkeypatch):
    for i in range(40):
        make_customer(f"科技公司{i}")
    make_customer("张伟")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
        cursor.execute("ANALYZE addresses_address")
    monkeypatch.setattr(search, "WALK_ABOVE", 20)
    assert customer_search(Customer.objects.all(), "科技")[1] is True
    assert customer_search(Customer.objects.all(), "张伟")[1] is False
    qs, _walk = customer_search(Customer.objects.all(), "科技")
    assert qs.count() == 40
