"""The list's free-text search: exact substring semantics on both plans, indexed on PostgreSQL."""

import pytest
from django.db import connection
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from addresses.services import address_create
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
def test_two_character_terms_use_the_doubled_text_indexes(people):
    qs, walk = customer_search(Customer.objects.all(), "科技")
    assert not walk
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
    assert "customers_customer_name_search" in plan
    assert "addresses_address_text_search" in plan


def _doubled(text: str) -> str:
    return "".join(ch + ch for ch in text)


@given(
    text=st.text(alphabet="科技欧阳哈ab%_\\ ", max_size=30),
    term=st.text(alphabet="科技欧阳哈ab%_\\ ", min_size=1, max_size=5),
)
def test_doubling_keeps_substring_matches_exact(text, term):
    # The indexed search (customers.search.Doubled) relies on this equivalence.
    assert (_doubled(term) in _doubled(text)) == (term in text)
