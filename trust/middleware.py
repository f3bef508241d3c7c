"""Idle session expiry: a session that has made no request for SESSION_IDLE_MINUTES ends."""

import time

from django.conf import settings
from django.contrib.auth import logout

_LAST_SEEN = "_dizhi_last_seen"
_REFRESH_SECONDS = 60  # the session row is rewritten at most once a minute, not on every request


class IdleSessionMiddleware:
    """Logs an idle session out before the view runs, so the view answers as to anyone logged out
    (a login redirect); otherwise notes the time, at most once a minute."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(_LAST_SEEN)
            if last is not None and now - last > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
            elif last is None or now - last >= _REFRESH_SECONDS:
                request.session[_LAST_SEEN] = now
        return self.get_response(request)
