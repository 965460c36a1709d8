"""`madoguchi scenario sakai`: replay the seed's incident against a running server and agent."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Procedure
from madoguchi.scenario.sakai import KIND, SakaiConfig, run


def demo_scenario_file() -> Path:
    return settings.DATA_DIR / "demo" / "scenario.json"


class Command(BaseCommand):
    help = "Replay the Sakai incident (resident A's open visit, B's application) against a running desk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=["sakai"])
        parser.add_argument("--server", help="Server URL (default: the running demo's).")
        parser.add_argument("--agent", help="Card agent URL of the terminal.")
        parser.add_argument("--terminal-credential", help="The terminal's credential.")
        parser.add_argument("--username")
        parser.add_argument("--password")
        parser.add_argument("--card-a", default="resident-a")
        parser.add_argument("--card-b", default="resident-b")
        parser.add_argument("--card-dir", help="Folder of the virtual card files.")

    def handle(self, *args: object, **opts: object) -> None:
        defaults: dict[str, str] = {}
        path = demo_scenario_file()
        if path.exists():
            defaults = json.loads(path.read_text())
        values = {
            key: opts.get(key) or defaults.get(key)
            for key in (
                "server",
                "agent",
                "terminal_credential",
                "username",
                "password",
                "card_dir",
            )
        }
        missing = [k for k, v in values.items() if not v and k != "card_dir"]
        if missing:
            raise CommandError(
                "Missing "
                + ", ".join("--" + m.replace("_", "-") for m in missing)
                + " (start `make demo` first, or pass them)."
            )
        config = SakaiConfig(
            server=str(values["server"]),
            agent=str(values["agent"]),
            terminal_credential=str(values["terminal_credential"]),
            username=str(values["username"]),
            password=str(values["password"]),
            card_a=str(opts["card_a"]),
            card_b=str(opts["card_b"]),
            card_dir=Path(str(values["card_dir"])) if values["card_dir"] else None,
        )
        result = run(config, say=self.stdout.write)
        wrong_in_db = self._committed_for_wrong_person(config)
        if wrong_in_db is not None:
            self.stdout.write(
                f"Database check: {wrong_in_db} procedure(s) with B's account committed."
            )
        if not result.ok or wrong_in_db:
            raise CommandError(
                "The scenario found a commit for the wrong person (or a step failed)."
            )

    def _committed_for_wrong_person(self, config: SakaiConfig) -> int | None:
        """When this command shares the server's database (the demo), look there too."""
        try:
            return Procedure.objects.filter(
                kind=KIND,
                status=ProcedureStatus.COMMITTED,
                fields__account=config.b_fields["account"],
            ).count()
        except Exception:
            return None
