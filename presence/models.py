"""Serving processes and the users with sockets open on them: presence across tabs and workers."""

from django.conf import settings
from django.db import models


class Worker(models.Model):
    """A serving process; its heartbeat tells whether its sockets are still alive."""

    key = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key


class Presence(models.Model):
    """A user with at least one socket open on a worker: one row per user and worker, however
    many tabs, so a second tab costs no write and a reconnect storm writes in batches."""

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presences"
    )
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["worker", "user"], name="presence_unique_worker_user")
        ]
        indexes = [models.Index(fields=["user"], name="presence_user")]

    def __str__(self) -> str:
        return f"{self.user} on {self.worker}"
