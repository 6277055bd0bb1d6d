"""The public API: what `import eia` offers, that importing it is instant, and that its reference builds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import eia


def test_every_public_name_resolves_to_what_it_says():
    for name in eia.__all__:
        assert getattr(eia, name) is not None, name
    from eia.assessment import assess
    from eia.params import load

    assert eia.load_params is load
    assert eia.assess is assess
    assert issubclass(eia.ParamsError, eia.EIAError)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        eia.nonsense  # noqa: B018


def test_importing_eia_imports_no_heavy_library():
    code = (
        "import sys, eia; "
        "heavy = [m for m in ('pandas', 'geopandas', 'matplotlib', 'nbformat', 'jsonschema', "
        "'papermill', 'pandera') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_validating_a_proposal_does_not_import_nbformat():
    """The kernel validates the proposal: nbformat -> jsonschema cost seconds for nothing."""
    code = (
        "import sys; from eia import params; "
        "print(','.join(m for m in ('nbformat', 'jsonschema', 'nbconvert', 'papermill') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_eia_process_of_a_run_validates_without_the_kernel_libraries(pack):
    """`eia run` validates the proposal, then waits for its kernel, which imports these itself:
    geopandas, SciPy and pandera in the eia process cost a second or more before it starts."""
    code = (
        "import sys; import eia.runner.run, eia.runner.cli; from eia import params; "
        "params.load(sys.argv[1]); "
        "print(','.join(m for m in ('geopandas', 'shapely', 'scipy', 'pandera', 'matplotlib') "
        "if m in sys.modules))"
    )
    example = (
        Path(__file__).resolve().parents[1] / "params" / "examples" / "notts-community-hub.yaml"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(example)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_the_command_line_and_batch_workers_keep_the_iri_grammars_out():
    """nbformat's jsonschema would compile rfc3987_syntax's Lark grammars (about 2 s) in the
    eia process and every batch worker; notebooks still validate without them."""
    code = (
        "import sys; from eia.runner import without_iri_grammars; without_iri_grammars(); "
        "import eia.runner.run, nbformat; nb = nbformat.v4.new_notebook(); "
        "nb.cells.append(nbformat.v4.new_code_cell('1')); nbformat.validate(nb); "
        "print(sys.modules.get('rfc3987_syntax'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_the_api_reference_builds(tmp_path):
    pytest.importorskip("pdoc", reason="the docs extra is not installed")
    from eia.runner.apidocs import build

    index = build(tmp_path)
    assert index.is_file()
    pages = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")}
    for page in ("eia.html", "eia/assessment.html", "eia/analysis/access.html", "eia/params.html"):
        assert page in pages
    assert "load_params" in (tmp_path / "eia.html").read_text(encoding="utf-8")


def test_all_lists_exactly_the_public_api():
    assert set(eia.__all__) == {"__version__", *eia._API}
