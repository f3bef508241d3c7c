"""Upload page, a file exported from another CRM: choose what each column holds, save the choice
as the team's preset, and the next file of that kind is read with it."""

import pytest

from crm import roles
from customers.models import Customer
from imports.models import ColumnPreset
from tests.browser.conftest import new_context

pytestmark = [pytest.mark.browser, pytest.mark.thread_tasks]


@pytest.fixture
def import_page(browser, live_server, base_data, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    context = new_context(browser, locale="en-US")
    context.set_default_timeout(60_000)
    yield context.new_page()
    errors = list(context.console_errors)
    context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


def test_a_manager_maps_a_hubspot_export_and_reuses_the_mapping(
    import_page, live_server, login, make_user, tmp_path
):
    page = import_page
    login(page, make_user("boss", role=roles.MANAGER))
    upload = tmp_path / "hubspot.csv"
    upload.write_text(
        "Record ID,Company name,City,State/Region,Street Address,Website\n42,杭州云栖,杭州市,浙江省,云栖小镇1号,x.cn\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("[data-testid=column-row]")
    rows = page.locator("[data-testid=column-row]")
    assert rows.count() == 6
    assert "guessed" in rows.nth(1).inner_text()  # Company name: "name" inside it
    assert page.locator("#col-2").input_value() == "city"  # Dizhi's own English header
    page.screenshot(path="/tmp/dz-import-columns.png", full_page=True)

    page.select_option("#col-0", "external_id")
    page.select_option("#col-3", "province")
    page.select_option("#col-4", "detail")
    page.select_option("#col-5", "-")
    page.check("#id_save_preset")
    page.fill("#id_preset_name", "HubSpot companies")
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("[data-testid=import-confirm]")
    page.click("[data-testid=import-confirm]")
    page.wait_for_function("() => document.querySelector('#import-status').dataset.status === 'done'")
    assert Customer.objects.get(external_id="42").name == "杭州云栖"
    assert ColumnPreset.objects.get().name == "HubSpot companies"

    # The next export of that kind: pick the saved preset, and the file goes straight to its check.
    upload.write_text(
        "Record ID,Company name,City,State/Region,Street Address,Website\n43,宁波港,宁波市,浙江省,北仑1号,y.cn\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(upload))
    page.select_option("#id_preset", label="HubSpot companies")
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_selector("[data-testid=import-confirm]")
    assert "Website" in page.locator("body").inner_text()  # listed as not imported
