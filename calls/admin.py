from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from calls.models import Call, Ice, Sdp


class SignalingAdmin(admin.ModelAdmin):
    """Rows the server writes as calls happen: read and deleted here, never made up by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class SdpInline(admin.TabularInline):
    model = Sdp
    extra = 0
    fields = ["type", "sender", "created_at"]
    readonly_fields = ["type", "sender", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Call | None = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(SignalingAdmin):
    """The call log a support person reads: who, when, how long, how it ended."""

    list_display = [
        "id", "caller", "callee", "state", "end_reason", "created_at", "answered_at",
        "ended_at", "duration",
    ]
    list_filter = ["state", "end_reason", "created_at"]
    search_fields = ["caller__username", "callee__username", "caller__first_name",
                     "callee__first_name"]
    date_hierarchy = "created_at"
    raw_id_fields = ["caller", "callee", "room"]
    readonly_fields = ["created_at", "expires_at", "answered_at", "ended_at", "end_reason",
                       "state", "caller_gone_at", "callee_gone_at"]
    inlines = [SdpInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Call]:
        return super().get_queryset(request).select_related("caller", "callee")

    @admin.display(description="duration")
    def duration(self, call: Call) -> str:
        if call.answered_at and call.ended_at:
            seconds = int((call.ended_at - call.answered_at).total_seconds())
            return f"{seconds // 60}:{seconds % 60:02d}"
        return "—"


@admin.register(Sdp)
class SdpAdmin(SignalingAdmin):
    list_display = ["id", "call", "sender", "type", "created_at"]
    list_filter = ["type"]
    raw_id_fields = ["call", "sender"]


@admin.register(Ice)
class IceAdmin(SignalingAdmin):
    list_display = ["id", "call", "sender", "sdp_mid", "created_at"]
    raw_id_fields = ["call", "sender"]
