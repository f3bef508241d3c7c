"""Import kind words and the messages about them (issue #34, first paragraph)."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from addresses.models import Address

pytestmark = pytest.mark.django_db


def run(path, language="zh-hans"):
    with translation.override(language):
        call_command(
            "import_customers",
            str(path),
            "--progress",
            "none",
            "--report",
            f"{path}.r.csv",
            stdout=io.StringIO(),
        )
    if not Path(f"{path}.r.csv").exists():  # written only when a row was rejected
        return []
    text = Path(f"{path}.r.csv").read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))[1:]


@pytest.mark.parametrize(
    ("word", "kind"), [("收货", "delivery"), ("账单", "billing"), ("开票", "billing"), ("其它", "other")]
)
def test_short_kind_words_are_accepted_alike(tmp_path, word, kind):
    f = tmp_path / "k.csv"
    f.write_text(
        f"外部编号,客户名称,地址,地址类型\nK1,客户,北京市朝阳区建国路88号,{word}\n", encoding="utf-8"
    )
    assert run(f) == []
    assert Address.objects.get().kind == kind


def test_an_unknown_kind_lists_the_accepted_words_in_the_users_language(tmp_path):
    f = tmp_path / "k.csv"
    f.write_text("外部编号,客户名称,地址,地址类型,类型\nK1,客户,北京市,仓储,外星人\n", encoding="utf-8")
    (row,) = run(f)
    reasons = row[2]
    assert "“仓储”" in reasons and "收货地址 (delivery)" in reasons and "账单地址 (billing)" in reasons
    assert "“外星人”" in reasons and "企业 (enterprise)" in reasons and "个人 (individual)" in reasons
    (row,) = run(f, "en")
    assert "Delivery (delivery)" in row[2] and "Enterprise (enterprise)" in row[2]


def test_messages_name_the_users_column_not_dizhis_field(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text(
        "外部编号,客户名称,Province,District,纬度,经度\n"
        "C1,客户,广东省,火星区,,\n"
        "C2,客户二,广东省,南山区,22.5,\n",
        encoding="utf-8",
    )
    rows = run(f, "en")
    reasons = " / ".join(r[2] for r in rows)
    assert "“火星区” (column “District”) is not a place in 广东省." in reasons
    assert "Give both “纬度” and “经度”, or neither." in reasons
    assert "district" not in reasons.replace("District", "")
