from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from geo.presentation import region_label
from geo.selectors import region_children, region_get


@login_required
@require_GET
def region_children_json(request):
    """JSON for every cascading region picker: the active regions under ?parent=<code>
    (countries without it), named in the UI language, with their centres."""
    code = request.GET.get("parent", "").strip()
    parent = region_get(code=code) if code else None
    if code and parent is None:
        raise Http404(_("No such region."))
    return JsonResponse(
        {
            "parent": code,
            "regions": [
                {
                    "code": r.code,
                    "name": region_label(r),
                    "level": r.level,
                    "lat": float(r.lat) if r.lat is not None else None,
                    "lng": float(r.lng) if r.lng is not None else None,
                }
                for r in region_children(parent=parent)
            ],
        }
    )
