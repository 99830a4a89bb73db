from django.contrib import admin

from presence.models import Presence, Worker


@admin.register(Presence)
class PresenceAdmin(admin.ModelAdmin):
    list_display = ["user", "worker", "since"]
    raw_id_fields = ["user"]


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ["key", "seen_at"]
