"""The second process of ``eia run``: computes the assessment while the kernel starts.

:func:`start` forks this process once the proposal is validated, before the kernel is
launched: the child has the validated proposal, the verified pack and every library the
runner imported already, so it goes straight to :func:`eia.assessment.assess` — the
proposal as the notebook will receive it (:func:`eia.params.from_notebook` of
:func:`eia.params.to_notebook`) — and hands the result over (:mod:`eia.handoff`). It runs
with the kernel's memory limit and environment, in its own session (Ctrl-C reaches the
runner, which stops it), ends if the runner dies, and prints nothing whatever happens:
a failure leaves no result, and the notebook computes the assessment itself, raising the
error where the analyst sees it.

Linux only, and only from a process with no other threads (forking one is unsafe): a run
started elsewhere, or from a Jupyter session, computes in its kernel as before.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from contextlib import suppress
from pathlib import Path

from eia import handoff
from eia import params as params_mod

__all__ = ["SWITCH", "possible", "start", "stop", "wanted"]


def possible() -> bool:
    """Whether this platform can run the second process (Linux)."""
    return sys.platform.startswith("linux") and handoff.available()


#: Set to ``0`` to never start a second process (one core per run, e.g. on a shared server).
SWITCH = "EIA_SECOND_PROCESS"


def wanted(jobs: int = 1) -> bool:
    """Whether a second process pays and is safe: :func:`possible`, not switched off
    (:data:`SWITCH`), no other thread in this process, and a spare core for each of ``jobs``
    runs at once."""
    if not possible() or os.environ.get(SWITCH, "").strip() == "0":
        return False
    return threading.active_count() == 1 and len(os.sched_getaffinity(0)) >= 2 * jobs


def start(
    folder: Path, proposal, params_file: Path, env: dict[str, str], memory_bytes: int | None
) -> int:
    """Fork the second process to assess ``proposal`` (validated, from ``params_file``) and
    hand it over in ``folder`` (private to this run); returns its process id.

    ``env`` (the kernel's additions) is set in the child only. Stop it with :func:`stop`
    on every exit path.
    """
    injected = params_mod.to_notebook(proposal)  # what the kernel receives
    assessing = handoff.lock(folder)
    drawing = handoff.lock(folder, handoff.AHEAD_LOCK)
    runner = os.getpid()
    pid = os.fork()
    if pid:
        os.close(assessing)  # the child holds both locks: the first until it has handed
        os.close(drawing)  # the assessment over, the second until it exits
        return pid
    code = 1
    try:
        _become_second(runner, env, memory_bytes)
        code = _assess(folder, injected, str(params_file), assessing)
    except BaseException:  # noqa: BLE001, S110 - silent by design: the notebook computes and reports
        pass
    finally:
        os._exit(code)


def stop(pid: int | None, folder: Path | None = None) -> str:
    """End the second process if it still runs, reap it, and say what became of its work:
    ``"received"`` (the notebook took the assessment), ``"unused"`` (still running, or the
    notebook did not take it), ``"failed"`` (it had none to give), ``"off"`` (none started)."""
    if pid is None:
        return "off"
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # reaped already
        return "unused"
    if not done:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with suppress(ChildProcessError):
            os.waitpid(pid, 0)
        return "unused"
    if os.waitstatus_to_exitcode(status) != 0:
        return "failed"
    published = folder is not None and (folder / handoff.RESULT).exists()
    return "unused" if published else "received"


def _become_second(runner: int, env: dict[str, str], memory_bytes: int | None) -> None:
    """In the child: its own session, default signals, no output, the kernel's limits and
    environment, and death with the runner (Linux)."""
    import ctypes
    import resource

    os.setsid()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    signal.alarm(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(devnull, stream)
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != runner:  # the runner died before the line above: nothing to hand to
        os._exit(1)
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.environ.update(env)
    os.environ.pop(handoff.ENV, None)  # this process computes: it receives nothing


def _assess(folder: Path, injected: dict, params_file: str, assessing: int) -> int:
    """Assess the proposal as the notebook would and publish it (releasing ``assessing``,
    the first lock), then draw sections ahead (:mod:`eia.report.ahead`); 0 when published."""
    from eia.assessment import assess  # heavy (geopandas, DuckDB): only in the second process

    proposal = params_mod.from_notebook(injected, params_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = assess(proposal, params_file)
        # What the maps make once and keep (Area's cached properties): made here, so the
        # notebook's first map leaves its assessment as it was handed over.
        result.area.outline, result.area.places  # noqa: B018
    key = handoff.key(params_mod.to_notebook(proposal), params_file)  # as the kernel's
    handoff.publish(folder, key, result, caught)
    os.close(assessing)  # handed over: the notebook goes on

    import eia.report.proficiency  # noqa: F401 - their sections, drawn ahead
    import eia.report.sections  # noqa: F401
    from eia.report import ahead

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the notebook raises them where it draws
        ahead.draw_all(folder, result)
    return 0
