"""The retry policy: pauses, jitter, and when a call may be sent again."""

from __future__ import annotations

import http.client

import pytest

from rpc_cluster.client import retry
from rpc_cluster.core.errors import CallTimeout, TransportError


def test_pauses_grow_from_first_to_longest_and_stop_after_the_attempts():
    backoff = retry.Backoff(attempts=5, first=0.1, factor=2.0, longest=0.3, jitter=0.0)
    assert list(backoff.pauses()) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.3])


def test_jitter_spreads_each_pause_within_its_fraction():
    backoff = retry.Backoff(first=1.0, jitter=0.1)
    assert backoff.delay(1, rand=lambda: 0.0) == pytest.approx(0.9)
    assert backoff.delay(1, rand=lambda: 1.0) == pytest.approx(1.1)
    assert backoff.delay(3, rand=lambda: 0.5) == pytest.approx(4.0)


def test_without_attempts_it_keeps_going():
    pauses = retry.REGISTRATION.pauses()
    assert len([next(pauses) for _ in range(1000)]) == 1000


def test_the_cluster_policies_keep_their_measured_shapes():
    # Health checks: 3 attempts in quick succession, so a dead service leaves
    # passing within about one interval (README, registry benchmark).
    assert retry.HEARTBEAT.attempts == 3
    assert all(p <= 0.15 * 1.1 for p in retry.HEARTBEAT.pauses())
    assert retry.REGISTRATION.attempts is None and retry.SHIPPING.attempts is None


@pytest.mark.parametrize(
    "exc, connected, receiving, sent",
    [
        (ConnectionRefusedError(), False, False, False),
        (OSError("no route to host"), False, False, False),
        (TimeoutError(), False, False, False),  # the connection was never made
        (BrokenPipeError(), True, False, False),  # the server had reset it: it cannot have read the request
        (ConnectionResetError(), True, False, False),
        (http.client.RemoteDisconnected(), True, True, True),  # written, then lost: it may have run
        (ConnectionResetError(), True, True, True),
        (TimeoutError(), True, True, True),
        (OSError("other"), True, False, True),
    ],
)
def test_was_sent(exc, connected, receiving, sent):
    assert retry.was_sent(exc, connected=connected, receiving=receiving) is sent


def test_only_calls_whose_named_params_carry_a_request_id_are_repeatable():
    assert retry.carries_request_id({"student_id": 1, "request_id": "r-1"})
    assert not retry.carries_request_id({"student_id": 1, "request_id": None})
    assert not retry.carries_request_id({"student_id": 1})
    assert not retry.carries_request_id([1, "Quiz", "Quiz", 90, "r-1"])  # by position: cannot tell


def test_only_an_unsent_or_repeatable_call_may_be_sent_again():
    assert retry.may_send_again(TransportError("refused", sent=False))
    assert not retry.may_send_again(TransportError("lost", sent=True))
    assert not retry.may_send_again(CallTimeout("slow"))
    assert retry.may_send_again(CallTimeout("slow"), repeatable=True)


def test_a_call_is_repeatable_when_read_only_or_carrying_a_request_id():
    assert retry.is_repeatable("Grades.get_student", [1], {"Grades.get_student"})
    assert retry.is_repeatable("Grades.add_grade", {"student_id": 1, "request_id": "r-1"})
    assert not retry.is_repeatable("Grades.add_grade", {"student_id": 1}, {"Grades.get_student"})


def test_a_transport_resends_once_never_after_a_timeout_and_only_what_may_go_again():
    lost_unsent = TransportError("refused", sent=False)
    assert retry.transport_may_resend(lost_unsent, 1)
    assert not retry.transport_may_resend(lost_unsent, retry.TRANSPORT.attempts)
    assert not retry.transport_may_resend(TransportError("lost", sent=True), 1)
    assert retry.transport_may_resend(TransportError("lost", sent=True), 1, repeatable=True)
    assert not retry.transport_may_resend(CallTimeout("slow", sent=False), 1, repeatable=True)
