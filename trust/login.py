"""Login protection: the client address django-axes counts failures against."""

from django.conf import settings


def client_ip(request) -> str:
    """The client's address: the connection's, or with TRUSTED_PROXY_COUNT proxies in front, the
    address the outermost of them saw (X-Forwarded-For, counted from the right, so a client
    cannot pick its own by sending the header)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote
