import io
import json

import pytest
from django.core.management import call_command

from geo.selectors import invalidate_region_index

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def regions():
    """The parser's index built afresh from the region tree the session loaded (tests/conftest.py),
    once for the module: an earlier test may have built it from rows it changed."""
    invalidate_region_index()


def run(tmp_path, lines):
    path = tmp_path / "in.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command("parse_addresses", str(path), stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_line_becomes_one_json_object_with_names_and_codes(regions, tmp_path):
    rows = run(tmp_path, ["广东深圳南山区科技南十二路2号 518057", "湖北省襄樊市樊城区"])
    assert len(rows) == 2
    first = rows[0]
    assert first["text"] == "广东深圳南山区科技南十二路2号 518057"
    assert (first["country"], first["province"], first["city"], first["district"]) == (
        "中国",
        "广东省",
        "深圳市",
        "南山区",
    )
    assert (first["province_code"], first["city_code"], first["district_code"]) == (
        "440000",
        "440300",
        "440305",
    )
    assert first["detail"] == "科技南十二路2号"
    assert first["postcode"] == "518057"
    assert first["ambiguities"] == []
    assert rows[1]["city"] == "襄阳市"


def test_missing_levels_are_empty_strings_and_ambiguities_listed(regions, tmp_path):
    row, foreign = run(
        tmp_path, ["朝阳区建国门外大街1号", "1600 Amphitheatre Pkwy, Mountain View, CA 94043, USA"]
    )
    assert row["district"] == "" and row["district_code"] == ""
    assert {c["code"] for c in row["ambiguities"][0]["candidates"]} == {"110105", "220104"}
    assert (foreign["country_code"], foreign["province_code"], foreign["postcode"]) == (
        "US",
        "US-CA",
        "94043",
    )


def test_reads_stdin_when_no_file(regions, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("北京市海淀区南京路\n"))
    out = io.StringIO()
    call_command("parse_addresses", stdout=out)
    row = json.loads(out.getvalue())
    assert (row["district"], row["detail"]) == ("海淀区", "南京路")


def test_streams_in_chunks(regions, tmp_path, monkeypatch):
    monkeypatch.setattr("geo.management.commands.parse_addresses.CHUNK", 3)
    rows = run(tmp_path, [f"杭州市西湖区文三路{i}号" for i in range(10)])
    assert [r["detail"] for r in rows] == [f"文三路{i}号" for i in range(10)]
