"""The REST API, version 1 (`/api/v1/`): django-ninja, OpenAPI 3.1 at /api/v1/openapi.json,
offline Swagger UI at /api/v1/docs."""

from ninja import NinjaAPI, Swagger

from api.problems import install_problem_handlers
from api.views import addresses, customers, reference

api = NinjaAPI(
    title="Dizhi API",
    version="1",
    description=(
        "Customers and their addresses, read and written with a personal API token "
        "(`Authorization: Bearer dz_…`). Every read sees exactly what the token's user sees "
        "in the app; every write goes through the same write path as a form, recorded with "
        "channel `api`. Errors are RFC 9457 problem details."
    ),
    urls_namespace="api-v1",
    docs=Swagger(settings={"persistAuthorization": True}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_problem_handlers(api)
api.add_router("", customers.router)
api.add_router("", addresses.router)
api.add_router("", reference.router)
