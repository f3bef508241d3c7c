import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.roles import is_manager
from customers.filtersets import CustomerFilterSet, invalid_ids
from customers.models import Customer
from geo.choices import CoordinateSystem
from imports import exporting
from imports.columns import FIELD_NAMES, FIELDS, map_columns, template_csv
from imports.jobs import job_for_file
from imports.models import ImportJob, ImportStatus
from imports.presets import ColumnChoice, column_choices, mapping_from_choices
from imports.reading import ImportFileError, open_table
from imports.selectors import column_preset_find, column_presets
from imports.services import column_preset_save
from imports.tasks import import_job_confirm, import_job_resume, import_job_validate
from trust.choices import AuditAction
from trust.services import audit_record

MAX_UPLOAD_BYTES = getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
ACTIVE = (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.QUEUED, ImportStatus.RUNNING)
STARTED = [s for s in ImportStatus.values if s != ImportStatus.PENDING]


def _manager(request):
    if not is_manager(request.user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    """Upload a file; it is validated (dry run) in the background, then previewed."""
    _manager(request)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        crs = request.POST.get("crs", CoordinateSystem.WGS84)
        if upload is None:
            error = _("Choose a CSV or Excel file.")
        elif upload.size > MAX_UPLOAD_BYTES:
            error = _("The file is larger than %(mb)s MB; use manage.py import_customers.") % {
                "mb": MAX_UPLOAD_BYTES // 1024**2
            }
        elif crs not in CoordinateSystem.values:
            error = _("Unknown coordinate system.")
        else:
            folder = Path(settings.MEDIA_ROOT) / "imports" / f"upload-{uuid.uuid4().hex}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / (get_valid_filename(upload.name) or "upload.csv")
            with open(path, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            pending = {"path": str(path), "crs": crs, "source_name": upload.name[:255]}
            preset = (
                column_preset_find(user=request.user, key=request.POST.get("preset", ""))
                if request.POST.get("preset")
                else None
            )
            choices = _file_columns(path, preset)
            if choices is not None and any(c.how in ("guessed", "") for c in choices if c.header.strip()):
                # Headers Dizhi (or the preset) does not know: the manager says what they hold.
                request.session.setdefault("import_uploads", {})[folder.name] = {
                    **pending,
                    "preset": preset and preset.key,
                }
                request.session.modified = True
                return redirect("imports:columns", token=folder.name)
            mapping = mapping_from_choices(choices) if preset and choices else {}
            return redirect("imports:job", pk=_start_validation(request, pending, mapping).pk)
    # Imports (from the page or the command) and the page's uploads still being checked or
    # waiting for confirmation; not the command's dry runs, nor its jobs that never started.
    jobs = ImportJob.objects.filter(
        Q(dry_run=False, status__in=STARTED) | Q(dry_run=True, uploaded=True)
    ).select_related("created_by")[:10]
    return render(
        request,
        "imports/import_upload.html",
        {
            "error": error,
            "crs_choices": CoordinateSystem.choices,
            "jobs": jobs,
            "presets": column_presets(user=request.user),
        },
    )


def _file_columns(path: Path, preset) -> list[ColumnChoice] | None:
    """The file's headers with their fields; None when the file cannot be opened (the
    validation then reports why, as for any broken file)."""
    try:
        return column_choices(open_table(path, max_rows=None).headers, preset)
    except ImportFileError:
        return None


def _start_validation(request, pending: dict, mapping: dict[str, str]) -> ImportJob:
    job = job_for_file(
        Path(pending["path"]),
        options={"map": mapping, "crs": pending["crs"], "language": get_language()},
        actor=request.user,
        dry_run=True,
        source_name=pending["source_name"],
        uploaded=True,
    )
    import_job_validate.enqueue(job_id=job.pk)
    return job


@login_required
@require_http_methods(["GET", "POST"])
def import_columns(request, token):
    """Say which field each column of an uploaded file holds (guessed where a header is close, or
    from a preset), optionally saved as the team's preset, then validate the file as usual."""
    _manager(request)
    pending = request.session.get("import_uploads", {}).get(token)
    if pending is None:
        raise Http404
    presets = column_presets(user=request.user)
    key = request.POST.get("preset") or request.GET.get("preset") or pending.get("preset") or ""
    preset = column_preset_find(user=request.user, key=key) if key else None
    choices = _file_columns(Path(pending["path"]), preset) or []
    error = ""
    if request.method == "POST":
        choices = [
            ColumnChoice(c.header, request.POST.get(f"col-{i}", c.field), "") for i, c in enumerate(choices)
        ]
        mapping = mapping_from_choices(choices)
        try:
            map_columns([c.header for c in choices], mapping)
            if request.POST.get("save_preset"):
                column_preset_save(
                    actor=request.user, name=request.POST.get("preset_name", ""), mapping=mapping
                )
        except ImportFileError as exc:
            error = str(exc)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            request.session["import_uploads"].pop(token, None)
            request.session.modified = True
            return redirect("imports:job", pk=_start_validation(request, pending, mapping).pk)
    return render(
        request,
        "imports/import_columns.html",
        {
            "token": token,
            "source_name": pending["source_name"],
            "choices": choices,
            "fields": [("-", _("— leave out —")), *((f, FIELD_NAMES[f]) for f in FIELDS)],
            "presets": presets,
            "preset": preset,
            "error": error,
            "preset_name": request.POST.get("preset_name", ""),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_job(request, pk):
    """A job's preview, confirm button, live progress (htmx polls ?partial=1) and summary."""
    _manager(request)
    job = get_object_or_404(ImportJob, pk=pk)
    if request.method == "POST":
        if request.POST.get("action") == "resume":
            import_job_resume(job)
        elif import_job_confirm(job):
            audit_record(
                actor=request.user,
                action=AuditAction.IMPORT,
                request=request,
                job=job.pk,
                file=job.source_name,
                rows=job.total_rows,
            )
        return redirect("imports:job", pk=job.pk)
    context = {
        "job": job,
        "active": job.status in ACTIVE and not job.stalled,
        "column_map": [
            (header, FIELD_NAMES.get(f, f)) for header, f in (job.preview or {}).get("columns", [])
        ],
    }
    if request.GET.get("partial"):
        return render(request, "imports/import_progress.html", context)
    return render(request, "imports/import_job.html", context)


@login_required
def import_report(request, pk):
    """The rejected rows (CSV, UTF-8 with BOM, formula-escaped)."""
    _manager(request)
    job = get_object_or_404(ImportJob, pk=pk)
    if not job.report_path or not Path(job.report_path).exists():
        raise Http404
    name = f"{Path(job.source_name).stem}-{'validation' if job.dry_run else 'rejected'}.csv"
    return FileResponse(
        open(job.report_path, "rb"), as_attachment=True, filename=name, content_type="text/csv; charset=utf-8"
    )


@login_required
def import_template(request):
    """A CSV to fill in: the usual columns and one example row."""
    _manager(request)
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="dizhi-import-template.csv"'
    return response


@login_required
@require_GET
def export_customers(request):
    """The customer list's filters (or a selection, `ids`) as CSV, XLSX or GeoJSON, streamed."""
    fmt = request.GET.get("format", "csv")
    if fmt not in exporting.FORMATS:
        return HttpResponseBadRequest("format must be csv, xlsx or geojson")
    if invalid_ids(request.GET):
        return HttpResponseBadRequest(_("The selection (ids) must be customer numbers."))
    filterset = CustomerFilterSet(request.GET, queryset=Customer.objects.visible_to(request.user))
    customers = filterset.qs
    ids = [int(i) for v in request.GET.getlist("ids") for i in v.split(",") if i.strip()]
    if ids:
        customers = customers.filter(pk__in=ids)
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        request=request,
        format=fmt,
        filters={k: request.GET.getlist(k) for k in sorted(request.GET) if k != "format"},
        rows=customers.count(),
    )
    name = f"customers-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"
    response = StreamingHttpResponse(
        exporting.export_chunks(customers, fmt), content_type=exporting.CONTENT_TYPES[fmt]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
