"""REST error mapping: the services raise Django's exceptions; DRF answers with their status."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from calls.services import CallConflict
from rooms.services import PostingTooFast


class Conflict(exceptions.APIException):
    """The object is not in a state that allows this."""

    status_code = 409
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus "not found", Django validation errors, conflicts and rate limits."""
    if isinstance(exc, CallConflict):
        exc = Conflict(str(exc))
    elif isinstance(exc, PostingTooFast):
        exc = exceptions.Throttled(wait=exc.wait, detail=str(exc))  # DRF adds the wait
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for a URL nothing serves: JSON under /api/ (as the API's own 404s), else Django's."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception or Http404())
