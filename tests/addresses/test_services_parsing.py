"""Pasting each kind of address through the write path gives the right regions and a point."""

import pytest

from addresses.services import address_create, address_update
from geo.choices import GeocodePrecision

pytestmark = pytest.mark.django_db

CASES = [
    # text, (province, city, district) codes expected ("" = empty), precision
    ("广东省深圳市南山区科技南十二路2号", ("440000", "440300", "440305"), "district"),
    ("广东深圳南山区科技园", ("440000", "440300", "440305"), "district"),
    ("内蒙古呼和浩特新城区", ("150000", "150100", "150102"), "district"),
    ("海淀区中关村大街27号", ("110000", "110100", "110108"), "district"),
    ("吉林省长春市朝阳区人民大街", ("220000", "220100", "220104"), "district"),
    ("福州鼓楼区五四路", ("350000", "350100", "350102"), "district"),
    ("上海浦东新区世纪大道100号", ("310000", "310100", "310115"), "district"),
    ("广东省东莞市长安镇", ("440000", "441900", ""), "township"),
    ("湖北省仙桃市干河街道", ("420000", "", "429004"), "township"),
    ("湖北神农架林区松柏镇", ("420000", "", "429021"), "township"),
    ("恩施州利川市", ("420000", "422800", "422802"), "district"),
    ("香港九龙油尖旺区弥敦道", ("810000", "", "810005"), "district"),
    ("襄樊市樊城区人民路", ("420000", "420600", "420606"), "district"),
    ("杭州市下城区武林路", ("330000", "330100", "330105"), "district"),
    ("收货人：张三 13812345678\n北京市海淀区南京路1号", ("110000", "110100", "110108"), "district"),
    ("廣東省廣州市天河區體育西路", ("440000", "440100", "440106"), "district"),
    ("上海市绍兴路7号", ("310000", "310100", ""), "city"),
    ("澳门氹仔孙逸仙大马路", ("820000", "", "820006"), "district"),
    ("台湾省台北市信义区市府路1号", ("710000", "TW-TPE", ""), "city"),
    ("内蒙古锡林郭勒盟正蓝旗上都镇", ("150000", "152500", "152530"), "township"),
    ("河南省济源市天坛路", ("410000", "", "419001"), "district"),
    ("广东省中山市石岐街道", ("440000", "442000", ""), "township"),
    ("【收货地址】（广东省）广州市天河区ＡＢＣ大厦１２３号", ("440000", "440100", "440106"), "district"),
    ("北京市北京市海淀区海淀大街1号", ("110000", "110100", "110108"), "district"),
]


@pytest.mark.parametrize(("text", "expected", "precision"), CASES)
def test_pasted_address_is_structured_and_located(make_customer, text, expected, precision):
    address = address_create(customer=make_customer(), raw_text=text)
    got = tuple(r.code if r else "" for r in (address.province, address.city, address.district))
    assert got == expected
    assert address.country.code == "CN"
    assert address.precision == precision
    assert address.lat is not None and address.lng is not None
    assert address.raw_text == text.strip()


def test_detail_and_postcode_are_split_from_the_text(make_customer):
    address = address_create(customer=make_customer(), raw_text="北京市朝阳区建国路88号 邮编100022")
    assert address.detail.startswith("建国路88号")
    assert "朝阳区" not in address.detail


def test_bare_duplicate_district_is_left_empty_not_guessed(make_customer):
    address = address_create(customer=make_customer(), raw_text="朝阳区建国门外大街1号")
    assert address.district is None


def test_foreign_address_gets_country_and_subdivision(make_customer):
    address = address_create(
        customer=make_customer(), raw_text="1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA"
    )
    assert address.country.code == "US"
    assert address.province.code == "US-CA"
    assert address.postcode == "94043"
    assert "Amphitheatre" in address.detail


def test_structured_codes_win_over_the_text(make_customer):
    address = address_create(customer=make_customer(), raw_text="随便写的", district_code="440305")
    assert address.district.code == "440305"


def test_re_pasting_a_new_text_moves_the_address(make_customer):
    address = address_create(customer=make_customer(), raw_text="北京市朝阳区建国路88号")
    address = address_update(address=address, expected_version=1, raw_text="广东省深圳市南山区科技园")
    assert address.district.code == "440305"
    assert address.precision == GeocodePrecision.DISTRICT


def test_precise_point_survives_an_edit_that_does_not_move_the_address(make_customer):
    address = address_create(
        customer=make_customer(), raw_text="北京市朝阳区建国路88号", lat=39.9087, lng=116.4605
    )
    assert address.precision == GeocodePrecision.ROOFTOP
    address = address_update(
        address=address, expected_version=1, raw_text="北京市朝阳区建国路88号", postcode="100022"
    )
    assert address.precision == GeocodePrecision.ROOFTOP
