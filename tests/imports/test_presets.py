"""Column mapping: presets for other CRMs' exports, guesses for close headers, team presets, and
the same presets for the command (`import_customers --preset`)."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from customers.models import Customer
from imports.models import ColumnPreset, ImportJob
from imports.presets import column_choices, guess_field, shipped_presets
from imports.selectors import column_presets

SALESFORCE = (
    "Account ID,Account Name,Phone,Billing Street,Billing City,Billing State/Province,Billing Zip/Postal Code,"
    "Billing Country,Account Owner\n"
    "001A,深圳前海科技,13800138000,科苑路15号,深圳市,广东省,518057,China,Jane Doe\n"
)
HUBSPOT = "Record ID,Company name,City,State/Region,Street Address,Website\n42,杭州云栖,杭州市,浙江省,云栖小镇1号,x.cn\n"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def test_presets_ship_for_salesforce_hubspot_zoho_and_fxiaoke():
    assert set(shipped_presets()) == {"salesforce", "hubspot", "zoho", "fxiaoke"}
    fxiaoke = shipped_presets()["fxiaoke"].mapping
    assert fxiaoke["客户名称"] == "name" and fxiaoke["负责人"] == "-"  # a person's name, not a username


@pytest.mark.parametrize(
    "header, field",
    [("Billing City", "city"), ("Account Name", "name"), ("Phone Number", "phone"), ("客户名", "name"),
     ("E-Mail", "email"), ("Postleitzahl", ""), ("Website", "")],
)  # fmt: skip
def test_close_headers_are_guessed_and_others_are_not(header, field):
    assert guess_field(header) == field


def test_a_preset_reads_every_column_of_its_export():
    headers = SALESFORCE.split("\n")[0].split(",")
    choices = column_choices(headers, shipped_presets()["salesforce"])
    assert {c.how for c in choices} == {"preset"}
    assert [c.field for c in choices][:3] == ["external_id", "name", "phone"]


@pytest.mark.django_db
def test_a_salesforce_export_uploaded_with_its_preset_goes_straight_to_the_preview(
    client, manager, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(manager)
    upload = SimpleUploadedFile("accounts.csv", SALESFORCE.encode())
    response = client.post(reverse("imports:upload"), {"file": upload, "preset": "salesforce"})
    job = ImportJob.objects.get()
    assert response.url == reverse("imports:job", args=[job.pk])
    assert job.status == "validated" and job.created == 1 and job.rejected == 0
    client.post(response.url)
    customer = Customer.objects.get(external_id="001A")
    assert customer.name == "深圳前海科技" and customer.owner is None  # "Account Owner" left out
    assert customer.addresses.get().district is not None or customer.addresses.get().city.name == "深圳市"


@pytest.mark.django_db
def test_unknown_headers_are_shown_guessed_chosen_and_saved_as_the_teams_preset(
    client, manager, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    team = Group.objects.create(name="华南团队")
    manager.groups.add(team)
    client.force_login(manager)
    response = client.post(
        reverse("imports:upload"), {"file": SimpleUploadedFile("hs.csv", HUBSPOT.encode())}
    )
    columns_url = response.url
    page = client.get(columns_url).content.decode()
    assert page.count('data-testid="column-row"') == 6 and "guessed" in page
    assert '<option value="city" selected>' in page  # "City" is Dizhi's own English header
    form = {"col-0": "external_id", "col-1": "name", "col-2": "city", "col-3": "province", "col-4": "detail"}
    form.update({"col-5": "-", "save_preset": "1", "preset_name": "HubSpot 公司"})
    response = client.post(columns_url, form)
    job = ImportJob.objects.get()
    assert response.url == reverse("imports:job", args=[job.pk]) and job.created == 1
    preset = ColumnPreset.objects.get()
    assert preset.team == team and preset.mapping["Record ID"] == "external_id"
    assert "HubSpot 公司" in [p.name for p in column_presets(user=manager)]
    assert client.get(columns_url).status_code == 404  # the upload moved on to its job


@pytest.mark.django_db
def test_a_teams_preset_is_not_offered_to_other_teams(make_user):
    from crm import roles

    north, south = Group.objects.create(name="north"), Group.objects.create(name="south")
    ColumnPreset.objects.create(name="North CRM", team=north, mapping={"Id": "external_id"})
    ColumnPreset.objects.create(name="Everyone", team=None, mapping={"Id": "external_id"})
    alice = make_user("alice", role=roles.MANAGER)
    alice.groups.add(south)
    names = [p.name for p in column_presets(user=alice)]
    assert "Everyone" in names and "North CRM" not in names


@pytest.mark.django_db
def test_the_command_imports_with_a_shipped_preset(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(SALESFORCE, encoding="utf-8")
    call_command(
        "import_customers", str(path), "--preset", "salesforce", "--progress", "none", stdout=io.StringIO()
    )
    assert Customer.objects.get(external_id="001A").name == "深圳前海科技"


@pytest.mark.django_db
def test_the_command_names_the_presets_when_one_is_unknown(tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "accounts.csv"
    path.write_text(SALESFORCE, encoding="utf-8")
    with pytest.raises(CommandError, match="salesforce"):
        call_command("import_customers", str(path), "--preset", "sugarcrm", stdout=io.StringIO())
