"""`madoguchi scenario sakai` given a --server or --agent that is no URL, or one that does not
answer: one line saying which and what to give."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

ARGS = ["--terminal-credential", "c", "--username", "u", "--password", "p"]


@pytest.fixture(autouse=True)
def _no_demo_file(settings, tmp_path):
    settings.DATA_DIR = tmp_path  # no demo's scenario.json to fill in what is not given


@pytest.mark.parametrize(
    ("server", "agent", "says"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:47110", "--server is '127.0.0.1:8000': give the server's URL"),
        ("http://127.0.0.1:8000", "ftp://x", "--agent is 'ftp://x': give the agent's URL"),
    ],
)  # fmt: skip
def test_a_server_or_agent_that_is_no_url_is_named(server, agent, says):
    """httpx's words were printed with a doubled full stop ("… protocol.. Is the demo …")."""
    with pytest.raises(CommandError) as refused:
        call_command(
            "scenario", "sakai", "--server", server, "--agent", agent, *ARGS,
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    assert str(refused.value).startswith(says)
    assert "starting http:// or https://" in str(refused.value)


def test_a_server_that_does_not_answer_is_one_sentence():
    with pytest.raises(CommandError) as refused:
        call_command(
            "scenario", "sakai", "--server", "http://127.0.0.1:1", "--agent", "http://127.0.0.1:1",
            *ARGS, stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
    said = str(refused.value)
    assert said.startswith("Could not reach http://127.0.0.1:1/")
    assert ".." not in said
    assert said.endswith("Is the demo running (`make demo`), or are --server and --agent right?")
