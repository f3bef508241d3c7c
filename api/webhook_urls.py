"""Which URLs a webhook may be sent to: http(s) only, and never to a private, loopback,
link-local or reserved address (a webhook must not become a way to reach the internal network)
unless WEBHOOK_ALLOW_PRIVATE_URLS says so. Checked when an endpoint is saved and again before
every attempt (a name may resolve elsewhere later)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def webhook_url_problem(url: str, *, resolve=socket.getaddrinfo) -> str:
    """Why `url` cannot receive webhooks, or "" when it can."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("Enter a valid URL.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("The URL must start with http:// or https:// and name a host.")
    if parts.username or parts.password:
        return _("The URL must not carry a user name or password.")
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return ""
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            return _("The URL points at a private or loopback address.")
        try:
            infos = resolve(host, port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return _("The host name does not resolve.")
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if any(_blocked(ip) for ip in addresses):
        return _("The URL points at a private or loopback address.")
    return ""
