"""Tests leave ./var to the demo: a test's audit checkpoint (of the test database, signed with
the demo's key) was written to ./var/checkpoints, and the demo's `audit verify` then reported
its own log as rewritten."""

from pathlib import Path

import pytest

from madoguchi.audit import services as audit
from madoguchi.core import demo


@pytest.mark.django_db
def test_a_tests_checkpoint_is_written_apart_from_the_demos(settings, tmp_path):
    demo_dir = (Path.cwd() / "var" / "checkpoints").resolve()
    before = set(demo_dir.glob("*")) if demo_dir.exists() else set()
    demo.seed()
    demo.audit_checkpoint()
    audit.write_checkpoint()
    after = set(demo_dir.glob("*")) if demo_dir.exists() else set()
    assert after == before
    assert list((tmp_path / "checkpoints").glob("checkpoint-*.txt"))
