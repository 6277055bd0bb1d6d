"""Benchmarks for eia (issue #8): medians over several runs, with min and max, and the machine.

    .venv/bin/python benchmarks/run.py                       # everything, 3 runs each
    .venv/bin/python benchmarks/run.py --repeat 1 --only icb,stats
    .venv/bin/python benchmarks/run.py --json results.json   # also write the figures as JSON

Sections (``--only``, comma-separated):

imports
    Import time of a kernel: the built-in templates' import cells (``from eia import
    assessment, params`` ...) under ``python -X importtime`` in a fresh process; the 15
    largest cumulative entries, the 15 largest eia modules and the total, and a check
    that no runner library (nbformat, jsonschema, nbconvert, papermill) is among them.
icb
    The Nottingham site-change example (``make demo``'s) end to end: ``eia run`` in a
    fresh process, its own stage timings (validate, execute, render), and finer
    stages — load reference data, load service data, compute, figures — measured by
    running the template's code in a fresh benchmark process (not in the kernel),
    with each library call timed where it happens. Beside it, the floor: Papermill
    plus nbconvert, in one fresh process, on a notebook that only imports the modules
    the real kernel had imported (listed by a probe run of the template), so the
    ratio counts only eia's own work.
examples
    Every example in ``params/examples``: ``eia run`` against its own floor (a probe run
    of that example lists its kernel's modules), per pair of runs; target ≤ 1.25×.
icbs
    One illustrative site change per ICB of the pack (``icb22_boundaries``; the first three
    hospitals of ``hospitals22_points`` inside it by name now, one of them closing), all 42
    in one ``eia batch --jobs 2``: the wall time (target ≤ 180 s), each proposal's median
    and maximum, and the failures with their one-line reasons. Hospitals whose name the
    pack gives to several sites are given as ``{name, lat, lon}`` (said in the output).
england
    All English LSOAs, 1,000 sites (representative points of random LSOAs, seeded)
    and a 10-million-row synthetic event extract (Parquet): time and peak resident
    memory (RSS) of ``eia run`` — the eia process and its kernel separately — and of
    its stages, measured in a fresh process as for icb.
travel
    The england benchmark's proposal with a journey-time matrix for every English LSOA ×
    every site (about 35 million pairs, Parquet, synthetic): ``eia run`` with and without
    it (time and peak RSS, and what the matrix adds), and reading the matrix and finding
    the quickest site before and after alone (``eia.analysis.traveltime``), in fresh processes.
batch
    Ten variants of the Nottingham example through ``eia batch`` with ``--jobs 1``
    and ``--jobs 2``: wall times and the speed-up.
stats
    ``eia.stats.sii`` with 100,000 repetitions, and every rate function for 35,000
    areas, each timed on its first call in a fresh process.
schemas
    The data contracts (``eia.refdata.schemas``, pandera), in a fresh process: importing pandera
    after the libraries a kernel has anyway, the first check (pandera sets up its
    backends), checking every file of the pack in full (``eia data check``), the pack
    files a run reads, and the England-sized frames a run checks (area, weights,
    distances, service counts; 33,755 LSOAs). What a run pays is the import, the first
    check, the pack files (until they are remembered: a later run looks each file's sha256
    up in ``eia.refdata.checked``'s records) and the frames.

Each measurement runs in its own process, one after another (never two at once);
``eia run`` and the floor alternate so that both see the same machine load. The
load average is printed at the start and end of each section: other work on the
machine makes the times noisy. Plain Python, not a test: the figures depend on the
machine. Generated inputs are kept in ``--work`` (default: a folder in the system
temporary directory) and reused by later runs. Children cache compiled bytecode in
``WORK/pycache`` (``PYTHONPYCACHEPREFIX``, without ``PYTHONDONTWRITEBYTECODE``), as an
installed package has it, so that neither ``eia run`` nor the floor compiles every module
from source in every process; ``--no-pycache`` measures the environment as it is.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICB_EXAMPLE = ROOT / "params" / "examples" / "notts-diagnostics-consolidation.yaml"
SECTIONS = (
    "imports",
    "icb",
    "examples",
    "icbs",
    "england",
    "travel",
    "batch",
    "stats",
    "service",
    "schemas",
)
GIB = 1024**3
MIB = 1024**2

# ---------------------------------------------------------------------------
# Code run in fresh child processes. Each child reads its arguments as JSON from
# argv[1] and writes its results as JSON to args["result"].

#: ``eia run FILE --out OUT`` exactly as the command line does it (eia.runner.cli.main), with
#: the runner's own stage timings and the peak RSS of this process and of its kernel.
CLI_CHILD = r"""
import json, resource, sys
KIB = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
args = json.loads(sys.argv[1])
from eia.runner import without_iri_grammars
without_iri_grammars()  # what eia.runner.cli.main does first, before this import can
import eia.runner.run as runner
timings = {}
_run = runner.run
def run(*a, **k):
    result = _run(*a, **k)
    timings.update(result.timings)
    timings["second_process"] = f"{result.second_process}, {result.drawn_ahead} drawn ahead"
    return result
runner.run = run
from eia.runner.cli import main
rc = main(["run", args["file"], "--out", args["out"]])
out = {
    "rc": rc,
    "timings": timings,
    "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB,
    # The kernel is this process's child (jupyter_client waits for it at shutdown).
    "rss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * KIB,
}
json.dump(out, open(args["result"], "w"))
"""

#: Read a journey-time matrix and find the quickest site before and after (eia.analysis.traveltime).
TRAVEL_CHILD = r"""
import json, resource, sys, time
KIB = 1 if sys.platform == "darwin" else 1024
args = json.loads(sys.argv[1])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0 = time.perf_counter()
from eia import params
from eia.analysis import traveltime
from eia.population.area import select_lsoas
from eia.refdata import load_pack
from eia.refdata.lsoa21 import _reference
pack = load_pack()
proposal = params.load(args["file"], pack)
codes = select_lsoas(pack, proposal.area.spec)
_reference(pack)  # LSOA code look-ups, built once per run and shared with service data
t1, c1 = time.perf_counter(), cpu()
matrix = traveltime.load_matrices(proposal, pack, codes, base_dir=args["base"])["car"]
t2, c2 = time.perf_counter(), cpu()
names = [s.label for s in proposal.sites.current]
after = [s.label for s in proposal.sites.proposed]
times = traveltime.measure(matrix, names, after)
t3, c3 = time.perf_counter(), cpu()
json.dump({"timings": {"setup": t1 - t0, "read": t2 - t1, "measure": t3 - t2},
           "cpu": {"read": c2 - c1, "measure": c3 - c2},
           "pairs": matrix.info["pairs_read"],
           "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB},
          open(args["result"], "w"))
"""

#: The floor: Papermill (ipc kernel, as eia.runner.run) plus nbconvert on a notebook that only
#: imports modules, then the HTML written; nothing of eia is imported in this process.
FLOOR_CHILD = r"""
import json, resource, sys, time
KIB = 1 if sys.platform == "darwin" else 1024
args = json.loads(sys.argv[1])
t0 = time.perf_counter()
import papermill, nbformat
from jupyter_client.manager import AsyncKernelManager
from nbconvert import HTMLExporter
t1 = time.perf_counter()

class IPCKernelManager(AsyncKernelManager):
    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", args["kernel_dir"] + "/kernel")
        super().__init__(**kwargs)

papermill.execute_notebook(
    args["notebook"], args["executed"], parameters={"output_dir": args["out"]},
    kernel_name="python3", kernel_manager_class=IPCKernelManager, cwd=args["out"],
    progress_bar=False, log_output=False, report_mode=False,
)
t2 = time.perf_counter()
exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, exclude_anchor_links=True, embed_images=True)
body, _ = exporter.from_notebook_node(nbformat.read(args["executed"], as_version=4))
open(args["out"] + "/report.html", "w", encoding="utf-8").write(body)
t3 = time.perf_counter()
json.dump({"timings": {"import": t1 - t0, "execute": t2 - t1, "render": t3 - t2},
           "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB,
           "rss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * KIB},
          open(args["result"], "w"))
"""

#: The template's own code cells run in this (fresh) process, with each library call
#: timed where it happens. Time is exclusive: a reference-data read inside
#: load_service counts as "load reference data", not twice. A sampling thread keeps
#: the peak RSS seen while each stage was running.
STAGES_CHILD = r"""
import contextlib, io, json, os, resource, sys, threading, time
KIB = 1 if sys.platform == "darwin" else 1024
args = json.loads(sys.argv[1])

STATM = "/proc/self/statm"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

def rss():
    try:
        with open(STATM) as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB

seconds, peak, stack = {}, {}, []

def note_rss(stage):
    peak[stage] = max(peak.get(stage, 0), rss())

class Stage:
    def __init__(self, name):
        self.name = name
    def __enter__(self):
        now = time.perf_counter()
        if stack:
            outer = stack[-1]
            seconds[outer[0]] = seconds.get(outer[0], 0.0) + now - outer[1]
        stack.append([self.name, now])
        note_rss(self.name)
    def __exit__(self, *exc):
        now = time.perf_counter()
        name, since = stack.pop()
        note_rss(name)
        seconds[name] = seconds.get(name, 0.0) + now - since
        if stack:
            stack[-1][1] = now

def timed(stage, fn):
    def wrapper(*a, **k):
        with Stage(stage):
            return fn(*a, **k)
    wrapper.__wrapped__ = fn
    return wrapper

stop = threading.Event()
def sample():
    while not stop.wait(0.005):
        if stack:
            note_rss(stack[-1][0])
threading.Thread(target=sample, daemon=True).start()

with Stage("import eia and libraries"):
    import nbformat
    from eia import assessment, params, refdata
    from eia.refdata import lsoa21, pack
    from eia.report import maps, sections, show
    from eia.service import load as service

with Stage("validate"):
    proposal = params.load(args["file"])
# The kernel starts with no reference data in memory: forget what validation read.
pack._pack_at.cache_clear()
pack._verified.cache_clear()
lsoa21._RESOLVERS.clear()

READ = "load reference data"
pack.verify = timed(READ, pack.verify)
pack.Pack._read = timed(READ, pack.Pack._read)
pack.Pack._read_geo = timed(READ, pack.Pack._read_geo)
service.load_service = timed("load service data", service.load_service)
assessment.assess = timed("compute", assessment.assess)
for name in ("imd_map", "change_map", "options_maps", "rate_map", "bar_with_ci"):
    setattr(maps, name, timed("figures", getattr(maps, name)))
show.png_bytes = timed("figures", show.png_bytes)

nb = nbformat.read(args["template"], as_version=4)
cells = [c.source for c in nb.cells
         if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
namespace = {"params_file": args["file"], "proposal": params.to_notebook(proposal),
             "output_dir": args["out"], "provenance": None}
with Stage("sections and metrics.json"), contextlib.redirect_stdout(io.StringIO()):
    for source in cells:
        exec(compile(source, "<template cell>", "exec"), namespace)
stop.set()
json.dump({"seconds": seconds, "peak_rss": peak,
           "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB},
          open(args["result"], "w"))
"""

#: First-call times of the statistics (the functions' module imported beforehand).
STATS_CHILD = r"""
import json, sys, time
import numpy as np
args = json.loads(sys.argv[1])
from eia import stats
n = args["areas"]
rng = np.random.default_rng(8)
pop = rng.integers(800, 3000, n).astype(float)
events = rng.poisson(pop * 0.02).astype(float)
events[: n // 20] = rng.integers(0, 10, n // 20)          # some small counts (exact limits)
band_pop = rng.integers(10, 300, (n, 19)).astype(float)
band_events = rng.poisson(band_pop * 0.02).astype(float)
ref_events, ref_pop = float(events.sum()), float(pop.sum())
deciles = np.arange(1, 11)
dec_pop = rng.integers(80_000, 120_000, 10).astype(float)
dec_rate = np.linspace(30.0, 20.0, 10)
dec_lo, dec_hi = dec_rate * 0.9, dec_rate * 1.1
out = {}
def clock(name, fn):
    t0 = time.perf_counter()
    fn()
    out[name] = time.perf_counter() - t0
clock("sii", lambda: stats.sii(deciles, dec_pop, dec_rate, lower_cl=dec_lo, upper_cl=dec_hi,
                               value_type="rate", repetitions=100_000, seed=1, rii=True))
t0 = time.perf_counter()
clock("rate_ci", lambda: stats.rate_ci(events, pop, multiplier=1000))
clock("proportion_ci", lambda: stats.proportion_ci(np.minimum(events, pop), pop))
clock("dsr", lambda: stats.dsr(band_events, band_pop, stats.ESP2013))
clock("rate_ratio", lambda: stats.rate_ratio(events, pop, ref_events, ref_pop))
out["all rates"] = time.perf_counter() - t0
json.dump(out, open(args["result"], "w"))
"""

#: The data contracts' costs, each timed in one fresh process (see the module docstring).
SCHEMAS_CHILD = r"""
import json, sys, time
import numpy as np, pandas as pd, geopandas, scipy.special, pydantic, pyarrow.parquet as pq
import eia.population.area, eia.population.ethnicity, eia.refdata, eia.stats  # a kernel imports these anyway
args = json.loads(sys.argv[1])
out = {}
t0 = time.perf_counter()
from eia.refdata import schemas
out["import"] = time.perf_counter() - t0
from eia import refdata
from eia.population.area import build_area, group_populations
from eia.analysis import access
pack = refdata.load_pack()
def read(name, columns=None):
    return pq.read_table(pack.path(name), columns=columns).to_pandas()
t0 = time.perf_counter()
schemas.SERVICE_BY_LSOA.validate(pd.DataFrame({"lsoa21_code": ["E01000001"], "count": [1.0]}))
out["first check"] = time.perf_counter() - t0
t0 = time.perf_counter()
refdata.check_contents(pack.folder)
out["whole pack"] = time.perf_counter() - t0
run_reads = [("lsoa21_lookup.parquet", None), ("imd2025_lsoa21.parquet", None),
             ("census2021_ethnicity_lsoa21.parquet", None),
             ("census2021_ethnicity_lsoa21.parquet", ["lsoa21_code", "total_residents"]),
             ("lsoa21_boundaries.parquet", None), ("hospitals22_points.parquet", None),
             ("lsoa21_msoa21_lookup.parquet", None), ("census2021_proficiency_msoa21.parquet", None),
             ("ruc21_lsoa21.parquet", None), ("population20_age_lsoa21.parquet", None)]
frames = [(name, cols, read(name, cols)) for name, cols in run_reads]
t0 = time.perf_counter()
for name, cols, frame in frames:
    schemas.PACK[name].validate(frame, columns=cols)
out["pack reads"] = time.perf_counter() - t0
from eia.refdata import checked
t0 = time.perf_counter()  # a later run: each file's record looked up by sha256, nothing checked
remembered = [checked.passed(checked.record_key(pack.manifest[name]["sha256"], schemas.PACK[name]))
              for name, cols, frame in frames]
out["pack reads remembered"] = time.perf_counter() - t0
out["remembered"] = sum(remembered)
codes = sorted(pack.imd2025()["lsoa21_code"])
area = build_area(pack, codes)
weights = access.group_weights(area, group_populations(pack, codes))
sites = area.iloc[::34][["geometry"]].assign(name="site", source="x")
sites = sites.set_geometry(sites.geometry.representative_point())
distances = access.measure(area, sites, sites.iloc[::2])
service = pd.DataFrame({"lsoa21_code": codes, "count": np.arange(len(codes), dtype=float)})
t0 = time.perf_counter()
schemas.AREA.validate(area)
for w in weights.values():
    schemas.WEIGHTS.validate(w)
schemas.DISTANCES.validate(distances)
schemas.SERVICE_BY_LSOA.validate(service)
out["frames"] = time.perf_counter() - t0
out["lsoas"] = len(codes)
json.dump(out, open(args["result"], "w"))
"""

#: Printed under the table.
NOTES = (
    "Stages marked (in-process) ran the template's code in a fresh benchmark process, not in the",
    "kernel, each library call timed where it happens (exclusive times). Peak RSS during a stage",
    "is the process's resident memory while that stage's code ran: reference data is also read",
    "inside load service data, so that peak can include the service data then in memory. The",
    "floor imports every module the eia kernel had imported (listed by a probe run), then",
    "Papermill and nbconvert do the rest.",
)

#: A probe run's extra last cell: the modules its kernel had imported, in import order.
PROBE_CELL = "import json as _j, sys as _s\n_j.dump(list(_s.modules), open({path!r}, 'w'))\n"


# ---------------------------------------------------------------------------
# Helpers


def child(code: str, args: dict, *, env: dict | None = None, cwd: Path | None = None) -> dict:
    """Run ``code`` in a fresh Python process; its JSON result plus ``wall`` (seconds)."""
    with tempfile.TemporaryDirectory(prefix="eia-bench-result-") as tmp:
        args = {**args, "result": str(Path(tmp) / "result.json")}
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code, json.dumps(args)],
            capture_output=True,
            text=True,
            env=env or child_env(),
            cwd=cwd or ROOT,
        )
        wall = time.perf_counter() - t0
        path = Path(args["result"])
        if proc.returncode or not path.is_file():
            sys.exit(f"benchmark child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        result = json.loads(path.read_text())
    if result.get("rc", 0):
        sys.exit(f"eia failed (exit {result['rc']}):\n{proc.stderr[-4000:]}")
    result["wall"] = wall
    return result


#: Where children cache compiled bytecode (``--pycache``); None: the environment decides.
PYCACHE: Path | None = None


def child_env(**extra: str) -> dict:
    env = dict(os.environ)
    env.pop("EIA_TEMPLATES", None)
    if PYCACHE is not None:  # as an installed package: modules compiled once, not every run
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.setdefault("PYTHONHASHSEED", "0")
    env.setdefault("MPLBACKEND", "Agg")
    env.update(extra)
    return env


def eia_command() -> list[str]:
    script = Path(sys.executable).parent / "eia"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "eia.runner.cli"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def machine() -> str:
    """One line: CPU, cores, memory, OS, Python and the main libraries' versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
        memory = f"{mem:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        memory = "RAM unknown"
    from importlib.metadata import version

    libs = ", ".join(
        f"{name} {version(name)}"
        for name in ("pandas", "geopandas", "pyarrow", "matplotlib", "papermill", "nbconvert")
    )
    return (
        f"{cpu}, {cores} cores available, {memory}, {platform.system()} {platform.release()} "
        f"{platform.machine()}, Python {platform.python_version()}; {libs}"
    )


class Table:
    """Rows of measurements: median, min and max over the runs, with a target and verdict."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, section, measure, values, unit="s", target=None, ok=None, note=""):
        values = [v for v in values if v is not None]
        median = statistics.median(values) if values else None
        row = {
            "section": section,
            "measure": measure,
            "unit": unit,
            "n": len(values),
            "median": median,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "target": target or "",
            "verdict": "" if ok is None or not values else "met" if ok(median) else "NOT MET",
            "note": note,
        }
        self.rows.append(row)
        return row

    @staticmethod
    def _fmt(value, unit):
        if value is None:
            return "–"
        if unit == "GiB":
            return f"{value / GIB:.2f}"
        if unit == "MiB":
            return f"{value / MIB:,.0f}"
        if unit == "×":
            return f"{value:.2f}"
        if unit == "count":
            return f"{value:.0f}"
        return f"{value:.3g}" if value < 1 else f"{value:.2f}"

    def render(self) -> str:
        head = ("section", "measure", "unit", "n", "median", "min", "max", "target", "verdict")
        body = [
            (
                r["section"],
                r["measure"],
                r["unit"],
                str(r["n"]),
                *(self._fmt(r[k], r["unit"]) for k in ("median", "min", "max")),
                r["target"],
                r["verdict"],
            )
            for r in self.rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
        right = {3, 4, 5, 6}

        def line(cells):
            return (
                "| "
                + " | ".join(
                    str(c).rjust(w) if i in right else str(c).ljust(w)
                    for i, (c, w) in enumerate(zip(cells, widths, strict=True))
                )
                + " |"
            )

        sep = (
            "|"
            + "|".join(
                "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)
            )
            + "|"
        )
        return "\n".join([line(head), sep, *(line(b) for b in body)])


def ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


# ---------------------------------------------------------------------------
# 1. ICB scale


def probe_modules(work: Path, params_file: Path, template: str) -> list[str]:
    """Run ``params_file`` once with a template that lists its kernel's modules at the end."""
    templates = work / "probe-templates"
    shutil.rmtree(templates, ignore_errors=True)
    shutil.copytree(ROOT / "src" / "eia" / "templates", templates)
    listing = work / "kernel-modules.json"
    listing.unlink(missing_ok=True)
    import nbformat

    path = templates / f"{template}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE_CELL.format(path=str(listing))))
    nbformat.write(nb, path)
    with tempfile.TemporaryDirectory(prefix="eia-bench-probe-") as out:
        child(
            CLI_CHILD,
            {"file": str(params_file), "out": out},
            env=child_env(EIA_TEMPLATES=str(templates)),
        )
    modules = json.loads(listing.read_text())
    return [m for m in modules if m.split(".")[0] not in ("eia", "__main__", "_j", "_s")]


def floor_notebook(work: Path, modules: list[str]) -> Path:
    """A notebook with a parameters cell and one cell importing ``modules`` (failures skipped)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("output_dir = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import importlib\n"
            f"for _name in {modules!r}:\n"
            "    try:\n"
            "        importlib.import_module(_name)\n"
            "    except Exception:\n"
            "        pass\n"
        ),
    ]
    path = work / "floor.ipynb"
    nbformat.write(nb, path)
    return path


def bench_icb(table: Table, repeat: int, work: Path) -> None:
    section = "icb"
    say(f"[icb] {load()}; probe run (lists the kernel's modules for the floor; warms caches)")
    modules = probe_modules(work, ICB_EXAMPLE, "site_change")
    floor_nb = floor_notebook(work, modules)
    runs, floors, stages = [], [], []
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="eia-bench-icb-") as out:
            runs.append(child(CLI_CHILD, {"file": str(ICB_EXAMPLE), "out": out}))
        with tempfile.TemporaryDirectory(prefix="eia-bench-floor-") as out:
            kernel_dir = tempfile.mkdtemp(prefix="eia-bench-kernel-")
            floors.append(
                child(
                    FLOOR_CHILD,
                    {
                        "notebook": str(floor_nb),
                        "executed": str(Path(out) / "floor.ipynb"),
                        "out": out,
                        "kernel_dir": kernel_dir,
                    },
                )
            )
            shutil.rmtree(kernel_dir, ignore_errors=True)
        say(
            f"[icb] run {i + 1}/{repeat}: eia run {runs[-1]['wall']:.2f} s, "
            f"floor {floors[-1]['wall']:.2f} s; {load()}"
        )
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="eia-bench-stages-") as out:
            stages.append(
                child(
                    STAGES_CHILD,
                    {
                        "file": str(ICB_EXAMPLE),
                        "out": out,
                        "template": str(ROOT / "src" / "eia" / "templates" / "site_change.ipynb"),
                    },
                )
            )
    walls = [r["wall"] for r in runs]
    floor_walls = [r["wall"] for r in floors]
    table.add(section, "eia run, end to end (fresh process)", walls)
    for key in ("validate", "execute", "render"):
        table.add(section, f"  {key} (eia.runner.run timings)", [r["timings"][key] for r in runs])
    add_stages(table, section, stages, memory=False)
    table.add(
        section,
        "floor: Papermill + nbconvert, end to end",
        floor_walls,
        note=f"imports the {len(modules)} modules the eia kernel had",
    )
    for key in ("import", "execute", "render"):
        table.add(section, f"  floor {key}", [r["timings"][key] for r in floors])
    table.add(
        section,
        "ratio eia run / floor (per pair)",
        ratios(walls, floor_walls),
        unit="×",
        target="≤ 1.25",
        ok=lambda v: v <= 1.25,
    )
    table.add(section, "peak RSS, eia process", [r["rss_self"] for r in runs], unit="MiB")
    table.add(section, "peak RSS, kernel", [r["rss_children"] for r in runs], unit="MiB")
    say(f"[icb] done; {load()}")


def add_stages(table: Table, section: str, stages: list[dict], *, memory: bool) -> None:
    order = [
        "import eia and libraries",
        "validate",
        "load reference data",
        "load service data",
        "compute",
        "figures",
        "sections and metrics.json",
    ]
    labels = {"sections and metrics.json": "other sections, metrics.json"}
    for name in order:
        values = [s["seconds"].get(name, 0.0) for s in stages]
        table.add(section, f"  stage: {labels.get(name, name)} (in-process)", values)
        if memory:
            table.add(
                section,
                f"    peak RSS during {labels.get(name, name)}",
                [s["peak_rss"].get(name) for s in stages],
                unit="MiB",
            )


# ---------------------------------------------------------------------------
# 2. England scale


def england_inputs(work: Path, sites: int, events: int, seed: int = 8) -> Path:
    """All English LSOAs, ``sites`` sites and an ``events``-row extract; reused when present."""
    folder = work / f"england-{sites}-sites-{events}-events-seed{seed}"
    params_file = folder / "england.yaml"
    if params_file.is_file():
        return params_file
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from eia.refdata import WGS84, load_pack

    say(f"[england] generating inputs in {folder} (once)")
    folder.mkdir(parents=True, exist_ok=True)
    pack = load_pack()
    codes = sorted(pack.imd2025()["lsoa21_code"])
    rng = np.random.default_rng(seed)

    shapes = pack.boundaries(codes).set_index("lsoa21_code").reindex(codes)
    chosen = rng.choice(len(codes), size=sites + sites // 20, replace=False)
    points = shapes.geometry.iloc[chosen].representative_point().to_crs(WGS84)
    located = [
        {"name": f"Site {i + 1:04d}", "lat": round(float(p.y), 5), "lon": round(float(p.x), 5)}
        for i, p in enumerate(points)
    ]
    current = located[:sites]
    # The proposal: close every 20th site and open sites // 20 new ones elsewhere.
    proposed = [s for i, s in enumerate(current) if i % 20 != 19] + located[sites:]

    # Events: benchmarks/service_aggregate.py's generator, with real LSOA 2021 codes drawn
    # in proportion to population.
    spec = importlib.util.spec_from_file_location(
        "service_aggregate", ROOT / "benchmarks" / "service_aggregate.py"
    )
    aggregate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aggregate)
    table = aggregate.make_events(events, seed)
    pop = pack.population().reindex(codes).fillna(0).to_numpy(dtype=float)
    index = rng.choice(len(codes), size=events, p=pop / pop.sum()).astype("int32")
    lsoa = pa.DictionaryArray.from_arrays(pa.array(index), pa.array(codes)).cast(pa.string())
    column = aggregate.COLUMNS["lsoa"]
    table = table.set_column(table.schema.get_field_index(column), column, lsoa)
    pq.write_table(table, folder / "events.parquet")
    del table, lsoa

    params = {
        "id": "bench-england",
        "title": "Benchmark: 1,000 sites across England (synthetic)",
        "template": "site_change",
        "description": "Benchmark only, not a proposal: every English LSOA, random sites.",
        "area": {"lsoa": codes},
        "sites": {"current": current, "proposed": proposed},
        "thresholds": {"distance_km": 5},
        "service": {
            "path": "events.parquet",
            "columns": dict(aggregate.COLUMNS),  # role -> column, as the generator names them
            "label": "events (synthetic)",
            "synthetic": True,
        },
        "limits": {"run_timeout_s": 3600, "cell_timeout_s": 3600},
    }
    return write_params(params, params_file)


def write_params(params: dict, params_file: Path) -> Path:
    """Write a params file atomically (a run reading it never sees half of it)."""
    import yaml

    tmp = params_file.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(params, sort_keys=False, width=120), encoding="utf-8")
    os.replace(tmp, params_file)
    return params_file


def bench_england(table: Table, repeat: int, work: Path, sites: int, events: int) -> None:
    section = "england"
    params_file = england_inputs(work, sites, events)
    say(f"[england] {load()}; {params_file}")
    runs, stages = [], []
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="eia-bench-england-") as out:
            runs.append(child(CLI_CHILD, {"file": str(params_file), "out": out}))
        with tempfile.TemporaryDirectory(prefix="eia-bench-england-stages-") as out:
            stages.append(
                child(
                    STAGES_CHILD,
                    {
                        "file": str(params_file),
                        "out": out,
                        "template": str(ROOT / "src" / "eia" / "templates" / "site_change.ipynb"),
                    },
                )
            )
        say(
            f"[england] run {i + 1}/{repeat}: eia run {runs[-1]['wall']:.1f} s, peak RSS kernel "
            f"{runs[-1]['rss_children'] / GIB:.2f} GiB; {load()}"
        )
    table.add(
        section,
        f"eia run, end to end ({events:,} events, {sites:,} sites)",
        [r["wall"] for r in runs],
        target="< 60 s",
        ok=lambda v: v < 60,
    )
    for key in ("validate", "execute", "render"):
        table.add(section, f"  {key} (eia.runner.run timings)", [r["timings"][key] for r in runs])
    table.add(section, "peak RSS, eia process", [r["rss_self"] for r in runs], unit="GiB")
    table.add(section, "peak RSS, kernel", [r["rss_children"] for r in runs], unit="GiB")
    table.add(
        section,
        "peak RSS, eia process + kernel",
        [r["rss_self"] + r["rss_children"] for r in runs],
        unit="GiB",
        target="< 4 GiB",
        ok=lambda v: v < 4 * GIB,
    )
    add_stages(table, section, stages, memory=True)
    table.add(section, "  peak RSS, in-process stages", [s["rss_self"] for s in stages], unit="GiB")
    say(f"[england] done; {load()}")


def travel_inputs(work: Path, sites: int, events: int) -> Path:
    """The england proposal plus a car journey-time matrix, every LSOA × every site (Parquet).

    Synthetic minutes from straight-line distance (eia.analysis.traveltime.SPEED_MODEL, car, urban
    speeds) times a seeded factor; 1% of pairs empty (not reachable). Reused when present.
    """
    base = england_inputs(work, sites, events)
    params_file = base.with_name("england-travel.yaml")
    if params_file.is_file():
        return params_file
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml

    from eia.refdata import BNG, load_pack

    say(f"[travel] generating a journey-time matrix in {base.parent} (once)")
    proposal = yaml.safe_load(base.read_text(encoding="utf-8"))
    pack = load_pack()
    codes = proposal["area"]["lsoa"]
    every = {s["name"]: s for s in proposal["sites"]["current"] + proposal["sites"]["proposed"]}
    names = list(every)
    import geopandas as gpd

    points = gpd.GeoSeries.from_xy(
        [every[n]["lon"] for n in names], [every[n]["lat"] for n in names], crs="EPSG:4326"
    ).to_crs(BNG)
    origins = pack.boundaries(codes).set_index("lsoa21_code").reindex(codes).to_crs(BNG)
    origins = origins.geometry.representative_point()
    km = (
        np.hypot(
            origins.x.to_numpy()[:, None] - points.x.to_numpy()[None, :],
            origins.y.to_numpy()[:, None] - points.y.to_numpy()[None, :],
        )
        / 1000.0
    )
    route = km * 1.3
    near = np.minimum(route, 5.0)
    minutes = (near / 25.0 + (route - near) / 65.0) * 60.0 + 4.0
    rng = np.random.default_rng(9)
    minutes = (minutes * rng.uniform(0.9, 1.1, size=minutes.shape)).astype(np.float32)
    minutes[rng.random(minutes.shape) < 0.01] = np.nan
    n_o, n_s = minutes.shape
    origin = pa.DictionaryArray.from_arrays(
        pa.array(np.repeat(np.arange(n_o, dtype=np.int32), n_s)), pa.array(codes)
    )
    destination = pa.DictionaryArray.from_arrays(
        pa.array(np.tile(np.arange(n_s, dtype=np.int32), n_o)), pa.array(names)
    )
    table = pa.table(
        {
            "lsoa21_code": origin,
            "site": destination,
            "minutes": pa.array(minutes.reshape(-1), from_pandas=True),
        }
    )
    pq.write_table(table, base.parent / "car-times.parquet", row_group_size=2_000_000)
    del table, minutes, km, route, near
    proposal["id"] = "bench-england-travel"
    proposal["title"] = "Benchmark: 1,000 sites across England by journey time (synthetic)"
    proposal["access"] = {
        "travel_times": [
            {
                "path": "car-times.parquet",
                "mode": "car",
                "columns": {"origin": "lsoa21_code", "destination": "site", "minutes": "minutes"},
                "label": "car journey times (synthetic)",
                "synthetic": True,
            }
        ]
    }
    return write_params(proposal, params_file)


def bench_travel(table: Table, repeat: int, work: Path, sites: int, events: int) -> None:
    section = "travel"
    params_file = travel_inputs(work, sites, events)
    plain = params_file.with_name("england.yaml")
    say(f"[travel] {load()}; {params_file}")
    with_matrix, without, reads = [], [], []
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="eia-bench-travel-") as out:
            without.append(child(CLI_CHILD, {"file": str(plain), "out": out}))
        with tempfile.TemporaryDirectory(prefix="eia-bench-travel-") as out:
            with_matrix.append(child(CLI_CHILD, {"file": str(params_file), "out": out}))
        reads.append(child(TRAVEL_CHILD, {"file": str(params_file), "base": str(plain.parent)}))
        say(
            f"[travel] run {i + 1}/{repeat}: eia run {without[-1]['wall']:.1f} s without the "
            f"matrix, {with_matrix[-1]['wall']:.1f} s with it; read "
            f"{reads[-1]['timings']['read']:.1f} s; {load()}"
        )
    pairs = reads[-1]["pairs"]
    table.add(
        section,
        f"eia run, England with a {pairs / 1e6:.1f}M-pair car matrix",
        [r["wall"] for r in with_matrix],
        target="< 60 s",
        ok=lambda v: v < 60,
    )
    table.add(section, "  the same without the matrix", [r["wall"] for r in without])
    table.add(
        section,
        "  added by the matrix",
        [a["wall"] - b["wall"] for a, b in zip(with_matrix, without, strict=True)],
    )
    kernel = [r["rss_self"] + r["rss_children"] for r in with_matrix]
    table.add(
        section,
        "peak RSS, eia process + kernel, with the matrix",
        kernel,
        unit="GiB",
        target="< 4 GiB",
        ok=lambda v: v < 4 * GIB,
    )
    table.add(
        section,
        "  added by the matrix",
        [
            (a["rss_self"] + a["rss_children"]) - (b["rss_self"] + b["rss_children"])
            for a, b in zip(with_matrix, without, strict=True)
        ],
        unit="GiB",
    )
    table.add(
        section, "read and check the matrix (fresh process)", [r["timings"]["read"] for r in reads]
    )
    table.add(section, "  CPU time (user + system)", [r["cpu"]["read"] for r in reads])
    table.add(section, "quickest site before and after", [r["timings"]["measure"] for r in reads])
    table.add(section, "  CPU time (user + system)", [r["cpu"]["measure"] for r in reads])
    table.add(section, "peak RSS, reading alone", [r["rss_self"] for r in reads], unit="GiB")
    say(f"[travel] done; {load()}")


# ---------------------------------------------------------------------------
# 2. Imports, every example against its floor, one site change per ICB

#: What a kernel must never import: the runner's libraries (issue 24, item 8).
RUNNER_ONLY = ("nbformat", "jsonschema", "nbconvert", "papermill")

#: ``python -X importtime -c`` this: the templates' import cells, then the modules imported.
IMPORTS_CHILD = """{imports}
import json as _j, sys as _s
_j.dump(sorted(_s.modules), open({path!r}, "w"))
"""

#: ``eia batch DIR --jobs N --out OUT`` exactly as the command line does it, keeping the
#: result (every proposal's status, seconds and one-line error).
BATCH_CHILD = r"""
import json, sys
args = json.loads(sys.argv[1])
import eia.runner.batch as batch
kept = {}
_run_batch = batch.run_batch
def run_batch(*a, **k):
    result = _run_batch(*a, **k)
    kept["seconds"] = result.seconds
    kept["items"] = [
        {"label": i.label, "status": i.status, "seconds": i.seconds, "ok": i.ok,
         "error": (i.error or "").strip().splitlines()[-1] if i.error else ""}
        for i in result.items
    ]
    return result
batch.run_batch = run_batch
from eia.runner.cli import main
exit_code = main(["batch", args["params"], "--jobs", str(args["jobs"]), "--out", args["out"],
                  "--no-progress"])
json.dump({**kept, "exit": exit_code}, open(args["result"], "w"))
"""


def template_imports() -> list[str]:
    """The top-level import statements of every built-in template's code cells, in order."""
    import ast

    lines: list[str] = []
    for path in sorted((ROOT / "src" / "eia" / "templates").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            try:
                tree = ast.parse(source)
            except SyntaxError:  # a cell with IPython syntax imports nothing we need
                continue
            for node in tree.body:
                if isinstance(node, ast.Import | ast.ImportFrom):
                    line = ast.unparse(node)
                    if line not in lines:
                        lines.append(line)
    return lines


def importtime(imports: list[str], work: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Run ``imports`` under ``python -X importtime`` in a fresh process.

    Returns ``{module: (self µs, cumulative µs)}`` and the modules imported.
    """
    listing = work / "import-modules.json"
    listing.unlink(missing_ok=True)
    code = IMPORTS_CHILD.format(imports="\n".join(imports), path=str(listing))
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    if proc.returncode:
        sys.exit(f"importing the templates' modules failed:\n{proc.stderr[-4000:]}")
    times: dict[str, tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.split(":", 1)[1].split("|")
        times[name.strip()] = (int(own), int(cumulative))
    return times, json.loads(listing.read_text())


def bench_imports(table: Table, repeat: int, work: Path) -> None:
    section = "imports"
    imports = template_imports()
    say(f"[imports] {load()}; the templates' import cells: {'; '.join(imports)}")
    if PYCACHE is not None:
        importtime(imports, work)  # compiles and caches the bytecode; not counted
    runs = []
    for i in range(repeat):
        runs.append(importtime(imports, work))
        total = sum(own for own, _ in runs[-1][0].values()) / 1e6
        say(f"[imports] run {i + 1}/{repeat}: {total:.2f} s in all; {load()}")
    names = set.intersection(*(set(times) for times, _ in runs))

    def median(name: str, k: int) -> float:
        return statistics.median(times[name][k] for times, _ in runs) / 1e6

    totals = [sum(own for own, _ in times.values()) / 1e6 for times, _ in runs]
    table.add(section, "all imports of a kernel's import cells (-X importtime, sum)", totals)
    eia_total = [sum(t[0] for n, t in times.items() if n.split(".")[0] == "eia") / 1e6
                 for times, _ in runs]  # fmt: skip
    table.add(section, "  of which eia's own modules (self time)", eia_total)
    largest = sorted(names, key=lambda n: median(n, 1), reverse=True)[:15]
    print(f"\nImport time, the templates' import cells in a fresh process ({load()}):")
    print(f"  {'cumulative s':>12}  {'self s':>8}  module  (median of {repeat})")
    for name in largest:
        print(f"  {median(name, 1):12.3f}  {median(name, 0):8.3f}  {name}")
    print(f"  total {statistics.median(totals):.2f} s (sum of self times)")
    ours = sorted((n for n in names if n.split(".")[0] == "eia"), key=lambda n: median(n, 1),
                  reverse=True)[:15]  # fmt: skip
    print("  eia modules, largest cumulative:")
    for name in ours:
        print(f"  {median(name, 1):12.3f}  {median(name, 0):8.3f}  {name}")
    modules = runs[-1][1]
    found = [m for m in RUNNER_ONLY if m in {x.split(".")[0] for x in modules}]
    verdict = "OK" if not found else "FAILED"
    print(
        f"  assert no {', '.join(RUNNER_ONLY)} among the kernel's imports: {verdict}"
        + (f" (imported: {', '.join(found)})" if found else "")
    )
    table.add(
        section,
        f"runner libraries imported by a kernel ({', '.join(RUNNER_ONLY)})",
        [float(len(found))],
        unit="count",
        target="0",
        ok=lambda v: v == 0,
    )
    say(f"[imports] done; {load()}")


def floor_pair(params_file: Path, floor_nb: Path) -> tuple[dict, dict]:
    """One ``eia run`` of ``params_file`` and then one floor run, each in a fresh process."""
    with tempfile.TemporaryDirectory(prefix="eia-bench-run-") as out:
        run = child(CLI_CHILD, {"file": str(params_file), "out": out})
    with tempfile.TemporaryDirectory(prefix="eia-bench-floor-") as out:
        kernel_dir = tempfile.mkdtemp(prefix="eia-bench-kernel-")
        try:
            floor = child(
                FLOOR_CHILD,
                {
                    "notebook": str(floor_nb),
                    "executed": str(Path(out) / "floor.ipynb"),
                    "out": out,
                    "kernel_dir": kernel_dir,
                },
            )
        finally:
            shutil.rmtree(kernel_dir, ignore_errors=True)
    return run, floor


def bench_examples(table: Table, repeat: int, work: Path, pattern: str = "*") -> None:
    """Every example in params/examples (or those ``pattern`` matches): ``eia run`` against
    its own floor."""
    import yaml

    section = "examples"
    examples = sorted((ROOT / "params" / "examples").glob(f"{pattern}.yaml"))
    if not examples:
        sys.exit(f"no example in params/examples matches {pattern!r}")
    say(f"[examples] {load()}; {len(examples)} examples, {repeat} pair(s) each")
    summary = []
    for params_file in examples:
        template = yaml.safe_load(params_file.read_text(encoding="utf-8"))["template"]
        modules = probe_modules(work, params_file, template)
        heavy = sorted({m.split(".")[0] for m in modules} & set(RUNNER_ONLY))
        floor_nb = floor_notebook(work, modules)
        walls, floors = [], []
        for i in range(repeat):
            run, floor = floor_pair(params_file, floor_nb)
            walls.append(run["wall"])
            floors.append(floor["wall"])
            say(
                f"[examples] {params_file.stem} {i + 1}/{repeat}: eia run {walls[-1]:.2f} s, "
                f"floor {floors[-1]:.2f} s, {walls[-1] / floors[-1]:.2f}×; assessment "
                f"{run['timings'].get('second_process', 'off')}; {load()}"
            )
        row = table.add(
            section,
            f"{params_file.stem}: eia run / floor",
            ratios(walls, floors),
            unit="×",
            target="≤ 1.25",
            ok=lambda v: v <= 1.25,
            note=f"kernel imported {', '.join(heavy)}" if heavy else "",
        )
        summary.append(
            f"  {params_file.stem:40} eia run {statistics.median(walls):6.2f} s  floor "
            f"{statistics.median(floors):6.2f} s  ratio {row['median']:.2f}× (target ≤ 1.25: "
            f"{row['verdict']})"
            + (f"; kernel imported {', '.join(heavy)}" if heavy else "")
            + f"; {load()}"
        )
    print(f"\nEvery example against its floor (median of {repeat}):")
    print("\n".join(summary))
    say(f"[examples] done; {load()}")


def icb_inputs(
    work: Path, limit: int | None = None
) -> tuple[Path, list[str], list[str], list[str], list[str]]:
    """One site change per ICB of the pack, as params files in ``work/icbs``.

    For each ICB (``icb22_boundaries``) the hospitals of ``hospitals22_points`` inside it
    (point in polygon), sorted by name: now the first three, proposed all of them but the
    last (one site closes). Each file is validated here; a file that fails only because a
    chosen hospital's name is shared by several sites of the pack gives those sites as
    ``{name, lat, lon}`` instead. Returns the folder, the ICBs skipped (fewer than two
    hospitals), the ICBs given coordinates and the files still invalid (with why).
    """
    from collections import Counter

    import geopandas as gpd
    import yaml

    from eia import params
    from eia.errors import ParamsError
    from eia.refdata import load_pack

    pack = load_pack()
    hospitals = gpd.read_parquet(pack.path("hospitals22_points.parquet")).to_crs(4326)
    icbs = gpd.read_parquet(pack.path("icb22_boundaries.parquet")).to_crs(4326)
    shared = {n for n, c in Counter(hospitals["hospital22_name"]).items() if c > 1}
    # Two ICBs changed code between the 2022 boundaries and the 2024 look-up the area
    # check reads: the area is given by the look-up's code for the same ICB name.
    lookup = pack.lookup()[["icb24_code", "icb24_name"]].dropna().drop_duplicates()
    known = set(lookup["icb24_code"])
    by_name = dict(zip(lookup["icb24_name"], lookup["icb24_code"], strict=True))
    inside = gpd.sjoin(hospitals, icbs, predicate="within")
    folder = work / "icbs" / "params"
    shutil.rmtree(folder.parent, ignore_errors=True)
    folder.mkdir(parents=True)
    skipped, coordinates, invalid = [], [], []
    for code, name in sorted(zip(icbs["icb22_code"], icbs["icb22_name"], strict=True))[:limit]:
        here = inside[inside["icb22_code"] == code].sort_values("hospital22_name")
        here = here.drop_duplicates("hospital22_name").head(3)
        if len(here) < 2:
            skipped.append(code)
            continue

        def sites(points: bool, here=here) -> list[dict]:
            out = []
            for hospital, point in zip(here["hospital22_name"], here.geometry, strict=True):
                if points and hospital in shared:
                    out.append(
                        {"name": hospital, "lat": round(point.y, 5), "lon": round(point.x, 5)}
                    )
                else:
                    out.append({"hospital": hospital})
            return out

        path = folder / f"icb-{code.lower()}.yaml"
        for points in (False, True):
            current = sites(points)
            proposal = {
                "id": f"icb-{code.lower()}",
                "title": f"Benchmark only: close one of {len(current)} sites in {name}",
                "template": "site_change",
                "description": "Benchmark only, not a proposal: one illustrative site change.",
                "area": {"icb": code if code in known else by_name.get(name, code)},
                "sites": {"current": current, "proposed": [dict(s) for s in current[:-1]]},
                "thresholds": {"distance_km": 5},
            }
            path.write_text(yaml.safe_dump(proposal, sort_keys=False), encoding="utf-8")
            try:
                params.load(path, pack)
            except ParamsError as exc:
                duplicate = [
                    p for p in exc.problems if "sites in the reference data are called" in p.message
                ]
                if duplicate and not points:
                    coordinates.append(code)
                    continue
                invalid.append(f"{code}: {exc.problems[0].path}: {exc.problems[0].message}")
            break
    renamed = sorted(f"{c} as {by_name[n]}" for c, n in zip(icbs["icb22_code"], icbs["icb22_name"],
                     strict=True) if c not in known and n in by_name)  # fmt: skip
    return folder, skipped, coordinates, invalid, renamed


def bench_icbs(table: Table, work: Path, jobs: int = 2, limit: int | None = None) -> None:
    """One site change per ICB, all of them (or the first ``limit``) in one ``eia batch``."""
    section = "icbs"
    say(f"[icbs] {load()}; generating one site change per ICB")
    folder, skipped, coordinates, invalid, renamed = icb_inputs(work, limit)
    if PYCACHE is not None:
        importtime(template_imports(), work)  # compiles and caches the bytecode first
    count = len(list(folder.glob("*.yaml")))
    say(f"[icbs] {count} proposals in {folder}; eia batch --jobs {jobs}; {load()}")
    with tempfile.TemporaryDirectory(prefix="eia-bench-icbs-") as out:
        result = child(BATCH_CHILD, {"params": str(folder), "out": out, "jobs": jobs})
    items = result["items"]
    seconds = [i["seconds"] for i in items if i["ok"]]
    failed = [i for i in items if not i["ok"]]
    table.add(
        section,
        f"eia batch --jobs {jobs}, one site change per ICB ({count} proposals), wall",
        [result["wall"]],
        target="≤ 180" if limit is None else "",
        ok=(lambda v: v <= 180) if limit is None else None,
    )
    table.add(section, "  per proposal (succeeded)", seconds)
    table.add(section, "  failed proposals", [float(len(failed))], unit="count", target="0",
              ok=lambda v: v == 0)  # fmt: skip
    print(f"\nOne site change per ICB in one eia batch --jobs {jobs} ({load()}):")
    print(
        f"  {count} proposals, wall {result['wall']:.1f} s (target ≤ 180 s); per proposal "
        + (
            f"median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s"
            if seconds
            else "none succeeded"
        )
        + f"; {len(items) - len(failed)} succeeded, {len(failed)} failed"
    )
    if skipped:
        print(f"  skipped (fewer than 2 hospitals in the pack): {', '.join(skipped)}")
    else:
        print("  no ICB skipped: every ICB has at least 2 hospitals in the pack")
    if coordinates:
        print(
            f"  {len(coordinates)} ICB(s) failed validation because a chosen hospital's name is "
            f"shared by several sites of the pack; those sites are given as {{name, lat, lon}} "
            f"(name resolution is being fixed separately): {', '.join(coordinates)}"
        )
    if renamed:
        print(
            "  area code from the 2024 look-up for the same ICB name (the 2022 code is not in "
            f"the look-up): {', '.join(renamed)}"
        )
    for line in invalid:
        print(f"  invalid params: {line}")
    for item in failed:
        print(f"  failed: {item['label']}: {item['error'] or item['status']}")
    say(f"[icbs] done; {load()}")


# ---------------------------------------------------------------------------
# 3. Batch


def batch_inputs(work: Path, count: int) -> Path:
    """``count`` variants of the Nottingham example, each with an extra proposed site."""
    import yaml

    folder = work / f"batch-{count}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "params").mkdir(parents=True)
    base = yaml.safe_load(ICB_EXAMPLE.read_text(encoding="utf-8"))
    data = ICB_EXAMPLE.parent / base["service"]["path"]
    if not data.is_file():  # make demo generates it; without it, generate it once here
        subprocess.run([*eia_command(), "synth", str(ICB_EXAMPLE)], check=True, capture_output=True)
    target = folder / "params" / base["service"]["path"]
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data, target)
    for i in range(count):
        variant = json.loads(json.dumps(base))
        variant["id"] = f"bench-batch-{i + 1:02d}"
        variant["title"] = f"Benchmark variant {i + 1} of the Nottingham example"
        hub = {
            "name": f"Variant hub {i + 1}",
            "lat": round(52.90 + 0.02 * i, 4),
            "lon": round(-1.25 + 0.015 * i, 4),
        }
        for option in variant["options"]:
            option["proposed"].append(hub)
        (folder / "params" / f"{variant['id']}.yaml").write_text(
            yaml.safe_dump(variant, sort_keys=False), encoding="utf-8"
        )
    return folder / "params"


def bench_batch(table: Table, repeat: int, work: Path, count: int) -> None:
    section = "batch"
    params_dir = batch_inputs(work, count)
    say(f"[batch] {load()}; {count} proposals in {params_dir}")
    walls: dict[int, list[float]] = {1: [], 2: []}
    for i in range(repeat):
        for jobs in (1, 2):
            with tempfile.TemporaryDirectory(prefix=f"eia-bench-batch{jobs}-") as out:
                t0 = time.perf_counter()
                proc = subprocess.run(
                    [
                        *eia_command(),
                        "batch",
                        str(params_dir),
                        "--jobs",
                        str(jobs),
                        "--out",
                        out,
                        "--no-progress",
                    ],
                    capture_output=True,
                    text=True,
                    env=child_env(),
                    cwd=ROOT,
                )
                walls[jobs].append(time.perf_counter() - t0)
                if proc.returncode:
                    sys.exit(
                        f"eia batch --jobs {jobs} failed:\n{proc.stdout[-3000:]}"
                        f"\n{proc.stderr[-3000:]}"
                    )
            say(f"[batch] run {i + 1}/{repeat} --jobs {jobs}: {walls[jobs][-1]:.1f} s; {load()}")
    table.add(section, f"eia batch, {count} proposals, --jobs 1", walls[1])
    table.add(section, f"eia batch, {count} proposals, --jobs 2", walls[2])
    table.add(
        section,
        "speed-up --jobs 2 over --jobs 1 (per pair)",
        ratios(walls[1], walls[2]),
        unit="×",
        target="≥ 1.7",
        ok=lambda v: v >= 1.7,
    )
    say(f"[batch] done; {load()}")


# ---------------------------------------------------------------------------
# 5. Service data where it lives: DuckDB (files), PostgreSQL, Spark


def bench_service(table: Table, repeat: int, work: Path, big: int, events: int) -> None:
    """The aggregation alone: ``big`` rows of Parquet on DuckDB; ``events`` rows on each engine."""
    section = "service"
    spec = importlib.util.spec_from_file_location(
        "service_aggregate", ROOT / "benchmarks" / "service_aggregate.py"
    )
    aggregate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aggregate)
    folder = work / "service"
    plans = [
        (big, ["parquet"], ["duckdb"], "< 20 s", lambda v: v < 20, "< 3 GiB", 3 * GIB),
        (events, ["parquet"], ["duckdb", "spark"], "", None, "", None),
        (events, [], ["postgres"], "", None, "", None),
    ]
    for rows, formats, engines, t_target, t_ok, m_target, m_limit in plans:
        runs: dict[tuple, list[dict]] = {}
        for i in range(repeat):
            for out in aggregate.run(rows, formats, engines, folder):
                runs.setdefault((out["engine"], out["format"]), []).append(out)
            say(f"[service] {rows:,} rows, run {i + 1}/{repeat}; {load()}")
        for (engine, fmt), outs in runs.items():
            name = f"{rows:,} events, {fmt}, {engine}"
            table.add(section, f"aggregate {name}", [o["aggregate_s"] for o in outs],
                      target=t_target, ok=t_ok)  # fmt: skip
            mem = [(o["peak_rss_mib"] + o["peak_rss_children_mib"]) * 2**20 for o in outs]
            table.add(section, "  peak RSS (process + its children)", mem, unit="GiB",
                      target=m_target, ok=None if m_limit is None else (lambda v, m=m_limit: v < m))  # fmt: skip


# ---------------------------------------------------------------------------
# 4. Statistics


def bench_stats(table: Table, repeat: int, areas: int = 35_000) -> None:
    section = "stats"
    say(f"[stats] {load()}")
    runs = [child(STATS_CHILD, {"areas": areas}) for _ in range(repeat)]
    target = ("< 1 s", lambda v: v < 1)
    table.add(
        section,
        "sii, 10 deciles, 100,000 repetitions (with RII)",
        [r["sii"] for r in runs],
        target=target[0],
        ok=target[1],
    )
    for name, what in (
        ("rate_ci", "rate_ci (exact/Byar)"),
        ("proportion_ci", "proportion_ci (Wilson)"),
        ("dsr", "dsr (19 age bands, ESP2013)"),
        ("rate_ratio", "rate_ratio (against the whole)"),
    ):
        table.add(section, f"  {what}, {areas:,} areas", [r[name] for r in runs])
    table.add(
        section,
        f"all rates above, {areas:,} areas",
        [r["all rates"] for r in runs],
        target=target[0],
        ok=target[1],
    )
    say(f"[stats] done; {load()}")


def bench_schemas(table: Table, repeat: int) -> None:
    section = "schemas"
    say(f"[schemas] {load()}")
    runs = [child(SCHEMAS_CHILD, {}) for _ in range(repeat)]
    n = runs[0]["lsoas"]
    table.add(
        section,
        "import pandera (eia.refdata.schemas), after the modules a kernel imports anyway",
        [r["import"] for r in runs],
    )
    table.add(
        section, "first check (pandera sets up its backends)", [r["first check"] for r in runs]
    )
    table.add(
        section, "every file of the pack, in full (eia data check)", [r["whole pack"] for r in runs]
    )
    table.add(section, "the pack files a run reads (10 reads)", [r["pack reads"] for r in runs])
    table.add(
        section,
        f"the same in a later run: checks remembered by sha256 "
        f"({runs[0]['remembered']} of 10 found, eia.refdata.checked)",
        [r["pack reads remembered"] for r in runs],
    )
    table.add(
        section,
        f"England frames: area, 3 weights, distances, service ({n:,} LSOAs)",
        [r["frames"] for r in runs],
    )
    total = [r["import"] + r["first check"] + r["pack reads"] + r["frames"] for r in runs]
    table.add(
        section,
        "added to an England run (import + first check + reads + frames)",
        total,
        target="< 1 s",
        ok=lambda v: v < 1,
    )
    say(f"[schemas] done; {load()}")


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections (default: {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "eia-bench",
        help="folder for generated inputs, reused between runs",
    )
    parser.add_argument("--sites", type=int, default=1000, help="England: sites (default 1000)")
    parser.add_argument(
        "--events",
        type=float,
        default=10_000_000,
        help="England: events in the extract (default 10 million)",
    )
    parser.add_argument(
        "--examples",
        default="*",
        help="examples: the params/examples files to run, a glob without .yaml (default *)",
    )
    parser.add_argument(
        "--icbs",
        type=int,
        default=None,
        help="icbs: only the first N ICBs by code (a smoke test; the target needs all 42)",
    )
    parser.add_argument("--proposals", type=int, default=10, help="batch: proposals (default 10)")
    parser.add_argument(
        "--service-rows",
        type=float,
        default=100_000_000,
        help="service: rows of the big Parquet extract for DuckDB (default 100 million)",
    )
    parser.add_argument(
        "--no-pycache",
        action="store_true",
        help="do not cache compiled bytecode in WORK/pycache for the children (measure as the "
        "environment is: with PYTHONDONTWRITEBYTECODE set, every process compiles every module)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not ICB_EXAMPLE.is_file():
        parser.error(f"{ICB_EXAMPLE} not found: run from a checkout of the project")
    from eia.refdata import load_pack

    load_pack()  # fails early, with how to provide it, if there is no reference data
    args.work.mkdir(parents=True, exist_ok=True)
    global PYCACHE
    PYCACHE = None if args.no_pycache else args.work / "pycache"

    started = time.perf_counter()
    load_before = load()
    table = Table()
    if "imports" in only:
        bench_imports(table, args.repeat, args.work)
    if "icb" in only:
        bench_icb(table, args.repeat, args.work)
    if "examples" in only:
        bench_examples(table, args.repeat, args.work, args.examples)
    if "icbs" in only:
        bench_icbs(table, args.work, limit=args.icbs)
    if "england" in only:
        bench_england(table, args.repeat, args.work, args.sites, int(args.events))
    if "travel" in only:
        bench_travel(table, args.repeat, args.work, args.sites, int(args.events))
    if "batch" in only:
        bench_batch(table, args.repeat, args.work, args.proposals)
    if "service" in only:
        bench_service(table, args.repeat, args.work, int(args.service_rows), int(args.events))
    if "stats" in only:
        bench_stats(table, args.repeat)
    if "schemas" in only:
        bench_schemas(table, args.repeat)
    elapsed = time.perf_counter() - started

    print(
        f"eia benchmarks, {time.strftime('%Y-%m-%d %H:%M %Z')}: {args.repeat} run(s) each; "
        "times in seconds: median, min, max"
    )
    print(f"Machine: {machine()}")
    print(f"Load: {load_before} at the start, {load()} at the end; {elapsed / 60:.1f} min in all")
    print(
        f"Bytecode: compiled once and cached in {PYCACHE} (PYTHONPYCACHEPREFIX), as an "
        "installed package has it"
        if PYCACHE is not None
        else "Bytecode: as the environment has it (--no-pycache; PYTHONDONTWRITEBYTECODE="
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})"
    )
    print()
    print(table.render())
    print()
    for note in NOTES:
        print(note)
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "repeat": args.repeat, "rows": table.rows}, indent=2)
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
