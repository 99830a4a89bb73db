"""Rooms, who belongs to them, and what is said in them."""

from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator, RegexValidator
from django.db import connections, models, router, transaction

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,63}$",
    "Use 1-64 lowercase letters, digits or dashes, starting with a letter or digit.",
)


class Room(models.Model):
    """A chat room; private rooms are seen only by their members."""

    name = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    title = models.CharField(max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_rooms"
    )
    is_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The ``seq`` of the room's latest message, deleted or not.
    last_seq = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def next_seq(cls, room_id: int) -> int:
        """Take the room's next message number. The UPDATE locks the room's row until the
        transaction ends, so posts in one room number in commit order, with no gap and no
        number used twice; posts in other rooms do not wait. One round trip (RETURNING:
        PostgreSQL, SQLite ≥ 3.35)."""
        connection = connections[router.db_for_write(cls)]
        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",
                [room_id],
            )
            row = cursor.fetchone()
        if row is None:
            raise cls.DoesNotExist(f"No room {room_id}.")
        return int(row[0])


class Membership(models.Model):
    """A user's place in a room."""

    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="membership_unique_room_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.room} ({self.role})"


class Message(models.Model):
    """Something said in a room. Ids are the history cursor; ``seq`` numbers a room's messages
    1, 2, 3… so a client that sees one skipped knows it missed a message."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    body = models.TextField(
        validators=[
            MinLengthValidator(1),
            MaxLengthValidator(settings.PARLEY["MESSAGE_MAX_LENGTH"]),
        ]
    )
    # A client-chosen id: a retried send with the same one returns the first message.
    client_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    seq = models.PositiveBigIntegerField(editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["room", "id"], name="message_room_cursor")]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_unique_room_seq"),
            models.UniqueConstraint(
                fields=["author", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="message_unique_author_client_id",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.id} in {self.room_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new message takes its room's next ``seq`` in the transaction that stores it,
        whoever saves it (the services, the admin); without one the INSERT commits alone."""
        if self.seq is not None:
            return super().save(*args, **kwargs)
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            self.seq = Room.next_seq(self.room_id)
            super().save(*args, **kwargs)
