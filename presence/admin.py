from django.contrib import admin
from django.http import HttpRequest

from presence.models import Presence, Worker


class TrackedAdmin(admin.ModelAdmin):
    """Rows the presence tracker keeps for open sockets: read and deleted here, never added."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Presence)
class PresenceAdmin(TrackedAdmin):
    list_display = ["user", "worker", "since"]
    raw_id_fields = ["user"]


@admin.register(Worker)
class WorkerAdmin(TrackedAdmin):
    list_display = ["key", "seen_at"]
