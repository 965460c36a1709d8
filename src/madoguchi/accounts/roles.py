"""Roles are Django groups; this module is the one place that says what each may do."""

from django.contrib.auth.models import Group, Permission

from .constants import Role

# Reading every benefits record: city officials and operators alike.
_BENEFITS_VIEW = [
    "benefits.view_programme",
    "benefits.view_programmeversion",
    "benefits.view_provider",
    "benefits.view_paymentlink",
    "benefits.view_publicfundaccount",
    "benefits.view_healthinsuranceregistration",
    "benefits.view_grant",
    "benefits.view_ledgertransfer",
    "benefits.view_payoutbatch",
]

# app_label.codename for each role. Later apps add their permissions here.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.DESK_STAFF: [],
    Role.SUPERVISOR: [
        "checklists.view_checklisttick",
        "terminals.view_terminal",
        "terminals.view_desksession",
        "incidents.view_incident",
        "reports.view_dailyreport",
        "reports.submit_dailyreport",
        "benefits.view_paymentlink",
    ],
    Role.CITY_OFFICIAL: [
        "terminals.view_terminal",
        "terminals.view_desksession",
        "audit.view_auditevent",
        "incidents.view_incident",
        "reports.view_dailyreport",
        "cases.view_case",
        "cases.view_timelineentry",
        "cases.view_legacylink",
        "cases.view_citycontact",
        "cases.add_citycontact",
        *_BENEFITS_VIEW,
        "checklists.view_checklisttemplate",
        "checklists.view_checklistitem",
        "checklists.view_checklisttick",
    ],
    Role.OPERATOR: [
        "accounts.view_organisation",
        "accounts.add_organisation",
        "accounts.change_organisation",
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "terminals.view_terminal",
        "terminals.add_terminal",
        "terminals.change_terminal",
        "terminals.view_terminalcredential",
        "terminals.view_desksession",
        "audit.view_auditevent",
        *_BENEFITS_VIEW,
        "benefits.add_programme",
        "benefits.change_programme",
        "benefits.add_programmeversion",
        "benefits.change_programmeversion",
        "benefits.add_provider",
        "benefits.change_provider",
        # The incident report's contact block (問い合わせ先), kept in the admin by the operator
        # (README, Setting up a city): only a superuser could open it.
        "cases.view_citycontact",
        "cases.add_citycontact",
        "cases.change_citycontact",
        "checklists.view_checklisttemplate",
        "checklists.add_checklisttemplate",
        "checklists.change_checklisttemplate",
        "checklists.view_checklistitem",
        "checklists.add_checklistitem",
        "checklists.change_checklistitem",
        "identity.view_trustanchor",
        "identity.add_trustanchor",
        "identity.change_trustanchor",
        "identity.view_revocationlist",
    ],
}


def ensure_roles() -> None:
    """Create the role groups and set their permissions (idempotent; runs after migrate)."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)
