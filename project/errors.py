"""Domain errors, and the one table that gives every error its status on REST and socket alike.

Services raise Django's own exceptions (``ObjectDoesNotExist``, ``PermissionDenied``,
``ValidationError``) or the two below; transports never map them themselves: REST passes
``as_api_exception(exc)`` to DRF's handler, the socket turns the same into an error frame.
"""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions

from project.outage import redis_outage


class Conflict(Exception):
    """The object is not in a state that allows this (409)."""


class RateLimited(Exception):
    """Too many of these too fast (429); ``wait`` seconds until the next is allowed."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message, wait)
        self.message = message
        self.wait = wait

    def __str__(self) -> str:
        return self.message


class ConflictError(exceptions.APIException):
    """409, as DRF answers it."""

    status_code = 409
    default_code = "conflict"


class ServiceUnavailableError(exceptions.APIException):
    """503: something the server needs did not answer; nothing was done, try again."""

    status_code = 503
    default_code = "service_unavailable"
    default_detail = "The server cannot reach a service it needs. Nothing was done: try again."
    retry_after = 5  # seconds: what REST says in Retry-After


def as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """The DRF exception that ``exc`` stands for; None for anything else (a bug: 500)."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if redis_outage.noticed(exc):
        return ServiceUnavailableError()
    if isinstance(exc, Conflict):
        return ConflictError(str(exc))
    if isinstance(exc, RateLimited):
        return exceptions.Throttled(wait=exc.wait, detail=str(exc))  # DRF adds the wait
    if isinstance(exc, (ObjectDoesNotExist, Http404)):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, ValidationError):
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    return None


def error_reply(exc: Exception) -> tuple[int, list[Any]]:
    """The status and ``errors`` list of an error frame for ``exc``."""
    api = as_api_exception(exc)
    if api is None:
        return 500, ["Internal error."]
    detail = api.detail
    return api.status_code, detail if isinstance(detail, list) else [detail]
