import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_GET, require_POST

from addresses import selectors
from addresses.category_services import category_create, category_delete, category_update
from addresses.choices import Channel
from addresses.forms import AddressForm, CategorizeForm, CategoryForm, address_initial
from addresses.models import AddressCategory
from addresses.services import (
    StaleAddressError,
    address_create,
    address_delete,
    address_restore,
    address_update,
    addresses_categorize,
)
from crm.roles import is_manager
from customers.choices import TrashKind
from customers.selectors import customer_get, trash_get, trash_items
from customers.services import customer_restore
from geo import parsing
from geo.models import Region
from geo.presentation import display_point, map_config, map_display_crs
from geo.selectors import region_chain, region_index

# -- address forms ------------------------------------------------------------------


class AddressCreateView(LoginRequiredMixin, View):
    template_name = "addresses/address_form.html"

    def get(self, request, customer_pk):
        customer = customer_get(user=request.user, pk=customer_pk)
        return self._render(customer, AddressForm(initial={"is_primary": not customer.addresses.exists()}))

    def post(self, request, customer_pk):
        customer = customer_get(user=request.user, pk=customer_pk)
        form = AddressForm(request.POST)
        if form.is_valid():
            try:
                address_create(
                    customer=customer,
                    actor=request.user,
                    channel=Channel.FORM,
                    **form.service_fields(crs=map_display_crs()),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Address added."))
                return redirect(customer)
        return self._render(
            customer,
            form,
        )

    def _render(self, customer, form, status=200):
        return render(
            self.request,
            self.template_name,
            {"customer": customer, "form": form, "map_config": map_config(), "address": None},
            status=status,
        )


class AddressEditView(LoginRequiredMixin, View):
    template_name = "addresses/address_form.html"

    def get(self, request, pk):
        address = selectors.address_get(user=request.user, pk=pk)
        return self._render(address, AddressForm(initial=address_initial(address)))

    def post(self, request, pk):
        address = selectors.address_get(user=request.user, pk=pk)
        form = AddressForm(request.POST)
        if not form.is_valid():
            return self._render(address, form)
        try:
            address_update(
                address=address,
                expected_version=form.cleaned_data["version"],
                actor=request.user,
                channel=Channel.FORM,
                **form.service_fields(crs=map_display_crs(), current=address),
            )
        except StaleAddressError:
            return self._conflict(address.pk, form)
        except ValidationError as exc:
            form.add_service_errors(exc)
            return self._render(address, form)
        messages.success(request, _("Address saved."))
        return redirect(address.customer)

    def _conflict(self, pk, form):
        """Someone saved first: show both versions; the form now carries the current version,
        so submitting it again applies the user's change on top. (200, like every re-rendered
        form: browsers log 4xx page loads as console errors.)"""
        current = selectors.address_get(user=self.request.user, pk=pk)
        data = form.data.copy()
        data["version"] = str(current.version)
        retry = AddressForm(data)
        retry.is_valid()
        conflict = conflict_rows(form.cleaned_data, current)
        last = current.versions.select_related("actor").order_by("-version").first()
        return self._render(
            current,
            retry,
            conflict={
                "rows": conflict,
                "current": current,
                "last": last,
                "expected": form.cleaned_data["version"],
            },
        )

    def _render(self, address, form, status=200, conflict=None):
        return render(
            self.request,
            self.template_name,
            {
                "customer": address.customer,
                "address": address,
                "form": form,
                "conflict": conflict,
                "map_config": map_config(),
            },
            status=status,
        )


def conflict_rows(mine: dict, current) -> list[dict]:
    """(label, yours, current, differs) for each field of the address form."""
    codes = [mine.get(k) for k in ("province", "city", "district") if mine.get(k)]
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    my_region = " ".join(dict.fromkeys(names.get(c, c) for c in codes))
    current_region = " ".join(
        dict.fromkeys(r.name for r in (current.province, current.city, current.district) if r is not None)
    )
    current_categories = ", ".join(c.name for c in current.categories.all())
    yes, no = _("yes"), _("no")
    rows = [
        (
            _("Kind"),
            dict(AddressForm.base_fields["kind"].choices).get(mine.get("kind"), ""),
            current.get_kind_display(),
        ),
        (_("Primary"), yes if mine.get("is_primary") else no, yes if current.is_primary else no),
        (_("Region"), my_region, current_region),
        (_("Detail line"), mine.get("detail") or "", current.detail),
        (_("Postcode"), mine.get("postcode") or "", current.postcode),
        (_("Categories"), ", ".join(c.name for c in mine.get("categories") or ()), current_categories),
        (_("Verified"), yes if mine.get("verified") else no, yes if current.verified_at else no),
    ]
    if mine.get("pin_moved"):
        rows.append((_("Location"), f"{mine['lat']}, {mine['lng']}", f"{current.lat}, {current.lng}"))
    return [{"label": label, "mine": a, "current": b, "differs": str(a) != str(b)} for label, a, b in rows]


@login_required
@require_POST
def address_parse(request):
    """htmx: parse the pasted text and return the preview that address-form.js applies to the fields."""
    # The box may carry a form prefix ("address-raw_text" on the customer form).
    text = next((v for k, v in request.POST.items() if k == "raw_text" or k.endswith("-raw_text")), "")
    text = text.strip()[:1000]
    if not text:
        return HttpResponse("")
    parsed = parsing.parse_address(text, region_index())
    regions = [r for r in (parsed.province, parsed.city, parsed.district) if r is not None]
    point = None
    deepest = parsed.deepest
    if deepest is not None and deepest.lat is not None:
        point = display_point(deepest.lat, deepest.lng)
    fill = {
        "country": parsed.country.code if parsed.country else "",
        "province": parsed.province.code if parsed.province else "",
        "city": parsed.city.code if parsed.city else "",
        "district": parsed.district.code if parsed.district else "",
        "detail": parsed.detail,
        "postcode": parsed.postcode,
        "lat": point[0] if point else None,
        "lng": point[1] if point else None,
        "zoom": {"country": 4, "province": 7, "city": 10, "district": 12}.get(deepest.level, 4)
        if deepest
        else 4,
    }
    ambiguities = []
    for level, options in parsed.ambiguities:
        ambiguities.append(
            {
                "level": level,
                "options": [
                    {
                        "code": c,
                        "label": label,
                        "chain": json.dumps({r.level: r.code for r in region_chain(code=c)}),
                    }
                    for c, label in options
                ],
            }
        )
    return render(
        request,
        "addresses/_parse_preview.html",
        {
            "parsed": parsed,
            "regions": regions,
            "fill": fill,
            "ambiguities": ambiguities,
            "confidence_pct": round(parsed.confidence * 100),
        },
    )


@login_required
@require_POST
def address_categorize(request, pk):
    """Add or remove one category on one address (from its card)."""
    address = selectors.address_get(user=request.user, pk=pk)
    form = CategorizeForm(request.POST)
    if form.is_valid() and (form.cleaned_data["add"] or form.cleaned_data["remove"]):
        add, remove = form.cleaned_data["add"], form.cleaned_data["remove"]
        addresses_categorize(
            address_ids=[address.pk],
            add=[add.pk] if add else [],
            remove=[remove.pk] if remove else [],
            actor=request.user,
            channel=Channel.FORM,
        )
    elif request.headers.get("HX-Request"):
        return HttpResponse(status=400)
    if not request.headers.get("HX-Request"):
        return redirect(address.customer)
    address = selectors.address_get(user=request.user, pk=pk)
    response = render(
        request,
        "addresses/_address_card.html",
        {"address": address, "all_categories": AddressCategory.objects.order_by("name")},
    )
    response["HX-Trigger"] = "address-changed"
    return response


# -- categories ---------------------------------------------------------------------


def _require_manager(request):
    if not is_manager(request.user):
        raise PermissionDenied(_("Only managers can change categories."))


@login_required
@require_GET
def category_list(request):
    return render(
        request,
        "addresses/category_list.html",
        {
            "categories": selectors.categories_with_counts(user=request.user),
            "may_add_category": may_add_category(request.user),
        },
    )


def may_add_category(user) -> bool:
    """Managers; sales users too where settings.SALES_MAY_CREATE_CATEGORIES allows."""
    return is_manager(user) or settings.SALES_MAY_CREATE_CATEGORIES


@login_required
def category_create_view(request):
    if not may_add_category(request.user):
        raise PermissionDenied(_("Only managers can add categories."))
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = category_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Category “%(name)s” added.") % {"name": category.name})
            return redirect("addresses:category_list")
    return render(request, "addresses/category_form.html", {"form": form, "category": None})


@login_required
def category_edit_view(request, pk):
    _require_manager(request)
    category = selectors.category_get(pk=pk)
    form = CategoryForm(request.POST or None, instance=category)
    if request.method == "POST" and form.is_valid():
        try:
            category_update(category=selectors.category_get(pk=pk), actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Category saved."))
            return redirect("addresses:category_list")
    return render(
        request, "addresses/category_form.html", {"form": form, "category": selectors.category_get(pk=pk)}
    )


@login_required
def category_delete_view(request, pk):
    _require_manager(request)
    category = selectors.category_get(pk=pk)
    if request.method == "POST":
        name = category.name
        unassigned = category_delete(category=category, actor=request.user, channel=Channel.FORM)
        messages.success(
            request,
            _("Category “%(name)s” deleted; %(count)s addresses no longer carry it (the addresses are kept).")
            % {"name": name, "count": unassigned},
        )
        return redirect("addresses:category_list")
    return render(
        request,
        "addresses/category_confirm_delete.html",
        {
            "category": category,
            "address_count": selectors.category_address_count(category=category),
            "children": list(category.children.order_by("name")),
        },
    )


# -- delete and restore ---------------------------------------------------------------


def _require_manager_to_delete(request):
    if not is_manager(request.user):
        raise PermissionDenied(_("Only managers can delete customers and addresses."))


@login_required
def address_delete_view(request, pk):
    _require_manager_to_delete(request)
    address = selectors.address_get(user=request.user, pk=pk)
    if request.method == "POST":
        address_delete(address=address, actor=request.user)
        messages.success(
            request,
            _("Address moved to the trash: a manager can restore it within %(days)d days.")
            % {"days": settings.TRASH_DAYS},
        )
        return redirect(address.customer.get_absolute_url())
    return render(
        request,
        "addresses/address_confirm_delete.html",
        {"address": address, "customer": address.customer, "trash_days": settings.TRASH_DAYS},
    )


@login_required
@require_GET
def trash_list(request):
    _require_manager_to_delete(request)
    return render(
        request,
        "addresses/trash.html",
        {"items": trash_items(user=request.user), "trash_days": settings.TRASH_DAYS},
    )


@login_required
@require_POST
def trash_restore(request, pk):
    _require_manager_to_delete(request)
    item = trash_get(user=request.user, pk=pk)
    restore = customer_restore if item.kind == TrashKind.CUSTOMER else address_restore
    try:
        restored = restore(item=item, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("addresses:trash")
    customer = restored if item.kind == TrashKind.CUSTOMER else restored.customer
    messages.success(request, _("Restored “%(what)s”.") % {"what": item.label})
    return redirect(customer.get_absolute_url())
