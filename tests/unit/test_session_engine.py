"""The session engine's order rules, over random sequences of frames and completions.

`Adapter` carries out the engine's actions the way service/net/connection.py does, but with no
socket: a reply is "sent" when the real one would be (a pipelined request's when its round is
answered, a serial one's when its worker is done, a refusal's at once), so the order of
`replies` is the order the client would read them in.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from service.config import ServerConfig
from service.core.engine import (
    ADD_PIPELINED,
    ADD_WINDOWED,
    FINISH,
    FRAME_ERROR,
    JUDGE_LOGIN,
    MAX_IN_FLIGHT,
    MAX_WAITING,
    REFUSE,
    RUN_INLINE,
    RUN_SERIAL,
    SessionEngine,
)
from service.core.session import EndReason, SessionState
from service.limits.guard import Guard
from service.wire.codec import FrameError, FrameProblem
from service.wire.errors import ErrorCode, RequestError

CONFIG = ServerConfig(
    request_rate=1,  # small, so that refusals happen
    request_burst=2,
    login_failures_per_minute=6,
    login_failure_burst=4,
    max_refused_logins=3,
    max_bad_frames=3,
    timeout_s=100,
    login_timeout_s=30,
)
STARTS = {ADD_WINDOWED, ADD_PIPELINED, RUN_INLINE, RUN_SERIAL, JUDGE_LOGIN, REFUSE}
OPS = ["message", "ack", "say", "read", "ping", "login", "register", "whoelse", "logout", 7]
BAD = FrameError(FrameProblem.BAD_FRAME, "not JSON")


class Adapter:
    """What a wire adapter does with the actions, recorded."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.engine = SessionEngine(
            SessionState(CONFIG.timeout_s, last_activity=now),
            Guard(CONFIG, max_connections=10),
            "198.51.100.7",
            now,
            login_deadline=now + CONFIG.login_timeout_s,
            max_bad_frames=CONFIG.max_bad_frames,
            max_refused_logins=CONFIG.max_refused_logins,
        )
        self.next_id = 0
        self.replies: list[int] = []  # request ids, in the order the client reads them
        self.refusals: list[tuple[int, RequestError]] = []
        self.round: list[int] = []  # in the round, unanswered, in order
        self.running: tuple[int, str] | None = None  # a serial request or login: (id, op)
        self.started: list[Any] = []  # ops started, in order
        self.frame_errors = 0
        self.finished: list[EndReason] = []
        self.pool_full = False  # the auth pool refuses to queue

    def frame(self, op: Any) -> dict[str, Any]:
        self.next_id += 1
        return {"op": op, "id": self.next_id}

    def feed(self, ops: list[Any]) -> None:
        self.engine.receive(BAD if op == "bad" else self.frame(op) for op in ops)
        self.drain()

    def drain(self) -> None:
        engine = self.engine
        while (action := engine.next_action(self.now)) is not None:
            kind, item, detail = action
            assert not self.finished, f"{kind} after the finish"
            if kind in STARTS:
                assert engine.ending is None, f"{kind} after the end"
                assert self.running is None, "started beside a serial request"
            if kind is ADD_WINDOWED or kind is ADD_PIPELINED:
                for frame in item if kind is ADD_WINDOWED else [item]:
                    self.started.append(frame["op"])
                    if engine.state.logged_in:
                        self.round.append(frame["id"])
                    else:  # the adapter answers not_logged_in at once
                        self.replies.append(frame["id"])
                        engine.answered_at_once()
            elif kind is RUN_INLINE:
                self.started.append(item["op"])
                self.replies.append(item["id"])
            elif kind is RUN_SERIAL or kind is JUDGE_LOGIN:
                self.started.append(item["op"])
                if kind is JUDGE_LOGIN and self.pool_full:
                    self.refuse(item["id"], engine.login_not_queued(self.now))
                else:
                    self.running = (item["id"], item["op"])
            elif kind is REFUSE:
                self.refuse(item["id"], detail)
            elif kind is FRAME_ERROR:
                self.frame_errors += 1
            else:
                assert kind is FINISH
                assert engine.in_flight == 0 and not engine.busy, "finished while busy"
                assert not self.round and self.running is None
                self.finished.append(detail)
        assert engine.in_flight == len(self.round) <= MAX_IN_FLIGHT

    def refuse(self, request_id: int, refusal: RequestError) -> None:
        self.replies.append(request_id)
        self.refusals.append((request_id, refusal))

    def answer_round(self, count: int) -> None:
        answered, self.round = self.round[:count], self.round[count:]
        self.replies.extend(answered)
        if self.engine.pipelined_done(count):
            self.drain()

    def finish_serial(self, outcome: str = "ok") -> None:
        """The worker is done: the reply is out; a login may have logged in or been refused."""
        assert self.running is not None
        request_id, op = self.running
        self.replies.append(request_id)
        self.running = None
        if outcome == "logged_in" and op == "login" and not self.engine.state.logged_in:
            self.engine.state.user, self.engine.state.user_id = "ann", 1
        if outcome == "counted" and op in ("login", "register"):
            self.engine.login_refused()  # posted before the serial_done, as the adapter does
            self.drain()
        self.engine.serial_done(EndReason.LOGOUT if op == "logout" else None)
        self.drain()


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.a = Adapter()
        self.eof = False

    @initialize(logged_in=st.booleans())
    def start(self, logged_in: bool) -> None:
        """Half the runs start logged in, where the pipelined lanes open up."""
        if logged_in:
            self.a.engine.state.user, self.a.engine.state.user_id = "ann", 1

    @precondition(lambda self: self.a.engine.reading)
    @rule(ops=st.lists(st.sampled_from([*OPS, "bad"]), min_size=1, max_size=12))
    def frames(self, ops: list[Any]) -> None:
        self.a.feed(ops)

    @precondition(lambda self: self.a.engine.reading)
    @rule(ops=st.lists(st.sampled_from(["say", "read", "message"]), min_size=1, max_size=6))
    def pipelined(self, ops: list[Any]) -> None:
        """The lanes that share the window and the request bucket, more often."""
        self.a.feed(ops)

    @precondition(lambda self: self.a.engine.reading)
    @rule(count=st.integers(50, 300), op=st.sampled_from(["message", "ack"]))
    def a_burst(self, count: int, op: str) -> None:
        self.a.feed([op] * count)

    @precondition(lambda self: self.a.round)
    @rule(data=st.data())
    def round_answered(self, data: st.DataObject) -> None:
        self.a.answer_round(data.draw(st.integers(1, len(self.a.round))))

    @precondition(lambda self: self.a.running is not None)
    @rule(outcome=st.sampled_from(["ok", "logged_in", "counted", "not_counted"]))
    def serial_finished(self, outcome: str) -> None:
        self.a.finish_serial(outcome)

    @rule()
    def pool_full_toggles(self) -> None:
        self.a.pool_full = not self.a.pool_full

    @precondition(lambda self: self.a.engine.reading)
    @rule()
    def peer_sent_its_last_byte(self) -> None:
        self.eof = True
        self.a.engine.receive_eof()
        self.a.drain()

    @rule(reason=st.sampled_from([EndReason.SHUTDOWN, EndReason.SLOW_CONSUMER]))
    def ended(self, reason: EndReason) -> None:
        self.a.engine.end(reason)
        self.a.drain()

    @rule(seconds=st.floats(0, 40))
    def time_passes(self, seconds: float) -> None:
        self.a.now += seconds
        self.a.engine.check_idle(self.a.now)
        self.a.drain()

    @invariant()
    def replies_leave_in_request_order(self) -> None:
        assert self.a.replies == sorted(set(self.a.replies))

    @invariant()
    def reading_pauses_only_past_max_waiting(self) -> None:
        engine = self.a.engine
        if engine.ending is None and not self.a.engine.reading:
            assert engine.waiting >= MAX_WAITING or self.eof

    @invariant()
    def an_idle_session_has_nothing_waiting(self) -> None:
        engine = self.a.engine
        if engine.ending is None and not engine.busy and not engine.in_flight:
            assert engine.waiting == 0  # so it reads on (the pause ends)

    @invariant()
    def it_finishes_once_and_only_when_ended(self) -> None:
        assert len(self.a.finished) <= 1
        if self.a.finished:
            assert self.a.finished[0] is self.a.engine.ending

    def teardown(self) -> None:
        """Whatever happened, ending it and completing what runs finishes it, once."""
        a = self.a
        a.engine.end(EndReason.SHUTDOWN)
        a.drain()
        if a.round:
            a.answer_round(len(a.round))
        if a.running is not None:
            a.finish_serial()
        assert len(a.finished) == 1


TestEngine = EngineMachine.TestCase
TestEngine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


# --- the tricky rules, by example ---------------------------------------------------------------


def test_a_say_without_a_token_waits_for_the_messages_before_it_then_is_refused() -> None:
    a = Adapter()
    a.engine.state.user, a.engine.state.user_id = "ann", 1
    a.feed(["say", "read"])  # the burst of 2 tokens
    a.feed(["message", "say"])  # no token left, and a message in flight
    assert a.round == [1, 2, 3] and a.engine.waiting == 1 and not a.refusals
    a.answer_round(3)
    assert a.replies == [1, 2, 3, 4]
    assert a.refusals[0][0] == 4 and a.refusals[0][1].code is ErrorCode.RATE_LIMITED


def test_a_token_that_refills_while_messages_are_in_flight_lets_the_say_in() -> None:
    a = Adapter()
    a.engine.state.user, a.engine.state.user_id = "ann", 1
    a.feed(["say", "say", "message", "say"])
    a.now += 1  # a token at 1 per second
    a.answer_round(1)
    assert a.round == [2, 3, 4] and not a.refusals


def test_messages_are_not_rate_limited() -> None:
    a = Adapter()
    a.engine.state.user, a.engine.state.user_id = "ann", 1
    for _ in range(10):
        a.feed(["message"] * MAX_IN_FLIGHT)
        a.answer_round(MAX_IN_FLIGHT)
    assert len(a.replies) == 10 * MAX_IN_FLIGHT and not a.refusals


def test_nothing_runs_after_a_logout_and_it_finishes_once_its_reply_is_out() -> None:
    a = Adapter()
    a.engine.state.user, a.engine.state.user_id = "ann", 1
    a.feed(["message", "logout", "whoelse", "ping"])
    assert a.started == ["message"]  # the logout waits for the message's reply
    a.answer_round(1)
    assert a.started == ["message", "logout"] and a.running == (2, "logout")
    a.finish_serial()
    assert a.finished == [EndReason.LOGOUT] and a.started == ["message", "logout"]
    assert a.replies == [1, 2] and not a.engine.reading


def test_counted_refused_logins_end_the_session_at_the_limit() -> None:
    a = Adapter()
    a.feed(["login", "register", "login", "login"])
    for _ in range(CONFIG.max_refused_logins):
        assert not a.finished
        a.now += 1  # a request token back for the next
        a.finish_serial("counted")
    assert a.finished == [EndReason.PROTOCOL_ERROR]
    assert a.started == ["login", "register", "login"]  # the fourth never ran


def test_uncounted_refusals_and_refusals_after_login_do_not_end_it() -> None:
    a = Adapter()
    for _ in range(4):
        a.feed(["login"])
        a.finish_serial("not_counted")  # rate_limited, internal: the server's conditions
        a.now += 1  # a request token back
    a.feed(["login"])
    a.finish_serial("logged_in")
    a.engine.login_refused()  # too late to count
    a.feed(["ping"])
    assert not a.finished and a.replies == [1, 2, 3, 4, 5, 6]


def test_the_login_deadline_ends_a_session_that_did_not_log_in_but_not_mid_login() -> None:
    a = Adapter()
    a.feed(["login"])
    a.now += CONFIG.login_timeout_s
    a.engine.check_idle(a.now)
    assert a.engine.ending is None  # its password is being judged
    a.finish_serial("not_counted")
    a.engine.check_idle(a.now)
    a.drain()
    assert a.finished == [EndReason.TIMEOUT]


def test_a_logged_in_session_outlives_the_login_deadline_until_it_idles() -> None:
    a = Adapter()
    a.feed(["login"])
    a.finish_serial("logged_in")
    a.now += CONFIG.login_timeout_s + 1
    a.engine.check_idle(a.now)
    assert a.engine.ending is None
    a.now += CONFIG.timeout_s
    a.engine.check_idle(a.now)
    a.drain()
    assert a.finished == [EndReason.TIMEOUT]


def test_reading_pauses_past_max_waiting_and_resumes_as_the_round_drains() -> None:
    a = Adapter()
    a.engine.state.user, a.engine.state.user_id = "ann", 1
    a.feed(["message"] * (MAX_IN_FLIGHT + MAX_WAITING))
    assert a.engine.in_flight == MAX_IN_FLIGHT and a.engine.waiting == MAX_WAITING
    assert not a.engine.reading
    a.answer_round(1)
    assert a.engine.reading and a.engine.in_flight == MAX_IN_FLIGHT


def test_the_peers_last_byte_ends_the_session_once_all_it_sent_is_answered() -> None:
    a = Adapter()
    a.engine.state.user, a.engine.state.user_id = "ann", 1
    a.feed(["message", "whoelse"])
    a.engine.receive_eof()
    a.drain()
    assert not a.finished and not a.engine.reading
    a.answer_round(1)
    a.finish_serial()
    assert a.finished == [EndReason.DISCONNECTED] and a.replies == [1, 2]


def test_too_many_bad_frames_end_it_and_a_too_large_one_at_once() -> None:
    a = Adapter()
    a.feed(["bad"] * CONFIG.max_bad_frames + ["ping"])
    assert not a.finished and a.replies == [1]
    a.feed(["bad", "ping"])
    assert a.finished == [EndReason.PROTOCOL_ERROR] and a.replies == [1]
    b = Adapter()
    b.engine.receive([FrameError(FrameProblem.FRAME_TOO_LARGE, "too large"), {"op": "ping"}])
    b.drain()
    assert b.frame_errors == 1 and b.finished == [EndReason.PROTOCOL_ERROR]
