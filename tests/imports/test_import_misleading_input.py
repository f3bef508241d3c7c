"""Import defects of issue #30: a point far outside its region (item 5), and files described as
something they are not (item 6): a very wide header, UTF-16, binary data, a NUL in a cell."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from addresses.models import Address
from customers.models import Customer

pytestmark = pytest.mark.django_db

HEADER = "外部编号,客户名称,地址\n"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def run(path):
    out = io.StringIO()
    call_command("import_customers", str(path), "--progress", "none", "--report", f"{path}.r.csv", stdout=out)
    return out.getvalue()


def report(path):
    return list(csv.reader(io.StringIO(Path(f"{path}.r.csv").read_text(encoding="utf-8-sig"))))[1:]


def refused(path) -> str:
    with pytest.raises(CommandError) as exc:
        run(path)
    assert not Customer.objects.exists()
    return str(exc.value)


def test_a_point_far_outside_its_district_is_rejected_with_the_reason(tmp_path):
    f = tmp_path / "sz.csv"
    f.write_text(
        "外部编号,客户名称,地址,纬度,经度\n"
        "S1,南山远点,广东省深圳市南山区科技园,-22.5,-113.9\n"
        "S2,南山近点,广东省深圳市南山区科技园,22.54,113.95\n",
        encoding="utf-8",
    )
    out = run(f)
    assert "created 1" in out and "rejected 1" in out
    (row,) = report(f)
    assert row[0] == "2" and "km from 南山区" in row[2] and "check the coordinates" in row[2]
    (kept,) = Address.objects.all()
    assert kept.district.name == "南山区" and float(kept.lat) == pytest.approx(22.54)


def test_a_point_inside_a_large_region_is_kept(tmp_path):
    # 若羌县 (Xinjiang) is 200,000 km²: a point near its edge is still far from the centre.
    f = tmp_path / "xj.csv"
    f.write_text(
        "外部编号,客户名称,地址,纬度,经度\nX1,若羌,新疆巴音郭楞蒙古自治州若羌县,39.0,88.2\n", encoding="utf-8"
    )
    assert "created 1" in run(f)


def test_a_header_wider_than_the_limit_is_described_by_its_real_width(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text(HEADER.strip() + "," + ",".join(f"c{i}" for i in range(100_005)) + "\nA1,n,北京市东城区\n")
    assert "The header row has 100,008 columns; at most 1,000" in refused(f)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_file_is_named_utf16_not_a_gbk_problem(tmp_path, encoding):
    f = tmp_path / "u16.csv"
    f.write_bytes((HEADER + "A1,客户,北京市东城区\n").encode(encoding))
    message = refused(f)
    assert "UTF-16" in message and "GBK" not in message


@pytest.mark.parametrize(
    "content",
    [bytes(range(256)) * 40, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, b"\x7fELF" + bytes(4000)],
)
def test_binary_file_is_named_binary_not_a_gbk_problem(tmp_path, content):
    f = tmp_path / "data.csv"
    f.write_bytes(content)
    message = refused(f)
    assert "not text" in message and "GBK/GB18030" not in message and "GB18030/GBK" not in message


def test_nul_byte_in_a_cell_rejects_that_row_with_the_reason(tmp_path):
    f = tmp_path / "nul.csv"
    f.write_text(HEADER + "N1,坏\x00名,北京市东城区\nN2,好,北京市东城区\n", encoding="utf-8")
    out = run(f)
    assert "created 1" in out and "rejected 1" in out
    (row,) = report(f)
    assert row[0] == "2" and "NUL" in row[2]
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["N2"]
