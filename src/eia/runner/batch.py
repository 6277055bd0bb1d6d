"""Running many proposals at once: ``eia batch PATH... [--out DIR] [--jobs N]``.

:func:`discover` turns the command's arguments — params files, folders (their
``*.yaml`` and ``*.yml`` files, not sub-folders) and glob patterns (``**``
allowed) — into a sorted list of files without duplicates. :func:`run_batch`
runs each one with :func:`eia.runner.run.run` in a worker process with at most
``jobs`` at a time, shows a progress bar of done, failed and running proposals,
and regenerates ``OUT/index.html`` after every proposal that finishes. It
returns a :class:`BatchResult`; :func:`print_summary` shows it as a table.

Isolation: the notebook runs in a kernel, a separate process started for each
proposal, with its own working folder, time limits and environment; the worker
only drives it. So the ``jobs`` workers are ``spawn`` processes started once per
batch (:func:`_warm_worker` imports Papermill, nbconvert and eia once, about 3 s
of CPU saved per proposal) and reused for the next proposal. A proposal's run
leaves nothing behind in its worker: :func:`eia.runner.run.run` restores the
signal handlers and alarms it sets and never changes ``os.environ``, and the
worker sends its output to the proposal's own log. A worker that dies outright
breaks the whole pool and with it every proposal in flight; those are run again
one at a time in a fresh pool, so only the proposal that kills its worker alone
is reported as failed (``the worker process failed``) and the others go on.

A proposal fails on its own: an invalid params file, a failing cell, a cell or
run past its time limit or a dead kernel is reported with the proposal's id,
the failing cell's heading and the error's last line, and the others go on.
As with ``eia run``, a failed proposal's last good report is left untouched
and its executed notebook is kept in ``OUT/<id>/failed/``. Two files with the
same ``id`` would write to the same folder, so only the first is run.

What the kernels and libraries print goes to a log file per proposal, not to
the terminal; it is kept, as ``OUT/<id>/failed/run.log`` and named in the
result, only when the proposal failed. The temporary log folder is removed on
every exit path (and a killed batch's by the next batch). Ctrl-C or SIGTERM
stops the workers before they publish, rebuilds ``index.html`` from what is
published, and exits 130.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from eia import redact
from eia.errors import EIAError, ParamsError

#: Prefix of a batch's temporary log folder (followed by the batch's pid and "-").
LOG_DIR = "eia-batch-logs-"
#: File name endings read as params files when a folder is given.
PARAMS_SUFFIXES = (".yaml", ".yml")

SUCCEEDED = "succeeded"
FAILED = "failed"
INVALID = "invalid"


class BatchInputError(EIAError):
    """The batch's arguments name nothing to run (a missing path or an empty glob)."""


@dataclass
class BatchItem:
    """The outcome of one params file in a batch."""

    params_file: Path
    status: str
    id: str | None = None
    title: str | None = None
    template: str | None = None
    seconds: float = 0.0
    report: Path | None = None
    error: str | None = None
    log: Path | None = None
    pdf: Path | None = None
    removed: list[str] = field(default_factory=list)  # an earlier run's files not made again

    @property
    def ok(self) -> bool:
        """Whether this proposal's report was published."""
        return self.status == SUCCEEDED

    @property
    def label(self) -> str:
        """The proposal's id, or the file's name when the id could not be read."""
        return self.id or self.params_file.name


@dataclass
class BatchResult:
    """Every proposal's outcome, in the order of the discovered files."""

    out: Path
    items: list[BatchItem] = field(default_factory=list)
    index: Path | None = None
    seconds: float = 0.0

    @property
    def succeeded(self) -> list[BatchItem]:
        """The proposals whose reports were published."""
        return [i for i in self.items if i.ok]

    @property
    def failed(self) -> list[BatchItem]:
        """The proposals that failed (invalid, or failed while running)."""
        return [i for i in self.items if not i.ok]

    @property
    def ok(self) -> bool:
        """Whether every proposal succeeded (and there was at least one)."""
        return bool(self.items) and not self.failed

    @property
    def exit_code(self) -> int:
        """0 when every proposal succeeded, else 1."""
        return 0 if self.ok else 1


# ---------------------------------------------------------------------------
# Discovery


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def _folder_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PARAMS_SUFFIXES
    )


def discover(paths: Iterable[Path | str]) -> list[Path]:
    """The params files named by ``paths``: files, folders and glob patterns.

    A folder contributes its ``*.yaml``/``*.yml`` files (not its sub-folders'); a
    pattern its matching files and folders (``**`` matches sub-folders). Files
    are returned absolute, each once, in the order given (sorted within a
    folder or pattern). Raises :class:`BatchInputError` for a path that does not
    exist, a pattern that matches nothing, or when no params file is found.
    """
    found: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            files = _folder_files(path)
            if not files:
                problems.append(f"{text}: no .yaml or .yml files in this folder")
            found += files
        elif _has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            files: list[Path] = []
            for match in map(Path, matches):
                if match.is_dir():
                    files += _folder_files(match)
                elif match.is_file():
                    files.append(match)
            if not files:
                problems.append(f"{text}: no params files match this pattern")
            found += files
        else:
            problems.append(f"{text}: no such file or folder")
    if problems:
        raise BatchInputError("nothing to run for:\n  " + "\n  ".join(problems))
    unique: dict[Path, None] = {}
    for file in found:
        unique.setdefault(file.resolve(), None)
    if not unique:
        raise BatchInputError("no params files found")
    return list(unique)


# ---------------------------------------------------------------------------
# One proposal, in a worker process


def _redirect_output(log_path: Path) -> None:
    """Send this process's stdout and stderr (file descriptors too) to ``log_path``."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


#: Whether this worker's runs use a second process (:mod:`eia.runner.assessor`): set by the
#: pool's initializer from the number of jobs (a spare core for each), off until then.
_SECOND_PROCESS = False


def _warm_worker(jobs: int | None = None) -> None:
    """Import what a proposal's run needs, once per worker process (the pool's initializer);
    with ``jobs``, decide whether its runs use a second process."""
    from eia.runner import without_iri_grammars

    if jobs is not None:
        from eia.runner import assessor

        global _SECOND_PROCESS
        _SECOND_PROCESS = assessor.wanted(jobs)

    without_iri_grammars()  # a fresh worker: papermill's nbformat would compile them
    import eia.params  # noqa: F401
    import eia.runner.engine  # noqa: F401  (papermill)
    import eia.runner.run  # noqa: F401  (nbconvert, jupyter_client)


def run_one(
    params_file: str,
    out: str,
    log_path: str | None = None,
    strict: bool = False,
    pdf: bool | None = None,
) -> dict:
    """Run one proposal and return its outcome as plain data (the worker's task).

    ``pdf``: also print ``report.pdf`` (None follows the params file's ``publish.pdf``).

    Never raises for a failed proposal: the error is part of the outcome.
    """
    _warm_worker()  # done already by the pool's initializer; cheap when repeated
    from eia import params as params_mod
    from eia.runner.run import run

    if log_path:
        _redirect_output(Path(log_path))
    started = time.perf_counter()
    outcome: dict = {"params_file": params_file, "status": FAILED}
    try:
        proposal = params_mod.load(params_file, check_data=False)
        outcome.update(id=proposal.id, title=proposal.title, template=proposal.template_label)
    except EIAError:
        pass  # run() reports the same problems, with the reference-data checks too
    try:
        result = run(params_file, out, strict=strict, pdf=pdf, second_process=_SECOND_PROCESS)
        outcome.update(
            status=SUCCEEDED,
            report=str(result.report),
            pdf=str(result.pdf) if result.pdf else None,
            removed=list(result.removed),
        )
    except ParamsError as exc:
        outcome.update(status=INVALID, error=_params_message(exc))
    except EIAError as exc:
        outcome.update(error=_strip_id(str(exc), outcome.get("id")))
    except Exception as exc:  # noqa: BLE001 - one proposal's crash must not stop the batch
        outcome.update(error=f"unexpected {type(exc).__name__}: {exc}")
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _params_message(exc) -> str:
    problems = getattr(exc, "problems", None) or []
    if not problems:
        return str(exc)
    head = f"invalid params ({len(problems)} problem{'s' if len(problems) != 1 else ''}): "
    return head + "; ".join(str(p) for p in problems)


def _strip_id(message: str, proposal_id: str | None) -> str:
    prefix = f"{proposal_id}: "
    return message[len(prefix) :] if proposal_id and message.startswith(prefix) else message


# ---------------------------------------------------------------------------
# The batch


def default_jobs() -> int:
    """Parallel runs by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _precheck(files: Sequence[Path]) -> tuple[list[BatchItem | None], list[Path]]:
    """Read each file's id (no reference data): invalid files and repeated ids fail at once."""
    from eia import params as params_mod

    items: list[BatchItem | None] = []
    seen: dict[str, Path] = {}
    for file in files:
        try:
            proposal = params_mod.load(file, check_data=False)
        except ParamsError as exc:
            items.append(BatchItem(file, INVALID, error=_params_message(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one file's problem must not stop the batch
            items.append(BatchItem(file, INVALID, error=f"cannot be read: {_one_line(exc)}"))
            continue
        if proposal.id in seen:
            items.append(
                BatchItem(
                    file,
                    FAILED,
                    id=proposal.id,
                    title=proposal.title,
                    template=proposal.template_label,
                    error=f"id {proposal.id!r} is also used by {seen[proposal.id]}; "
                    "not run, as both would write to the same folder",
                )
            )
            continue
        seen[proposal.id] = file
        items.append(None)
    return items, [f for f, item in zip(files, items, strict=True) if item is None]


def _one_line(exc: BaseException) -> str:
    from eia.redact import printable

    lines = [line for line in str(exc).splitlines() if line.strip()]
    return printable(lines[0]) if lines else type(exc).__name__


def _stop_workers(pool: ProcessPoolExecutor, grace_s: float = 20.0) -> None:
    """Stop a pool's workers before they publish: SIGTERM (each run cleans up), then SIGKILL.

    A worker's run turns SIGTERM into an interrupt (:func:`eia.runner.run.terminate_as_interrupt`):
    it stops before publishing, kills its kernel and removes its staging folder.
    """
    import signal

    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        if process.is_alive():
            with suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(5)
    pool.shutdown(wait=False, cancel_futures=True)


def _item(outcome: dict) -> BatchItem:
    return BatchItem(
        params_file=Path(outcome["params_file"]),
        status=outcome["status"],
        id=outcome.get("id"),
        title=outcome.get("title"),
        template=outcome.get("template"),
        seconds=float(outcome.get("seconds", 0.0)),
        report=Path(outcome["report"]) if outcome.get("report") else None,
        error=outcome.get("error"),
        pdf=Path(outcome["pdf"]) if outcome.get("pdf") else None,
        removed=list(outcome.get("removed") or []),
    )


def run_batch(
    paths: Iterable[Path | str],
    out: Path | str | None = None,
    *,
    jobs: int | None = None,
    progress: bool = True,
    console=None,
    on_done: Callable[[BatchItem], None] | None = None,
    strict: bool = False,
    pdf: bool | None = None,
    _task: Callable[..., dict] | None = None,
) -> BatchResult:
    """Run every params file found in ``paths``, ``jobs`` at a time; never raises for a failed run.

    Raises :class:`BatchInputError` when ``paths`` name nothing to run. With
    ``strict``, a proposal with warnings about its inputs (:mod:`eia.analysis.guards`) is
    invalid and not run. ``pdf``: also print each ``report.pdf`` (None follows each params
    file's ``publish.pdf``).
    ``OUT/index.html`` is regenerated after each proposal and at the end. ``_task`` replaces
    :func:`run_one` in the workers (tests only; it must be importable by a spawned process).
    """
    from eia.report import index
    from eia.runner.run import default_out

    t0 = time.perf_counter()
    files = discover(paths)
    from eia.runner.run import prepare_out, remove_stale, terminate_as_interrupt

    out_dir = prepare_out(Path(out).resolve() if out else default_out())
    jobs = max(1, jobs or default_jobs())
    prechecked, to_run = _precheck(files)
    outcomes: dict[Path, BatchItem] = {
        f: item for f, item in zip(files, prechecked, strict=True) if item is not None
    }
    remove_stale(Path(tempfile.gettempdir()), LOG_DIR)
    log_dir = Path(tempfile.mkdtemp(prefix=f"{LOG_DIR}{os.getpid()}-"))
    result = BatchResult(out=out_dir)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    counts = {"done": 0, "failed": 0, "running": 0}
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "done {task.fields[done]} · failed {task.fields[failed]}"
            " · running {task.fields[running]}"
        ),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    )

    def finished(item: BatchItem) -> None:
        outcomes[item.params_file] = item
        counts["done" if item.ok else "failed"] += 1
        bar.update(task, advance=1, **counts)
        if item.ok:
            bar.console.print(
                f"[green]✓[/] {_escape(item.label)} ({item.seconds:.1f} s)"
                + (" with PDF" if item.pdf else ""),
                highlight=False,
            )
            if item.removed:
                bar.console.print(
                    f"  [yellow]removed[/] {_escape(', '.join(item.removed))} of the earlier run "
                    "(not made this time"
                    + ("; add --pdf" if "report.pdf" in item.removed else "")
                    + ")",
                    highlight=False,
                )
        else:
            bar.console.print(
                f"[red]✗[/] {_escape(item.label)}: {_escape(item.error or '')}", highlight=False
            )
        if on_done is not None:
            on_done(item)
        try:
            result.index = index.write(out_dir)
        except Exception as exc:  # noqa: BLE001 - the index must not stop the batch
            bar.console.print(f"[yellow]index.html not updated: {_escape(str(exc))}[/]")

    with terminate_as_interrupt(), bar:
        task = bar.add_task("Assessments", total=len(files), **counts)
        for item in list(outcomes.values()):
            outcomes.pop(item.params_file)
            finished(item)
        if to_run:
            _run_pool(
                to_run,
                jobs,
                log_dir,
                finished,
                counts,
                lambda: bar.update(task, **counts),
                task_args=(str(out_dir), strict, pdf),
                task=_task,
                on_stop=lambda: index.write(out_dir),
            )
    _keep_logs(outcomes.values(), out_dir)
    shutil.rmtree(log_dir, ignore_errors=True)
    result.items = [outcomes[f] for f in files]
    result.index = index.write(out_dir)
    result.seconds = time.perf_counter() - t0
    return result


def _new_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` spawned workers, each importing what a run needs once (:func:`_warm_worker`)."""
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_warm_worker, initargs=(jobs,)
    )


def _run_pool(
    to_run: Sequence[Path],
    jobs: int,
    log_dir: Path,
    finished: Callable[[BatchItem], None],
    counts: dict[str, int],
    refresh: Callable[[], None],
    *,
    task_args: tuple,
    task: Callable[..., dict] | None = None,
    on_stop: Callable[[], object] | None = None,
) -> None:
    """Run ``to_run`` on reused workers, ``jobs`` at a time, calling ``finished`` for each.

    A dead worker breaks the pool and fails every future in flight with
    :class:`BrokenProcessPool`: a new pool is made, and those proposals are run again
    alone (one in flight), so a proposal that breaks a pool while alone is the one at
    fault and is failed; each is run at most twice.
    """
    out, strict, pdf = task_args
    task = task or run_one
    jobs = min(jobs, len(to_run))
    pending = list(to_run)
    suspects: list[Path] = []  # in flight when a pool broke: rerun alone
    pool = _new_pool(jobs)
    in_flight: dict[Future, tuple[Path, Path, bool]] = {}  # future: (file, log, alone)
    try:
        while pending or suspects or in_flight:
            while suspects and not in_flight:
                file = suspects.pop(0)
                log = _log_file(log_dir, file)
                future = pool.submit(task, str(file), out, str(log), strict, pdf)
                in_flight[future] = (file, log, True)
            while pending and not suspects and len(in_flight) < jobs:
                file = pending.pop(0)
                log = _log_file(log_dir, file)
                future = pool.submit(task, str(file), out, str(log), strict, pdf)
                in_flight[future] = (file, log, False)
            counts["running"] = len(in_flight)
            refresh()
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                file, log, alone = in_flight.pop(future)
                counts["running"] = len(in_flight)
                try:
                    item = _item(future.result())
                except BrokenProcessPool as exc:
                    broken = True
                    if not alone:
                        log.unlink(missing_ok=True)
                        suspects.append(file)
                        continue
                    item = _worker_failed(file, exc)
                except Exception as exc:  # noqa: BLE001 - e.g. a worker killed outright
                    item = _worker_failed(file, exc)
                if item.ok or not log.stat().st_size:
                    log.unlink(missing_ok=True)
                else:
                    item.log = log
                finished(item)
            if broken:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _new_pool(jobs)
    except BaseException:  # Ctrl-C or SIGTERM: stop the workers before they publish
        _stop_workers(pool)
        if on_stop is not None:
            with suppress(Exception):
                on_stop()  # what is published now, consistently
        shutil.rmtree(log_dir, ignore_errors=True)
        raise
    pool.shutdown(wait=True)


def _log_file(log_dir: Path, file: Path) -> Path:
    fd, log_name = tempfile.mkstemp(prefix=f"{file.stem}-", suffix=".log", dir=log_dir)
    os.close(fd)
    return Path(log_name)


def _worker_failed(file: Path, exc: BaseException) -> BatchItem:
    return BatchItem(file, FAILED, error=f"the worker process failed: {redact.scrub(str(exc))}")


def _keep_logs(items: Iterable[BatchItem], out_dir: Path) -> None:
    """Move a failed proposal's log next to its failed notebook (``OUT/<id>/failed/run.log``)."""
    for item in items:
        if item.log is None or not item.log.exists():
            continue
        failed = out_dir / item.id / "failed" if item.id else None
        if failed is not None and failed.is_dir() and not failed.is_symlink():
            target = failed / "run.log"
            redact.scrub_file(item.log, redact.secret_values())  # no URL or password kept
            shutil.move(str(item.log), target)
            item.log = target
        else:
            item.log.unlink(missing_ok=True)
            item.log = None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# ---------------------------------------------------------------------------
# Showing the result


def _display_path(path: Path | None) -> str:
    if path is None:
        return "–"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary_table(result: BatchResult):
    """A rich table: id, template, status, time and report path of every proposal."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"eia batch: {len(result.succeeded)} succeeded, {len(result.failed)} failed",
        title_justify="left",
    )
    table.add_column("id", overflow="fold")
    table.add_column("template")
    table.add_column("status")
    table.add_column("time", justify="right")
    table.add_column("report", overflow="fold")
    for item in result.items:
        style = "green" if item.ok else "red"
        table.add_row(
            Text(item.label),
            Text(item.template or "–"),
            Text(item.status, style=style),
            f"{item.seconds:.1f} s" if item.seconds else "–",
            Text(_display_path(item.report) if item.ok else "–"),
        )
    return table


def print_summary(result: BatchResult, console=None) -> None:
    """Print the summary table, each failure's reason, and where the index is."""
    from rich.console import Console
    from rich.text import Text

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)  # a log or a pipe: do not wrap the table at 80 columns
    console.print(summary_table(result))
    for item in result.failed:
        line = Text(f"FAILED {item.label}", style="bold red")
        line.append(f" ({_display_path(item.params_file)}): ", style="default")
        line.append(item.error or "unknown error", style="default")
        console.print(line)
        if item.log is not None:
            console.print(Text(f"  kernel and library output: {item.log}"))
    if result.index is not None:
        console.print(Text(f"Index: {_display_path(result.index)}"))
