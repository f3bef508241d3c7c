"""Accessibility: axe-core (vendored from npm: scripts/vendor_test_assets.py) on every page,
in both languages, and the main pages used by keyboard alone."""

import json
from pathlib import Path
from urllib.parse import urljoin

import pytest

from addresses.services import address_create, address_update
from crm import roles
from customers.services import customer_delete
from tests.browser.conftest import new_context

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations (WCAG 2.0/2.1/2.2 A and AA, best practices) of
    the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Served from the page's own origin (the Content-Security-Policy allows scripts from the
        # site only, and the test keeps it on): the request never reaches the server.
        page.route("**/__test-assets__/axe.min.js", lambda route: route.fulfill(path=str(AXE)))
        page.add_script_tag(url=urljoin(page.url, "/__test-assets__/axe.min.js"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => ({target: n.target.join(' '),
                                                      summary: n.failureSummary.slice(0, 300)}))}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def assert_accessible(page, name: str):
    violations = axe_violations(page)
    assert not violations, f"{name} ({page.url}):\n" + json.dumps(violations, ensure_ascii=False, indent=1)


@pytest.fixture
def customer(make_customer, sales, category):
    customer = make_customer("华南贸易有限公司", owner=sales, phone="13800138000", email="hn@example.com")
    head = address_create(
        customer=customer,
        actor=sales,
        kind="registered",
        is_primary=True,
        district_code="440305",
        detail="科技园科苑路15号",
        category_ids=[category.pk],
    )
    address_create(
        customer=customer, actor=sales, kind="delivery", district_code="440106", detail="天河路385号"
    )
    address_update(address=head, expected_version=1, actor=sales, lat="22.5405", lng="113.9345")
    return customer


def pages_of(customer, category) -> list[tuple[str, str, str]]:
    """(name, path, a selector that shows the page is ready)."""
    address = customer.addresses.order_by("pk").first()
    return [
        ("list", "/customers/", "table.dz-table"),
        ("list filtered", "/customers/?province=440000&kind=enterprise", "table.dz-table"),
        ("customer page", f"/customers/{customer.pk}/", "#customer-map[data-ready='1']"),
        ("customer edit", f"/customers/{customer.pk}/edit/", "form"),
        ("new customer", "/customers/new/", "form"),
        ("new address", f"/addresses/new/{customer.pk}/", "form"),
        ("address edit", f"/addresses/{address.pk}/edit/", "form"),
        ("regions", "/customers/regions/", "main"),
        ("regions of a province", "/customers/regions/440000/", "main"),
        ("categories", "/addresses/categories/", "main"),
        ("new category", "/addresses/categories/new/", "form"),
        ("category edit", f"/addresses/categories/{category.pk}/edit/", "form"),
        ("category delete", f"/addresses/categories/{category.pk}/delete/", "form"),
        ("map", "/map/", "#dz-map-status[data-state='ready']"),
        ("map near", f"/map/?near={customer.pk}", "#dz-map-status[data-state='ready']"),
        ("import", "/imports/", "form"),
        ("customer delete", f"/customers/{customer.pk}/delete/", "#confirm-delete"),
        ("address delete", f"/addresses/{address.pk}/delete/", "#confirm-delete"),
        ("trash", "/addresses/trash/", "#trash-table"),
        ("404", "/customers/999999/", "[data-status='404']"),
    ]


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_every_page_has_no_serious_axe_violations(
    browser, live_server, base_data, login, make_user, make_customer, customer, category, locale
):
    gone = make_customer("已删除的客户")
    customer_delete(customer=gone)  # the trash page lists it
    context = new_context(browser, locale=locale)
    context.console_errors.allow("404")  # Chromium's own line for the 404 page
    context.console_errors.allow("403")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page, "login")
    login(page, make_user("boss", role=roles.MANAGER))
    failures = []
    for name, path, ready in pages_of(customer, category):
        page.goto(live_server.url + path)
        page.wait_for_selector(ready)
        try:
            assert_accessible(page, name)
        except AssertionError as exc:
            failures.append(str(exc))
    # A salesperson opening "new category": the 403 page.
    page.context.clear_cookies()
    login(page, make_user("rep"))
    page.goto(f"{live_server.url}/addresses/categories/new/")
    page.wait_for_selector("[data-status='403']")
    try:
        assert_accessible(page, "403")
    except AssertionError as exc:
        failures.append(str(exc))
    errors = list(context.console_errors)
    context.close()
    assert not failures, "\n\n".join(failures)
    assert not errors


def focused(page) -> dict:
    """What has the keyboard focus: tag, id, name, text, href and whether a focus ring shows."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            // A date field's calendar button lives in Chromium's own shadow tree, ringed there.
            const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                || (style.boxShadow && style.boxShadow !== 'none')
                || (el.type === 'date' && !el.matches(':focus'));
            return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '',
                    text: (el.innerText || el.value || '').trim().slice(0, 80),
                    href: el.getAttribute('href') || '', ring: ring,
                    label: el.getAttribute('aria-label') || ''};
        }"""
    )


def tab_until(page, matches, *, limit=80, backwards=False) -> dict:
    """Press Tab until the focused element satisfies `matches`; every stop must show a focus ring."""
    seen, wrapped = [], 0
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(page)
        seen.append(now)
        if now["tag"] == "body":  # past the last control: the next Tab starts from the top again
            wrapped += 1
            assert wrapped == 1, "focus is stuck: " + repr(seen[-5:])
            continue
        assert now["ring"], f"no visible focus on {now}"
        if matches(now):
            return now
    raise AssertionError(
        "not reached by Tab: " + repr([(s["tag"], s["id"] or s["name"] or s["text"]) for s in seen])
    )


def test_keyboard_alone_search_the_list_open_a_customer_and_add_an_address(
    page, login, live_server, sales, customer
):
    from geo.selectors import region_index

    region_index()  # the live server shares this process: build the parser's index before typing
    page.emulate_media(reduced_motion="reduce")  # focus rings at once, not after a transition
    login(page, sales)
    page.goto(f"{live_server.url}/customers/")

    # The first Tab offers to skip the navigation; Enter lands in the page's content.
    page.keyboard.press("Tab")
    assert focused(page)["href"] == "#dz-main"
    page.keyboard.press("Enter")
    tab_until(page, lambda f: f["id"] == "dz-q")
    page.keyboard.type("华南")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=*")
    tab_until(page, lambda f: f["text"] == "华南贸易有限公司")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/customers/{customer.pk}/")

    # Customer page: the map's markers take the focus (Enter opens the popup), then the address
    # card's links; "Add address" opens the form.
    page.wait_for_selector("#customer-map[data-ready='1']")
    tab_until(page, lambda f: "leaflet-marker-icon" in page.evaluate("document.activeElement.className"))
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content")
    page.keyboard.press("Escape")
    tab_until(page, lambda f: f["href"].startswith(f"/addresses/new/{customer.pk}/"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/addresses/new/{customer.pk}/")

    # Address form: the paste box, the parsed pickers, the kind, the detail and save, all by keys.
    tab_until(page, lambda f: f["name"] == "raw_text")
    page.keyboard.type("北京市朝阳区建国路88号")
    page.wait_for_function("() => document.querySelector('select[name=district]').value === '110105'")
    kind = tab_until(page, lambda f: f["name"] == "kind")
    assert kind["tag"] == "select"
    page.keyboard.press("ArrowDown")  # a <select> changes with the arrow keys
    tab_until(page, lambda f: f["name"] == "detail")
    assert page.input_value("input[name=detail]") == "建国路88号"
    tab_until(page, lambda f: f["tag"] == "button" and f["text"] in ("添加地址", "Add address"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/customers/{customer.pk}/")
    new = customer.addresses.order_by("-pk").first()
    assert new.district.code == "110105" and new.detail == "建国路88号"


@pytest.mark.thread_tasks
def test_import_pages_have_no_serious_axe_violations(
    browser, live_server, base_data, login, make_user, settings, tmp_path
):
    """The upload page's later steps: choosing what unknown columns hold, then the preview."""
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = tmp_path / "export.csv"
    upload.write_text(
        "外部编号,客户名称,地址,Remarks\nA1,北京客户,北京市朝阳区建国路88号,vip\nA2,,上海市,\n",
        encoding="utf-8",
    )
    context = new_context(browser)
    context.set_default_timeout(60_000)
    page = context.new_page()
    login(page, make_user("boss", role=roles.MANAGER))
    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("#id_file", str(upload))
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_selector("[data-testid=column-row]")
    failures = []
    for name in ("columns", "preview"):
        if name == "preview":
            page.locator("main form button[type=submit]").last.click()
            page.wait_for_selector("[data-testid=import-confirm]")
        try:
            assert_accessible(page, name)
        except AssertionError as exc:
            failures.append(str(exc))
    errors = list(context.console_errors)
    context.close()
    assert not failures, "\n\n".join(failures)
    assert not errors
