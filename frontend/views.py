from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    """The browser app; the CSRF cookie it sets lets the page sign out (a POST with a session)."""
    return render(request, "frontend/index.html")
