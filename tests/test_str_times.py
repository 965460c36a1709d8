"""Times in model names (the Django admin's object names and lists) are the city's local time
(JST), as everywhere people read a time; 03:30 UTC reads 12:30."""

from datetime import UTC, datetime

from madoguchi.audit.models import UnauthenticatedTally
from madoguchi.desk.models import Completion, Visit
from madoguchi.identity.models import Nonce, RevocationList
from madoguchi.residents.models import SignInChallenge

AT = datetime(2026, 11, 30, 3, 30, 15, tzinfo=UTC)  # 12:30:15 in Tokyo


def test_model_names_show_local_time():
    names = [
        str(RevocationList(issuer_dn="CN=test", this_update=AT)),
        str(Nonce(purpose="auth", issued_at=AT)),
        str(UnauthenticatedTally(kind="sign_in", source="127.0.0.1", minute=AT, count=2)),
        str(SignInChallenge(issued_at=AT)),
        str(Completion(visit=Visit(), committed_at=AT)),
    ]
    for name in names:
        assert "12:30" in name, name
        assert "03:30" not in name, name
