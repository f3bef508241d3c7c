"""The pure matching rules: phones, e-mails, name keys, blocking keys and the pair score."""

from quality.matching import (
    CustomerRecord,
    address_fingerprint,
    blocking_keys,
    email_key,
    name_core,
    name_key,
    parse_phone,
    phone_key,
    score_pair,
)


def test_phones_written_differently_are_one_number():
    assert phone_key("+86 755 8888 1234") == phone_key("0755-88881234") == "+8675588881234"
    assert phone_key("138 0013 8000") == phone_key("+86-138-0013-8000") == "+8613800138000"


def test_phone_kind_and_rejects():
    assert parse_phone("13800138000").kind == "mobile"
    assert parse_phone("0755-88881234").kind == "landline"
    assert parse_phone("call me maybe") is None
    assert phone_key("") == ""


def test_email_key_lowercases_and_rejects_bad_syntax():
    assert email_key(" Info@Acme.COM ") == "info@acme.com"
    assert email_key("not an email") == ""


def test_name_key_strips_company_suffixes_width_and_traditional():
    assert name_key("华南贸易股份有限公司") == name_key("华南贸易有限公司") == "华南贸易"
    assert name_key("上海東方電子有限公司") == name_key("上海东方电子有限公司")
    assert name_key("Acme Trading Co., Ltd.") == name_key("ＡＣＭＥ TRADING") == "acmetrading"
    assert name_core("深圳市华南贸易有限公司") == "华南贸易"


def test_address_fingerprint_ignores_spacing_and_punctuation():
    assert address_fingerprint(5, "科技园 科苑路15号") == address_fingerprint(5, "科技园科苑路１５号")
    assert address_fingerprint(5, "") == ""


def test_typo_in_a_long_name_still_shares_a_block():
    a = CustomerRecord(id=1, name="北京恒信科技发展有限公司", city_ids=(7,))
    b = CustomerRecord(id=2, name="北京恒信科枝发展有限公司", city_ids=(7,))
    assert blocking_keys(a) & blocking_keys(b)


def test_score_same_phone_and_name_is_high_with_reasons():
    a = CustomerRecord(id=1, name="华南贸易有限公司", phone="+8675588881234", city_ids=(3,))
    b = CustomerRecord(id=2, name="深圳华南贸易股份有限公司", phone="+8675588881234", city_ids=(3,))
    match = score_pair(a, b)
    assert match.score >= 0.95
    assert "phone" in match.reasons and "same city" in match.reasons


def test_score_similar_name_elsewhere_is_low():
    a = CustomerRecord(id=1, name="杭州绿源茶业有限公司", city_ids=(3,), addresses=("9:龙井路1号",))
    b = CustomerRecord(id=2, name="杭州绿洲茶业有限公司", city_ids=(3,), addresses=("9:龙井路200号",))
    assert score_pair(a, b).score < 0.8


def test_phone_key_fast_path_agrees_with_phonenumbers():
    import phonenumbers

    for text in ["13800138000", "+86 138 0013 8000", "86-13800138000", "0086 138 0013 8000", "（+86）13800138000",
                 "+1 650 253 0000", "+86 10 6552 9988", "1380013800", "138001380001"]:  # fmt: skip
        try:
            number = phonenumbers.parse(text, "CN")
            expected = (
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_possible_number(number)
                else ""
            )
        except phonenumbers.NumberParseException:
            expected = ""
        assert phone_key(text) == expected, text
