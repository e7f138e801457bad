"""The combined fault run, short version (tests/faults/combined.py): two processes on
PostgreSQL + a private Redis, web chat and Telegram load, SIGKILL and restart of one
process, Redis stopped and restarted; every count printed and asserted 0."""

from __future__ import annotations

import pytest

from tests.conftest import provision_database

from . import combined

pytestmark = pytest.mark.postgres

# Two real defects this run finds intermittently (reported, not fixed yet — see README,
# Durability): (1) a web chat turn killed between its transcript commit and its
# de-duplication record is processed again when the widget retries it on the other
# process: its lines are recorded twice (duplicate replies 2 in one of four runs);
# (2) at --scale 2, 3 of 64 Telegram updates acknowledged around the Redis outage got no
# reply (cause not yet found; the other runs answered all). Non-strict until fixed: the
# counts are printed either way; make it strict (or drop the mark) once both are fixed.
KNOWN_DEFECTS = pytest.mark.xfail(strict=False, reason="intermittent: web chat lines recorded twice after SIGKILL; "
                                  "Telegram updates acknowledged around the Redis outage unanswered (README, Durability)")


@KNOWN_DEFECTS
async def test_combined_fault_run_counts_are_all_zero(private_redis, tmp_path):
    private_redis.stop()  # the fixture only checks redis-server exists; the run starts its own
    async with provision_database("postgres", tmp_path) as url:
        counts = await combined.run(tmp_path, url, combined.Size())
    print(f"\n{counts.line()}")
    assert counts.acknowledged_never_answered == 0
    assert counts.duplicate_replies == 0
    assert counts.lost_callbacks == 0
    assert counts.lost_transcript_lines == 0
    assert counts.callbacks_confirmed == combined.Size().callback_sessions  # the load really ordered them
