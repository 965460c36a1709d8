"""The scan's causes, name checks, desk events and programmes as the officials' pages name them,
in the page's language. The Japanese is the scan's own words (`madoguchi.scan.labels`, which
its Japanese reports use), or the catalogue's where it already had the phrase."""

from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from madoguchi.scan.labels import LOGOUT_OMISSION_BY_COMMIT, logout_other_check, recorded_check

CAUSE_NAMES = {
    "logout_omission": _("Sign-out omitted"),
    "typed_wrong_id": _("ID typed wrong"),
    "lent_terminal": _("Terminal or sign-in lent"),
    "wrong_card": _("Cards mixed up"),
    "family_account": _("A family member's account (not a mis-link)"),
}
CHECK_NAMES = {0: _("match"), 1: _("close match"), 2: _("no match"), 3: _("holder unknown")}
EVENT_NAMES = {
    "login": _("sign-in"),
    "logout": _("sign-out"),
    "card_read": _("card read"),
    "card_removed": _("card removed"),
    "commit": _("committed"),
}
PROGRAMME_NAMES = {
    "mynapoint_2": _("Mynapoint, second round"),
    "public_fund": _("Public-fund receiving account"),
    "health_insurance": _("Health-insurance use registration"),
}


HOLDER_NAMES = {
    "mynapoint_2": pgettext_lazy("scan holder", "the account holder name"),
    "public_fund": pgettext_lazy("scan holder", "the account holder name"),
    "health_insurance": pgettext_lazy("scan holder", "the insured person's name"),
}
LINKED_NAMES = {
    "mynapoint_2": pgettext_lazy("scan linked", "payment service"),
    "public_fund": pgettext_lazy("scan linked", "account"),
    "health_insurance": pgettext_lazy("scan linked", "insurance qualification"),
}
TYPED_NAMES = {
    "mynapoint_2": pgettext_lazy("scan typed", "payment service ID"),
    "public_fund": pgettext_lazy("scan typed", "account number"),
    "health_insurance": pgettext_lazy("scan typed", "insured person's number"),
}


def reasoning(finding: Any) -> str:
    """A finding's reasoning in the page's language, from its evidence columns, in the words of
    its programme and channel. In Japanese it is the scan's own sentence
    (`madoguchi.scan.report.explain_ja`, which the run stored and its cases' intake keeps); the
    English page no longer shows that stored Japanese text."""
    res, other = finding.resident_id, finding.other_resident_id
    checked = recorded_check(finding.holder_check)
    check = CHECK_NAMES.get(checked, "")
    programme = finding.programme if finding.programme in HOLDER_NAMES else "mynapoint_2"
    holder = str(HOLDER_NAMES[programme])
    words = {
        "resident": res,
        "other": other,
        "check": check,
        "holder": holder,
        "Holder": capfirst(holder),
        "linked": LINKED_NAMES[programme],
        "typed": TYPED_NAMES[programme],
    }
    # The holder against the resident as a sentence of its own (「…と名義不明です」 read as
    # "is holder-unknown with"): the finding page's own sentences.
    words["compared"] = str(CHECK_SENTENCES.get(checked, CHECK_SENTENCES[3])) % words
    cause = finding.cause
    if cause == "logout_omission":
        if finding.rule == LOGOUT_OMISSION_BY_COMMIT:
            said = (
                gettext(
                    "Committed as %(resident)s's procedure, but a procedure of %(other)s's was "
                    "committed before it at the terminal, with neither a sign-out nor a card "
                    "reading between. %(compared)s"
                )
                % words
            )
        else:
            said = (
                gettext(
                    "Committed as %(resident)s's procedure, but the card read last at the "
                    "terminal was %(other)s's, with neither a sign-out nor a reading of "
                    "%(resident)s's card after it. %(compared)s"
                )
                % words
            )
        against_other = logout_other_check(finding.score)
        if against_other == 0:
            more = (
                gettext(
                    "%(Holder)s matches %(other)s: %(other)s's %(linked)s may have been linked "
                    "in %(resident)s's procedure."
                )
                % words
            )
        elif against_other == 1:
            more = gettext("%(Holder)s is close to %(other)s's name.") % words
        elif against_other == 2:
            more = gettext("%(Holder)s does not match %(other)s either.") % words
        else:
            return said
        # Sentences are joined with a space in English, without one in Japanese.
        return gettext("%(sentence)s %(next)s") % {"sentence": said, "next": more}
    if cause == "wrong_card":
        return (
            gettext(
                "Committed after reading %(resident)s's card, but %(holder)s matches "
                "%(other)s, of another household served just before or after (the cards may "
                "have been mixed up)."
            )
            % words
        )
    if cause == "lent_terminal":
        if not finding.session_staff:
            return gettext(
                "Committed in the name of staff %(staff)s, but nobody was signed in at this "
                "terminal then. %(compared)s"
            ) % {**words, "staff": finding.staff_id}
        return gettext(
            "Committed in the name of staff %(staff)s, but %(who)s was signed in at this "
            "terminal then. %(compared)s"
        ) % {**words, "staff": finding.staff_id, "who": finding.session_staff}
    if cause == "family_account":
        return (
            gettext(
                "%(Holder)s matches %(other)s, of the same household: a family member's "
                "%(linked)s, not a mis-link."
            )
            % words
        )
    if finding.channel == "self":
        return (
            gettext(
                "%(Holder)s against %(resident)s: %(check)s, and it matches no one of the same "
                "household (an application by the resident themselves: the %(typed)s may have "
                "been typed wrong)."
            )
            % words
        )
    return (
        gettext(
            "%(Holder)s against %(resident)s: %(check)s, and it matches none of the residents "
            "served just before or after, nor anyone of the same household (the %(typed)s may "
            "have been typed wrong)."
        )
        % words
    )


# A finding's name check in a plain sentence (the finding page, beside the holder's name).
CHECK_SENTENCES = {
    0: _("%(Holder)s matches resident %(resident)s's name."),
    1: _("%(Holder)s is close to resident %(resident)s's name but not the same (a close match)."),
    2: _("%(Holder)s does not match resident %(resident)s's name."),
    3: _(
        "%(Holder)s could not be checked against resident %(resident)s's name: the scan's "
        "input gave no holder's name, or the resident is not in its residents."
    ),
}


def check_sentence(finding: Any) -> str:
    """The finding's name check (`holder_check`) said as a sentence, in its programme's words
    (an insurance registration's holder is the insured person)."""
    programme = finding.programme if finding.programme in HOLDER_NAMES else "mynapoint_2"
    checked = recorded_check(finding.holder_check)
    said = CHECK_SENTENCES.get(checked, CHECK_SENTENCES[3])
    return str(said) % {
        "Holder": capfirst(str(HOLDER_NAMES[programme])),
        "resident": finding.resident_id,
    }
