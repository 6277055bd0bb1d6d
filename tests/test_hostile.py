"""Hostile input: safe YAML, parameters as data, slugs, service paths, escaping, no records out.

One end-to-end run of a proposal whose every free-text field is hostile
(markup, quotes, Python and template syntax) and whose service extract is
synthetic (:mod:`eia.service.synth`, generated beside the params file) backs the
escaping, injection and disclosure checks.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

from eia import params
from eia.errors import ParamsError

HAS_SYNTH = importlib.util.find_spec("eia.service.synth") is not None

SCRIPT_TITLE = "<script>alert(1)</script>"
HOSTILE = {
    "title": f"{SCRIPT_TITLE} \"quotes\" & 'apostrophes'",
    "description": '</p><img src=x onerror=alert(2)> {{7*7}} ${x} """; import os; '
    'os.system("touch PWNED") #',
    "option": "Option <b>A</b>'); __import__('os').system('touch PWNED2') #",
    "site": "<svg onload=alert(3)>",
    "narrative": '<a href="javascript:alert(4)">click</a>',
    "action": '<iframe src="https://evil.example/"></iframe>',
    "owner": 'Bobby"; DROP TABLE x; --',
    "signoff": "<img src=x onerror=alert(5)>",
    "role": "Chair</td><td>",
}


def _base(**extra) -> dict:
    return {
        "id": "hostile-input",
        "title": "t",
        "template": "site_change",
        "area": {"ltla": ["E06000018"]},
        "sites": {
            "current": [{"hospital": "King's Mill Hospital"}],
            "proposed": [{"name": "Hub", "lat": 52.95, "lon": -1.15}],
        },
        **extra,
    }


def _dump(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# YAML and ids (no reference data)


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
        "!!python/name:os.system",
    ],
)
def test_yaml_is_loaded_safely(tmp_path, tag):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.yaml"
    path.write_text(f"id: evil\ntitle: {tag.format(marker=marker)}\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="not valid YAML"):
        params.read_yaml(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "bad_id",
    [
        "../escape",
        "..",
        "a/b",
        "/etc/passwd",
        "a\\b",
        "UPPER",
        "a--b",
        "-a",
        "a-",
        "",
        "a b",
        "a.b",
        "a\x00b",
        "é",
        "x" * 81,
    ],
)
def test_id_must_be_a_slug(bad_id):
    with pytest.raises(ParamsError, match=r"(?m)^  id: "):
        params.parse(_base(id=bad_id))


def test_good_ids_stay_inside_out(tmp_path):
    for good in ("a", "notts-hub-2", "x" * 80):
        proposal = params.parse(_base(id=good))
        target = (tmp_path / proposal.id).resolve()
        assert target.parent == tmp_path.resolve()


# ---------------------------------------------------------------------------
# Needs the reference data


def test_run_with_a_path_id_writes_nothing(refdata_dir, tmp_path):
    from eia.runner.run import run

    params_file = _dump(tmp_path / "p" / "escape.yaml", _base(id="../../escaped"))
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(ParamsError, match="not a slug"):
        run(params_file, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_service_paths_resolve_relative_to_the_params_file_and_must_be_files(
    refdata_dir, pack, tmp_path, monkeypatch
):
    service = {"columns": {"lsoa": "lsoa_code"}}
    folder = tmp_path / "proposals"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "extract.csv").write_text("lsoa_code\nE01013810\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # relative to the params file, never to the working folder

    good = _dump(folder / "good.yaml", _base(service={**service, "path": "data/extract.csv"}))
    proposal = params.load(good, pack)
    assert params.service_path(proposal, good) == (folder / "data" / "extract.csv").resolve()

    folder_path = _dump(folder / "dir.yaml", _base(service={**service, "path": "data"}))
    with pytest.raises(ParamsError, match=r"service\.path: .* is not a file"):
        params.load(folder_path, pack)

    missing = _dump(folder / "missing.yaml", _base(service={**service, "path": "good.csv"}))
    with pytest.raises(ParamsError, match=r"service\.path: .* does not exist"):
        params.load(missing, pack)
    (elsewhere / "good.csv").write_text("lsoa_code\n", encoding="utf-8")  # in the cwd: not used
    with pytest.raises(ParamsError, match="does not exist"):
        params.load(missing, pack)


# ---------------------------------------------------------------------------
# End to end


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def hostile_run(refdata_dir, tmp_path_factory):
    """`eia run` on the hostile proposal (with a synthetic service extract if eia.service.synth exists)."""
    from eia.runner.cli import main

    base = tmp_path_factory.mktemp("hostile")
    data = {
        "id": "hostile-input",
        "title": HOSTILE["title"],
        "template": "site_change",
        "description": HOSTILE["description"],
        "area": {"ltla": ["E06000018"]},
        "sites": {"current": [{"hospital": "King's Mill Hospital"}]},
        "options": [
            {
                "name": HOSTILE["option"],
                "proposed": [{"name": HOSTILE["site"], "lat": 52.95, "lon": -1.15}],
            }
        ],
        "narrative": {"race": HOSTILE["narrative"]},
        "mitigations": [{"action": HOSTILE["action"], "owner": HOSTILE["owner"]}],
        "signoff": [{"name": HOSTILE["signoff"], "role": HOSTILE["role"]}],
    }
    if HAS_SYNTH:
        from eia.service import synth

        data["service"] = {
            **synth.service_spec("data/synthetic-events.csv"),
            "generate": {"events": 3000, "seed": 11},
        }
    params_file = _dump(base / "proposal" / "hostile.yaml", data)
    out = base / "out"
    code = main(["run", str(params_file), "--out", str(out)])
    return {"code": code, "base": base, "params": params_file, "out": out, "data": data}


def _outputs(run) -> dict[str, str]:
    folder = run["out"] / "hostile-input"
    files = [run["out"] / "index.html", *sorted(p for p in folder.rglob("*") if p.is_file())]
    return {str(p.relative_to(run["out"])): p.read_text(encoding="utf-8") for p in files}


@pytest.mark.slow
def test_hostile_proposal_runs(hostile_run):
    assert hostile_run["code"] == 0
    assert set(_outputs(hostile_run)) == {
        "index.html",
        "hostile-input/report.html",
        "hostile-input/assessment.ipynb",
        "hostile-input/metrics.json",
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hostile-input/report.html", "index.html"])
def test_every_params_string_is_shown_as_text(hostile_run, name):
    html = _outputs(hostile_run)[name]
    assert SCRIPT_TITLE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = _Tags()
    page.feed(html)
    text = "".join(page.text)
    assert HOSTILE["title"] in text
    if name == "index.html":
        assert len([t for t, _ in page.tags if t == "script"]) == 1  # its own sort script
    else:
        assert "script" not in {t for t, _ in page.tags}
        for key in ("description", "option", "site", "narrative", "action", "owner", "signoff"):
            assert HOSTILE[key] in text, key
    for tag, attrs in page.tags:
        assert tag not in {"iframe", "svg", "b", "object", "embed"}, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for key in ("href", "src"):
            assert not str(attrs.get(key, "")).lower().startswith("javascript"), attrs
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,")


@pytest.mark.slow
def test_parameters_reach_the_notebook_as_data_not_code(hostile_run):
    assert not list(hostile_run["base"].rglob("PWNED*"))
    assert not list(Path.cwd().glob("PWNED*"))
    nb = nbformat.read(hostile_run["out"] / "hostile-input" / "assessment.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    tree = ast.parse(injected[0].source)
    values = {}
    for node in tree.body:  # nothing but NAME = <literal>
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.dump(node)
        values[node.targets[0].id] = ast.literal_eval(node.value)
    proposal = params.load(hostile_run["params"], check_data=False)
    assert values["proposal"] == params.to_notebook(proposal)
    assert values["proposal"]["title"] == HOSTILE["title"]
    assert values["proposal"]["options"][0]["name"] == HOSTILE["option"]
    metrics = json.loads((hostile_run["out"] / "hostile-input" / "metrics.json").read_text())
    assert metrics["title"] == HOSTILE["title"]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SYNTH, reason="eia.service.synth is not available yet")
def test_no_record_level_service_data_in_any_output(hostile_run):
    import pandas as pd

    extract = hostile_run["params"].parent / "data" / "synthetic-events.csv"
    assert extract.is_file(), "the run should have generated the synthetic extract"
    frame = pd.read_csv(extract, dtype=str, keep_default_na=False)
    assert len(frame) == 3000
    outputs = _outputs(hostile_run)

    # 1. No row of the extract, as written in the file, anywhere.
    lines = extract.read_text(encoding="utf-8").splitlines()[1:]
    for name, text in outputs.items():
        leaked = [line for line in lines if line in text]
        assert not leaked, f"{name} holds extract rows, e.g. {leaked[:3]}"

    # 2. No individual event date (every record carries one); the period's first
    #    and last dates may be published, in either format.
    iso = pd.to_datetime(frame["date"], format="%Y-%m-%d", errors="coerce")
    parsed = iso.fillna(pd.to_datetime(frame["date"], format="%d/%m/%Y", errors="coerce"))
    assert parsed.notna().all()
    edges = {parsed.min(), parsed.max()}
    forms = {
        form
        for day in set(parsed) - edges
        for form in (day.strftime("%Y-%m-%d"), day.strftime("%d/%m/%Y"))
    }
    for name, text in outputs.items():
        found = sorted(form for form in forms if form in text)
        assert not found, f"{name} holds record-level dates, e.g. {found[:5]}"

    # 3. No run of raw records as a table: a lsoa code next to its record's own
    #    ethnic category, age and sex (in any separator) would be a record.
    def flat(text: str) -> str:
        return re.sub(r"[\s,;|\"']+", " ", re.sub(r"<[^>]*>", " ", text.replace("\\n", " ")))

    sample = frame.sample(n=300, random_state=1)
    needles = {
        flat(f"{r.lsoa_code} {r.ethnic_category} {r.age} {r.sex}")
        for r in sample.itertuples(index=False)
    }
    for name, text in outputs.items():
        found = sorted(n for n in needles if n in flat(text))
        assert not found, f"{name} holds records, e.g. {found[:3]}"


# ---------------------------------------------------------------------------
# Issue 19, findings 2 and 4: only codes leave the extract; paths are data


def test_finding2_patient_values_never_reach_the_report_or_metrics(pack, tmp_path):
    """Unmatched values that are not codes are counted, never echoed, in every output path."""
    from eia.analysis import uptake
    from eia.population.area import build_area
    from eia.service import load as service

    values = [
        "01/02/1960",
        "943-476-5919",
        "FLAT 3, 12 ACACIA AVE",
        "JOHN SMITH",
        "MRS A PATEL (DOB 1961)",
        "NG7-2UH",
    ]
    area = build_area(pack, {"ltla": ["E06000018"]})
    codes = list(area["lsoa21_code"])
    rows = ["lsoa_code,ethnic_category"] + [f"{c},A" for c in codes[:40] for _ in range(6)]
    rows += [f'"{v}",A' for v in values] + ["E02002317,A", "E01013810,Mrs Smith"]
    extract = tmp_path / "extract.csv"
    extract.write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = service.load_service(
        {"path": str(extract), "columns": {"lsoa": "lsoa_code", "ethnicity": "ethnic_category"}},
        pack,
        codes,
    )
    result = uptake.compute(data, area, min_count=5)
    published = json.dumps(result.metrics())
    assert "E02002317" in published  # a geography code may be quoted
    assert f"{len(values)} values that are not LSOA codes or names" in published
    for value in values:
        for part in re.split(r"[\s,()/-]+", value):
            if len(part) > 2 and part not in ("DOB", "NG7"):
                assert part not in published, part
    assert "Smith" not in published and "SMITH" not in published


def _csv_service(path: str) -> dict:
    return {"path": path, "columns": {"lsoa": "lsoa_code"}}


@pytest.mark.parametrize(
    "target, why",
    [
        ("/etc/passwd", "no recognised extension"),
        ("/dev/zero", "not a regular file"),
        ("fifo.csv", "FIFO"),
        ("binary.csv", "not text"),
        ("fake.parquet", "not a Parquet file"),
        ("fake.xlsx", "not an .xlsx file"),
    ],
)
def test_finding4_special_and_mislabelled_files_are_refused_unquoted(
    refdata_dir, pack, tmp_path, target, why
):
    import os

    from eia.runner.cli import main

    folder = tmp_path / "p"
    folder.mkdir()
    secret = "root:x:0:0:SECRET-LINE"
    if target == "fifo.csv":
        os.mkfifo(folder / target)
    elif target == "binary.csv":
        (folder / target).write_bytes(b"lsoa_code\n\x00\x01\x1b[31m" + secret.encode() * 5)
    elif not target.startswith("/"):
        (folder / target).write_text(secret + "\n", encoding="utf-8")
    params_file = _dump(folder / "p.yaml", _base(service=_csv_service(target)))
    with pytest.raises(ParamsError, match=why) as caught:
        params.load(params_file, pack)
    assert "SECRET" not in str(caught.value) and "x:0:0" not in str(caught.value)
    # `eia run` stops at validation, one line per problem, before any kernel starts.
    assert main(["validate", str(params_file)]) == 2


def test_finding4_parse_errors_do_not_quote_the_file(tmp_path, capsys):
    from eia.errors import ServiceDataError
    from eia.service.aggregate import read_service

    path = tmp_path / "x.csv"
    path.write_text(
        "lsoa_code,n\nE01013810,1\nJOHN SMITH,01/02/1960,943-476-5919\n", encoding="utf-8"
    )
    with pytest.raises(ServiceDataError) as caught:
        read_service(path, {"lsoa": "lsoa_code", "count": "n"})
    message = str(caught.value)
    assert "expected 2 columns, got 3" in message
    assert "JOHN" not in message and "1960" not in message and "\n" not in message

    passwd = tmp_path / "passwd.txt"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    with pytest.raises(ServiceDataError, match="no recognised extension") as caught:
        read_service(passwd, {"lsoa": "lsoa_code"})  # .txt is refused before it is opened
    assert "/bin/bash" not in str(caught.value) and "x:0:0" not in str(caught.value)

    bad = tmp_path / "counts.csv"
    bad.write_text("lsoa_code,n\nE01013810,JOHN SMITH\nE01013810,\x1b[2J\n", encoding="utf-8")
    with pytest.raises(ServiceDataError, match=r"rows 1 \(AAAA AAAAA\), 2 \(\?\[9A\)"):
        read_service(bad, {"lsoa": "lsoa_code", "count": "n"})


# ---------------------------------------------------------------------------
# Issue 19, findings 5-7: every params mistake is one line, never a traceback or a silent answer


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE_YAML = """\
id: t
title: t
template: site_change
area: {ltla: [E06000018]}
sites:
  current: [{hospital: "King's Mill Hospital"}]
  proposed: [{name: Hub, lat: 52.95, lon: -1.15}]
"""


def _one_line_problems(path: Path, capsys) -> str:
    """`eia validate` exits 2 with one line per problem and no traceback."""
    from eia.runner.cli import main

    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Error:" not in err
    return err


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("mitigations: [{action: a, owner: b, due: 2025-04-31}]", "not a date in the calendar"),
        ("signoff: [{name: a, role: b, date: 2025-02-30}]", "not a date in the calendar"),
        ("title: again", "duplicate key 'title'"),
    ],
)
def test_finding5_impossible_dates_and_duplicate_keys_are_one_line(
    refdata_dir, tmp_path, capsys, extra, expected
):
    err = _one_line_problems(_write(tmp_path, BASE_YAML + extra + "\n"), capsys)
    assert expected in err and "line " in err


def test_finding5_deep_nesting_is_one_line(refdata_dir, tmp_path, capsys):
    for text in ("x: " + "[" * 100_000, "x: " + "[" * 60 + "]" * 60):
        err = _one_line_problems(_write(tmp_path, BASE_YAML + text + "\n"), capsys)
        assert "levels deep" in err or "not valid YAML" in err


def test_finding7_alias_bombs_are_refused_before_anything_runs(refdata_dir, tmp_path, capsys):
    lines = [BASE_YAML.replace("  proposed: [{name: Hub, lat: 52.95, lon: -1.15}]\n", "")]
    lines.append("a0: &a0 [{name: Hub, lat: 52.95, lon: -1.15}]")
    for i in range(1, 21):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 2)}]")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    err = _one_line_problems(path, capsys)
    assert "YAML aliases" in err
    # A long (but flat) list of sites is capped by the schema, with the field named.
    many = "[" + ", ".join(["{name: S, lat: 52.95, lon: -1.15}"] * 501) + "]"
    err = _one_line_problems(
        _write(
            tmp_path,
            BASE_YAML.replace(
                "proposed: [{name: Hub, lat: 52.95, lon: -1.15}]", f"proposed: {many}"
            ),
        ),
        capsys,
    )
    assert "sites.proposed" in err and "500" in err


@pytest.mark.parametrize(
    "site, expected",
    [
        ('{name: Far, lat: "-33.87", lon: "151.21"}', "is not a number: write the number alone"),
        ("{name: Inf, lat: .inf, lon: -1.1}", "finite"),
        ("{name: Nan, lat: .nan, lon: -1.1}", "finite"),
    ],
)
def test_finding6_numbers_as_text_and_infinities_are_refused(
    refdata_dir, tmp_path, capsys, site, expected
):
    text = BASE_YAML.replace("{name: Hub, lat: 52.95, lon: -1.15}", site)
    err = _one_line_problems(_write(tmp_path, text), capsys)
    assert expected in err


def test_finding6_infinite_thresholds_are_refused(refdata_dir, tmp_path, capsys):
    err = _one_line_problems(
        _write(tmp_path, BASE_YAML + "thresholds: {distance_km: .inf}\n"), capsys
    )
    assert "thresholds.distance_km" in err and "finite" in err
    err = _one_line_problems(
        _write(tmp_path, BASE_YAML + 'thresholds: {distance_km: "5"}\n'), capsys
    )
    assert "is not a number" in err


@pytest.mark.parametrize(
    "options, expected",
    [
        ("[{name: Proposed, proposed: [{name: X, lat: 52.9, lon: -1.1}]}]", "is reserved"),
        ("[{name: proposed , proposed: [{name: X, lat: 52.9, lon: -1.1}]}]", "is reserved"),
        (
            '[{name: "Option A", proposed: [{name: X, lat: 52.9, lon: -1.1}]},'
            ' {name: "option  a ", proposed: [{name: Y, lat: 52.9, lon: -1.1}]}]',
            "same name once spaces and case are ignored",
        ),
    ],
)
def test_finding6_option_names_cannot_clash(refdata_dir, tmp_path, capsys, options, expected):
    err = _one_line_problems(_write(tmp_path, BASE_YAML + f"options: {options}\n"), capsys)
    assert expected in err


def test_finding6_site_names_are_trimmed_before_comparison(refdata_dir, tmp_path, capsys):
    text = BASE_YAML.replace(
        "proposed: [{name: Hub, lat: 52.95, lon: -1.15}]",
        'proposed: [{name: Hub, lat: 52.95, lon: -1.15}, {name: "hub ", lat: 52.9, lon: -1.1}]',
    )
    err = _one_line_problems(_write(tmp_path, text), capsys)
    assert "duplicate site name" in err


@pytest.mark.parametrize(
    "dimension, group, expected",
    [
        ("ethnic_group", "Black", "did you mean 'Black, Black British"),
        ("ethnic_group", "asian", "did you mean 'Asian, Asian British"),
        ("imd_quintile", "Q1", "did you mean 'Q1 (most deprived)'"),
        ("imd_quintile", "6", "is not a group of imd_quintile"),
        ("religion", "christian", "did you mean 'Christian'"),
        ("disability", "Disabled", "did you mean 'Disabled under the Equality Act'"),
    ],
)
def test_finding6_effect_groups_must_be_real_groups(
    refdata_dir, tmp_path, capsys, dimension, group, expected
):
    text = (
        "id: t\ntitle: t\ntemplate: service_change\narea: {ltla: [E06000018]}\n"
        f'effects: [{{dimension: {dimension}, group: "{group}", uptake_change_pct: -10}}]\n'
    )
    err = _one_line_problems(_write(tmp_path, text), capsys)
    assert expected in err and "effects[0]" in err


def test_effect_groups_match_the_librarys_groups():
    from eia.analysis.access import CORE20_LABELS
    from eia.population.area import ETHNIC_GROUPS, QUINTILE_LABELS

    assert params.EFFECT_GROUPS["ethnic_group"] == ETHNIC_GROUPS
    assert params.EFFECT_GROUPS["core20"] == CORE20_LABELS
    assert set(QUINTILE_LABELS.values()) < set(params.EFFECT_GROUPS["imd_quintile"])


# ---------------------------------------------------------------------------
# Issue 19, finding 3: `eia synth` and `generate:` never overwrite real data or write elsewhere


def test_finding3_synth_never_overwrites_a_real_extract(refdata_dir, tmp_path, capsys):
    from eia.runner.cli import main

    folder = tmp_path / "p"
    (folder / "data").mkdir(parents=True)
    real = folder / "data" / "bookings.csv"
    real.write_text("lsoa_code\nE01013810\n", encoding="utf-8")
    service = {"path": "data/bookings.csv", "columns": {"lsoa": "lsoa_code"}, "synthetic": False}
    params_file = _dump(folder / "p.yaml", _base(service=service))
    assert main(["synth", str(params_file), "--events", "50"]) == 2
    assert "does not mark it synthetic: true" in capsys.readouterr().err
    assert real.read_text(encoding="utf-8") == "lsoa_code\nE01013810\n"
    # A named --out that exists is not overwritten either.
    other = tmp_path / "other.csv"
    other.write_text("keep\n", encoding="utf-8")
    assert main(["synth", str(params_file), "--out", str(other), "--events", "50"]) == 2
    assert other.read_text(encoding="utf-8") == "keep\n"
    # Marked synthetic, a file a person made is still not overwritten (issue 27) ...
    _dump(folder / "p.yaml", _base(service={**service, "synthetic": True}))
    assert main(["synth", str(params_file), "--events", "50"]) == 2
    assert "eia did not generate it" in capsys.readouterr().err
    assert real.read_text(encoding="utf-8") == "lsoa_code\nE01013810\n"
    # ... but one eia generated, unchanged since, may be regenerated in place.
    real.unlink()
    assert main(["synth", str(params_file), "--events", "50"]) == 0
    first = real.read_bytes()
    assert main(["synth", str(params_file), "--events", "60"]) == 0
    assert real.read_bytes() != first


def test_finding3_synth_and_generate_write_only_inside_the_params_folder(
    refdata_dir, pack, tmp_path, capsys
):
    from eia.errors import ServiceDataError
    from eia.runner.cli import main
    from eia.service import synth

    folder = tmp_path / "p"
    folder.mkdir()
    outside = "../elsewhere/new/x.csv"
    service = {"path": outside, "columns": {"lsoa": "lsoa_code"}, "synthetic": True}
    params_file = _dump(folder / "p.yaml", _base(service=service))
    assert main(["synth", str(params_file), "--events", "50"]) == 2
    assert "only inside the params file's folder" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()
    generated = {**service, "generate": {"events": 50}}
    with pytest.raises(ParamsError, match="generate: never writes elsewhere"):
        params.load(_dump(folder / "g.yaml", _base(service=generated)), pack)
    assert not (tmp_path / "elsewhere").exists()
    with pytest.raises(ServiceDataError, match="only inside"):
        synth.check_target(folder / ".." / "x.csv", folder, synthetic=True)
    assert synth.check_target(folder / "d" / "x.csv", folder, synthetic=False).name == "x.csv"


# ---------------------------------------------------------------------------
# Issue 19, finding 8: a pack's manifest cannot name files outside the pack


@pytest.mark.parametrize("name", ["../x.txt", "sub/x.txt", "..", "/etc/passwd", ".hidden"])
def test_finding8_manifest_names_must_be_plain_file_names(tmp_path, name):
    import hashlib

    from eia.errors import RefDataError
    from eia.refdata import install

    source = tmp_path / "pack" / "inner"
    source.mkdir(parents=True)
    secret = tmp_path / "pack" / "x.txt"
    secret.write_text("outside the pack\n", encoding="utf-8")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    (source / "manifest.json").write_text(json.dumps({name: {"sha256": digest}}), "utf-8")
    dest = tmp_path / "dest" / "shapes"
    with pytest.raises(RefDataError, match="not plain file names"):
        install(source, dest, required=())
    assert not (tmp_path / "dest" / "x.txt").exists()
    assert not any(p.name == "x.txt" for p in (tmp_path / "dest").rglob("*"))


# ---------------------------------------------------------------------------
# Issue 19, findings 5 and 9: output folders, symlinks, leftovers


def test_finding5_out_that_is_a_file_or_unwritable_is_one_line(refdata_dir, tmp_path, capsys):
    from eia.runner.cli import main

    params_file = _dump(tmp_path / "p" / "p.yaml", _base(id="out-test"))
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    for out, expected in ((a_file, "is a file, not a folder"), ("/sys/eia-out", "cannot write")):
        assert main(["run", str(params_file), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("eia: ")]
        assert expected in err and "Traceback" not in err and len(errors) == 1
    assert main(["batch", str(params_file), "--out", str(a_file)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "code, expected",
    [("ENOSPC", "the disk is full"), ("EROFS", "read-only file system"), ("EACCES", "permission")],
)
def test_finding5_full_or_read_only_disks_are_one_line(tmp_path, code, expected):
    import errno

    from eia.errors import OutputError
    from eia.runner.run import _output_error

    error = _output_error(
        OSError(getattr(errno, code), os.strerror(getattr(errno, code))), tmp_path
    )
    assert isinstance(error, OutputError) and error.exit_code == 2
    assert expected in str(error) and "\n" not in str(error)


def test_finding9_a_symlinked_output_folder_is_refused(refdata_dir, tmp_path, capsys):
    from eia.runner.cli import main

    params_file = _dump(tmp_path / "p" / "p.yaml", _base(id="linked"))
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("keep", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "linked").symlink_to(target, target_is_directory=True)
    assert main(["run", str(params_file), "--out", str(out)]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_finding9_stale_folders_of_dead_processes_are_removed(tmp_path):
    import subprocess
    import sys

    from eia.runner.run import remove_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".hub.staging-{dead.pid}-abc"
    (stale / "part").mkdir(parents=True)
    (stale / "part" / "report.html").write_text("partial", encoding="utf-8")
    mine = tmp_path / f".hub.staging-{os.getpid()}-def"
    mine.mkdir()
    other_id = tmp_path / f".hubs.staging-{dead.pid}-ghi"
    other_id.mkdir()
    assert remove_stale(tmp_path, ".hub.staging-") == [stale]
    assert not stale.exists() and mine.exists() and other_id.exists()


def test_binary_bytes_never_reach_the_terminal(refdata_dir, tmp_path, capsys):
    from eia.runner.cli import main

    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "x.csv").write_bytes(b"lsoa_code,n\nE01013810,\x1b[2J\x07\xff\xfe\n")
    service = {"path": "x.csv", "columns": {"lsoa": "lsoa_code", "count": "n"}}
    params_file = _dump(folder / "p.yaml", _base(id="binary", service=service))
    code = main(["run", str(params_file), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err and "\ufffd" not in err


def _wait_for(predicate, timeout: float = 180.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _eia(*args: str):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "eia.runner.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_finding9_sigterm_kills_the_kernel_and_leaves_nothing_behind(refdata_dir, tmp_path):
    import glob
    import signal
    import tempfile

    params_file = _dump(tmp_path / "p" / "p.yaml", _base(id="sigterm"))
    out = tmp_path / "out"
    proc = _eia("run", str(params_file), "--out", str(out))
    pattern = f"{tempfile.gettempdir()}/eia-kernel-{proc.pid}-*/kernel.json"
    assert _wait_for(lambda: glob.glob(pattern) and _processes_with(glob.glob(pattern)[0]))
    connection = glob.glob(pattern)[0]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _wait_for(lambda: not _processes_with(connection), timeout=10), "kernel still runs"
    assert not glob.glob(f"{tempfile.gettempdir()}/eia-kernel-{proc.pid}-*")
    assert not list(out.glob(".sigterm.staging-*"))
    assert not (out / "sigterm" / "report.html").exists()


@pytest.mark.slow
def test_finding9_sigint_to_the_batch_parent_stops_workers_before_they_publish(
    refdata_dir, tmp_path
):
    import glob
    import signal
    import tempfile
    import time

    folder = tmp_path / "batch"
    for name in ("one", "two"):
        _dump(folder / f"{name}.yaml", _base(id=f"stop-{name}"))
    out = tmp_path / "out"
    proc = _eia("batch", str(folder), "--out", str(out), "--jobs", "2")
    assert _wait_for(
        lambda: list(out.glob(".stop-one.staging-*")) and list(out.glob(".stop-two.staging-*"))
    )
    time.sleep(3)
    workers = _children(proc.pid)
    assert workers
    proc.send_signal(signal.SIGINT)  # the parent alone, as `kill -INT` would
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert _wait_for(lambda: not [p for p in workers if _running(p)], timeout=10), "workers go on"
    time.sleep(5)  # a worker that went on would publish now
    for name in ("one", "two"):
        assert not (out / f"stop-{name}" / "report.html").exists()
        assert not list(out.glob(f".stop-{name}.staging-*"))
    assert (out / "index.html").is_file()
    assert "stop-one" not in (out / "index.html").read_text(encoding="utf-8")
    assert not glob.glob(f"{tempfile.gettempdir()}/eia-batch-logs-{proc.pid}-*")


@pytest.mark.slow
def test_finding7_the_kernel_runs_under_a_memory_limit(tmp_path):
    """A notebook asking for more than limits.memory_gb fails with MemoryError, in its kernel."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from eia.runner.run import ipc_kernel_manager, kill_kernels

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("block = bytearray(3 * 1024**3)")]
    source = tmp_path / "greedy.ipynb"
    nbformat.write(notebook, source)
    kernel_dir = tmp_path / "kernel"
    kernel_dir.mkdir()
    with pytest.raises(PapermillExecutionError, match="MemoryError"):
        papermill.execute_notebook(
            str(source),
            str(tmp_path / "out.ipynb"),
            kernel_name="python3",
            kernel_manager_class=ipc_kernel_manager(kernel_dir, 1024**3),
            progress_bar=False,
        )
    kill_kernels()


def test_finding9_a_kernel_started_but_not_yet_recorded_is_killed_too():
    """A signal between a kernel's start and its recording must not leave it running
    (CI saw one start in a staging folder already removed): kill_kernels finds this
    process's kernel children itself, and leaves its other children alone."""
    import subprocess
    import sys

    from eia.runner.run import _KERNEL_GROUPS, kill_kernels

    sleep = "import time; time.sleep(120)"
    kernel = subprocess.Popen([sys.executable, "-c", sleep, "ipykernel"], start_new_session=True)
    other = subprocess.Popen([sys.executable, "-c", sleep], start_new_session=True)
    try:
        assert kernel.pid not in _KERNEL_GROUPS
        kill_kernels()
        assert kernel.wait(timeout=10) == -9
        assert other.poll() is None
    finally:
        for child in (kernel, other):
            child.kill()
            child.wait()


def test_finding5_a_batch_precheck_error_fails_only_that_file(tmp_path):
    from eia.runner.batch import INVALID, _precheck

    good = _dump(tmp_path / "good.yaml", _base(id="good"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        BASE_YAML.replace("id: t", "id: bad")
        + "mitigations: [{action: a, owner: b, due: 2025-04-31}]\n",
        encoding="utf-8",
    )
    deep = tmp_path / "deep.yaml"
    deep.write_text("x: " + "[" * 100_000 + "\n", encoding="utf-8")
    items, to_run = _precheck([bad, deep, good])
    assert [i.status if i else None for i in items] == [INVALID, INVALID, None]
    assert "not a date in the calendar" in items[0].error
    assert to_run == [good]
