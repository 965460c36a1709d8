from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChecklistsConfig(AppConfig):
    name = "madoguchi.checklists"
    verbose_name = _("Checklists")

    def ready(self) -> None:
        from madoguchi.desk import procedures

        from . import (
            checks,  # noqa: F401
            events,  # noqa: F401
        )
        from .services import pre_completion_check, visit_end_check

        if pre_completion_check not in procedures.PRE_COMPLETION_CHECKS:
            procedures.PRE_COMPLETION_CHECKS.append(pre_completion_check)
        if visit_end_check not in procedures.VISIT_END_HOOKS:
            procedures.VISIT_END_HOOKS.append(visit_end_check)
