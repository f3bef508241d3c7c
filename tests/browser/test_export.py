"""The customer list's export menu in Chromium: each format downloads the filtered, visible list."""

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from addresses.services import address_create

pytestmark = pytest.mark.browser


@pytest.fixture
def customers(base_data, make_customer, sales, other_sales):
    for i, code in enumerate(["440305", "440304", "110105"]):
        customer = make_customer(f"导出客户{i}", owner=sales, phone=f"=1380000000{i}", external_id=f"E{i}")
        address_create(customer=customer, district_code=code, detail=f"科技路{i}号")
    hidden = make_customer("别人的客户", owner=other_sales, external_id="H1")
    address_create(customer=hidden, district_code="440305", detail="外滩")


def download(page, fmt):
    page.click("#dz-export-all")
    item = page.locator(f"[data-export-format={fmt}]")
    expect(item).to_be_visible()
    with page.expect_download() as info:
        item.click()
    return info.value


def test_export_menu_downloads_the_filtered_list_in_each_format(page, login, live_server, sales, customers):
    login(page, sales)
    page.goto(f"{live_server.url}/customers/?region=440000")
    expect(page.locator("table.dz-table tbody tr [data-row-check]")).to_have_count(2)
    page.click("#dz-export-all")
    expect(page.locator("[data-export-format]")).to_have_count(3)
    page.screenshot(path="/tmp/dz-list-export-menu.png")
    page.keyboard.press("Escape")

    csv_file = download(page, "csv")
    assert re.fullmatch(r"customers-\d{8}-\d{4}\.csv", csv_file.suggested_filename)
    raw = open(csv_file.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read Chinese text"
    records = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(r["外部编号"] for r in records) == ["E0", "E1"]  # Beijing's and the other user's left out
    assert {r["省"] for r in records} == {"广东省"}
    assert all(r["手机"].startswith("'=") for r in records), "formula cells are escaped"

    xlsx = download(page, "xlsx")
    assert xlsx.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(open(xlsx.path(), "rb").read()), read_only=True)
    sheet_rows = list(workbook.active.iter_rows(values_only=True))
    assert len(sheet_rows) == 3 and "外部编号" in sheet_rows[0]

    collection = json.load(open(download(page, "geojson").path(), encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    assert sorted(f["properties"]["external_id"] for f in collection["features"]) == ["E0", "E1"]
    assert all(f["geometry"]["type"] == "Point" for f in collection["features"])
