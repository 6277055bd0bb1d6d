"""Round two of hostile input (issue 26): secrets, file contents, untrusted templates, writes,
numbers, dates and names. Each test reproduces one numbered case of the issue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from eia import redact

FIXTURE_TEMPLATES = Path(__file__).parent / "fixtures" / "templates"
LEAK_URL = "postgress://analyst:hunter2-Secret@db.internal.example:5432/activity"


def _dump(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _tiny(**extra) -> dict:
    return {
        "id": "tiny",
        "title": "Test fixture proposal",
        "template": "site_change",
        "area": {"ltla": ["E06000018"]},
        "sites": {
            "current": [{"hospital": "King's Mill Hospital"}],
            "proposed": [{"name": "Hub", "lat": 52.95, "lon": -1.15}],
        },
        **extra,
    }


# 3. Secrets are scrubbed from everything written on failure ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        LEAK_URL,
        "could not connect: postgres://analyst:hunter2-Secret@db/x (timeout)",
        "mysql+pymysql://analyst:hunter2-Secret@db/x",
        "sc://spark.example:15002/;token=hunter2-Secret",
        "host=db user=analyst password=hunter2-Secret dbname=x",
        "https://analyst:hunter2-Secret@files.example/x.csv",
        "https://files.example/x.csv?sig=hunter2-Secret&a=1",
    ],
)
def test_scrub_hides_urls_and_passwords_of_any_scheme(text):
    scrubbed = redact.scrub(text)
    assert "hunter2-Secret" not in scrubbed
    assert "db.internal" not in scrubbed


def test_scrub_keeps_plain_text_and_documentation_links():
    text = "see https://www.ons.gov.uk/census for the ethnic groups (row 3)"
    assert redact.scrub(text) == text


@given(secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4))
def test_scrub_hides_named_secrets_wherever_they_appear(secret):
    values = redact.secret_values(["EIA_X"], environ={"EIA_X": secret})
    assert secret not in redact.scrub(f"a {secret} b {secret}", values)


@pytest.mark.slow
def test_failed_notebook_error_and_message_hold_no_connection_url(
    refdata_dir, tmp_path, monkeypatch
):
    from eia.errors import RunError
    from eia.runner.run import run

    monkeypatch.setenv("EIA_TEMPLATES", str(FIXTURE_TEMPLATES / "leak-url"))
    monkeypatch.setenv("EIA_LEAK_DB", LEAK_URL)
    service = {
        "query": "SELECT 1",
        "connection": "EIA_LEAK_DB",
        "columns": {"lsoa": "lsoa_code"},
    }
    params_file = _dump(tmp_path / "p" / "tiny.yaml", _tiny(service=service))
    with pytest.raises(RunError) as caught:
        run(params_file, tmp_path / "out")
    failed = tmp_path / "out" / "tiny" / "failed"
    written = {
        "message": str(caught.value),
        "error.txt": (failed / "error.txt").read_text(encoding="utf-8"),
        "notebook": (failed / "assessment.ipynb").read_text(encoding="utf-8"),
    }
    assert "connecting to" in written["notebook"]  # the outputs are kept, scrubbed
    for where, text in written.items():
        assert "hunter2-Secret" not in text, where
        assert "db.internal.example" not in text, where
        assert "analyst" not in text, where


# 4. A file's content is never quoted through its column names -----------------------------


NETRC = "machine example.com login bob password hunter2-Secret\n"


def test_undeclared_formats_are_refused_before_they_are_opened(tmp_path):
    from eia.errors import ServiceDataError, TravelTimeError
    from eia.service.aggregate import read_service

    for name in ("netrc.txt", "app.env", "notes"):
        path = tmp_path / name
        path.write_text(NETRC, encoding="utf-8")
        with pytest.raises(ServiceDataError, match="no recognised extension") as caught:
            read_service(path, {"lsoa": "lsoa_code"})
        assert "hunter2" not in str(caught.value) and "bob" not in str(caught.value)
        with pytest.raises(TravelTimeError, match="no recognised extension"):
            redact.check_source_file(
                path, what="travel-time matrix", error=TravelTimeError, allowed=("csv", "parquet")
            )


def test_column_names_of_a_file_that_is_not_a_table_are_counted(tmp_path):
    from eia.errors import ServiceDataError
    from eia.service.aggregate import read_service

    path = tmp_path / "extract.csv"  # a credentials file given a table's name
    path.write_text(NETRC, encoding="utf-8")
    with pytest.raises(ServiceDataError, match="1 column \\(names not shown") as caught:
        read_service(path, {"lsoa": "lsoa_code"})
    assert "hunter2" not in str(caught.value) and "bob" not in str(caught.value)


@given(
    header=st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=6),
)
def test_a_header_is_shown_only_when_it_is_plain_column_names(header):
    shown = redact.column_names(header)
    if any("=" in h or "password" in h.lower() or len(h.split()) > 4 for h in header):
        assert shown.endswith("(names not shown: the header does not look like column names)")
        for name in header:
            if len(name) > 3 and name not in shown.split(" (")[0]:
                assert name not in shown


def test_a_matrix_whose_header_is_a_secret_is_not_quoted(refdata_dir, pack, tmp_path):
    from eia import params
    from eia.analysis import traveltime
    from eia.errors import TravelTimeError

    secret = tmp_path / "p" / "tt.csv"
    secret.parent.mkdir()
    secret.write_text("DB_PASSWORD=hunter2-Secret\nx\n", encoding="utf-8")
    spec = {"path": "tt.csv", "mode": "car", "columns": {"origin": "lsoa21_code"}}
    proposal = params.parse(_tiny(), "t")
    sites = traveltime.sites_of(proposal)
    with pytest.raises(TravelTimeError) as caught:
        traveltime.read_matrix(spec, sites, pack, ["E01013810"], base_dir=secret.parent)
    assert "hunter2" not in str(caught.value) and "PASSWORD" not in str(caught.value)
    bad = _dump(
        tmp_path / "p" / "env.yaml",
        _tiny(access={"travel_times": [{**spec, "path": "../secrets/app.env"}]}),
    )
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "app.env").write_text("DB_PASSWORD=hunter2-Secret\n")
    from eia.errors import ParamsError

    with pytest.raises(ParamsError, match="no recognised extension") as caught:
        params.load(bad, pack)
    assert "hunter2" not in str(caught.value)


# 5. A custom template is code: it runs only when trusted by name ------------------------------


def _custom_template(folder: Path) -> Path:
    from eia.runner import template

    return template.new("evil", folder=folder)


def test_templates_outside_the_package_need_trust(tmp_path, monkeypatch):
    from eia.errors import ParamsError
    from eia.runner import template

    monkeypatch.setenv(template.TRUST_ENV, "")
    elsewhere = tmp_path / "elsewhere"
    _custom_template(elsewhere)
    project = tmp_path / "project" / "params"
    project.mkdir(parents=True)
    (project / "linked.ipynb").symlink_to(elsewhere / "evil.ipynb")
    cases = {
        "../../elsewhere/evil.ipynb": "reached through '..' or a symbolic link",
        "./linked.ipynb": "reached through '..' or a symbolic link",
    }
    _custom_template(project)
    cases["./evil.ipynb"] = "a template is code"
    for given_path, message in cases.items():
        with pytest.raises(ParamsError, match=message):
            template.resolve(given_path, project)
    template.trust([elsewhere])  # --trust-template names it: it may run, wherever it is
    kind, path = template.resolve("../../elsewhere/evil.ipynb", project)
    assert kind == "site_change" and path == (elsewhere / "evil.ipynb").resolve()
    kind, path = template.resolve("./linked.ipynb", project)
    assert path == (elsewhere / "evil.ipynb").resolve()
    with pytest.raises(ParamsError, match="a template is code"):
        template.resolve("./evil.ipynb", project)  # trusting one folder trusts no other


def test_validate_refuses_an_untrusted_template_and_accepts_a_trusted_one(
    refdata_dir, tmp_path, monkeypatch, capsys
):
    from eia.runner import template
    from eia.runner.cli import main

    monkeypatch.setenv(template.TRUST_ENV, "")
    _custom_template(tmp_path / "t")
    params_file = _dump(tmp_path / "p" / "x.yaml", _tiny(template="../t/evil.ipynb"))
    assert main(["validate", str(params_file)]) == 2
    assert "--trust-template" in capsys.readouterr().err
    trusted = str(tmp_path / "t" / "evil.ipynb")
    assert main(["validate", str(params_file), "--trust-template", trusted]) == 0


def test_reports_forbid_scripts(tmp_path):
    import nbformat

    from eia.report import html as report

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<p>hi</p><script>alert(1)</script>"}
        )
    ]
    nb.cells = [cell]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    html = report.write(path, tmp_path / "r.html", "t").read_text(encoding="utf-8")
    head = html.split("</head>")[0]
    meta = re.search(r'<meta[^>]*http-equiv="Content-Security-Policy"[^>]*>', head)
    assert meta is not None
    policy = re.search(r'content="([^"]*)"', meta.group(0)).group(1)
    assert "script-src 'none'" in policy and "default-src 'none'" in policy


# 7, 8, 11 and issue 27. Writes: inside their folder, never through a link, atomic, one line ----


def _synth_project(tmp_path: Path, path: str = "data/x.csv", synthetic: bool = True) -> Path:
    service = {"path": path, "columns": {"lsoa": "lsoa_code"}, "synthetic": synthetic}
    return _dump(tmp_path / "p" / "p.yaml", _tiny(service=service))


def test_synth_never_writes_through_a_symlink(refdata_dir, tmp_path, capsys):
    from eia.runner.cli import main

    real = tmp_path / "real.csv"
    real.write_text("lsoa_code\nE01013810\n", encoding="utf-8")
    params_file = _synth_project(tmp_path)
    (tmp_path / "p" / "data").mkdir()
    (tmp_path / "p" / "data" / "x.csv").symlink_to(real)
    assert main(["synth", str(params_file), "--events", "50"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert real.read_text(encoding="utf-8") == "lsoa_code\nE01013810\n"
    # a linked folder, and a dangling link, are refused too
    (tmp_path / "p" / "data" / "x.csv").unlink()
    (tmp_path / "p" / "data" / "x.csv").symlink_to(tmp_path / "nowhere.csv")
    assert main(["synth", str(params_file), "--events", "50"]) == 2
    assert not (tmp_path / "nowhere.csv").exists()
    (tmp_path / "p" / "data" / "x.csv").unlink()
    (tmp_path / "p" / "data").rmdir()
    (tmp_path / "p" / "data").symlink_to(tmp_path)
    assert main(["synth", str(params_file), "--events", "50"]) == 2
    assert not (tmp_path / "x.csv").exists()


def test_synth_overwrites_only_what_it_wrote_and_reports_say_so(refdata_dir, pack, tmp_path):
    from eia import files
    from eia.population.area import select_lsoas
    from eia.runner.cli import main
    from eia.service.load import load_service

    params_file = _synth_project(tmp_path)
    target = tmp_path / "p" / "data" / "x.csv"
    assert main(["synth", str(params_file), "--events", "50"]) == 0
    assert files.made_by_eia(target)
    spec = {"path": "data/x.csv", "columns": {"lsoa": "lsoa_code"}, "synthetic": True}
    codes = select_lsoas(pack, {"ltla": ["E06000018"]})
    data = load_service(spec, pack, codes, base_dir=tmp_path / "p")
    assert data.quality["synthetic_source"] == "generated"
    # A person edits it: it is theirs now, never overwritten, and "supplied" in a report.
    target.write_text(target.read_text(encoding="utf-8") + "E01013810\n", encoding="utf-8")
    assert not files.made_by_eia(target)
    before = target.read_bytes()
    assert main(["synth", str(params_file), "--events", "60"]) == 2
    assert target.read_bytes() == before
    data = load_service(spec, pack, codes, base_dir=tmp_path / "p")
    assert data.quality["synthetic_source"] == "supplied"


def test_generated_matrices_stay_inside_the_params_folder(refdata_dir, pack, tmp_path):
    from eia import params
    from eia.analysis import matrix_sources
    from eia.errors import ParamsError, TravelTimeError

    folder = tmp_path / "p"
    folder.mkdir()
    with pytest.raises(TravelTimeError, match="only inside"):
        matrix_sources._generated_target("../outside/newdir/tt.csv", folder)
    (folder / "link").symlink_to(tmp_path)
    with pytest.raises(TravelTimeError, match="symbolic link"):
        matrix_sources._generated_target("link/tt.csv", folder)
    entry = {
        "path": "../outside/newdir/tt.csv",
        "mode": "car",
        "columns": {"origin": "lsoa21_code", "destination": "site_id", "minutes": "minutes"},
        "synthetic": True,
        "generate": {"seed": 1},
    }
    params_file = _dump(folder / "tt.yaml", _tiny(access={"travel_times": [entry]}))
    with pytest.raises(ParamsError, match="only inside"):
        params.load(params_file, pack)
    assert not (tmp_path / "outside").exists()


def test_template_new_refuses_links_and_bad_names(tmp_path, capsys):
    from eia.runner.cli import main

    (tmp_path / "mine.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")  # dangling
    assert main(["template", "new", "mine", "--dir", str(tmp_path)]) == 2
    assert not (tmp_path / "elsewhere.ipynb").exists()
    for name in ("x" * 300, "two\nlines", "../up", ".hidden", "a b"):
        assert main(["template", "new", name, "--dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "give a file name" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.ipynb"]


@pytest.mark.parametrize("where", ["/proc/eia-test", "/proc/self/x"])
def test_writes_to_impossible_places_are_one_line(refdata_dir, tmp_path, capsys, where):
    from eia.runner.cli import main

    params_file = _synth_project(tmp_path)
    out = f"{where}/x.csv"
    assert main(["synth", str(params_file), "--events", "50", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eia: cannot write") and err.count("\n") == 1
    assert main(["template", "new", "mine", "--dir", where]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eia: cannot write") and err.count("\n") == 1


def test_a_full_disk_leaves_no_half_file(tmp_path):
    import errno

    from eia import files
    from eia.errors import OutputError

    target = tmp_path / "x.csv"
    target.write_text("old\n", encoding="utf-8")

    def half(tmp: Path) -> None:
        tmp.write_text("half a fi", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="no space left on the disk") as caught:
        files.write_atomic(target, half)
    assert "\n" not in str(caught.value)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_a_read_only_folder_is_one_line(tmp_path, monkeypatch):
    import errno
    import tempfile

    from eia import files
    from eia.errors import OutputError

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # as root, chmod cannot make one
    with pytest.raises(OutputError, match="read-only file system"):
        files.write_atomic(tmp_path / "x.csv", lambda tmp: tmp.write_text("x"))


# 9. Journey times that are not finite minutes ---------------------------------------------------

TT_SITES = [
    {"name": "Alpha Hospital", "id": "RX1RA", "lat": 52.94, "lon": -1.18},
    {"name": "Beta Clinic", "id": "NG5 1PB", "lat": 52.99, "lon": -1.15},
]


@pytest.fixture(scope="module")
def tt_setup(pack):
    from eia import params
    from eia.analysis import traveltime

    lookup = pack.lookup()
    codes = sorted(lookup.loc[lookup["ltla24_code"] == "E06000018", "lsoa21_code"])[:4]
    proposal = params.parse(
        {
            "id": "tt",
            "title": "t",
            "template": "site_change",
            "area": {"icb": "E54000060"},
            "sites": {"current": TT_SITES, "proposed": TT_SITES[:1]},
        }
    )
    return codes, traveltime.sites_of(proposal)


def _matrix(tmp_path: Path, codes, bad: str, row: int = 5) -> Path:
    lines = ["lsoa,site,mins"]
    for c in codes:
        for d in ("RX1RA", "NG5 1PB"):
            lines.append(f"{c},{d},{12 + len(lines)}")
    origin, site, _ = lines[row].split(",")
    lines[row] = f"{origin},{site},{bad}"
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e39", "1e400", "Infinity", "NaN", "250000"])
def test_non_finite_or_overflowing_times_are_one_line_naming_column_and_row(
    tmp_path, pack, tt_setup, bad
):
    from eia.analysis import traveltime
    from eia.errors import TravelTimeError

    codes, sites = tt_setup
    path = _matrix(tmp_path, codes, bad)
    spec = {
        "path": str(path),
        "mode": "car",
        "columns": {"origin": "lsoa", "destination": "site", "minutes": "mins"},
    }
    with pytest.raises(TravelTimeError) as caught:
        traveltime.read_matrix(spec, sites, pack, codes)
    message = str(caught.value)
    assert "\n" not in message and "'mins', row 5" in message and "(masked)" in message
    assert bad not in message.split("(masked)")[0].split("row 5:")[1]


def test_nan_means_unreachable_only_when_listed(tmp_path, pack, tt_setup):
    from eia.analysis import traveltime

    codes, sites = tt_setup
    path = _matrix(tmp_path, codes, "NaN")
    spec = {
        "path": str(path),
        "mode": "car",
        "columns": {"origin": "lsoa", "destination": "site", "minutes": "mins"},
        "unreachable": ["NaN"],
    }
    matrix = traveltime.read_matrix(spec, sites, pack, codes)
    assert matrix.info["pairs_unreachable"] == 1


# 10. A self-assessment scoring only some outcomes ------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_partial_self_assessment_withholds_domain_ratings_and_keeps_the_owners_words(tmp_path):
    import json

    from eia import params, selfassess

    src = ROOT / "params" / "examples" / "notts-eds2022-self-assessment.yaml"
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    block = data["self_assessment"]
    block["scores"] = [s for s in block["scores"] if s["outcome"] not in ("1A", "2C")]
    block["previous"] = str(src.parent / block["previous"])
    data["description"] = "DESCRIPTION-of-the-assessment"
    data["narrative"] = {"race": "NARRATIVE-by-the-owner"}
    data["mitigations"] = [{"action": "MITIGATION-action", "owner": "Lead", "status": "planned"}]
    path = _dump(tmp_path / "sa.yaml", data)
    result = selfassess.assess(params.load(path), path)
    domains = result.domains.set_index("domain_id")
    assert domains.loc["1", "rating"] == "Not rated" and "1A" in domains.loc["1", "note"]
    assert domains.loc["2", "rating"] == "Not rated" and "2C" in domains.loc["2", "note"]
    assert domains.loc["3", "rating"] != "Not rated"
    assert result.overall["score"] is None and "1A, 2C" in result.overall["note"]
    html = ""
    for name in ("title", "summary", "heat_table", "domain_table", "evidence", "action_plan"):
        shown = getattr(selfassess, name)(result)
        html += shown._repr_html_() if hasattr(shown, "_repr_html_") else str(shown)
    html += "".join(
        getattr(selfassess, n)(result)._repr_html_() for n in ("change", "framework_block")
    )
    for text in ("DESCRIPTION-of-the-assessment", "NARRATIVE-by-the-owner", "MITIGATION-action"):
        assert text in html
    assert "not scored" in html
    json.dumps(selfassess.metrics(result), default=str)


# 13. Impossible dates, look-alike option names, lookup argument order ----------------------------


@pytest.mark.parametrize("bad", ["2024-02-30", "2023-02-29", "31/04/2024", "30.02.2024"])
def test_impossible_dates_are_an_error_naming_column_and_row_never_rolled_over(tmp_path, bad):
    from eia.errors import ServiceDataError
    from eia.service.aggregate import read_service

    path = tmp_path / "events.csv"
    path.write_text(
        f"lsoa_code,when\nE01013810,2024-02-29\nE01013810,{bad}\nE01013811,01/03/2024\n",
        encoding="utf-8",
    )
    with pytest.raises(ServiceDataError) as caught:
        read_service(path, {"lsoa": "lsoa_code", "date": "when"})
    message = str(caught.value)
    assert "'when'" in message and "row" in message and " 2 " in f" {message} ".replace(",", " ")
    assert bad not in message and "\n" not in message


BASE_SITES = {
    "current": [{"hospital": "King's Mill Hospital"}],
    "proposed": [{"name": "Hub", "lat": 52.95, "lon": -1.15}],
}


@pytest.mark.parametrize(
    "name",
    [
        "Now",
        "Now (do nothing)",
        "now (do nothing) ",
        "Proposed\u200b",
        "Pr\u043eposed",  # Cyrillic о
        "\u0420roposed",  # Cyrillic Р
        "N\u043ew",
        "\uff2e\uff4f\uff57",  # full-width
        "Do-nothing",
        "Current",
    ],
)
def test_option_names_that_read_as_the_baseline_are_refused(name):
    from eia import params
    from eia.errors import ParamsError

    option = {"name": name, "proposed": [{"name": "X", "lat": 52.9, "lon": -1.1}]}
    with pytest.raises(ParamsError, match="is reserved") as caught:
        params.parse(_tiny(options=[option]), "t")
    assert all("\u200b" not in str(p) and "\n" not in str(p) for p in caught.value.problems)


def test_names_are_normalised_and_invisible_characters_stripped():
    from eia import params
    from eia.errors import ParamsError

    option = {
        "name": "Option\u200b \u202eA\u202c",
        "proposed": [{"name": "X", "lat": 52.9, "lon": -1.1}],
    }
    proposal = params.parse(_tiny(options=[option], description="Safe\u202e text\u2066"), "t")
    assert proposal.options[0].name == "Option A"
    assert proposal.description == "Safe text"
    twins = [
        {"name": "Option A", "proposed": [{"name": "X", "lat": 52.9, "lon": -1.1}]},
        {"name": "\u041eption A", "proposed": [{"name": "Y", "lat": 52.9, "lon": -1.1}]},
    ]
    with pytest.raises(ParamsError, match="must be unique"):
        params.parse(_tiny(options=twins), "t")
    with pytest.raises(ParamsError):
        params.parse(_tiny(title="\u200b\u200b"), "t")  # nothing visible is no title


@given(st.text(max_size=30))
def test_skeleton_ignores_invisible_characters(text):
    from eia.names import skeleton

    assert skeleton(text) == skeleton("\u200b".join(text) + "\u202e")


def test_lookup_takes_text_after_the_options(refdata_dir, capsys):
    from eia.runner.cli import main

    assert main(["lookup", "hospital", "--near", "E54000060", "King's Mill"]) == 0
    after = capsys.readouterr().out
    assert main(["lookup", "hospital", "King's Mill", "--near", "E54000060"]) == 0
    assert capsys.readouterr().out == after and "King's Mill" in after


def test_a_parquet_nan_is_an_empty_cell_as_documented(tmp_path, pack, tt_setup):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from eia.analysis import traveltime

    codes, sites = tt_setup
    rows = [(c, d, 10.0) for c in codes for d in ("RX1RA", "NG5 1PB")]
    frame = pd.DataFrame(rows, columns=["lsoa", "site", "mins"])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    mins = table.column("mins").to_numpy().copy()
    mins[3] = float("nan")  # a true NaN, not a null, as some tools write
    table = table.set_column(2, "mins", pa.array(mins, from_pandas=False))
    pq.write_table(table, tmp_path / "m.parquet")
    spec = {
        "path": str(tmp_path / "m.parquet"),
        "mode": "car",
        "columns": {"origin": "lsoa", "destination": "site", "minutes": "mins"},
    }
    assert traveltime.read_matrix(spec, sites, pack, codes).info["pairs_unreachable"] == 1


@pytest.mark.parametrize(
    "source, words",
    [
        ("generated", "generated by the eia project"),
        ("supplied", "synthetic (supplied)"),
    ],
)
def test_the_banner_says_who_made_synthetic_data(source, words):
    from types import SimpleNamespace

    import pandas as pd

    from eia import params
    from eia.report import sections

    service = {"path": "x.csv", "columns": {"lsoa": "lsoa_code"}, "synthetic": True}
    proposal = params.parse(_tiny(service=service), "t")
    a = SimpleNamespace(
        proposal=proposal,
        area=SimpleNamespace(lsoas=pd.DataFrame({"population": [1500, 1600]})),
        uptake=SimpleNamespace(
            service=SimpleNamespace(label="bookings", quality={"synthetic_source": source})
        ),
    )
    html = sections.title(a)._repr_html_()
    assert words in html
    if source == "supplied":
        assert "generated by the eia project" not in html.replace("not generated by the eia", "")


def test_logs_and_notebooks_are_scrubbed_in_every_string(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("EIA_WAREHOUSE", "host=db.internal user=analyst password=hunter2-Secret")
    log = tmp_path / "run.log"
    log.write_text(f"starting\nconnect {LEAK_URL} failed\n", encoding="utf-8")
    redact.scrub_file(log, redact.secret_values(["EIA_WAREHOUSE"]))
    assert "hunter2" not in log.read_text(encoding="utf-8")
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["x = 1"],
                "outputs": [
                    {
                        "output_type": "error",
                        "ename": "ServiceDataError",
                        "evalue": "cannot connect",
                        "traceback": [
                            f"ValueError: {LEAK_URL}",
                            "The above exception was the direct cause of the following exception:",
                            "host=db.internal user=analyst password=hunter2-Secret",
                        ],
                    }
                ],
            }
        ],
        "metadata": {"papermill": {"exception": LEAK_URL}},
    }
    src, dst = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    src.write_text(json.dumps(notebook), encoding="utf-8")
    redact.scrub_notebook(src, dst, redact.secret_values(["EIA_WAREHOUSE"]))
    text = dst.read_text(encoding="utf-8")
    assert "hunter2" not in text and "analyst" not in text
    assert json.loads(text)["cells"][0]["outputs"][0]["ename"] == "ServiceDataError"
