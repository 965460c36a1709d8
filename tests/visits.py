"""Driving a visit through the desk services, as the desk page and the agent do (one copy).

Tests of several apps start a visit with a card, sign the pending procedures and commit them;
they share these helpers instead of keeping their own.
"""

from madoguchi.desk import services
from tests import cardkit, checklistkit

ORIGIN = "http://127.0.0.1:8000"  # the tests' MADOGUCHI_ORIGIN (each app's conftest sets it)

# The card's presence window of the visits driven over a live server (the browser tests, the
# desk's end-to-end tests over HTTP and PC/SC). The agent, its presence reports and the live
# server run in the test's own process; on a loaded machine (and on SQLite, whose writers wait
# for one another) the visit's 6 s window could pass between two reports that were each on time
# from the agent's side. Under load, one browser run in 20 on SQLite ended its visit before the
# checklist was ticked, with no card removed, no refusal and the 300 s inactivity limit far
# off: only the presence window was left. None of those tests is about the lapse: it is tested
# with times computed from the setting (tests/desk/test_visits.py,
# tests/desk/test_agent_presence.py, the process faults). Card removal, which they do check,
# ends a visit at once whatever the window (with the short one, a removal the server never
# heard went unseen: the lapse ended the visit a few seconds later anyway).
LIVE_PRESENCE_TIMEOUT_SECONDS = 120


def start_visit(desk_session, card):
    """Start a visit on the desk session with the card's authentication token."""
    nonce = services.auth_challenge(desk_session=desk_session).value
    return services.visit_start(
        desk_session=desk_session, token=cardkit.auth_token(card, ORIGIN, nonce), nonce=nonce
    )


def sign_completion(desk_session, card):
    """The completion challenge and the card's token over exactly its transaction bytes
    (after ticking the checklist's required items, as staff do: the checklist fails closed)."""
    checklistkit.tick_before(desk_session)
    ch = services.completion_challenge(desk_session=desk_session)
    return ch, cardkit.completion_token(card, ORIGIN, ch.nonce.value, ch.transaction_bytes)


def commit(desk_session, card):
    """Sign and commit the pending procedures with the card."""
    ch, token = sign_completion(desk_session, card)
    return services.completion_commit(desk_session=desk_session, token=token, nonce=ch.nonce.value)


def verify_basic_four(desk_session, card):
    """The desk page's step after reading the card: the server verifies the basic four."""
    import base64

    files = cardkit.basic_four_files(card)
    return services.visit_basic_four(
        desk_session=desk_session,
        **{k: base64.b64decode(v) for k, v in files.items()},
    )


def commit_two_cards(desk_session, card, second_card):
    """Both cards sign the same challenge (the resident's first), then commit with both tokens."""
    ch, token = sign_completion(desk_session, card)
    second = cardkit.completion_token(second_card, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    return services.completion_commit(
        desk_session=desk_session, token=token, nonce=ch.nonce.value, second_token=second
    )


def commit_at_once(signed):
    """Commit each (desk session, challenge, token) from its own thread at the same moment (two
    desks racing); returns what each commit gave: its Completion, or the exception it raised
    (a Refusal; anything else, a 500 or a deadlock error, is returned too, for the test to see)."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(signed))
    results: list[object] = []

    def run(desk_session, ch, token):
        barrier.wait()
        try:
            results.append(
                services.completion_commit(
                    desk_session=desk_session, token=token, nonce=ch.nonce.value
                )
            )
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=s) for s in signed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
