"""Running an assessment: validate, execute the template with Papermill, render, publish.

One run writes into a staging folder beside ``OUT/<id>/`` and replaces that
folder only when everything succeeded, so a failed re-run never touches the
last good report. A failed run keeps its executed notebook in
``OUT/<id>/failed/assessment.ipynb`` for the analyst (never the report).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eia import handoff, provenance, redact
from eia import params as params_mod
from eia.errors import OutputError, RefDataError, RunError, ServiceDataError, TravelTimeError
from eia.jsonable import write_json
from eia.params.kinds import KINDS
from eia.params.templates import templates_dir
from eia.redact import printable
from eia.refdata import ENV_VAR, load_pack
from eia.report import ahead
from eia.report import pdf as pdf_mod
from eia.report.wording import warning_text
from eia.runner import assessor

if TYPE_CHECKING:
    from jupyter_client.manager import AsyncKernelManager

#: Errors raised inside the kernel that are the input's fault (reported with exit code 2).
USER_ERRORS = {
    "ServiceDataError": ServiceDataError,
    "RefDataError": RefDataError,
    "TravelTimeError": TravelTimeError,
}

KERNEL = "python3"


def default_out() -> Path:
    """The default output folder: ``outputs/`` in the folder eia is run from (``$EIA_HOME/outputs``
    when ``EIA_HOME`` is set), so an analyst working in their own project folder finds it there."""
    home = os.environ.get("EIA_HOME")
    return (Path(home).resolve() if home else Path.cwd()) / "outputs"


@dataclass
class RunResult:
    """What one run produced, and how long each stage took (seconds)."""

    id: str
    title: str
    template: str
    folder: Path
    report: Path
    notebook: Path
    metrics: Path
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # the input guards' (eia.analysis.guards)
    pdf: Path | None = None
    #: Files an earlier run published that this run did not make again, and so removed
    #: (e.g. ``report.pdf`` after a run without ``--pdf``): said, never silent.
    removed: list[str] = field(default_factory=list)
    #: What became of the assessment computed beside the kernel (:func:`eia.runner.assessor.stop`):
    #: ``"received"`` by the notebook, ``"unused"``, ``"failed"`` or ``"off"``.
    second_process: str = "off"
    #: How many sections the notebook took drawn ahead by that process (:mod:`eia.report.ahead`).
    drawn_ahead: int = 0


class RunTimeout(Exception):
    """Raised inside a run when its whole-run time limit passes."""


#: Process groups of the kernels this process started and has not seen stop.
_KERNEL_GROUPS: set[int] = set()
#: Prefixes of the temporary folders a run makes (each followed by the owner's pid and "-").
STAGING = ".{id}.staging-"
KERNEL_DIR = "eia-kernel-"
HANDOFF_DIR = "eia-handoff-"


def ipc_kernel_manager(
    folder: Path, memory_bytes: int | None = None, env: dict[str, str] | None = None
) -> type[AsyncKernelManager]:
    """A kernel manager class on the ``ipc`` transport with its sockets in ``folder``.

    No TCP ports, so parallel runs cannot collide ("Address already in use"); the
    connection file is in ``folder`` too, and the caller removes ``folder`` after the
    run. The kernel runs in its own process group (jupyter_client starts it in a new
    session), recorded so that :func:`kill_kernels` can end it with its run, and with
    its address space limited to ``memory_bytes`` (``RLIMIT_AS``), so a runaway
    notebook fails with a MemoryError instead of exhausting the machine. ``env`` is
    added to the kernel's environment only: this process's ``os.environ`` is never changed.
    """
    # jupyter_client and nbconvert (below) are imported once the second process is forked
    # (eia.runner.assessor): it needs neither, and starts about 0.4 s sooner without them.
    from jupyter_client.manager import AsyncKernelManager

    extra = dict(env or {})

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(folder / "kernel"))
            kwargs.setdefault("connection_file", str(folder / "kernel.json"))
            super().__init__(**kwargs)

        async def _async_pre_start_kernel(self, **kw):
            kw["env"] = {**os.environ, **(kw.get("env") or {}), **extra}
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if memory_bytes:
                kw["preexec_fn"] = _memory_limit(memory_bytes)
            await super()._async_launch_kernel(kernel_cmd, **kw)
            pgid = getattr(self.provisioner, "pgid", None)
            if pgid:
                _KERNEL_GROUPS.add(pgid)

    return IPCKernelManager


def _memory_limit(limit: int):
    def apply() -> None:  # runs in the kernel's process before it starts
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def kill_kernels() -> None:
    """Kill every kernel this process started that may still run (its whole process group).

    Besides the recorded groups, any child of this process that is a kernel: a signal that
    arrives between a kernel's start and its recording (Ctrl-C, SIGTERM, a time limit) must
    not leave it running, starting in a folder about to be removed.
    """
    for pgid in list(_KERNEL_GROUPS) + _unrecorded_kernels():
        _KERNEL_GROUPS.discard(pgid)
        if _our_kernel(pgid):
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


def _unrecorded_kernels() -> list[int]:
    """Process ids of this process's children that are kernels (each leads its own group)."""
    proc = Path("/proc")
    if not proc.is_dir():  # no /proc: only the recorded groups can be found
        return []
    pids = (int(entry.name) for entry in proc.iterdir() if entry.name.isdigit())
    return [
        pid for pid in pids if pid not in _KERNEL_GROUPS and _our_kernel(pid) and _group_leader(pid)
    ]


def _group_leader(pid: int) -> bool:
    with suppress(ProcessLookupError, PermissionError):
        return os.getpgid(pid) == pid
    return False


def _our_kernel(pid: int) -> bool:
    """Whether ``pid`` is still a kernel this process started (not a reused process id)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    parent = int(stat.rsplit(")", 1)[1].split()[1])
    return parent == os.getpid() and b"kernel" in cmdline


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(folder: Path, prefix: str, *, max_age_s: float = 86_400) -> list[Path]:
    """Remove ``folder/<prefix><pid>-*`` folders left by processes that are gone (a killed run).

    A folder whose pid no longer runs is stale; one named without a pid (an older eia)
    is stale once it is ``max_age_s`` old. A running process's folders are kept.
    Returns what was removed.
    """
    removed = []
    try:
        entries = list(folder.glob(f"{glob_escape(prefix)}*"))
    except OSError:
        return removed
    now = time.time()
    for path in entries:
        pid = path.name[len(prefix) :].split("-", 1)[0]
        if path.is_symlink() or not path.is_dir():
            continue
        if pid.isdigit():
            if int(pid) == os.getpid() or _alive(int(pid)):
                continue
        else:
            try:
                if now - path.stat().st_mtime < max_age_s:
                    continue
            except OSError:
                continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def glob_escape(text: str) -> str:
    """``text`` with glob wildcards escaped."""
    import glob

    return glob.escape(text)


@contextmanager
def terminate_as_interrupt():
    """In the main thread, turn SIGTERM into KeyboardInterrupt, so cleanup runs as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _term(signum, frame):
        raise KeyboardInterrupt("terminated")

    previous = signal.signal(signal.SIGTERM, _term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _output_error(exc: OSError, where: Path) -> OutputError:
    """A one-line account of an output folder that cannot be written."""
    import errno

    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "it is on a read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EEXIST: "a file of that name is in the way",
        errno.ENOTDIR: "part of the path is a file, not a folder",
    }
    reason = reasons.get(exc.errno, exc.strerror or type(exc).__name__)
    return OutputError(f"cannot write the output folder {where}: {reason}")


def prepare_out(out_dir: Path) -> Path:
    """Create the output folder (one-line :class:`OutputError` when it cannot be used)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(prefix=".eia-write-test-", dir=out_dir))
        probe.rmdir()
    except OSError as exc:
        raise _output_error(exc, out_dir) from None
    return out_dir


@contextmanager
def time_limit(seconds: int):
    """Raise :class:`RunTimeout` in the main thread after ``seconds`` (no-op off the main thread)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def _expire(signum, frame):
        raise RunTimeout(f"the run passed its time limit of {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def memory_bytes(proposal) -> int:
    """The memory limit of the kernel and the second process (``limits.memory_gb``), in bytes."""
    return int(proposal.limits.memory_gb * 1024**3)


def kernel_env(pack_folder: Path, handoff_folder: Path | None = None) -> dict[str, str]:
    """What the kernel's environment adds to this process's (which is left as it is).

    The kernel runs in the staging folder, so the reference data location is absolute;
    the other variables keep a value the user set. ``handoff_folder``: where the second
    process hands its assessment over (:mod:`eia.handoff`).
    """
    env = {ENV_VAR: str(pack_folder)}
    if handoff_folder is not None:
        env[handoff.ENV] = str(handoff_folder)
    defaults = {
        "TQDM_DISABLE": "1",
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    env |= {k: v for k, v in defaults.items() if k not in os.environ}
    return env


def connection_names(proposal) -> list[str]:
    """The environment variables a proposal's ``connection:`` fields name (their values are
    scrubbed from everything written on failure)."""
    service = getattr(proposal, "service", None)
    names = [getattr(service, "connection", None)] if service is not None else []
    travel = getattr(proposal, "travel_time", None)
    names.append(getattr(travel, "connection", None) if travel is not None else None)
    return [str(n) for n in names if n]


def _failure(exc: Exception, nb_path: Path) -> str:
    """A one-line account of a failed execution: the failing cell's heading and the error's last line."""
    name = type(exc).__name__
    heading, first = _heading_before_error(nb_path)
    where = f" in section '{heading}'" if heading else ""
    if name == "PapermillExecutionError":
        last = str(exc.evalue).splitlines()[-1] if str(exc.evalue) else ""
        cell = f"the cell starting {first!r}" if first else f"cell {exc.exec_count}"
        return f"{cell} failed{where}: {exc.ename}: {last}"
    if "DeadKernel" in name or "dead" in str(exc).lower():
        return f"the kernel died (out of memory or crashed){where}: {_first_line(exc)}"
    if isinstance(exc, RunTimeout):
        return f"{exc}{where}"
    if "Timeout" in name or "timed out" in str(exc).lower():
        return f"a cell ran past its time limit{where}: {_first_line(exc)}"
    return f"{name}{where}: {_first_line(exc)}"


def _first_line(exc: Exception) -> str:
    # nbclient's timeout message goes on with a preview of the cell's code: keep its first line.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _heading_before_error(nb_path: Path) -> tuple[str, str]:
    """The last markdown heading above the failing cell, and the cell's first line of code.

    The failing cell is the one with an error output; failing that (a timeout or
    a dead kernel leaves none), the last cell Papermill started.
    """
    import nbformat

    try:
        nb = nbformat.read(nb_path, as_version=4)
    except Exception:  # noqa: BLE001 - best effort for the message
        return "", ""
    failing = next(
        (
            i
            for i, cell in enumerate(nb.cells)
            if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        ),
        None,
    )
    if failing is None:
        started = [
            i
            for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code"
            and cell.metadata.get("papermill", {}).get("status") not in (None, "pending")
        ]
        failing = started[-1] if started else len(nb.cells)
    heading = ""
    for cell in nb.cells[:failing]:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    heading = line.lstrip("#").strip()
    first = ""
    if failing < len(nb.cells):  # the cell's first line of code, to find it in your own notebook
        lines = [line.strip() for line in nb.cells[failing].source.splitlines() if line.strip()]
        first = lines[0] if lines else ""
    return heading, (first[:70] + "…" if len(first) > 70 else first)


def superseded(staging: Path, final: Path) -> list[str]:
    """Names of the files in the published folder ``final`` that ``staging`` does not have
    (they go when ``staging`` replaces it); the ``failed/`` folder of an earlier run aside."""
    if not final.is_dir():
        return []
    made = {p.name for p in staging.iterdir()}
    return sorted(p.name for p in final.iterdir() if p.name not in made and p.name != "failed")


def _publish(staging: Path, final: Path) -> None:
    """Replace ``final`` with ``staging`` (rename; the old folder is removed afterwards)."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run(
    params_file: Path | str,
    out: Path | str | None = None,
    *,
    quiet: bool = True,
    strict: bool = False,
    pdf: bool | None = None,
    second_process: bool | None = None,
) -> RunResult:
    """Validate ``params_file``, execute its template and publish to ``OUT/<id>/``.

    With ``strict``, the input guards' warnings (:mod:`eia.analysis.guards`) are errors:
    a :class:`~eia.errors.ParamsError` before anything runs.
    ``pdf``: also print ``report.pdf`` (:mod:`eia.report.pdf`); None follows the params file's
    ``publish.pdf``. Without a PDF engine this fails at once, before anything runs.
    ``second_process``: compute the assessment in a second process while the kernel starts
    (:mod:`eia.runner.assessor`, :mod:`eia.handoff`); None when a core is spare for it.

    Raises :class:`~eia.errors.ParamsError` (nothing run), :class:`~eia.errors.RefDataError`
    or :class:`~eia.errors.RunError` (the last good report is left as it was).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    params_file = Path(params_file).resolve()
    pack = load_pack()
    proposal = params_mod.load(params_file, pack)
    if strict:
        # Heavy (geopandas, pandas, SciPy, pandera) and needed only here: imported on use, so
        # that `eia run` starts its kernel without them (the kernel imports them anyway).
        from eia.analysis import guards

        warnings = guards.check_proposal(proposal, pack)
        if warnings:
            raise guards.as_error(str(params_file), warnings, warning_text)
    timings["validate"] = time.perf_counter() - t0
    want_pdf = proposal.publish.pdf if pdf is None else pdf
    if want_pdf:
        problem = pdf_mod.check_engine()
        if problem:
            raise pdf_mod.PDFError(f"{proposal.id}: {problem}")

    out_dir = prepare_out(Path(out).resolve() if out else default_out())
    final = out_dir / proposal.id
    if final.is_symlink():
        raise OutputError(
            f"{final} is a symbolic link: eia publishes only into real folders; remove the link"
        )
    if final.exists() and not final.is_dir():
        raise OutputError(f"{final} is a file, not a folder: move it away")
    template = (
        Path(proposal.template_file)
        if proposal.template_file
        else templates_dir() / f"{proposal.template}.ipynb"
    )
    if not template.is_file():
        raise RunError(f"template {template} not found")
    # A run killed outright (kill -9, power cut) leaves its staging and kernel folders:
    # the next run of the same id removes them.
    remove_stale(out_dir, STAGING.format(id=proposal.id))
    remove_stale(out_dir, f".{proposal.id}.old-")
    remove_stale(Path(tempfile.gettempdir()), KERNEL_DIR)
    remove_stale(Path(tempfile.gettempdir()), HANDOFF_DIR)

    with terminate_as_interrupt():
        # The extract as synth.ensure finds it; synth (pandas, geopandas) is heavy: imported
        # only to generate a missing extract.
        service = proposal.service
        if (
            service is not None
            and service.generate is not None
            and service.path is not None
            and not (params_file.parent.resolve() / service.path).resolve().exists()
        ):
            from eia.service import synth

            synth.ensure(proposal, params_file.parent, pack)
        folder, second = None, None
        if KINDS[proposal.template].assesses and (
            assessor.wanted() if second_process is None else second_process and assessor.possible()
        ):
            folder = Path(tempfile.mkdtemp(prefix=f"{HANDOFF_DIR}{os.getpid()}-"))
            second = assessor.start(
                folder, proposal, params_file, kernel_env(pack.folder), memory_bytes(proposal)
            )
        try:
            result = _execute(
                proposal,
                params_file,
                pack,
                out_dir,
                final,
                template,
                timings,
                t0,
                quiet,
                want_pdf,
                strict,
                folder,
            )
            result.second_process = assessor.stop(second, folder)
            if folder is not None:
                result.drawn_ahead = ahead.taken(folder)
            second = None  # reaped: its process id may be another's now
            return result
        except OSError as exc:
            raise _output_error(exc, out_dir) from None
        finally:
            kill_kernels()
            assessor.stop(second)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


class _Warming:
    """The report's first-render costs (:func:`eia.report.html.warm`) paid in a thread while
    the kernel runs, once the second process has finished and left a core idle (without a
    second process, nothing: a thread here would hold up the kernel's launch)."""

    def __init__(self, handoff_folder: Path | None):
        self._folder, self._stopping = handoff_folder, threading.Event()
        self._thread = threading.Thread(target=self._run, name="eia-warm-report", daemon=True)
        if handoff_folder is not None:
            self._thread.start()

    def _run(self) -> None:
        while not handoff.finished(self._folder):
            if self._stopping.wait(0.05):
                return
        with suppress(Exception):  # only a head start: the report is rendered as always
            from eia.report import html

            html.warm()

    def stop(self) -> None:
        """Stop waiting and let a render in progress finish (the report renders next)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()


def _execute(
    proposal,
    params_file,
    pack,
    out_dir,
    final,
    template,
    timings,
    t0,
    quiet,
    want_pdf,
    strict,
    handoff_folder,
) -> RunResult:
    """Execute, render and publish; the staging and kernel folders go on every exit path."""
    # Papermill (and so nbclient) only where a template is executed: eia --help stays instant.
    import papermill

    from eia.report import html as report
    from eia.runner import engine

    staging = Path(
        tempfile.mkdtemp(prefix=STAGING.format(id=proposal.id) + f"{os.getpid()}-", dir=out_dir)
    )
    kernel_dir = Path(tempfile.mkdtemp(prefix=f"{KERNEL_DIR}{os.getpid()}-"))
    try:
        staging.chmod(0o755)  # mkdtemp makes it 0o700; the published folder should be readable
        nb_path = staging / "assessment.ipynb"
        # Provenance (with this run's time) is computed once, here, and injected.
        info = provenance.collect(proposal, params_file, pack)
        t1 = time.perf_counter()
        memory = memory_bytes(proposal)
        warming = _Warming(handoff_folder)
        try:
            with time_limit(proposal.limits.run_timeout_s):
                papermill.execute_notebook(
                    str(template),
                    str(nb_path),
                    parameters={
                        "params_file": str(params_file),
                        "proposal": params_mod.to_notebook(proposal),
                        "output_dir": str(staging),
                        "provenance": info,
                    },
                    kernel_name=KERNEL,
                    engine_name=engine.register(),
                    kernel_manager_class=ipc_kernel_manager(
                        kernel_dir, memory, kernel_env(pack.folder, handoff_folder)
                    ),
                    cwd=str(staging),
                    execution_timeout=proposal.limits.cell_timeout_s,
                    progress_bar=not quiet,
                    log_output=False,
                    report_mode=False,
                    # Killed once its last cell has run (all its outputs are in, its files
                    # closed): a graceful shutdown only tears down its objects, ~0.7 s.
                    shutdown_kernel="immediate",
                )
        except Exception as exc:  # noqa: BLE001 - every failure is reported, the good report kept
            secrets = redact.secret_values(connection_names(proposal))
            message = redact.scrub(_failure(exc, nb_path), secrets)
            if "MemoryError" in message:
                message += (
                    f" (the kernel's memory limit is {proposal.limits.memory_gb:g} GiB: "
                    "limits.memory_gb in the params file)"
                )
            failed = final / "failed"
            if failed.exists():
                shutil.rmtree(failed)
            failed.mkdir(parents=True, exist_ok=True)
            if nb_path.exists():  # tracebacks, chained ones too, may hold a connection URL
                redact.scrub_notebook(nb_path, failed / "assessment.ipynb", secrets)
            (failed / "error.txt").write_text(printable(message) + "\n", encoding="utf-8")
            user_error = USER_ERRORS.get(getattr(exc, "ename", ""))
            if user_error is not None:  # the input's fault, not the template's: say so, exit 2
                evalue = redact.scrub(exc.evalue, secrets)
                raise user_error(f"{proposal.id}: {evalue}") from None
            raise RunError(
                f"{proposal.id}: {message} (executed notebook kept in {failed})"
            ) from None
        finally:
            kill_kernels()
            warming.stop()
        timings["execute"] = time.perf_counter() - t1

        t2 = time.perf_counter()
        metrics_path = staging / "metrics.json"
        if not metrics_path.is_file():
            raise RunError(f"{proposal.id}: the template did not write metrics.json")
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        if strict:  # warnings found in the data (a period longer than it): nothing published
            from eia.analysis import guards

            found = [
                guards.Warning.from_dict(w)
                for w in metrics.get("warnings", [])
                if w.get("kind") in guards.DATA_KINDS
            ]
            if found:
                raise guards.as_error(str(params_file), found, warning_text)
        metrics["provenance"] = info
        write_json(metrics, metrics_path)
        report.write(nb_path, staging / "report.html", proposal.title)
        timings["render"] = time.perf_counter() - t2
        if want_pdf:
            t3 = time.perf_counter()
            try:
                pdf_mod.write(staging / "report.html")
            except pdf_mod.PDFError as exc:
                raise pdf_mod.PDFError(
                    f"{proposal.id}: {exc} (the last good report is unchanged)"
                ) from None
            timings["pdf"] = time.perf_counter() - t3

        removed = superseded(staging, final)
        _publish(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when published
        shutil.rmtree(kernel_dir, ignore_errors=True)
    timings["total"] = time.perf_counter() - t0
    return RunResult(
        id=proposal.id,
        title=proposal.title,
        template=proposal.template_label,
        folder=final,
        report=final / "report.html",
        notebook=final / "assessment.ipynb",
        metrics=final / "metrics.json",
        timings=timings,
        warnings=[warning_text(w) for w in metrics.get("warnings", [])],
        pdf=final / "report.pdf" if want_pdf else None,
        removed=removed,
    )
