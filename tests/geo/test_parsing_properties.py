from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.parsing import parse_address
from geo.selectors import region_index_from_files

INDEX = region_index_from_files()

# Division names and address noise mixed with arbitrary text, so the parser's
# interesting paths (matches, phones, repeats, Latin segments) are exercised.
_PIECES = [
    "北京市",
    "朝阳区",
    "广东",
    "深圳",
    "南山区",
    "鼓楼区",
    "襄樊市",
    "下城区",
    "香港",
    "路",
    "号",
    "省",
    "市",
    "13812345678",
    "收货人:",
    "(",
    "）",
    ", ",
    "USA",
    "CA 94043",
    "Berlin",
    "東京都",
    "518057",
    "\n",
    "　",
]
texts = st.one_of(
    st.text(max_size=10_000),
    st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=5)), max_size=400).map("".join),
)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(texts)
def test_any_text_parses_without_error_and_deterministically(text):
    first = parse_address(text, INDEX)
    assert parse_address(text, INDEX) == first
    assert 0.0 <= first.confidence <= 1.0


@SETTINGS
@given(texts)
def test_detail_never_contains_a_removed_division_name(text):
    parsed = parse_address(text, INDEX)
    if parsed.country is not None and parsed.country.code == "CN":
        for region in (parsed.province, parsed.city, parsed.district):
            if region is not None:
                assert region.name not in parsed.detail
    for old in parsed.historic.split():
        assert old not in parsed.detail or len(old) < 3


@SETTINGS
@given(
    st.lists(
        st.sampled_from(["北京市", "朝阳区", "广东省", "深圳市", "南山区", "路1号"]), min_size=1, max_size=8
    )
)
def test_levels_found_are_consistent_with_each_other(parts):
    parsed = parse_address("".join(parts), INDEX)
    if parsed.district is not None and parsed.city is not None:
        assert parsed.district.code[:4] == parsed.city.code[:4]
    if parsed.city is not None and parsed.province is not None:
        assert parsed.city.code[:2] == parsed.province.code[:2]
