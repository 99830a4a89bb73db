"""``manage.py expire_guests``: deactivate guests idle past PARLEY_GUEST_TTL days (run daily)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from presence.services import guests_expire


class Command(BaseCommand):
    help = "Deactivate guest accounts idle for more than PARLEY_GUEST_TTL days (default 30)."

    def handle(self, *args: Any, **options: Any) -> None:
        expired = guests_expire()
        days = settings.PARLEY["GUEST_TTL_DAYS"]
        self.stdout.write(f"{len(expired)} guests idle for more than {days} days deactivated.")
