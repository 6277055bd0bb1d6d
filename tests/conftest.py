"""Shared fixtures, markers derived from them, and the xdist groups that keep shared work single.

Tests that need the real reference pack use ``refdata_dir`` or ``pack`` (or a fixture built on
them). The pack is looked for in ``$EIA_REFDATA``, then ``shapes/``, then ``../shared/refdata``.
When it is missing the test fails under CI (``CI=true``) and is skipped elsewhere.

The examples (``params/examples/*.yaml``) run as notebooks once per session: ``example_runs``
runs them all in one :func:`eia.runner.batch.run_batch` (two at a time) and every test that
reads a rendered report or metrics.json reads that batch. Tests of computed results (wording,
logic) use ``example_assessment``, the in-process :func:`eia.assessment.assess` of an example,
built once per worker and shared.

Markers are derived from fixtures in :func:`pytest_collection_modifyitems` (``item.fixturenames``
is the transitive closure, so a fixture built on ``pack`` counts): ``refdata`` for the reference
pack, ``slow`` for the example batch, ``browser`` for Chromium, ``engines`` for PostgreSQL and
Spark. Tests that run notebooks on their own inputs (failure paths, ``--out`` handling, custom
templates) carry a hand-written ``slow`` marker.

Under pytest-xdist (``-n 2 --dist loadgroup``, see pyproject.toml) session and module fixtures
are built once per *worker*, so tests that share an expensive one are put in one
``xdist_group``: ``examples`` (the batch), ``engines`` (one PostgreSQL server, one Spark
session), ``notebooks`` (nbval runs a notebook's cells in one kernel, in order), and one group
per test module that defines its own module- or session-scoped fixture.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = sorted((ROOT / "params" / "examples").glob("*.yaml"))

#: Fixtures that need the real reference pack (directly; others are found through them).
REFDATA_FIXTURES = {"refdata_dir", "pack", "notts_area"}
#: Fixtures that start a database server or a Spark session (tests/services.py).
ENGINE_FIXTURES = {"postgres", "spark"}
#: Fixtures that open pages in headless Chromium (tests/test_browser.py).
BROWSER_FIXTURES = {"browser_tools"}
#: The fixture that runs every example as a notebook (once per session).
EXAMPLES_FIXTURE = "example_runs"


def _find_refdata() -> Path | None:
    candidates = [
        os.environ.get("EIA_REFDATA"),
        ROOT / "shapes",
        ROOT.parent / "shared" / "refdata",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "manifest.json").is_file():
            return Path(candidate).resolve()
    return None


# ---------------------------------------------------------------------------
# Counting kernels: EIA_TEST_COUNT_KERNELS=1 pytest ... prints how many notebook kernels started

#: Written to a temporary folder put first on PYTHONPATH; every Python process the session
#: starts (xdist workers, batch workers, ``eia`` subprocesses, kernels) imports it, and each
#: kernel adds one line to the log.
_KERNEL_COUNTER = """\
import os
try:
    with open("/proc/self/cmdline", "rb") as _cmd:
        _kernel = b"ipykernel_launcher" in _cmd.read()
except OSError:
    _kernel = False
if _kernel and os.environ.get("EIA_TEST_KERNEL_LOG"):
    with open(os.environ["EIA_TEST_KERNEL_LOG"], "a", encoding="utf-8") as _log:
        _log.write(f"{os.getpid()}\\n")
"""


def pytest_configure(config: pytest.Config) -> None:
    """With ``EIA_TEST_COUNT_KERNELS=1``, count the kernels every process of the session starts."""
    if not os.environ.get("EIA_TEST_COUNT_KERNELS") or hasattr(config, "workerinput"):
        return
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="eia-kernel-count-"))
    (folder / "sitecustomize.py").write_text(_KERNEL_COUNTER, encoding="utf-8")
    log = folder / "kernels.log"
    log.touch()
    os.environ["EIA_TEST_KERNEL_LOG"] = str(log)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(folder), os.environ.get("PYTHONPATH")) if p
    )


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Print the kernel count (``EIA_TEST_COUNT_KERNELS=1``)."""
    log = os.environ.get("EIA_TEST_KERNEL_LOG")
    if log and not hasattr(config, "workerinput") and Path(log).is_file():
        count = len(Path(log).read_text(encoding="utf-8").split())
        terminalreporter.write_line(f"notebook kernels started: {count}")


# ---------------------------------------------------------------------------
# Markers and xdist groups, derived from the fixtures each test uses


def _is_notebook_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def _own_shared_fixtures(item: pytest.Item) -> bool:
    """Whether the test uses a module- or session-scoped fixture defined in its own module."""
    info = getattr(item, "_fixtureinfo", None)
    module = getattr(item, "module", None)
    if info is None or module is None:
        return False
    for defs in info.name2fixturedefs.values():
        for fixturedef in defs:
            if (
                fixturedef.scope in ("module", "session")
                and getattr(fixturedef.func, "__module__", None) == module.__name__
            ):
                return True
    return False


def xdist_group(item: pytest.Item) -> str | None:
    """The xdist group a test runs in: the tests sharing an expensive fixture run on one worker."""
    names = set(getattr(item, "fixturenames", ()))
    if names & ENGINE_FIXTURES:
        return "engines"
    if EXAMPLES_FIXTURE in names:
        return "examples"
    if _is_notebook_cell(item):
        return "notebooks"
    if _own_shared_fixtures(item):
        return f"module:{item.module.__name__}"
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by the fixtures it uses, and put it in its xdist group."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & REFDATA_FIXTURES:
            item.add_marker(pytest.mark.refdata)
        if EXAMPLES_FIXTURE in names:
            item.add_marker(pytest.mark.slow)
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if names & ENGINE_FIXTURES:
            item.add_marker(pytest.mark.engines)
        group = xdist_group(item)
        if group is not None and not any(item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(group))


# ---------------------------------------------------------------------------
# The reference pack


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (xdist workers are separate processes)."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _missing_example_data() -> list[Path]:
    """The examples whose synthetic extract or travel-time matrix has not been generated yet."""
    from eia import params

    missing = []
    for path in EXAMPLES:
        proposal = params.load(path, check_data=False)
        wanted = []
        if proposal.service is not None and proposal.service.generate is not None:
            wanted.append(proposal.service.path)
        if proposal.access is not None:
            wanted += [t.path for t in proposal.access.travel_times if t.generate is not None]
        if any(not (path.parent / p).exists() for p in wanted if p):
            missing.append(path)
    return missing


def _generate_example_data(pack) -> None:
    """Generate the examples' synthetic inputs, as a first ``eia run`` would, one worker at a time.

    Without this, two workers (or a worker and the batch's processes) could write and read the
    same extract at once on a fresh clone.
    """
    from eia import params
    from eia.analysis import traveltime
    from eia.service import synth

    for path in _missing_example_data():
        proposal = params.load(path, check_data=False)
        if proposal.service is not None and proposal.service.generate is not None:
            synth.ensure(proposal, path.parent, pack)
        if proposal.access is not None and proposal.access.travel_times:
            traveltime.ensure_synthetic(proposal, path.parent, pack)


@pytest.fixture(scope="session")
def refdata_dir(tmp_path_factory) -> Path:
    """The real reference pack's folder; sets ``EIA_REFDATA`` for the session.

    The examples' synthetic inputs are generated here (under a lock shared by the xdist
    workers) so that no test reads one while another writes it.
    """
    folder = _find_refdata()
    if folder is None:
        message = "reference data not found: set EIA_REFDATA or run `eia data install --from DIR`"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    os.environ["EIA_REFDATA"] = str(folder)
    with _exclusive(tmp_path_factory.getbasetemp().parent / "eia-example-data.lock"):
        if _missing_example_data():
            from eia.refdata import load_pack

            _generate_example_data(load_pack(folder))
    return folder


@pytest.fixture(scope="session")
def pack(refdata_dir):
    """The verified reference pack (loaded once per session)."""
    from eia.refdata import load_pack

    return load_pack(refdata_dir)


@pytest.fixture(scope="session")
def notts_area(pack):
    """Nottingham and Nottinghamshire ICB's area frame."""
    from eia.population.area import build_area

    return build_area(pack, {"icb": "E54000060"})


# ---------------------------------------------------------------------------
# The examples: rendered once per session, assessed in-process once per worker


@dataclass
class ExampleRuns(Mapping):
    """Every example's outputs from one batch, by params file stem (``notts-community-hub``).

    ``runs[stem]`` is the example's :class:`eia.runner.run.RunResult`; an example whose run
    failed fails the test that asks for it, with the batch's one-line reason.
    """

    out: Path
    index: Path
    results: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, stem: str):
        if stem in self.errors:
            pytest.fail(f"example {stem} did not run: {self.errors[stem]}", pytrace=False)
        return self.results[stem]

    def __iter__(self):
        return iter(sorted({*self.results, *self.errors}))

    def __len__(self) -> int:
        return len({*self.results, *self.errors})


@pytest.fixture(scope="session")
def example_runs(refdata_dir, tmp_path_factory) -> ExampleRuns:
    """Every ``params/examples/*.yaml`` run once, by one ``run_batch(jobs=2)`` into a temp folder.

    ``EIA_TEST_JOBS`` sets another number of parallel runs (e.g. 1 on a shared machine).
    """
    from eia.runner.batch import run_batch
    from eia.runner.run import RunResult

    out = tmp_path_factory.mktemp("examples") / "out"
    jobs = int(os.environ.get("EIA_TEST_JOBS") or 2)
    batch = run_batch(EXAMPLES, out, jobs=jobs, progress=False)
    runs = ExampleRuns(out=batch.out, index=batch.index or batch.out / "index.html")
    for item in batch.items:
        stem = item.params_file.stem
        if not item.ok or item.report is None:
            runs.errors[stem] = item.error or item.status
            continue
        folder = item.report.parent
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        runs.results[stem] = RunResult(
            id=item.id or stem,
            title=item.title or "",
            template=item.template or "",
            folder=folder,
            report=item.report,
            notebook=folder / "assessment.ipynb",
            metrics=folder / "metrics.json",
            timings={"total": item.seconds},
            warnings=[str(w) for w in metrics.get("warnings", [])],
        )
    return runs


@pytest.fixture(scope="session")
def example_assessment(pack) -> Callable[[str], object]:
    """``example_assessment(stem)``: the example's :func:`eia.assessment.assess`, built once.

    Shared by every test in the worker: treat it as read-only.
    """
    from eia import assessment, params

    built: dict[str, object] = {}

    def assess(stem: str):
        if stem not in built:
            path = ROOT / "params" / "examples" / f"{stem}.yaml"
            built[stem] = assessment.assess(params.load(path, pack), path, pack)
        return built[stem]

    return assess


# ---------------------------------------------------------------------------
# Engines


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (tests/services.py); yields its URL."""
    from services import Postgres

    server = Postgres()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark():
    """A local Spark session (PySpark + Java 17), shared by the session's tests."""
    from services import spark_session

    return spark_session()
