"""Which web pages may act for a visitor: Parley's own, and those named in settings."""

from django.conf import settings
from django.http.request import split_domain_port, validate_host


def origin_allowed(origin: str, *, host: str, secure: bool) -> bool:
    """Whether a browser page at ``origin`` may use a request that reached ``host``.

    Exactly the request's own origin — scheme, host and port, the host one of
    ``ALLOWED_HOSTS`` — or one of ``CSRF_TRUSTED_ORIGINS``, as Django checks a form's Origin:
    a page on another port of the same host is another site.
    """
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    domain, _ = split_domain_port(host)
    own = f"{'https' if secure else 'http'}://{host}".lower()
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS) and origin.lower() == own
