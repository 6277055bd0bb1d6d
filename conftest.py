"""Test-session hooks for every path pytest collects (tests/ and notebooks/).

Markers are derived from the fixtures a test uses (tests/conftest.py defines them), and
tests sharing an expensive fixture are put in one pytest-xdist group; nbval's notebook cells
stay together in the ``notebooks`` group. This file is at the root so that it applies to
``pytest notebooks`` too. ``EIA_TEST_COUNT_KERNELS=1`` prints how many notebook kernels the
session started.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Fixtures that need the real reference pack (directly; others are found through them).
REFDATA_FIXTURES = {"refdata_dir", "pack", "notts_area"}
#: Fixtures that start a database server or a Spark session (tests/services.py).
ENGINE_FIXTURES = {"postgres", "spark"}
#: Fixtures that open pages in headless Chromium (tests/test_browser.py).
BROWSER_FIXTURES = {"browser_tools"}
#: The fixture that runs every example as a notebook (once per session, tests/conftest.py).
EXAMPLES_FIXTURE = "example_runs"

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


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """Mark each test by the fixtures it uses, and put it in its xdist group.

    The markers are added before any other plugin's hook (so ``-m`` selects by them and xdist
    sees the groups); :func:`_apply_groups` runs after them all.
    """
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
    result = yield
    if getattr(config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
        _apply_groups(items)
    return result


def _apply_groups(items: list[pytest.Item]) -> None:
    """Give each grouped test the ``@group`` node id suffix xdist's loadgroup schedules by.

    pytest-xdist 3.8 sets the legacy ``item._nodeid``, which pytest 9.2's structured node ids
    no longer read, so every group is silently spread over the workers
    (https://github.com/pytest-dev/pytest-xdist/issues/1386, fix proposed in PR 1388). Until
    xdist sets it itself, the suffix is set here; nothing is done where it already is.
    """
    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if not names:
            continue
        suffix = "@" + "_".join(sorted(names))
        if item.nodeid.endswith(suffix) or not hasattr(item, "_id"):
            continue
        from _pytest.nodeid import NodeId  # pytest >= 9.2, where item._id holds the node id

        item._id = NodeId.parse(item.nodeid + suffix)
