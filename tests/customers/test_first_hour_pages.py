"""Small defects a new user met in the first hour (issue #34, first paragraph): pages."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import translation

from addresses.choices import Channel
from addresses.selectors import customer_history
from addresses.services import address_create
from crm import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def zh(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


def role_label(client, user) -> str:
    client.force_login(user)
    html = client.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    return re.search(r'data-testid="user-role">([^<]+)<', html).group(1).strip()


def test_admin_is_labelled_administrator_not_manager(client, zh, make_user, django_user_model):
    assert role_label(client, make_user("boss", role=roles.ADMIN)) == "管理员"
    superuser = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    assert role_label(client, superuser) == "管理员"
    assert role_label(client, make_user("mgr", role=roles.MANAGER)) == "经理"
    assert role_label(client, make_user("rep")) == "销售"


def test_history_of_a_change_without_a_user_does_not_say_system_twice(zh, make_customer, sales):
    customer = make_customer("无人客户", owner=sales)
    address_create(customer=customer, actor=None, channel=Channel.SYSTEM, district_code="440305")
    address_create(customer=customer, actor=None, channel=Channel.IMPORT, district_code="440106")
    address_create(customer=customer, actor=sales, channel=Channel.FORM, district_code="110105")
    names = {e.version.channel: (e.actor_name, e.show_channel) for e in customer_history(customer=customer)}
    assert names[Channel.SYSTEM] == ("自动更新", False)
    assert names[Channel.IMPORT] == ("文件导入", False)
    assert names[Channel.FORM] == ("sales1", True)


def test_history_line_on_the_page_names_the_source_once(client, zh, make_customer, sales):
    customer = make_customer("无人客户", owner=sales)
    address_create(customer=customer, actor=None, channel=Channel.SYSTEM, district_code="440305")
    client.force_login(sales)
    html = client.get(customer.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    history = html[html.index('id="history"') :]
    assert "自动更新" in history and "系统" not in history


def test_customer_page_links_to_its_nearby_customers_when_located(client, make_customer, sales):
    located = make_customer("有地址", owner=sales)
    address_create(customer=located, actor=sales, district_code="440305")
    bare = make_customer("无地址", owner=sales)
    client.force_login(sales)
    html = client.get(located.get_absolute_url()).content.decode()
    assert f'href="/map/?near={located.pk}"' in html
    assert client.get(f"/map/?near={located.pk}").status_code == 200
    assert "/map/?near=" not in client.get(bare.get_absolute_url()).content.decode()


def test_maps_get_outline_urls_without_a_double_slash(client, make_customer, sales):
    customer = make_customer("有地址", owner=sales)
    address_create(customer=customer, actor=sales, district_code="440305")
    client.force_login(sales)
    html = client.get("/map/").content.decode()
    config = json.loads(
        re.search(r'id="dz-map-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert config["urls"]["outlines"] == {
        "world-countries.geojson": "/static/geo/world-countries.geojson",
        "china-provinces.geojson": "/static/geo/china-provinces.geojson",
    }
    for name in config["urls"]["outlines"]:
        assert finders.find(f"geo/{name}")
    page = client.get(customer.get_absolute_url()).content.decode()
    mini = json.loads(re.search(r'id="map-config" type="application/json">(.*?)</script>', page).group(1))
    assert mini["outlines"] == config["urls"]["outlines"]


def test_map_controls_speak_the_page_language(client, zh, make_customer, sales):
    customer = make_customer("有地址", owner=sales)
    address_create(customer=customer, actor=sales, district_code="440305")
    client.force_login(sales)
    page = client.get(customer.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    mini = json.loads(re.search(r'id="map-config" type="application/json">(.*?)</script>', page).group(1))
    assert mini["labels"]["zoomIn"] == "放大" and mini["labels"]["zoomOut"] == "缩小"
    assert "街道地图" in mini["labels"]["noTiles"]
