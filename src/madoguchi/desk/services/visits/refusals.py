"""The visit's refusals: the desk's own codes, and the fields refused for their text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

from madoguchi.language import english
from madoguchi.refusals import Refusal, Text

if TYPE_CHECKING:
    from ...models import Visit


class VisitRefused(Refusal):
    """A refused visit operation (the desk's own codes; other refusals pass through as they are)."""

    code = "visit_refused"
    status = 409
    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {
        "no_open_visit": (
            _("There is no open visit on this terminal."),
            404,
        ),
        # Said of the visit, not of the request: a visit that ended after its completion holds
        # that completion ("nothing was committed" sent a client to key it in again).
        "visit_ended": (
            _("The visit has ended; nothing more can be committed in it."),
            409,
        ),
        # `visit_ended` (its code) of a visit that had a completion.
        "visit_ended_after_completion": (
            _(
                "The visit has ended; nothing more can be committed in it. Its completion "
                "committed at %(time)s stands: see its receipt, do not enter it again."
            ),
            409,
        ),
        "certificate_mismatch": (
            _(
                "The card that signed is not the card that started the visit; nothing was committed."
            ),
            403,
        ),
        "nothing_pending": (
            _("There is no pending procedure to commit."),
            409,
        ),
        "challenge_other_visit": (
            _("The completion challenge belongs to another visit; nothing was committed."),
            409,
        ),
        "desk_session_closed": (_("Sign in again."), 401),
        # A call of the visit API made for another visit than the desk's open one (the desk
        # page's script names its visit in `X-Madoguchi-Visit`): a tab left on the previous
        # resident's visit, refused before anything is read or recorded (desk.api).
        "visit_changed": (
            _(
                "This page was for an earlier visit, which is not the visit open at this desk "
                "now, so nothing was recorded. Check the current visit on the desk page and do "
                "it again there if it is this resident's."
            ),
            409,
        ),
        "holder_changing": (
            _(
                "The card's holder was being changed (a renewed card linked to its old holder) "
                "as the visit started; no visit was started. Start the visit again with the card."
            ),
            409,
        ),
        "unknown_procedure": (_("This procedure is not available (%(kind)s)."), 400),
        "unknown_procedure_unnamed": (
            _(
                "This procedure is not available: the kind sent is not the name of any "
                "procedure (lower-case letters, digits and underscores, at most 40)."
            ),
            400,
        ),
        "procedure_not_pending": (_("No such pending procedure."), 404),
        "too_many_pending": (
            _(
                "This visit already holds %(limit)s procedures waiting for the resident's "
                "confirmation, more than one visit needs; nothing was added. Have the resident "
                "confirm them, or discard the ones not needed, then add this one."
            ),
            409,
        ),
        "second_signature_required": (
            _(
                "The legal representative's card must sign the same content too; nothing was "
                "committed."
            ),
            403,
        ),
        "second_signature_unexpected": (
            _("No second card authenticated in this visit; nothing was committed."),
            400,
        ),
        "second_certificate_mismatch": (
            _(
                "The second signature is not from the legal representative's card that "
                "authenticated in this visit (a card was swapped); nothing was committed."
            ),
            403,
        ),
    }


class FieldsRefused(VisitRefused):
    """Fields carry text that cannot be accepted; `errors` maps each field path to what is wrong
    (English, for the API's `fields`); pages mark the fields with `FIELD_MESSAGE`."""

    code = "text_not_allowed"
    status = 400
    message = _(
        "Some fields contain characters that cannot be accepted (control characters or broken "
        "characters): %(fields)s. Nothing was stored; enter them again."
    )

    def __init__(self, *, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(
            detail="; ".join(f"{name}: {why}" for name, why in sorted(errors.items())),
            params={"fields": ", ".join(sorted(errors))},
        )

    @property
    def form_fields(self) -> set[str]:
        """The top-level field names at fault (a page's form fields)."""
        return {name.split(".")[0].split("[")[0] for name in self.errors}

    def as_body(self) -> dict[str, Any]:
        return {**super().as_body(), "fields": self.errors}

    def text_naming(self, labels: Mapping[str, Any]) -> str:
        """The message in the active language naming the fields by a page's `labels` (its
        form's field labels), not by their codes; a field without a label keeps its name."""
        japanese = not english()
        names = [str(labels.get(name) or name) for name in sorted(self.form_fields)]
        return str(self.message) % {"fields": ("、" if japanese else ", ").join(names)}


FIELD_MESSAGE = _(
    "This field contains a character that cannot be accepted (a control character or a "
    "broken character). Enter it again."
)


def refuse_unless_expected(visit: Visit | None, expected_visit: str | None) -> None:
    """The one comparison of the visit a call was made for (`expected_visit`: the reference a
    desk form or the visit API's `X-Madoguchi-Visit` names; None: the call names none and acts
    on the open visit) with the visit it is about to act on (`visit`; None: none is open).
    Called under that visit's row lock, in the transaction that acts, so a visit that starts
    between a call's early check and its act is refused here: `visit_changed`, as the early
    check refuses (desk.api `_refuse_for_another_visit`, desk.views `_shown_for_another_visit`).
    """
    if expected_visit is None:
        return
    if visit is None or visit.reference != expected_visit:
        shown = visit.reference if visit is not None else "none"
        raise VisitRefused.of("visit_changed", detail=f"open: {shown}")
