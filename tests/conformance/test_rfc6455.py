"""RFC 6455 conformance against an echo server, one test per case of
``cases.CASES`` (an Autobahn-style table; see that module for the verdicts).

``CASE_COUNT`` is the number of cases (README's "Robustness" section quotes it);
``FAMILY_COUNTS`` breaks it down by Autobahn family number.
"""
from __future__ import annotations

import re
import unittest

from tests.conformance.cases import (
    CASES,
    FAMILY_COUNTS,
    OPEN,
    Case,
    Closed,
    Expect,
    Fail,
    Pause,
    Send,
)
from tests.conformance.harness import WAIT as _WAIT
from tests.conformance.harness import EchoServerCase
from tests.conformance.wire import OP_CLOSE, close_payload, frame

__all__ = ["CASE_COUNT", "FAMILY_COUNTS"]

CASE_COUNT = len(CASES)


class ConformanceCase(EchoServerCase):
    """Runs one table case; the generated ``test_*`` methods call :meth:`run_case`."""

    def run_case(self, case: Case) -> None:
        head, pump, pid = self.open_pump(case.headers)
        if case.response_lacks:
            self.assertNotIn(case.response_lacks.lower().encode(), head.lower())
        required: list[tuple] = []
        optional: list[tuple] = []
        for step in case.steps:
            if isinstance(step, Send):
                if not pump.send(step.data, step.chop):
                    break  # the server failed the connection early: judged below
            elif isinstance(step, Pause):
                pump.wait_for(lambda: False, step.seconds)
            elif isinstance(step, Expect):
                if step.optional:
                    optional.extend(step.events)
                    continue
                required.extend(step.events)
                pump.wait_events(len(required), _WAIT)
                self.assertEqual(pump.events[:len(required)], required,
                                 f"{case.id}: unexpected events")
        outcome = case.outcome
        if outcome is OPEN:
            self.assertEqual(pump.events, required, f"{case.id}: extra events before close")
            self.assertFalse(pump.eof, f"{case.id}: the server dropped the connection")
            pump.send(frame(OP_CLOSE, close_payload(1000)))
            codes, clean = (1000,), True
        else:
            codes, clean = outcome.codes, isinstance(outcome, Closed)
        self.assertTrue(pump.wait_eof(_WAIT), f"{case.id}: the server kept the TCP connection")
        events = pump.events
        self.assertTrue(events and events[-1][0] == "close",
                        f"{case.id}: no close frame before EOF; got {events[-3:]}")
        self.assertIn(events[-1][1], codes, f"{case.id}: close code")
        before = events[:-1]
        accepted = [required, required + optional] if optional else [required]
        self.assertIn(before, accepted, f"{case.id}: events before the close frame")
        disconnected = self.rec.wait("client_disconnected", timeout=_WAIT)
        self.assertEqual([d[:2] for d in disconnected], [(pid, clean)],
                         f"{case.id}: client_disconnected")
        # data_received fires once per delivered message (Godot also fires it
        # for a message dropped by a full input queue: case.log).
        low = sum(1 for e in required if e[0] in ("text", "binary")) + (1 if case.log else 0)
        high = low + sum(1 for e in optional if e[0] in ("text", "binary"))
        self.assertTrue(low <= len(self.rec.of("data_received")) <= high,
                        f"{case.id}: data_received fired {len(self.rec.of('data_received'))} "
                        f"times, wanted {low}..{high}")
        if isinstance(outcome, Fail):
            self.assertEqual(self.rec.of("client_close_request"), [],
                             f"{case.id}: a failed connection is not a close request")
        if case.log:
            self.assertIn(case.log, self.logs.text())


def _method_name(case: Case) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", case.title.lower()).strip("_")[:50]
    return "test_" + case.id.replace(".", "_") + "_" + slug


def _make_test(case: Case):
    def test(self):
        self.run_case(case)
    test.__doc__ = f"{case.id} {case.title}"
    return test


def _build_classes() -> dict:
    groups: dict = {}
    for case in CASES:
        groups.setdefault(case.buffers, []).append(case)
    classes = {}
    for buffers, cases in groups.items():
        name = "Conformance" + ("Default" if buffers is None else
                                "Buffers" + "x".join(str(b) for b in buffers))
        attrs = {"buffers": buffers, "__module__": __name__}
        for case in cases:
            attrs[_method_name(case)] = _make_test(case)
        classes[name] = type(name, (ConformanceCase,), attrs)
    return classes


globals().update(_build_classes())


if __name__ == "__main__":
    unittest.main()
