from django.contrib import admin

from rooms.models import Membership, Message, Room


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "owner", "is_private", "created_at"]
    list_filter = ["is_private"]
    search_fields = ["name", "title", "owner__username"]
    raw_id_fields = ["owner"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["room", "user", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["room__name", "user__username"]
    raw_id_fields = ["room", "user"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "room", "author", "short_body", "created_at", "edited_at"]
    list_filter = ["room"]
    search_fields = ["body", "author__username"]
    raw_id_fields = ["room", "author"]

    @admin.display(description="body")
    def short_body(self, message: Message) -> str:
        return message.body[:80]
