from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from calls.api import CallViewSet
from frontend.views import index
from project.asyncapi import asyncapi_json
from project.health import healthz, readyz
from project.metrics import metrics_view
from rooms.api import MembershipViewSet, MessageViewSet, RoomViewSet

router = DefaultRouter()
router.register("rooms", RoomViewSet, basename="room")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("messages", MessageViewSet, basename="message")
router.register("calls", CallViewSet, basename="call")

urlpatterns = [
    path("", index, name="index"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("project.auth")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/asyncapi.json", asyncapi_json, name="asyncapi"),
    # Swagger UI sets style attributes: allowed on its page only, never inline script (its own
    # start-up script is a file too, the "split" view's).
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="docs",
    ),
    path("api/", include(router.urls)),
]

# Unknown URLs under /api/ answer JSON, like the API's own 404s.
handler404 = "project.rest.not_found"
