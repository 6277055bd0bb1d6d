"""The assessment computed beside the kernel (eia.handoff, eia.runner.assessor).

The protocol on its own (publish, wait for the lock, receive once, only the same key, the
warnings raised again), then ``eia run`` with the second process: the notebook receives its
assessment and the run's metrics are those of a run that computed it in the kernel; a second
process that fails or assesses something else changes nothing but the time.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path

import pytest

from eia import handoff
from eia.runner import assessor

pytestmark = pytest.mark.skipif(not handoff.available(), reason="no fcntl locks (not POSIX)")


@pytest.fixture
def offered(tmp_path, monkeypatch):
    """A hand-off folder the kernel side is told about, its lock free (nothing running)."""
    os.close(handoff.lock(tmp_path))
    monkeypatch.setenv(handoff.ENV, str(tmp_path))
    return tmp_path


def _caught(*messages: str) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for m in messages:
            warnings.warn(m, UserWarning, stacklevel=1)
    return caught


def test_receive_gives_the_published_assessment_once_and_raises_its_warnings(offered):
    key = handoff.key({"id": "x"}, "/p.yaml")
    handoff.publish(offered, key, {"the": "assessment"}, _caught("odd", "odd", "other"))
    with pytest.warns(UserWarning) as raised:
        assert handoff.receive(key) == {"the": "assessment"}
    assert [str(w.message) for w in raised] == ["odd", "other"]  # each once, in order
    assert handoff.receive(key) is None  # taken: a second call computes


@pytest.mark.parametrize(
    ("proposal", "params_file"), [({"id": "y"}, "/p.yaml"), ({"id": "x"}, "/q.yaml")]
)
def test_receive_refuses_an_assessment_of_something_else(offered, proposal, params_file):
    handoff.publish(offered, handoff.key({"id": "x"}, "/p.yaml"), "x's", [])
    assert handoff.receive(handoff.key(proposal, params_file)) is None


def test_the_key_is_the_proposal_and_its_file_whatever_the_order_of_fields():
    assert handoff.key({"a": 1, "b": 2}, "f") == handoff.key({"b": 2, "a": 1}, "f")
    assert handoff.key({"a": 1}, "f") != handoff.key({"a": 2}, "f")
    assert handoff.key({"a": 1}, "f") != handoff.key({"a": 1}, "g")


def test_nothing_is_offered_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(handoff.ENV, raising=False)
    handoff.publish(tmp_path, handoff.key({}, None), "unused", [])
    assert handoff.receive(handoff.key({}, None)) is None


def test_receive_waits_for_the_second_process_to_finish(tmp_path, monkeypatch):
    monkeypatch.setenv(handoff.ENV, str(tmp_path))
    key = handoff.key({"id": "x"}, None)
    held = handoff.lock(tmp_path)  # the second process, still computing
    got: list = []
    waiting = threading.Thread(target=lambda: got.append(handoff.receive(key)))
    waiting.start()
    time.sleep(0.2)
    assert waiting.is_alive() and not got  # blocked on the lock, not returned None
    handoff.publish(tmp_path, key, "computed", [])
    os.close(held)  # it exits
    waiting.join(5)
    assert got == ["computed"]


def test_a_second_process_that_died_without_publishing_gives_nothing(offered):
    assert handoff.receive(handoff.key({"id": "x"}, None)) is None


def test_stop_says_what_became_of_the_second_process(tmp_path):
    def child(publish: bool, code: int) -> int:
        pid = os.fork()
        if pid == 0:
            if publish:
                handoff.publish(tmp_path, "k", "a", [])
            os._exit(code)
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # finished, not yet reaped
        return pid

    assert assessor.stop(None) == "off"
    assert assessor.stop(child(True, 0), tmp_path) == "unused"  # published, not taken
    (tmp_path / handoff.RESULT).unlink()
    assert assessor.stop(child(False, 0), tmp_path) == "received"  # published and taken
    assert assessor.stop(child(False, 1), tmp_path) == "failed"
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    assert assessor.stop(pid, tmp_path) == "unused"  # still computing: killed
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # and reaped


# ---------------------------------------------------------------------------
# eia run with its second process (the real reference data; one example)

EXAMPLE = "notts-community-hub"
PARAMS = Path(__file__).resolve().parents[1] / "params" / "examples" / f"{EXAMPLE}.yaml"


def _metrics(path) -> dict:
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics.pop("provenance", None)  # this run's time and place
    return metrics


@pytest.mark.skipif(not assessor.possible(), reason="the second process needs Linux")
@pytest.mark.parametrize(
    ("sabotage", "expected"),
    [(None, "received"), ("fail", "failed"), ("other key", "unused")],
    ids=["received", "second-process-fails", "assesses-something-else"],
)
def test_eia_run_with_a_second_process_gives_the_same_metrics(
    example_runs, tmp_path, monkeypatch, sabotage, expected
):
    from eia.runner import run as run_mod

    if sabotage == "fail":  # the forked child inherits the patch
        monkeypatch.setattr(assessor, "_assess", lambda *a: 1 / 0)
    elif sabotage == "other key":
        monkeypatch.setattr(handoff, "key", lambda *a: "another proposal")
    shared = example_runs[EXAMPLE]  # computed in the kernel (a batch of two: no second process)
    result = run_mod.run(PARAMS, tmp_path, second_process=True)
    assert result.second_process == expected
    assert _metrics(result.metrics) == _metrics(shared.metrics)
    left = Path(tempfile.gettempdir()).glob(f"{run_mod.HANDOFF_DIR}{os.getpid()}-*")
    assert not list(left)  # the hand-off folder goes with the run
