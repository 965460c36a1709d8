from importlib import import_module
from typing import Any

from django.apps import AppConfig, apps
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_national_programme(sender: Any, **kwargs: Any) -> None:
    """The national programme exists after every migrate and every test-database flush (as
    permissions do): the data migration seeds it once, this puts it back after a flush."""
    import_module("madoguchi.benefits.migrations.0002_national_programme").seed(apps, None)


class BenefitsConfig(AppConfig):
    name = "madoguchi.benefits"
    verbose_name = _("Benefits")

    def ready(self) -> None:
        # Imported in ready(): these modules use models, not loaded while the apps are.
        from madoguchi.desk import procedures as desk_procedures

        from . import checks, events, procedures, receivers  # noqa: F401  (registrations)
        from .constants import RELATIONSHIP_ROLES
        from .services.representatives import representative_label, representative_route_check

        if representative_label not in desk_procedures.SECOND_CARD_LABELS:
            desk_procedures.SECOND_CARD_LABELS.append(representative_label)
        if representative_route_check not in desk_procedures.HANDOVER_CHECKS:
            desk_procedures.HANDOVER_CHECKS.append(representative_route_check)
        if not desk_procedures.SECOND_CARD_ROLES:
            desk_procedures.SECOND_CARD_ROLES.extend(RELATIONSHIP_ROLES)

        request_started.connect(
            events.provider_names_memo_start, dispatch_uid="madoguchi.benefits.names_start"
        )
        request_finished.connect(
            events.provider_names_memo_end, dispatch_uid="madoguchi.benefits.names_end"
        )
        post_migrate.connect(
            _seed_national_programme, sender=self, dispatch_uid="madoguchi.benefits.seed"
        )
