"""Roles are Django groups; this module is the one place that names them."""

ADMIN = "admin"
MANAGER = "manager"
SALES = "sales"
ROLES = (ADMIN, MANAGER, SALES)


def user_roles(user) -> set[str]:
    """Names of the role groups the user belongs to (cached on the user object)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_dizhi_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._dizhi_roles = cached
    return cached


def is_manager(user) -> bool:
    """Managers, admins and superusers see and may change every customer."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or bool(user_roles(user) & {ADMIN, MANAGER})


def role_of(user) -> str:
    """The user's highest role: admin (superusers too), manager or sales."""
    if user.is_superuser or ADMIN in user_roles(user):
        return ADMIN
    if MANAGER in user_roles(user):
        return MANAGER
    return SALES
