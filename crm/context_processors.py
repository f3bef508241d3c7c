from crm.roles import is_manager, role_of


def roles(request):
    """Expose the user's role to templates (to hide manager-only actions)."""
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "is_manager": signed_in and is_manager(user),
        "user_role": role_of(user) if signed_in else "",
    }
