"""``manage.py asyncapi``: the socket's AsyncAPI document, or its TypeScript declarations."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from project.asyncapi import document, protocol
from project.typescript import declarations


class Command(BaseCommand):
    """Print the AsyncAPI document (as /api/asyncapi.json serves it), or write files."""

    help = "Print the socket's AsyncAPI 3.0 document; --typescript/--json write files instead."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--typescript", metavar="PATH", help="write the .d.ts there")
        parser.add_argument("--json", metavar="PATH", help="write the AsyncAPI document there")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["typescript"] and not options["json"]:
            self.stdout.write(json.dumps(document(), indent=2))
            return
        if options["json"]:
            Path(options["json"]).write_text(json.dumps(document(), indent=2) + "\n")
            self.stdout.write(f"Wrote {options['json']}")
        if options["typescript"]:
            Path(options["typescript"]).write_text(declarations(protocol()))
            self.stdout.write(f"Wrote {options['typescript']}")
