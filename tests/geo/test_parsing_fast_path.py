"""The fast path (names read from the start with dict lookups) gives exactly the general path's results."""

import random
from dataclasses import replace

import pytest

from geo.normalization import normalize_address_texts
from geo.parsing import _HAN_RE, RegionIndex, parse_address, parse_addresses
from geo.selectors import region_index_from_files


@pytest.fixture(scope="module")
def index():
    return region_index_from_files()


def _general_calls(monkeypatch):
    """Count the texts handed to the general path."""
    seen: list[str] = []
    general = RegionIndex._parse_han_general

    def counting(self, texts):
        seen.extend(texts)
        return general(self, texts)

    monkeypatch.setattr(RegionIndex, "_parse_han_general", counting)
    return seen


def _sample(index, count=3000, seed=5):
    """Division names glued to streets, numbers, other names and noise: where the paths could differ."""
    rng = random.Random(seed)
    names = index._key_text
    tails = [
        "路",
        "东路",
        "镇",
        "站",
        "1号",
        "大厦",
        "村",
        "门",
        "",
        "中学",
        "城东街",
        "新村",
        " ",
        "，",
        "-",
    ]
    return [
        "".join(rng.choice(names) + rng.choice(tails) for _ in range(rng.randint(1, 5))) + "88号"
        for _ in range(count)
    ]


def test_fast_path_gives_the_general_paths_results(index):
    texts = [
        "广东省深圳市南山区科技南十二路2号",
        "深圳南山粤海街道",
        "北京市海淀区南京路",
        "上海市绍兴路7号",
        "广州市越秀区北京路",
        "青岛市市南区香港中路",
        "湖北省襄樊市樊城区",
        "朝阳区建国门外大街1号",
        "北京北京市朝阳区",
        "杭州市西湖区文三路90号杭州市",
        *_sample(index),
    ]
    clean = [t for t in normalize_address_texts(texts) if t and _HAN_RE.search(t)]
    index.clear_caches()
    fast = index._parse_clean_many(clean)
    index.clear_caches()
    assert fast == index._parse_han_general(clean)


def test_plain_addresses_take_the_fast_path(index, monkeypatch):
    seen = _general_calls(monkeypatch)
    texts = [
        "广东省深圳市南山区科技南十二路2号",
        "深圳南山粤海街道",
        "内蒙古呼和浩特新城区",
        "海淀区中关村大街27号",
    ]
    index.clear_caches()
    parse_addresses(texts, index)
    assert seen == []


@pytest.mark.parametrize(
    "text",
    [
        "广东省深圳市南山区科技南十二路2号 518057",  # postcode
        "北京市海淀区中关村大街 北京市朝阳区",  # another division later in the text
        "请寄到广东省深圳市南山区",  # names not at the start
        "广东省深圳市" + "南山区" * 200,  # longer than the scanned head
    ],
)
def test_texts_the_fast_path_cannot_settle_go_to_the_general_path(index, monkeypatch, text):
    seen = _general_calls(monkeypatch)
    index.clear_caches()
    parsed = parse_address(text, index)
    assert len(seen) == 1
    assert parsed.province is not None


def test_noise_is_normalised_before_the_fast_path(index):
    noisy = "收货人：张三 13812345678 廣東省深圳市南山區科技園"
    parsed = parse_address(noisy, index)
    # The same reading; the detail line as written (traditional characters kept).
    assert parsed == replace(parse_address("广东省深圳市南山区科技园", index), detail="科技園")


def test_resolution_cache_is_keyed_by_matched_names_and_cleared(index):
    index.clear_caches()
    # Short district names last are not in the chain table: they are resolved and cached.
    parse_addresses(["深圳南山科技园", "深圳南山大冲村"], index)
    assert len(index._cache) == 1
    index.clear_caches()
    assert not index._cache


def _chains(index):
    """The chain keys of `_chain_automaton`: (text, value)."""
    return [(key[1:], value) for key, value in index._chain_automaton.items() if value is not None]


def test_chain_table_holds_the_resolvers_results(index):
    chains = _chains(index)
    assert len(chains) > 20_000
    assert all(size == len(text) for text, (_, _, size, *_) in chains)
    texts = [text for text, _ in chains]
    index.clear_caches()
    fast = index._parse_clean_many(texts)
    index.clear_caches()
    assert fast == index._parse_han_general(texts)
    assert "北京市北京市海淀区" in texts  # a municipality written twice


def test_chains_followed_by_anything_give_the_general_paths_results(index):
    """Chains glued to streets, suffixes, longer names and other names: where a chain could misread."""
    rng = random.Random(3)
    chains = [text for text, _ in _chains(index)]
    names = index._key_text
    tails = [
        "路",
        "东路",
        "大街",
        "街道",
        "城东街",
        "区",
        "市",
        "县",
        "镇",
        "村",
        "门",
        "号",
        "12号",
        "一号",
        "大酒店",
        "中学",
        "新村",
        "花园",
        " ",
        "，",
        "-",
        "",
        "科技园",
        "人民路8号",
    ]
    texts = []
    for _ in range(4000):
        text = rng.choice(chains)
        for _ in range(rng.randint(1, 3)):
            text += rng.choice(tails) if rng.random() < 0.7 else rng.choice(names)
        texts.append(text)
    clean = [t for t in normalize_address_texts(texts) if t and _HAN_RE.search(t)]
    index.clear_caches()
    fast = index._parse_clean_many(clean)
    index.clear_caches()
    assert fast == index._parse_han_general(clean)


def _leading_calls(monkeypatch):
    """The texts the chain pass hands on to the slower paths."""
    seen: list[str] = []
    leading = RegionIndex._parse_leading_many

    def counting(self, texts):
        seen.extend(texts)
        return leading(self, texts)

    monkeypatch.setattr(RegionIndex, "_parse_leading_many", counting)
    return seen


def test_a_chain_ending_in_the_start_of_a_longer_name_is_kept_and_checks_what_follows(index, monkeypatch):
    """鹤岗市向阳区 is a chain although a township's name starts with 向阳区 (向阳区直辖村级区划):
    a text going on with that name's tail takes the slower paths, the others the chain."""
    chains = dict(_chains(index))
    assert "直辖村级区划" in chains["黑龙江省鹤岗市向阳区"].longer_tails
    texts = ["黑龙江省鹤岗市向阳区文化路1号", "黑龙江省鹤岗市向阳区直辖村级区划8号"]
    seen = _leading_calls(monkeypatch)
    index.clear_caches()
    fast = index._parse_clean_many(texts)
    assert seen == texts[1:]
    index.clear_caches()
    assert fast == index._parse_han_general(texts)
    # Every chain with tails, followed by each of its tails: as the general path reads it.
    followed = [text + tail for text, value in _chains(index) for tail in value.longer_tails[:2]][:3000]
    index.clear_caches()
    fast = index._parse_clean_many(followed)
    index.clear_caches()
    assert fast == index._parse_han_general(followed)
