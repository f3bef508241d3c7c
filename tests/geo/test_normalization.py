import random

from geo.normalization import (
    _PHONE_RUN_RE,
    _normalize_plain_with_phone,
    _scanners,
    collapse_repeats,
    normalize_address_text,
    normalize_address_texts,
    strip_phones,
    to_halfwidth,
    to_simplified,
)


def test_fullwidth_digits_letters_and_space_become_ascii():
    assert to_halfwidth("科技园１２号Ａ座　３楼") == "科技园12号A座 3楼"


def test_traditional_characters_become_simplified():
    assert to_simplified("臺灣省臺北市信義區") == "台湾省台北市信义区"


def test_japanese_text_is_not_simplified():
    assert to_simplified("東京都千代田区丸の内") == "東京都千代田区丸の内"


def test_mobile_number_and_name_next_to_it_are_removed():
    assert (
        normalize_address_text("张三 13812345678 广东省广州市天河区天河路385号")
        == "广东省广州市天河区天河路385号"
    )


def test_name_after_the_address_and_split_mobile_are_removed():
    assert normalize_address_text("北京市朝阳区建国路88号 王小明 138-1234-5678") == "北京市朝阳区建国路88号"


def test_labels_and_landline_are_removed():
    text = "收货人：李四，电话：021-12345678，上海市徐汇区漕溪北路"
    assert normalize_address_text(text) == "上海市徐汇区漕溪北路"


def test_recipient_name_that_is_a_place_is_removed_with_its_label():
    assert normalize_address_text("收件人吴江 13900001111 浙江省宁波市海曙区") == "浙江省宁波市海曙区"


def test_place_next_to_phone_is_not_taken_for_a_name():
    assert "海淀区" in strip_phones("北京市海淀区 13800000000")


def test_repeated_prefix_is_collapsed():
    assert collapse_repeats("广东省广东省深圳市深圳市南山区") == "广东省深圳市南山区"


def test_line_breaks_tags_and_whitespace_are_collapsed():
    assert normalize_address_text("【顺丰】北京市\n朝阳区   建国路88号 (  )") == "北京市 朝阳区 建国路88号"


def test_house_numbers_and_postcodes_are_kept():
    assert (
        normalize_address_text("广东省深圳市南山区科技南十二路2号 518057")
        == "广东省深圳市南山区科技南十二路2号 518057"
    )


def test_latin_address_is_unchanged():
    text = "1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA"
    assert normalize_address_text(text) == text


def test_empty_text():
    assert normalize_address_text("") == ""
    assert normalize_address_text("   \n ") == ""


def test_batch_normalisation_equals_one_by_one():
    from geo.normalization import normalize_address_texts

    texts = [
        "广东省深圳市南山区科技园",
        "张三 13812345678 廣東省深圳市南山區",
        " 北京市朝阳区 ",
        "收货人：李四，电话：021-12345678，上海市徐汇区漕溪北路",
        "1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA",
        "",
    ]
    assert normalize_address_texts(texts) == [normalize_address_text(t) for t in texts]


def test_traditional_character_outside_the_bmp_still_triggers_simplification():
    assert to_simplified("臺北市") == "台北市"


def test_very_long_paste_keeps_its_tail_with_linear_clean_up_only():
    text = "广东省深圳市南山区" + "路" * 500 + "　ＡＢ  13812345678"
    clean = normalize_address_text(text)
    assert clean.startswith("广东省深圳市南山区")
    assert clean.endswith("AB 13812345678")  # width and spaces fixed; no phone stripping past 400 chars


def test_plain_texts_with_phone_numbers_take_one_substitution_with_the_same_result():
    """The one-substitution route for plain texts gives `normalize_address_text`'s result."""
    rng = random.Random(9)
    names = ["王小明", "李娜", "张三市", "张·三", "欧阳娜娜", "广东", "收货人", "北京市朝阳区"]
    phones = [
        "13912345678",
        "139 1234 5678",
        "+86 13912345678",
        "86-139-1234-5678",
        "010-12345678",
        "(010)12345678",
        "4001234567",
        "0755-1234567",
        "12345678",
        "1391234567",
    ]
    seps = [" ", "  ", ",", "，", "/", "", ":", "|"]
    places = ["广东省深圳市南山区科技园", "北京市朝阳区建国路88号", "人民路1号", "深圳南山", "A座1201"]
    texts = []
    for _ in range(10_000):
        pieces = [rng.choice(rng.choice((names, phones, places))) for _ in range(rng.randint(1, 5))]
        texts.append("".join(p + rng.choice(seps) for p in pieces))
    texts += ["王小明 13912345678 广东省深圳市南山区", "广东省深圳市南山区 李娜，13912345678"]
    expected = [normalize_address_text(t) for t in texts]
    assert normalize_address_texts(texts) == expected
    for text, want in zip(texts, expected):
        if _PHONE_RUN_RE.search(text) and not _scanners()[3].search(text):
            assert _normalize_plain_with_phone(text) == want, text
