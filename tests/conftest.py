"""Shared fixtures: the reference pack, the examples (run once per session), the engines.

Tests that need the real reference pack use ``refdata_dir`` or ``pack`` (or a fixture built on
them). The pack is looked for in ``$EIA_REFDATA``, then ``shapes/``, then ``../shared/refdata``.
When it is missing the test fails under CI (``CI=true``) and is skipped elsewhere.

The examples (``params/examples/*.yaml``) run as notebooks once per session: ``example_runs``
runs them all in one :func:`eia.runner.batch.run_batch` (two at a time) and every test that
reads a rendered report or metrics.json reads that batch. Tests of computed results (wording,
logic) use ``example_assessment``, the in-process :func:`eia.assessment.assess` of an example,
built once per worker and shared.

The markers (``refdata``, ``slow``, ``browser``, ``engines``) and the pytest-xdist groups are
derived from these fixtures by the hooks in the root ``conftest.py``. Tests that run notebooks
on their own inputs (failure paths, ``--out`` handling, custom templates) carry a hand-written
``slow`` marker.
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
def refdata_dir() -> Path:
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
    with _exclusive(ROOT / "params" / "examples" / "data" / ".generating.lock"):
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
