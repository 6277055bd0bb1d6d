"""Provenance: what produced a report — parameters, code version, data checksums, time.

Kept apart from the results so that two runs of the same inputs give identical
``metrics.json`` except for its ``provenance`` block.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from eia._version import __version__
from eia.refdata import Pack, project_root

RUN_TIME_ENV = "EIA_RUN_TIME"


def git_commit(root: Path | None = None) -> str:
    """The project's git commit (with ``+dirty`` if it has uncommitted changes), or ``unknown``."""
    root = root or project_root()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_time() -> str:
    """The run's time (UTC, ISO 8601): set once by the runner, else now."""
    return (
        os.environ.get(RUN_TIME_ENV) or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    )


def collect(proposal, params_file: Path | str | None, pack: Pack) -> dict[str, Any]:
    """Everything needed to reproduce a report, as a flat mapping plus ``data`` checksums."""
    params_sha = ""
    if params_file and Path(params_file).is_file():
        params_sha = hashlib.sha256(Path(params_file).read_bytes()).hexdigest()
    notebook = proposal.template_file
    template = {"template": proposal.template_label}
    if notebook and Path(notebook).is_file():  # a custom notebook: which file, and which version
        template["template sha256"] = hashlib.sha256(Path(notebook).read_bytes()).hexdigest()
    return {
        "proposal id": proposal.id,
        "params file": str(Path(params_file).name) if params_file else "(injected)",
        "params sha256": params_sha or "n/a",
        **template,
        "eia version": __version__,
        "git commit": git_commit(),
        "python": platform.python_version(),
        "run time (UTC)": run_time(),
        "reference data folder": str(pack.folder),
        "data": {name: entry["sha256"] for name, entry in sorted(pack.manifest.items())},
    }
