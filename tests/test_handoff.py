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


def test_a_second_process_is_wanted_only_with_a_spare_core_per_job_and_not_switched_off(
    monkeypatch,
):
    monkeypatch.setattr(assessor, "possible", lambda: True)
    monkeypatch.setattr(assessor.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    monkeypatch.setattr(assessor.threading, "active_count", lambda: 1)
    monkeypatch.delenv(assessor.SWITCH, raising=False)
    assert assessor.wanted(1)
    assert not assessor.wanted(2)  # eia batch --jobs 2 on two cores: one each
    monkeypatch.setattr(assessor.threading, "active_count", lambda: 3)
    assert not assessor.wanted(1)  # never fork a process with threads (a Jupyter session)
    monkeypatch.setattr(assessor.threading, "active_count", lambda: 1)
    monkeypatch.setenv(assessor.SWITCH, "0")
    assert not assessor.wanted(1)


# ---------------------------------------------------------------------------
# Sections drawn ahead (eia.report.ahead)


@pytest.fixture
def drawn_ahead(offered, monkeypatch):
    """An assessment received, a second process drawing (its lock held), its settings."""
    assessment = {"area": [1, 2, 3]}
    monkeypatch.setattr(handoff, "_received", handoff.digest(assessment))
    monkeypatch.setattr(handoff, "_settled", set())
    held = handoff.lock(offered, handoff.AHEAD_LOCK)
    (offered / handoff.AHEAD).write_text(json.dumps({"settings": "rc"}), encoding="utf-8")
    yield offered, assessment
    os.close(held)


def test_a_section_drawn_ahead_is_taken_once_for_the_same_assessment(drawn_ahead):
    folder, a = drawn_ahead
    assert handoff.claim(folder, "s")  # the second process draws it
    handoff.publish_ahead(folder, "s", "the section")
    assert handoff.take_ahead("s", a, "rc") == (True, "the section")
    assert handoff.take_ahead("s", a, "rc") == (False, None)  # a second call draws


@pytest.mark.parametrize(
    ("changed", "settings"), [(True, "rc"), (False, "other rc")], ids=["assessment", "settings"]
)
def test_a_section_drawn_ahead_is_refused_when_anything_changed(drawn_ahead, changed, settings):
    folder, a = drawn_ahead
    handoff.claim(folder, "s")
    handoff.publish_ahead(folder, "s", "the section")
    if changed:
        a["area"].append(4)  # the analyst changed the assessment in place
    assert handoff.take_ahead("s", a, settings) == (False, None)


def test_the_notebook_claims_a_section_not_started_and_the_second_process_skips_it(drawn_ahead):
    folder, a = drawn_ahead
    assert handoff.take_ahead("s", a, "rc") == (False, None)  # drawn by the notebook
    assert not handoff.claim(folder, "s")  # the second process skips it


def test_the_notebook_waits_for_a_section_being_drawn_and_not_after_a_failure(drawn_ahead):
    folder, a = drawn_ahead
    handoff.claim(folder, "s")
    got: list = []
    waiting = threading.Thread(target=lambda: got.append(handoff.take_ahead("s", a, "rc")))
    waiting.start()
    time.sleep(0.1)
    assert waiting.is_alive()
    handoff.publish_ahead(folder, "s", "drawn")
    waiting.join(5)
    assert got == [(True, "drawn")]
    handoff.claim(folder, "t")
    handoff.publish_ahead(folder, "t", None)  # it could not be drawn
    assert handoff.take_ahead("t", a, "rc") == (False, None)


def test_finished_once_the_second_process_lets_go_of_its_last_lock(tmp_path):
    held = handoff.lock(tmp_path, handoff.AHEAD_LOCK)
    assert not handoff.finished(tmp_path)
    os.close(held)
    assert handoff.finished(tmp_path)


def test_the_report_renders_the_same_after_warming_up(example_runs):
    from eia.report import html

    notebook = example_runs[EXAMPLE].notebook
    before = html.render(notebook, "t")
    html.warm()  # what eia run does in a thread while its kernel works
    assert html.render(notebook, "t") == before


def test_sections_are_drawn_ahead_only_without_arguments(monkeypatch):
    from eia.report import ahead

    calls = []
    monkeypatch.setattr(handoff, "take_ahead", lambda *a: calls.append(a) or (True, "ahead"))
    section = ahead.ahead(lambda a, *args, **kw: ("drawn here", args, kw))
    assert section("a") == "ahead"
    assert section("a", 1) == ("drawn here", (1,), {})
    assert section("a", x=1) == ("drawn here", (), {"x": 1})
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# eia run with its second process (the real reference data; one example)

EXAMPLE = "notts-community-hub"
EXAMPLES = Path(__file__).resolve().parents[1] / "params" / "examples"


def _outputs(path) -> list[str]:
    """Every code cell's outputs, the provenance section (this run's time) left out."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [
        json.dumps([{k: v for k, v in o.items() if k != "execution_count"} for o in c.outputs])
        for c in nb.cells
        if c.cell_type == "code" and "provenance(" not in c.source
    ]


def _metrics(path) -> dict:
    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics.pop("provenance", None)  # this run's time and place
    return metrics


@pytest.mark.skipif(not assessor.possible(), reason="the second process needs Linux")
@pytest.mark.parametrize(
    ("example", "sabotage", "expected"),
    [
        (EXAMPLE, None, "received"),
        ("notts-mental-health-detentions", None, "received"),  # equity audit: its uptake map
        (EXAMPLE, "fail", "failed"),
        (EXAMPLE, "other key", "unused"),
    ],
    ids=["received", "received-equity-audit", "second-process-fails", "assesses-something-else"],
)
def test_eia_run_with_a_second_process_gives_the_same_report(
    example_runs, tmp_path, monkeypatch, example, sabotage, expected
):
    from eia.runner import run as run_mod

    if sabotage == "fail":  # the forked child inherits the patch
        monkeypatch.setattr(assessor, "_assess", lambda *a: 1 / 0)
    elif sabotage == "other key":
        monkeypatch.setattr(handoff, "key", lambda *a: "another proposal")
    shared = example_runs[example]  # computed in the kernel (a batch of two: no second process)
    result = run_mod.run(EXAMPLES / f"{example}.yaml", tmp_path, second_process=True)
    assert result.second_process == expected
    if expected != "received":  # how many are drawn ahead first is a race: tested below
        assert result.drawn_ahead == 0
    assert _metrics(result.metrics) == _metrics(shared.metrics)
    assert _outputs(result.notebook) == _outputs(shared.notebook)  # text, tables and figures
    left = Path(tempfile.gettempdir()).glob(f"{run_mod.HANDOFF_DIR}{os.getpid()}-*")
    assert not list(left)  # the hand-off folder goes with the run


def _shown(value):
    return (
        None
        if value is None
        else value._repr_mimebundle_()
        if not hasattr(value, "_repr_html_")
        else value._repr_html_()
    )


def test_sections_drawn_ahead_are_those_the_notebook_draws(
    example_assessment, tmp_path, monkeypatch
):
    import importlib

    import eia.report.proficiency  # noqa: F401 - their sections
    import eia.report.sections  # noqa: F401
    from eia.report import ahead

    a = example_assessment(EXAMPLE)
    a.area.outline, a.area.places  # noqa: B018 - made before the hand-off, as the second process does
    monkeypatch.setenv(handoff.ENV, str(tmp_path))
    monkeypatch.setattr(handoff, "_settled", set())
    os.close(handoff.lock(tmp_path, handoff.AHEAD_LOCK))  # the second process is done
    drawn = ahead.draw_all(tmp_path, a)
    assert drawn > 0
    monkeypatch.setattr(handoff, "_received", handoff.digest(a))
    for name in ahead.ORDER[a.proposal.template]:
        module, function = name.rsplit(".", 1)
        decorated = getattr(importlib.import_module(module), function)
        assert _shown(decorated(a)) == _shown(ahead.SECTIONS[name](a)), name
    assert ahead.taken(tmp_path) == drawn  # each was taken, not drawn again
