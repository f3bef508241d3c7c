"""Errors as RFC 9457 problem details (`application/problem+json`): type, title, status,
detail, and `errors` with a JSON pointer per bad field."""

import json

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from addresses.services import StaleAddressError

PROBLEM_TYPE = "https://dizhi.invalid/problems/"  # documented in the README's API section


class ApiProblem(Exception):
    """An error answer the API gives on purpose."""

    def __init__(
        self, status: int, title: str, detail: str = "", *, kind: str = "", errors=None, headers=None
    ):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = errors or []
        self.headers = headers or {}


def problem_response(problem: ApiProblem) -> HttpResponse:
    body = {"type": PROBLEM_TYPE + problem.kind, "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=problem.status, content_type="application/problem+json"
    )
    for name, value in problem.headers.items():
        response[name] = value
    return response


def pointer(path) -> str:
    """A JSON pointer (RFC 6901) for a path of keys and indexes."""
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def django_errors(error: DjangoValidationError, prefix=()) -> list[dict]:
    """A Django ValidationError as problem `errors`, under the pointer `prefix`."""
    if hasattr(error, "error_dict"):
        return [
            {"pointer": pointer((*prefix, name) if name != "__all__" else prefix), "detail": str(message)}
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"pointer": pointer(prefix), "detail": str(m)} for m in error.messages]


def field_errors(errors: dict[str, list[str]], prefix=()) -> list[dict]:
    """A service's {field: [messages]} as problem `errors`."""
    return [
        {"pointer": pointer((*prefix, name) if name not in ("__all__", "") else prefix), "detail": str(m)}
        for name, messages in errors.items()
        for m in messages
    ]


def validation_problem(errors: list[dict], detail: str = "") -> ApiProblem:
    return ApiProblem(
        400, "Invalid request", detail or "Some fields are not valid.", kind="validation", errors=errors
    )


def _ninja_validation(exc: NinjaValidationError) -> ApiProblem:
    errors = []
    for error in exc.errors:
        loc = list(error.get("loc", ()))
        where = loc[0] if loc else "body"
        # ("body", "<parameter name>", field...) → field...; ("query", field) → field
        path = loc[2:] if where == "body" and len(loc) >= 2 else loc[1:]
        if where != "body":
            path = [where, *path]
        errors.append(
            {"pointer": pointer(path), "detail": error.get("msg", "invalid"), "code": error.get("type", "")}
        )
    return validation_problem(errors)


def install_problem_handlers(api) -> None:
    """Answer every error of `api` as problem details."""

    @api.exception_handler(ApiProblem)
    def _problem(request, exc):
        return problem_response(exc)

    @api.exception_handler(NinjaValidationError)
    def _validation(request, exc):
        return problem_response(_ninja_validation(exc))

    @api.exception_handler(DjangoValidationError)
    def _django_validation(request, exc):
        return problem_response(validation_problem(django_errors(exc)))

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        return problem_response(
            ApiProblem(
                401,
                "Unauthorized",
                "Send a valid API token: Authorization: Bearer dz_…",
                headers={"WWW-Authenticate": 'Bearer realm="dizhi"'},
            )
        )

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return problem_response(ApiProblem(404, "Not found", "No such object, or you may not see it."))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return problem_response(ApiProblem(403, "Forbidden", str(exc) or "You may not do this."))

    @api.exception_handler(StaleAddressError)
    def _stale(request, exc):
        return problem_response(
            ApiProblem(
                412,
                "Precondition failed",
                f"The address is at version {exc.address.version}, not {exc.expected_version}: "
                "read it again and retry.",
                kind="stale-version",
                headers={"ETag": f'"{exc.address.version}"'},
            )
        )

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        title = {400: "Bad request", 413: "Content too large"}.get(exc.status_code, "Error")
        return problem_response(ApiProblem(exc.status_code, title, str(exc.message)))
