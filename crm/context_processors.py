from crm.roles import is_manager


def roles(request):
    """Expose the user's role to templates (to hide manager-only actions)."""
    user = getattr(request, "user", None)
    return {"is_manager": bool(user and user.is_authenticated and is_manager(user))}
