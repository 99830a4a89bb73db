"""REST error mapping: DRF answers every domain error with the status of project/errors.py."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from project.errors import ServiceUnavailableError, as_api_exception


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, for DRF's own exceptions and every domain error alike."""
    api = as_api_exception(exc)
    response = drf_exception_handler(api or exc, context)
    if response is not None and isinstance(api, ServiceUnavailableError):
        response["Retry-After"] = str(api.retry_after)
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for a URL nothing serves: JSON under /api/ (as the API's own 404s), else Django's."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception or Http404())
