"""The equity frontier (eia.analysis.frontier): exact, complete, and in the appraisal's language."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eia import params
from eia.analysis import frontier, impact
from eia.analysis.impact import ALL_RESIDENTS, Rules
from eia.errors import ParamsError

CORE20 = "Core20 (IMD deciles 1-2)"
ROOT = Path(__file__).resolve().parents[1]


def case(seed: int, n_lsoa: int = 30, n_sites: int = 6, n_groups: int = 3, unit: str = "km"):
    """A random area: LSOA × site matrix, LSOA × group weights (All residents, Core20, ...)."""
    rng = np.random.default_rng(seed)
    index = pd.Index([f"E01{i:06d}" for i in range(n_lsoa)], name="lsoa21_code")
    xy = rng.uniform(0, 20, size=(n_lsoa, 2))
    sites = rng.uniform(0, 20, size=(n_sites, 2))
    km = np.hypot(xy[:, None, 0] - sites[None, :, 0], xy[:, None, 1] - sites[None, :, 1])
    matrix = pd.DataFrame(km, index=index, columns=[f"S{j}" for j in range(n_sites)])
    pop = rng.integers(500, 2000, size=n_lsoa).astype(float)
    core = rng.random(n_lsoa) < 0.3
    core[0] = True  # every group has residents
    groups = {ALL_RESIDENTS: pop, CORE20: np.where(core, pop, 0.0)}
    for g in range(n_groups - 2):
        groups[f"Group {g}"] = 1 + np.floor(pop * rng.uniform(0, 0.4, size=n_lsoa))
    return matrix, pd.DataFrame(groups, index=index)


# ---------------------------------------------------------------------------
# The brute force: written out plainly, sharing nothing with the module


def plain_criteria(matrix, weights, current, sites, rules):
    """Criteria of one set, by loops: net change per resident and change in share beyond far."""
    m = matrix.to_numpy()
    cols = list(matrix.columns)
    out_change, out_far = [], []
    for group in weights.columns:
        w = weights[group].to_numpy()
        total = change = moved = 0.0
        for i in range(len(m)):
            before = min(m[i][cols.index(s)] for s in current)
            after = min(m[i][cols.index(s)] for s in sites)
            d = after - before
            counted = d if (d > rules.change or d < -rules.change) else 0.0
            newly_far = before <= rules.far and after > rules.far and d > rules.change
            newly_near = before > rules.far and after <= rules.far and d < -rules.change
            total += w[i]
            change += w[i] * counted
            moved += w[i] * (int(newly_far) - int(newly_near))
        out_change.append(change / total)
        out_far.append(moved / total)
    return tuple(round(v, 9) for v in out_change + out_far)


def beats(b, a) -> bool:
    """b dominates a: no worse on every criterion, better on one."""
    pairs = list(zip(b, a, strict=True))
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def plain_frontier(matrix, weights, current, keep, rules, must=()):
    """Every feasible set's criteria, and those no other feasible set dominates."""
    every = {}
    for k in keep:
        for combo in itertools.combinations(matrix.columns, k):
            if all(s in combo for s in must):
                every[frozenset(combo)] = plain_criteria(matrix, weights, current, combo, rules)
    best = set()
    for s, a in every.items():
        beaten = False
        for t, b in every.items():
            if t != s and beats(b, a):
                beaten = True
        if not beaten:
            best.add(s)
    return every, best


def reported(result: frontier.Frontier) -> set[frozenset]:
    return {frozenset(s) for s in result.frontier["sites"]}


def test_six_candidates_keep_three_equals_brute_force():
    matrix, weights = case(1, n_sites=6, n_groups=4)
    rules = Rules(change=0.5, far=4.0)
    current = ["S0", "S1", "S2"]
    result = frontier.explore(matrix, weights, current=current, keep=3, rules=rules)
    every, best = plain_frontier(matrix, weights, current, [3], rules)
    assert result.method == "enumeration"
    assert result.n_feasible == len(every) == 20
    assert reported(result) == best
    assert 1 < len(best) < 20  # a real trade-off, not everything or one set
    for row in result.frontier.itertuples():
        values = tuple(getattr(row, f"_{i}") for i in range(5, 5 + len(result.criteria)))
        assert np.allclose(values, every[frozenset(row.sites)], atol=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_sites=st.integers(3, 7),
    n_lsoa=st.integers(4, 25),
    keep=st.sets(st.integers(1, 3), min_size=1),
    change=st.sampled_from([0.0, 0.5, 2.0]),
)
def test_no_frontier_set_is_dominated_and_none_is_missed(seed, n_sites, n_lsoa, keep, change):
    matrix, weights = case(seed, n_lsoa=n_lsoa, n_sites=n_sites)
    rules = Rules(change=change if change else 1e-12, far=5.0)
    current = list(matrix.columns[:2])
    result = frontier.explore(matrix, weights, current=current, keep=sorted(keep), rules=rules)
    every, best = plain_frontier(matrix, weights, current, sorted(keep), rules)
    for sites in reported(result):
        a = every[sites]
        assert not any(beats(b, a) for b in every.values())
    assert reported(result) == best


def points(result: frontier.Frontier, frame: pd.DataFrame | None = None) -> set[tuple]:
    frame = result.frontier if frame is None else frame
    return {tuple(np.round(r, 5)) for r in frame[result.criteria].to_numpy()}


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_milp_and_enumeration_give_the_same_frontier(seed):
    matrix, weights = case(seed, n_lsoa=25, n_sites=6, n_groups=3)
    rules = Rules(change=0.5, far=5.0)
    kwargs = dict(current=["S0", "S1", "S2"], keep=[2, 3], rules=rules, must_keep=["S0"])
    by_enum = frontier.explore(matrix, weights, method="enumeration", **kwargs)
    by_milp = frontier.explore(matrix, weights, method="milp", **kwargs)
    assert by_milp.method == "milp" and by_milp.complete
    assert points(by_enum) == points(by_milp)
    for k in (2, 3):  # and the frontier of each size
        assert points(by_enum, by_enum.sets[by_enum.sets["size"] == k]) == points(
            by_milp, by_milp.sets[by_milp.sets["size"] == k]
        )
    assert all("S0" in s for s in by_milp.sets["sites"])


def test_auto_switches_to_milp_beyond_the_enumeration_limit():
    matrix, weights = case(5, n_lsoa=15, n_sites=5)
    result = frontier.explore(
        matrix, weights, current=["S0", "S1"], keep=2, rules=Rules(), max_enumerate=5
    )
    assert result.method == "milp" and result.n_feasible == 10


def test_a_smaller_set_is_never_on_the_frontier_when_a_superset_improves_it():
    matrix, weights = case(8, n_sites=5)
    rules = Rules(change=0.2, far=4.0)
    current = ["S0", "S1", "S2"]
    options = {"Pair": ["S0", "S1"]}
    result = frontier.explore(
        matrix, weights, current=current, keep=[2, 3], rules=rules, options=options
    )
    every, _ = plain_frontier(matrix, weights, current, [2, 3], rules)
    on = reported(result)
    for small in (s for s in on if len(s) == 2):
        for big, values in every.items():
            if len(big) == 3 and small < big:
                assert values == every[small]  # a superset on the frontier only if it ties
    option = result.options.iloc[0]
    assert not option["on_frontier"]
    supersets = [
        label
        for label, sites in zip(result.sets["set"], result.sets["sites"], strict=True)
        if {"S0", "S1"} < set(sites) and label in option["dominated_by_sets"]
    ]
    assert supersets  # the report names the dominating set
    table = result.dominance("Pair")
    assert (table["difference"] <= 0).all() and (table["difference"] < 0).any()


def test_criteria_against_current_sites_are_the_appraisal_figures():
    """Minutes with unreachable pairs: the criteria are impact.burden's net change per
    resident and (newly far - newly near) / residents, for every group."""
    matrix, weights = case(4, n_lsoa=40, n_sites=6, n_groups=4)
    minutes = matrix * 4.0
    minutes.iloc[::7, 3] = np.nan
    cap = 200.0
    rules = Rules(unit="min", change=5.0, far=30.0)
    current = ["S0", "S1", "S2"]
    options = {"Option A": ["S0", "S3"], "Option B": ["S1", "S4", "S5"]}
    result = frontier.explore(
        minutes,
        weights,
        current=current,
        keep=[2, 3],
        rules=rules,
        options=options,
        unreachable_as=cap,
    )
    filled = minutes.fillna(cap)
    dims = {"ethnic": weights.drop(columns=[ALL_RESIDENTS])}
    for name, sites in options.items():
        rows = impact.burden(
            filled[current].min(axis=1),
            filled[sites].min(axis=1),
            dims,
            rules,
            population=weights[ALL_RESIDENTS],
            margins=False,
        ).set_index("group")
        placed = result.options.set_index("option").loc[name]
        for group in weights.columns:
            r = rows.loc[group]
            assert placed[f"change: {group}"] == pytest.approx(r["net_per_resident"], abs=1e-9)
            share = (r["newly_far"] - r["newly_near"]) / r["residents"]
            assert placed[f"far: {group}"] == pytest.approx(share, abs=1e-9)


def test_metrics_name_every_frontier_set_and_place_each_option():
    matrix, weights = case(2, n_sites=5)
    result = frontier.explore(
        matrix,
        weights,
        current=["S0", "S1", "S2"],
        keep=2,
        rules=Rules(),
        options={"A": ["S0", "S1"]},
    )
    out = result.as_dict()
    assert out["method"] == "enumeration" and out["feasible_sets"] == 10
    assert [s["sites"] for s in out["sets"]] == [list(s) for s in result.frontier["sites"]]
    assert set(out["sets"][0]["criteria"]) == set(weights.columns)
    (option,) = out["options"]
    assert option["on_frontier"] == (not option["dominated_by_sets"])
    for beaten in option["dominated_by_sets"]:
        assert all(v >= 0 for v in beaten["better_by"].values())


def test_bad_library_input_is_named():
    matrix, weights = case(2, n_sites=4)
    with pytest.raises(ParamsError, match="must_keep"):
        frontier.explore(matrix, weights, current=["S0"], keep=2, must_keep=["S9"])
    with pytest.raises(ParamsError, match="keep"):
        frontier.explore(matrix, weights, current=["S0"], keep=5)


# ---------------------------------------------------------------------------
# The params file


def example(**explore):
    data = yaml.safe_load((ROOT / "params/examples/notts-diagnostics-frontier.yaml").read_text())
    if explore:
        data["explore"] = explore
    return data


def test_example_params_are_valid():
    p = params.parse(example())
    assert p.explore.sizes == [2, 3]
    sites = p.explore.candidate_sites(p.sites.current)
    assert len(sites) == 5 and sites[0].label == "Queen's Medical Centre"


@pytest.mark.parametrize(
    ("block", "where", "words"),
    [
        ({"keep": 0}, "explore.keep", "1 or more"),
        ({"keep": [2, 2]}, "explore.keep", "once"),
        ({"keep": 9}, "explore", "between"),
        ({"keep": 2, "must_keep": ["Nowhere"]}, "explore", "must_keep[0]"),
        ({"keep": 2, "candidates": "all"}, "explore.candidates", "current"),
        ({"keep": 2, "candidates": [{"name": "X"}]}, "explore.candidates", "lat"),
        ({}, "explore.keep", "missing"),
    ],
)
def test_bad_explore_blocks_give_one_line_errors(block, where, words):
    data = example()
    data["explore"] = block
    with pytest.raises(ParamsError) as err:
        params.parse(data, "x.yaml")
    messages = [str(p) for p in err.value.problems]
    assert any(m.startswith(where) and words in m for m in messages), messages
    assert all("\n" not in m for m in messages)


def test_worked_example_matches_the_appraisal(pack):
    """The Nottingham example: each option's criteria are the appraisal's figures."""
    from eia import assessment

    data = example()
    data.pop("service")
    a = assessment.assess(params.parse(data), pack=pack)
    f = a.frontier
    assert f.method == "enumeration" and f.n_feasible == 20
    burden = a.appraisal.burden.set_index(["option", "group"])
    for _, row in f.options.iterrows():
        for group in f.groups["group"]:
            b = burden.loc[(row["option"], group)]
            b = b.iloc[0] if isinstance(b, pd.DataFrame) else b
            assert row[f"change: {group}"] == pytest.approx(b["net_per_resident"], abs=1e-9)
            share = (b["newly_far"] - b["newly_near"]) / b["residents"]
            assert row[f"far: {group}"] == pytest.approx(share, abs=1e-9)
    assert not f.options["on_frontier"].any()  # doing nothing keeps three sites and beats both
    out = assessment.metrics(a)["frontier"]
    assert [s["sites"] for s in out["sets"]] == [list(s) for s in f.frontier["sites"]]
    assert {o["option"]: o["on_frontier"] for o in out["options"]} == {
        "Option A: close King's Mill": False,
        "Option B: close City Hospital": False,
    }
    # the report section: heading, chart with alt text, the same figures as a table, the caveat
    from eia.report import alternatives

    block = alternatives.section(a, f.chart_data())
    assert "Alternatives considered" in block.markup and "not a recommendation" in block.markup
    figure = next(p for p in block.parts if hasattr(p, "alt"))
    assert "Option A: close King's Mill" in figure.alt and "dominated by" in figure.alt
    table = next(p for p in block.parts if hasattr(p, "frame"))
    assert set(table.frame["Set or option"]) >= {"Option A: close King's Mill", "F1"}
    a.frontier = None
    assert alternatives.section(a) is None  # no explore: block, no section


def test_travel_times_explore_in_minutes(pack, tmp_path):
    """With journey-time matrices the frontier is in minutes of the lead mode, candidates too."""
    from eia import assessment

    path = ROOT / "params/examples/notts-diagnostics-travel-time.yaml"
    data = yaml.safe_load(path.read_text())
    data.pop("service")
    for spec in data["access"]["travel_times"]:
        spec["path"] = str(tmp_path / Path(spec["path"]).name)
    data["explore"] = {
        "candidates": ["current", {"name": "Bulwell (illustrative)", "lat": 52.999, "lon": -1.197}],
        "keep": 2,
        "must_keep": ["queen's medical centre"],
    }
    a = assessment.assess(params.parse(data), params_file=tmp_path / "p.yaml", pack=pack)
    f = a.frontier
    assert f.unit == "min" and f.n_feasible == 3  # QMC and one of the other three
    burden = a.appraisal.burden.set_index(["option", "group"])
    for _, row in f.options.iterrows():
        b = burden.loc[(row["option"], ALL_RESIDENTS)]
        assert row[f"change: {ALL_RESIDENTS}"] == pytest.approx(b["net_per_resident"], abs=1e-9)
