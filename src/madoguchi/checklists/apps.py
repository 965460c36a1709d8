from importlib import import_module
from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _install_after_flush(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """The desk manual's checklist is back after a flush, as the migration installed it on a
    fresh database: `flush` empties every table, and a flushed database is a fresh one. Only
    when no `desk` checklist exists at all: an operator who switched every version off on
    purpose keeps completions refused (fails closed), and a kept version is never changed."""
    template = apps.get_model("checklists", "ChecklistTemplate")
    if template.objects.using(using).filter(name="desk").exists():
        return
    # As the data migrations leave it: 0002 installs it, 0004 rewords its own-name item.
    import_module("madoguchi.checklists.migrations.0002_default_checklist").install(apps, None)
    import_module("madoguchi.checklists.migrations.0004_own_name_minor_exception").reword(
        apps, None
    )


class ChecklistsConfig(AppConfig):
    name = "madoguchi.checklists"
    verbose_name = _("Checklists")

    def ready(self) -> None:
        # Imported here, not at the top: models may be imported only once apps are loaded.
        from madoguchi.desk import procedures

        from . import checks, events, selectors, services  # noqa: F401 (events registers on import)

        if services.pre_completion_check not in procedures.PRE_COMPLETION_CHECKS:
            procedures.PRE_COMPLETION_CHECKS.append(services.pre_completion_check)
        if services.visit_end_check not in procedures.VISIT_END_HOOKS:
            procedures.VISIT_END_HOOKS.append(services.visit_end_check)
        if services.settle_ended not in procedures.DESK_MOVES_ON_HOOKS:
            procedures.DESK_MOVES_ON_HOOKS.append(services.settle_ended)
        if services.summary_changed not in procedures.SUMMARY_CHANGE_HOOKS:
            procedures.SUMMARY_CHANGE_HOOKS.append(services.summary_changed)
        procedures.checklist_install(DeskChecklist(selectors.rows, services))
        post_migrate.connect(
            _install_after_flush, sender=self, dispatch_uid="madoguchi.checklists.after_flush"
        )


class DeskChecklist:
    """The checklist as the desk's pages see it (`desk.procedures.VisitChecklist`)."""

    def __init__(self, rows: Any, services: Any) -> None:
        self.rows = rows
        self.tick_many = services.tick_many
        self.ended_open_to_ticks = services.ended_open_to_ticks
        self.tick_after_end = services.tick_after_end
