"""AnswerSlots: the one bound on concurrent answers shared by the chat, the HTTP API and MCP."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.errors import ServiceBusy
from assistant.slots import AnswerSlots


def _occupy(slots: AnswerSlots, n: int, release: threading.Event) -> list[threading.Thread]:
    def hold():
        with slots.hold():
            release.wait(10)

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while slots.load() < n and time.monotonic() < deadline:
        time.sleep(0.005)
    return threads


def test_one_running_the_rest_wait_then_busy():
    slots = AnswerSlots(active=1, waiting=2, wait_s=5)
    release = threading.Event()
    threads = _occupy(slots, 3, release)
    assert slots.load() == 3 and slots.full()
    with pytest.raises(ServiceBusy) as info, slots.hold():
        pass
    assert info.value.retry_after_s > 0 and "retry" in info.value.fix
    release.set()
    for t in threads:
        t.join(5)
    assert slots.load() == 0
    with slots.hold():
        assert slots.load() == 1


def test_pending_work_elsewhere_counts_and_admitted_work_waits():
    outside = [2]
    slots = AnswerSlots(active=1, waiting=1, wait_s=0.2, pending=lambda: outside[0])
    assert slots.full()
    with pytest.raises(ServiceBusy), slots.hold():
        pass
    with slots.hold(admitted=True):  # already admitted by the other queue: runs
        outside[0] = 0
        with pytest.raises(ServiceBusy, match="within"), slots.hold():  # the one slot is taken: times out
            pass
    assert slots.load() == 0
