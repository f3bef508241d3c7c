import pytest

from geo.parsing import ParsedAddress, RegionIndex, parse_address, parse_addresses
from geo.regiondata import RegionRecord
from geo.selectors import region_index_from_files


@pytest.fixture(scope="module")
def index():
    return region_index_from_files()


def names(parsed: ParsedAddress):
    return tuple(r.name if r else None for r in (parsed.province, parsed.city, parsed.district))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("广东省深圳市南山区科技南十二路2号", ("广东省", "深圳市", "南山区")),
        ("广东深圳南山区科技园", ("广东省", "深圳市", "南山区")),
        ("深圳南山粤海街道", ("广东省", "深圳市", "南山区")),
        ("内蒙古呼和浩特新城区", ("内蒙古自治区", "呼和浩特市", "新城区")),
        ("海淀区中关村大街27号", ("北京市", "北京市", "海淀区")),
        ("宝安区西乡街道", ("广东省", "深圳市", "宝安区")),
        ("杭州市西湖区文三路90号", ("浙江省", "杭州市", "西湖区")),
    ],
)
def test_full_and_short_forms_and_inferred_upper_levels(index, text, expected):
    assert names(parse_address(text, index)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("北京市朝阳区建国路88号", ("北京市", "北京市", "朝阳区")),
        ("吉林省长春市朝阳区人民大街", ("吉林省", "长春市", "朝阳区")),
        ("长春朝阳区红旗街", ("吉林省", "长春市", "朝阳区")),
        ("南京市鼓楼区中山北路", ("江苏省", "南京市", "鼓楼区")),
        ("福州鼓楼区五四路", ("福建省", "福州市", "鼓楼区")),
        ("江苏省徐州市鼓楼区", ("江苏省", "徐州市", "鼓楼区")),
        ("开封鼓楼区", ("河南省", "开封市", "鼓楼区")),
        ("南昌市西湖区", ("江西省", "南昌市", "西湖区")),
    ],
)
def test_duplicate_district_names_resolved_by_context(index, text, expected):
    assert names(parse_address(text, index)) == expected


def test_bare_duplicate_district_is_reported_and_left_empty(index):
    parsed = parse_address("朝阳区建国门外大街1号", index)
    assert parsed.district is None and parsed.city is None and parsed.province is None
    level, candidates = parsed.ambiguities[0]
    assert level == "district"
    assert {code for code, _ in candidates} == {"110105", "220104"}
    assert parsed.confidence < 0.5


def test_bare_gulou_lists_every_candidate(index):
    parsed = parse_address("鼓楼区", index)
    assert parsed.district is None
    assert len(parsed.ambiguities[0][1]) >= 4


@pytest.mark.parametrize(
    "text, expected",
    [
        ("上海浦东新区世纪大道100号", ("上海市", "上海市", "浦东新区")),
        ("重庆市石柱土家族自治县南宾街道", ("重庆市", "重庆市", "石柱土家族自治县")),
        ("北京市", ("北京市", "北京市", None)),
        ("广东省东莞市长安镇", ("广东省", "东莞市", None)),
        ("中山市石岐区", ("广东省", "中山市", None)),
        ("湖北省仙桃市干河街道", ("湖北省", None, "仙桃市")),
        ("神农架林区松柏镇", ("湖北省", None, "神农架林区")),
        ("河南济源市", ("河南省", None, "济源市")),
        ("恩施州利川市", ("湖北省", "恩施土家族苗族自治州", "利川市")),
        ("延边朝鲜族自治州延吉市", ("吉林省", "延边朝鲜族自治州", "延吉市")),
        ("内蒙古阿拉善盟阿拉善左旗巴彦浩特镇", ("内蒙古自治区", "阿拉善盟", "阿拉善左旗")),
        ("锡林郭勒盟正蓝旗", ("内蒙古自治区", "锡林郭勒盟", "正蓝旗")),
        ("江苏昆山市花桥镇", ("江苏省", "苏州市", "昆山市")),
        ("吉林市船营区", ("吉林省", "吉林市", "船营区")),
    ],
)
def test_irregular_levels(index, text, expected):
    assert names(parse_address(text, index)) == expected


@pytest.mark.parametrize(
    "text, code",
    [("香港九龙油尖旺区弥敦道", "810000"), ("澳门氹仔", "820000"), ("台湾省台北市信义区", "710000")],
)
def test_hong_kong_macau_taiwan_are_chinese_provinces(index, text, code):
    parsed = parse_address(text, index)
    assert parsed.province.code == code
    assert parsed.country.code == "CN"


@pytest.mark.parametrize(
    "text, expected, historic",
    [
        ("湖北省襄樊市樊城区", ("湖北省", "襄阳市", "樊城区"), "襄樊市"),
        ("杭州市下城区武林广场", ("浙江省", "杭州市", "拱墅区"), "下城区"),
        ("北京市崇文区", ("北京市", "北京市", "东城区"), "崇文区"),
        ("上海市闸北区", ("上海市", "上海市", "静安区"), "闸北区"),
        ("浙江省台州市玉环县", ("浙江省", "台州市", "玉环市"), "玉环县"),
        ("山东省莱芜市莱城区", ("山东省", "济南市", "莱芜区"), "莱芜市"),
    ],
)
def test_historic_names_resolve_to_today_and_keep_the_original(index, text, expected, historic):
    parsed = parse_address(text, index)
    assert names(parsed) == expected
    assert historic in parsed.historic


@pytest.mark.parametrize(
    "text, expected",
    [
        ("张三 13812345678 广东省广州市天河区天河路385号", ("广东省", "广州市", "天河区")),
        ("收货人：李四，电话：021-12345678，上海市徐汇区漕溪北路", ("上海市", "上海市", "徐汇区")),
        ("收件人吴江 13900001111 浙江省宁波市海曙区", ("浙江省", "宁波市", "海曙区")),
        ("廣東省廣東省深圳市南山區科技園１２號", ("广东省", "深圳市", "南山区")),
        ("【顺丰】北京市\n海淀区 中关村大街27号 （收）", ("北京市", "北京市", "海淀区")),
    ],
)
def test_noise_is_ignored(index, text, expected):
    assert names(parse_address(text, index)) == expected


@pytest.mark.parametrize(
    "text, expected, detail",
    [
        ("北京市海淀区南京路", ("北京市", "北京市", "海淀区"), "南京路"),
        ("上海市绍兴路7号", ("上海市", "上海市", None), "绍兴路7号"),
        ("青岛市市南区香港中路", ("山东省", "青岛市", "市南区"), "香港中路"),
        ("广州市越秀区北京路", ("广东省", "广州市", "越秀区"), "北京路"),
        ("大连市中山区人民路", ("辽宁省", "大连市", "中山区"), "人民路"),
    ],
)
def test_street_names_containing_place_names_stay_in_the_detail(index, text, expected, detail):
    parsed = parse_address(text, index)
    assert names(parsed) == expected
    assert parsed.detail == detail


@pytest.mark.parametrize(
    "text, expected, detail",
    [
        ("义乌城北路88号", ("浙江省", "金华市", "义乌市"), "城北路88号"),
        ("浙江义乌城西大街", ("浙江省", "金华市", "义乌市"), "城西大街"),
        ("广州城北路", ("广东省", "广州市", None), "城北路"),
        ("合肥市长丰县蒙城北路", ("安徽省", "合肥市", "长丰县"), "蒙城北路"),  # 蒙城县's name: a street
    ],
)
def test_a_place_name_before_a_town_quarter_street_is_the_place(index, text, expected, detail):
    """城北路, 城西街道 are a town's own streets and quarters, not a street named after the place."""
    for parsed in (parse_address(text, index), parse_addresses([text], index)[0]):
        assert names(parsed) == expected
        assert parsed.detail == detail


def test_detail_and_postcode(index):
    parsed = parse_address("广东省深圳市南山区科技南十二路2号 518057", index)
    assert parsed.detail == "科技南十二路2号"
    assert parsed.postcode == "518057"
    assert parsed.confidence >= 0.9
    assert (parsed.district.lat, parsed.district.lng) != (None, None)


def test_house_number_is_not_a_postcode(index):
    assert parse_address("北京市海淀区中关村大街100081号", index).postcode == ""


@pytest.mark.parametrize(
    "text, country, province, postcode, locality, detail",
    [
        (
            "1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA",
            "US",
            "US-CA",
            "94043",
            "Mountain View",
            "1600 Amphitheatre Pkwy",
        ),
        (
            "10 Downing Street, London SW1A 2AA, United Kingdom",
            "GB",
            "GB-ENG",
            "SW1A 2AA",
            "London",
            "10 Downing Street",
        ),
        (
            "Unter den Linden 77, 10117 Berlin, Deutschland",
            "DE",
            "DE-BE",
            "10117",
            "Berlin",
            "Unter den Linden 77",
        ),
        (
            "1-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005, Japan",
            "JP",
            "JP-13",
            "100-0005",
            "Chiyoda-ku",
            "1-1 Marunouchi",
        ),
        ("1 Raffles Place, Singapore 048616", "SG", None, "048616", "", "1 Raffles Place"),
        ("350 Fifth Avenue, New York, NY 10118", "US", "US-NY", "10118", "New York", "350 Fifth Avenue"),
    ],
)
def test_non_chinese_addresses(index, text, country, province, postcode, locality, detail):
    """Country, first-level subdivision, postcode by the country's format, the locality as written."""
    parsed = parse_address(text, index)
    assert parsed.country.code == country
    assert (parsed.province.code if parsed.province else None) == province
    assert parsed.postcode == postcode
    assert parsed.locality == locality
    assert parsed.detail == detail


def test_japanese_script_address(index):
    parsed = parse_address("東京都千代田区丸の内1-1", index)
    assert (parsed.country.code, parsed.province.code) == ("JP", "JP-13")
    assert parsed.detail == "千代田区丸の内1-1"


def test_nothing_found(index):
    parsed = parse_address("请放在门口", index)
    assert parsed.province is None and parsed.country is None
    assert parsed.confidence == 0.0
    assert parse_address("", index) == ParsedAddress()


def test_batch_matches_single_calls(index):
    texts = ["广东深圳南山区科技园", "朝阳区建国门外大街1号", "广东深圳南山区科技园", "", "Berlin, Germany"]
    assert parse_addresses(texts, index) == [parse_address(t, index) for t in texts]


def test_index_from_a_small_hand_fixture():
    records = [
        RegionRecord("CN", "", "country", "中国"),
        RegionRecord("440000", "CN", "province", "广东省", "广东"),
        RegionRecord("440300", "440000", "city", "深圳市", "深圳"),
        RegionRecord("440305", "440300", "district", "南山区", "南山"),
        RegionRecord("440399", "440300", "district", "旧南区", "", is_active=False, successor_code="440305"),
    ]
    index = RegionIndex.from_records(records)
    parsed = parse_address("深圳旧南区某路1号", index)
    assert parsed.district.code == "440305"
    assert parsed.historic == "旧南区"
    assert parsed.detail == "某路1号"


def test_batch_gives_the_same_results_as_single_calls(index):
    texts = [
        "广东省深圳市南山区科技南十二路2号 518057",
        "深圳南山粤海街道",
        "朝阳区建国门外大街1号",
        "北京市海淀区南京路",
        "张三 13812345678 湖北省襄樊市",
        "1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA",
        "",
        "广东省深圳市南山区科技南十二路2号 518057",
    ]
    index.clear_caches()
    batch = parse_addresses(texts, index)
    index.clear_caches()
    assert batch == [parse_address(t, index) for t in texts]
    assert batch[0].postcode == "518057" and batch[0].detail == "科技南十二路2号"


def test_names_are_only_searched_at_the_start_of_a_very_long_text(index):
    parsed = parse_address("杭州市西湖区文三路90号" + "备注" * 300 + "广州市天河区", index)
    assert names(parsed) == ("浙江省", "杭州市", "西湖区")
    assert parsed.detail.endswith("广州市天河区")
    assert parse_address("备注" * 300 + "广州市天河区", index).district is None


def test_repeated_single_calls_are_answered_from_the_cache(index):
    index.clear_caches()
    first = parse_address("浙江省杭州市西湖区文三路90号", index)
    assert parse_address("浙江省杭州市西湖区文三路90号", index) is first


def test_batch_results_are_frozen_parsed_addresses(index):
    """Batch results are filled in through a writable twin class: they must end up indistinguishable."""
    import dataclasses
    import pickle

    texts = [
        "广东省深圳市南山区科技南十二路2号",
        "深圳南山粤海街道",
        "广东省深圳市南山区科技南十二路2号 518057",
    ]
    for parsed in parse_addresses(texts, index):
        assert type(parsed) is ParsedAddress
        with pytest.raises(dataclasses.FrozenInstanceError):
            parsed.detail = "x"
        rebuilt = ParsedAddress(
            **{f.name: getattr(parsed, f.name) for f in dataclasses.fields(ParsedAddress)}
        )
        assert parsed == rebuilt and hash(parsed) == hash(rebuilt)
        assert pickle.loads(pickle.dumps(parsed)) == parsed
        assert dataclasses.replace(parsed, detail="x").detail == "x"


def test_repeated_texts_in_a_batch_are_each_parsed(index):
    texts = ["杭州市西湖区文三路90号"] * 3 + ["", "杭州市西湖区文三路90号"]
    parsed = parse_addresses(texts, index)
    assert [p.detail for p in parsed] == ["文三路90号"] * 3 + ["", "文三路90号"]
    assert parsed[0] is not parsed[1]
