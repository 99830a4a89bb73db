from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from project.auth import MeSerializer


@never_cache
@ensure_csrf_cookie
def index(request: HttpRequest) -> HttpResponse:
    """The browser app; the CSRF cookie it sets lets the page sign out (a POST with a session).

    The page carries who is signed in (``/api/auth/me/``'s answer, or null), so a signed-out
    first load asks nothing that must fail; never cached, since it names the user.
    """
    user = MeSerializer(request.user).data if request.user.is_authenticated else None
    return render(request, "frontend/index.html", {"signed_in": user})
