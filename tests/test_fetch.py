"""`eia data fetch` against a local HTTP server that stands in for the publishers.

The server on 127.0.0.1 serves the synthetic fixtures of tests/fixtures/fetch
(written in each publisher's own format) at the *paths* of the real URLs in
shapes/sources.toml; ``base_url`` swaps the publishers' hosts for it. It
supports HTTP Range requests, emulates ONS ArcGIS FeatureServer paging, and can
be told to fail, truncate or serve a changed file for a given path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from eia.errors import RefDataError
from eia.refdata import REQUIRED_FILES, Pack, verify
from eia.refdata import fetch as fetchmod

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "fetch"

IOD2025 = "imd2025"
IOD2019 = "imd2019"


# ---------------------------------------------------------------------------
# The stand-in publisher
# ---------------------------------------------------------------------------
class Publisher(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.arcgis: dict[str, dict] = {}
        self.behaviour: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hits(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


class Handler(BaseHTTPRequestHandler):
    server: Publisher

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None, cut: bool = False):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut else body)
        self.wfile.flush()
        if cut:
            self.close_connection = True

    def do_GET(self):  # noqa: N802 - the http.server API
        proxied = self.path.startswith("http://")
        parts = urllib.parse.urlsplit(self.path)
        path, query = parts.path, urllib.parse.parse_qs(parts.query)
        server = self.server
        with server.lock:
            server.requests.append(
                {
                    "path": path,
                    "query": query,
                    "range": self.headers.get("Range"),
                    "proxied": proxied,
                    "agent": self.headers.get("User-Agent"),
                }
            )
            seen = len(server.hits(path))
        rule = server.behaviour.get(path, {})
        if rule.get("status"):
            return self._send(rule["status"], b"server error")
        if seen <= rule.get("fail_first", 0):
            return self._send(500, b"temporary failure")
        if path.endswith("/FeatureServer/0/query"):
            return self._arcgis(path, query)
        body = server.files.get(path)
        if body is None:
            return self._send(404, b"not found")
        truncate = rule.get("truncate") == "always" or (
            rule.get("truncate") == "once" and seen == 1
        )
        wanted = self.headers.get("Range", "")
        if wanted.startswith("bytes=") and not rule.get("ignore_range"):
            start = int(wanted[6:].split("-")[0])
            chunk = body[start:]
            headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            return self._send(206, chunk, headers, cut=truncate)
        return self._send(200, body, {"Accept-Ranges": "bytes"}, cut=truncate)

    def _arcgis(self, path: str, query: dict):
        service = path.split("/")[-4]
        layer = self.server.arcgis.get(service)
        if layer is None:
            body = {"error": {"code": 400, "message": "Invalid URL", "details": []}}
            return self._send(200, json.dumps(body).encode())
        features = layer["features"]
        if query.get("returnCountOnly") == ["true"]:
            return self._send(200, json.dumps({"count": len(features)}).encode())
        offset = int(query.get("resultOffset", ["0"])[0])
        count = int(query.get("resultRecordCount", ["1000"])[0])
        fields = query.get("outFields", ["*"])[0]
        page = features[offset : offset + count]
        if fields != "*":
            keep = fields.split(",")
            page = [{**f, "properties": {k: f["properties"][k] for k in keep}} for f in page]
        if query.get("returnGeometry") == ["false"]:
            page = [{**f, "geometry": None} for f in page]
        body = {"type": "FeatureCollection", "features": page}
        if offset + count < len(features):
            body["properties"] = {"exceededTransferLimit": True}
        return self._send(200, json.dumps(body).encode())


def _real_sources() -> dict[str, fetchmod.Source]:
    return fetchmod.load_sources(ROOT / "shapes" / "sources.toml")


def _test_sources(**changes) -> dict[str, fetchmod.Source]:
    """The real sources.toml, with the row counts dropped (the fixtures are tiny) and
    ArcGIS pages of two features so paging is exercised; ``changes`` edits one source."""
    sources = {
        name: dataclasses.replace(s, rows=None, page_size=2) for name, s in _real_sources().items()
    }
    for name, change in changes.items():
        sources[name] = dataclasses.replace(sources[name], **change)
    return sources


def _path(name: str) -> str:
    return urllib.parse.urlsplit(_real_sources()[name].url).path


@pytest.fixture
def publisher():
    server = Publisher()
    for source in _real_sources().values():
        if source.format == "arcgis":
            service = source.filename.removesuffix(".geojson")
            data = json.loads((FIXTURES / "arcgis" / f"{service}.geojson").read_text())
            server.arcgis[service] = data
        else:
            path = urllib.parse.urlsplit(source.url).path
            server.files[path] = (FIXTURES / source.filename).read_bytes()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        mp.setenv("no_proxy", "127.0.0.1,localhost")
        mp.delenv(fetchmod.BASE_URL_ENV, raising=False)
        yield server
    server.shutdown()
    server.server_close()


def _run(publisher, tmp_path, sources=None, **kwargs) -> Path:
    kwargs.setdefault("retries", 2)
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("timeout", 10)
    return fetchmod.fetch(
        dest=kwargs.pop("dest", tmp_path / "shapes"),
        cache=kwargs.pop("cache", tmp_path / "cache"),
        sources=sources or _test_sources(),
        progress=kwargs.pop("progress", False),
        base_url=kwargs.pop("base_url", publisher.url),
        **kwargs,
    )


def _snapshot(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


def _assert_untouched(dest: Path, before: dict[str, str]) -> None:
    assert _snapshot(dest) == before
    leftovers = list(dest.parent.glob(f".{dest.name}.fetch-*"))
    assert leftovers == [], f"staging folder left behind: {leftovers}"


@pytest.fixture
def old_pack(tmp_path) -> Path:
    """A destination holding files already (a README and a previous pack's manifest)."""
    dest = tmp_path / "shapes"
    dest.mkdir()
    (dest / "README.md").write_text("# shapes\n")
    (dest / "sources.toml").write_text("# kept\n")
    (dest / "manifest.json").write_text("{}\n")
    return dest


# ---------------------------------------------------------------------------
# sources.toml
# ---------------------------------------------------------------------------
def test_sources_toml_lists_every_release_with_publisher_urls():
    sources = _real_sources()
    assert set(sources) >= {
        "imd2025",
        "imd2019",
        "lsoa21_boundaries",
        "lsoa21_ward24_lad24",
        "lsoa21_sicbl24_icb24",
        "lsoa11_lsoa21",
        "census2021_ts021",
        "census2021_ts030",
        "census2021_ts038",
        "ltla24_boundaries",
        "icb22_boundaries",
        "nhs_hospitals",
        "census2021_ts029",
        "sape_mid2020_syoa",
        "lsoa21_msoa21",
        "ruc21_lsoa21",
    }
    hosts = {urllib.parse.urlsplit(s.url).netloc for s in sources.values()}
    assert hosts <= {
        "assets.publishing.service.gov.uk",
        "www.nomisweb.co.uk",
        "services1.arcgis.com",
        "media.nhswebsite.nhs.uk",
        "www.ons.gov.uk",
    }
    for s in sources.values():
        assert s.url.startswith("https://"), s.name
        assert s.sha256 == "" or len(s.sha256) == 64
    assert sources["lsoa21_centroids"].optional
    assert not any(s.optional for n, s in sources.items() if n != "lsoa21_centroids")


def test_bad_sources_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "sources.toml"
    bad.write_text(
        '[sources.x]\nurl = "https://example.org/x.csv"\nformat = "csv"\n'
        'parser = "no_such_parser"\n'
    )
    with pytest.raises(RefDataError, match="unknown parser 'no_such_parser'"):
        fetchmod.load_sources(bad)
    with pytest.raises(RefDataError, match="does not exist"):
        fetchmod.load_sources(tmp_path / "missing.toml")


def test_sources_lacking_a_required_release_fail_before_downloading(tmp_path):
    sources = _test_sources()
    del sources["census2021_ts030"]
    with pytest.raises(RefDataError, match="no \\(non-optional\\) source for religion"):
        fetchmod.fetch(
            dest=tmp_path / "shapes",
            cache=tmp_path / "cache",
            sources=sources,
            progress=False,
            base_url="http://127.0.0.1:9",
        )
    assert not (tmp_path / "cache").exists()


def test_rebase_swaps_scheme_and_host_only():
    url = "https://www.nomisweb.co.uk/output/census/2021/census2021-ts021.zip?x=1"
    assert fetchmod.rebase(url, "http://127.0.0.1:8123") == (
        "http://127.0.0.1:8123/output/census/2021/census2021-ts021.zip?x=1"
    )
    assert fetchmod.rebase(url, None) == url


# ---------------------------------------------------------------------------
# A pack built from the stand-in publisher
# ---------------------------------------------------------------------------
@pytest.fixture
def built(publisher, tmp_path, capsys):
    dest = _run(publisher, tmp_path)
    return dest, capsys.readouterr().err


def test_fetch_builds_a_pack_that_verifies(built):
    dest, err = built
    manifest = verify(dest)
    assert set(REQUIRED_FILES) <= set(manifest)
    assert "imd2025_subdomains_lsoa21.parquet" in manifest
    assert "lsoa21_centroids.parquet" in manifest  # the optional source was reachable
    for name, entry in manifest.items():
        assert entry["rows"] == pq.read_metadata(dest / name).num_rows
        assert entry["description"]
    provenance = json.loads((dest / "provenance.json").read_text())
    assert {p["source"] for p in provenance["sources"]} == set(_real_sources())
    # Nothing is pinned in sources.toml yet, so every observed sha256 is printed.
    imd = next(p for p in provenance["sources"] if p["source"] == IOD2025)
    assert "Not yet pinned in shapes/sources.toml" in err
    assert f'[sources.imd2025] size = {imd["size"]}  sha256 = "{imd["sha256"]}"' in err


def _geo(schema) -> dict | None:
    meta = schema.metadata or {}
    return json.loads(meta[b"geo"]) if b"geo" in meta else None


def test_fetched_files_have_the_real_packs_schema(built, refdata_dir):
    """Schema only: same files, column names and types, GeoParquet CRS and geometry types.

    Compared with the real pack (``refdata_dir``: fails, not skips, under CI without it).
    """
    dest, _ = built
    real = json.loads((refdata_dir / "manifest.json").read_text())
    for name in real:
        ours, theirs = pq.read_schema(dest / name), pq.read_schema(refdata_dir / name)
        assert ours.names == theirs.names, name
        assert [f.type for f in ours] == [f.type for f in theirs], name
        geo_ours, geo_theirs = _geo(ours), _geo(theirs)
        assert (geo_ours is None) == (geo_theirs is None), name
        if geo_ours:
            col_o = geo_ours["columns"]["geometry"]
            col_t = geo_theirs["columns"]["geometry"]
            assert col_o["crs"]["id"] == col_t["crs"]["id"] == {"authority": "EPSG", "code": 4326}
            assert col_o["geometry_types"] == col_t["geometry_types"], name
            assert col_o["encoding"] == col_t["encoding"] == "WKB"


def test_fetched_age_population_is_converted_to_lsoa21_with_totals_kept(built):
    """Mid-2020 estimates are on LSOA 2011: unchanged areas go whole, merged areas add up,
    a split area is shared by its parts' Census 2021 residents, and no one is lost."""
    dest, _ = built
    ages = pd.read_parquet(dest / "population20_age_lsoa21.parquet").set_index("lsoa21_code")
    book = pd.read_excel(
        FIXTURES / "sape23dt2mid2020lsoasyoaestimatesunformatted.xlsx",
        sheet_name="Mid-2020 Persons",
        skiprows=4,
    ).set_index("LSOA Code")
    assert ages["total"].sum() == pytest.approx(book["All Ages"].sum())
    assert ages.loc["E01099001", "age_0"] == book.loc["E01099001", 0]
    merged = book.loc[["E01088005", "E01088006"], "90+"].sum()
    assert ages.loc["E01099005", "age_90_plus"] == pytest.approx(merged)
    residents = (
        pd.read_parquet(dest / "census2021_ethnicity_lsoa21.parquet")
        .groupby("lsoa21_code")["total_residents"]
        .first()
    )
    share = residents["E01099003"] / (residents["E01099003"] + residents["E01099004"])
    assert ages.loc["E01099003", "total"] == pytest.approx(
        book.loc["E01088003", "All Ages"] * share
    )
    assert ages.filter(like="age_").sum(axis=1).to_numpy() == pytest.approx(
        ages["total"].to_numpy()
    )


def test_fetched_language_msoa_and_rurality_files(built):
    dest, _ = built
    language = pd.read_parquet(dest / "census2021_proficiency_msoa21.parquet")
    assert (
        language["total_residents_3plus"]
        == language["main_language_english"] + language["main_language_not_english"]
    ).all()
    msoa = pd.read_parquet(dest / "lsoa21_msoa21_lookup.parquet")
    assert msoa["lsoa21_code"].is_unique and len(msoa) == 7  # one row per LSOA, not per OA
    assert set(msoa["msoa21_code"]) == set(language["msoa21_code"])
    ruc = pd.read_parquet(dest / "ruc21_lsoa21.parquet").set_index("lsoa21_code")
    assert ruc.loc["E01099005", ["ruc21_code", "urban_rural"]].tolist() == ["RSF1", "Rural"]


def test_a_language_table_that_does_not_add_up_is_refused(tmp_path):
    source = _real_sources()["census2021_ts029"]
    raw = zipfile.ZipFile(FIXTURES / "census2021-ts029.zip").read(source.member).decode()
    lines = raw.splitlines()
    cells = lines[1].split(",")
    cells[-1] = str(int(cells[-1]) + 1)  # one more "cannot speak English" than the totals allow
    bad = tmp_path / "census2021-ts029.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr(source.member, "\r\n".join([lines[0], ",".join(cells), *lines[2:]]))
    with pytest.raises(RefDataError, match=r"census2021_ts029: .*1 row\(s\) do not add up"):
        fetchmod.parse(bad, dataclasses.replace(source, rows=None))


def test_fetched_pack_loads_through_pack(built):
    dest, _ = built
    pack = Pack(dest)
    lookup = pack.lookup().set_index("lsoa21_code")
    assert lookup.loc["E01099003", "icb24_code_nhs"] == "QZ9"
    assert lookup.loc["E01099003", "ward24_name"] == "Dale End"
    assert pd.isna(lookup.loc["W01099001", "icb24_code"])  # no ICB in Wales
    shapes = pack.boundaries(["E01099001", "E01099005"])
    assert shapes.crs.to_epsg() == 27700
    assert set(shapes.geom_type) == {"MultiPolygon"}
    # A 0.05° x 0.05° square near 53°N is about 3.35 km x 5.56 km.
    area_km2 = shapes.set_index("lsoa21_code").area["E01099001"] / 1e6
    assert 17 < area_km2 < 20
    population = pack.population()
    ethnicity = pack.ethnicity()
    assert population["E01099001"] == ethnicity.groupby("lsoa21_code")["n"].sum()["E01099001"]
    assert list(ethnicity["ethnic_group"].unique()) == [
        "Asian, Asian British or Asian Welsh",
        "Black, Black British, Black Welsh, Caribbean or African",
        "Mixed or Multiple ethnic groups",
        "White",
        "Other ethnic group",
    ]
    assert pack.religion()["religion"].nunique() == 9
    assert set(pack.disability()["disability"]) == {
        "Disabled under the Equality Act",
        "Not disabled under the Equality Act",
    }
    imd = pack.imd2025().set_index("lsoa21_code")
    assert imd.loc["E01099001", "IMD_decile"] == 1 and imd["IMD_rank"].dtype == "int64"
    assert imd["Housing_and_Services_score"].dtype == "float64"
    assert list(pack.imd2019()["lsoa11_code"]) == sorted(
        ["E01088003", "E01088005", "E01088006", "E01099001", "E01099002", "E01099006"]
    )
    # The split (S) and the merge (M) of 2011 areas survive into the lookup.
    pairs = pack.lsoa11_lookup()
    split = pairs[pairs["lsoa11_code"] == "E01088003"]
    assert set(split["lsoa21_code"]) == {"E01099003", "E01099004"}
    assert set(split["change_code"]) == {"S"}
    merged = pairs[pairs["lsoa21_code"] == "E01099005"]
    assert set(merged["lsoa11_code"]) == {"E01088005", "E01088006"}
    assert set(merged["change_code"]) == {"M"}
    # Hospitals: NHS-sector sites in England with coordinates; the Windows-1252 name decoded.
    assert sorted(pack.hospitals()["hospital22_name"]) == [
        "Dale Community Hospital",
        "Northmoor General Hospital",
        "St Hild\u2019s Eye Unit",
    ]
    assert list(pack.icbs()["icb22_code"]) == ["E54099001"]
    assert len(pack.ltlas()) == 3


def test_fetched_pack_runs_an_access_example(built):
    """Close one hospital in the fetched area and measure who travels further."""
    from eia.analysis.access import group_weights, measure, resolve_sites, summarise
    from eia.population.area import build_area, group_populations, select_lsoas

    dest, _ = built
    pack = Pack(dest)
    codes = select_lsoas(pack, {"icb": "QZ9"})
    assert codes == [f"E0109900{i}" for i in range(1, 7)]
    area = build_area(pack, {"icb": "E54099001"})
    assert area["population"].gt(0).all()
    assert area.loc[area["lsoa21_code"] == "E01099001", "core20"].item()
    names = ["Northmoor General Hospital", "Dale Community Hospital", "St Hild\u2019s Eye Unit"]
    current = resolve_sites(pack, [{"hospital": n} for n in names])
    proposed = resolve_sites(pack, [{"hospital": n} for n in names if n != names[1]])
    distances = measure(area, current, proposed)
    assert (distances["km_change"] >= -1e-9).all()
    assert distances["km_change"].max() > 1  # the LSOA beside the closed site loses out
    weights = group_weights(area, group_populations(pack, codes))["ethnic_group"]
    table = summarise(distances, weights, threshold_km=5).set_index("group")
    assert table.loc["All people", "population"] == area["population"].sum()
    assert table.loc["All people", "mean_km_after"] > table.loc["All people", "mean_km_before"]


def test_second_run_uses_the_cache(publisher, tmp_path):
    _run(publisher, tmp_path)
    first = len(publisher.requests)
    _run(publisher, tmp_path)
    assert len(publisher.requests) == first, "finished downloads should be reused"


def test_pinned_release_is_accepted(publisher, tmp_path):
    body = publisher.files[_path(IOD2025)]
    pins = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
    dest = _run(publisher, tmp_path, _test_sources(**{IOD2025: pins}))
    verify(dest)


def test_base_url_from_the_environment(publisher, tmp_path, monkeypatch):
    monkeypatch.setenv(fetchmod.BASE_URL_ENV, publisher.url)
    dest = fetchmod.fetch(
        dest=tmp_path / "shapes",
        cache=tmp_path / "cache",
        sources=_test_sources(),
        progress=False,
        retries=0,
    )
    verify(dest)
    assert all(r["agent"].startswith("eia-fetch/") for r in publisher.requests)


# ---------------------------------------------------------------------------
# Failures: a clear error and no half-built pack
# ---------------------------------------------------------------------------
def test_checksum_mismatch(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    sources = _test_sources(**{IOD2019: {"sha256": "0" * 64}})
    with pytest.raises(RefDataError) as caught:
        _run(publisher, tmp_path, sources)
    message = str(caught.value)
    assert "imd2019" in message and "sha256 mismatch" in message
    assert "0" * 64 in message and "sources.toml" in message
    assert "eia data install --from DIR" in message
    _assert_untouched(old_pack, before)
    cached = tmp_path / "cache" / IOD2019
    assert not any(p.suffix == ".csv" for p in cached.iterdir()), "a rejected file was kept"


def test_truncated_download(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    publisher.behaviour[_path(IOD2025)] = {"truncate": "always"}
    with pytest.raises(RefDataError) as caught:
        _run(publisher, tmp_path)
    message = str(caught.value)
    assert "imd2025" in message and "cut short" in message and "truncated" in message
    assert "File_7_IoD2025" in message
    assert len(publisher.hits(_path(IOD2025))) == 3  # retries=2: three attempts
    _assert_untouched(old_pack, before)


def test_truncated_download_detected_by_pinned_size(publisher, tmp_path, old_pack):
    """A server that sends no Content-Length: the pinned size catches the short file."""
    before = _snapshot(old_pack)
    path = _path(IOD2019)
    body = publisher.files[path]
    publisher.files[path] = body[: len(body) // 2]
    sources = _test_sources(**{IOD2019: {"size": len(body)}})
    with pytest.raises(RefDataError, match="cut short"):
        _run(publisher, tmp_path, sources)
    _assert_untouched(old_pack, before)


def _without_heading(body: bytes, heading: str) -> bytes:
    frame = pd.read_csv(io.BytesIO(body), dtype=str, encoding="utf-8-sig")
    return frame.drop(columns=[heading]).to_csv(index=False).encode()


def test_missing_column_in_a_csv(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    path = _path(IOD2019)
    publisher.files[path] = _without_heading(
        publisher.files[path], "Crime Rank (where 1 is most deprived)"
    )
    with pytest.raises(RefDataError) as caught:
        _run(publisher, tmp_path)
    message = str(caught.value)
    assert "imd2019" in message
    assert "File_7_-_All_IoD2019" in message
    assert "'Crime Rank (where 1 is most deprived)'" in message
    assert "changed the release's shape" in message
    _assert_untouched(old_pack, before)


def test_missing_column_in_a_census_zip(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    path = _path("census2021_ts030")
    with zipfile.ZipFile(io.BytesIO(publisher.files[path])) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    lsoa = "census2021-ts030-lsoa.csv"
    members[lsoa] = _without_heading(members[lsoa], "Religion: Sikh")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    publisher.files[path] = out.getvalue()
    with pytest.raises(RefDataError, match=r"census2021-ts030-lsoa\.csv lacks .*'Religion: Sikh'"):
        _run(publisher, tmp_path)
    _assert_untouched(old_pack, before)


def test_missing_field_in_an_ons_layer(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    layer = publisher.arcgis["LSOA11_LSOA21_LAD22_EW_LU_v5"]
    for feature in layer["features"]:
        feature["properties"].pop("CHGIND")
    with pytest.raises(RefDataError, match=r"lsoa11_lsoa21: .*lacks .*'CHGIND'"):
        _run(publisher, tmp_path)
    _assert_untouched(old_pack, before)


def test_server_error(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    path = _path("census2021_ts038")
    publisher.behaviour[path] = {"status": 500}
    with pytest.raises(RefDataError) as caught:
        _run(publisher, tmp_path)
    message = str(caught.value)
    assert "census2021_ts038" in message and "HTTP 500" in message
    assert "after 3 attempts" in message
    assert "census2021-ts038.zip" in message  # where to put a file fetched by hand
    assert "eia data install --from DIR" in message
    assert len(publisher.hits(path)) == 3
    _assert_untouched(old_pack, before)


def test_not_found_is_not_retried(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    path = _path("nhs_hospitals")
    publisher.behaviour[path] = {"status": 404}
    with pytest.raises(RefDataError, match=r"nhs_hospitals: HTTP 404"):
        _run(publisher, tmp_path)
    assert len(publisher.hits(path)) == 1
    _assert_untouched(old_pack, before)


def test_unexpected_row_count(publisher, tmp_path, old_pack):
    before = _snapshot(old_pack)
    sources = _test_sources(**{IOD2025: {"rows": 33755}})
    with pytest.raises(RefDataError, match=r"imd2025: .* has 6 rows .* rows = 33755"):
        _run(publisher, tmp_path, sources)
    _assert_untouched(old_pack, before)


# ---------------------------------------------------------------------------
# Retry, resume, proxy, optional sources
# ---------------------------------------------------------------------------
def test_retries_on_500_then_succeeds(publisher, tmp_path):
    path = _path(IOD2025)
    publisher.behaviour[path] = {"fail_first": 2}
    layer = "/ESMARspQHYMw9BZ9/arcgis/rest/services/LSOA21_WD24_LAD24_EW_LU/FeatureServer/0/query"
    publisher.behaviour[layer] = {"fail_first": 1}
    dest = _run(publisher, tmp_path)
    verify(dest)
    assert len(publisher.hits(path)) == 3


def test_resume_after_an_interrupted_download(publisher, tmp_path):
    path = _path(IOD2025)
    body = publisher.files[path]
    publisher.behaviour[path] = {"truncate": "once"}
    dest = _run(publisher, tmp_path)
    hits = publisher.hits(path)
    assert len(hits) == 2
    assert hits[0]["range"] is None
    assert hits[1]["range"] == f"bytes={len(body) // 2}-"  # resumed where it stopped
    cached = tmp_path / "cache" / IOD2025 / Path(path).name
    assert cached.read_bytes() == body
    verify(dest)


def test_resume_a_part_file_left_by_an_earlier_run(publisher, tmp_path):
    path = _path(IOD2019)
    body = publisher.files[path]
    folder = tmp_path / "cache" / IOD2019
    folder.mkdir(parents=True)
    (folder / (Path(path).name + ".part")).write_bytes(body[:1000])
    _run(publisher, tmp_path)
    assert publisher.hits(path)[0]["range"] == "bytes=1000-"
    assert (folder / Path(path).name).read_bytes() == body


def test_server_that_ignores_range_restarts_cleanly(publisher, tmp_path):
    path = _path(IOD2019)
    body = publisher.files[path]
    publisher.behaviour[path] = {"truncate": "once", "ignore_range": True}
    _run(publisher, tmp_path)
    assert (tmp_path / "cache" / IOD2019 / Path(path).name).read_bytes() == body


def test_proxy_settings_from_the_environment_are_honoured(publisher, tmp_path, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", publisher.url)
    monkeypatch.setenv("http_proxy", publisher.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    source = _test_sources()[IOD2025]
    downloader = fetchmod.Downloader(
        tmp_path / "cache", base_url="http://publisher.invalid", retries=0
    )
    path, record = downloader.fetch(source)
    assert path.read_bytes() == publisher.files[_path(IOD2025)]
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert publisher.requests[-1]["proxied"], "the request did not go through HTTP_PROXY"


def test_optional_source_failure_leaves_it_out(publisher, tmp_path, capsys):
    layer = "/ESMARspQHYMw9BZ9/arcgis/rest/services/LSOA_PopCentroids_EW_2021_V4/FeatureServer/0"
    publisher.behaviour[layer + "/query"] = {"status": 503}
    dest = _run(publisher, tmp_path)
    manifest = verify(dest)
    assert "lsoa21_centroids.parquet" not in manifest
    assert "lsoa21_centroids is optional and was left out" in capsys.readouterr().err


def test_refetch_replaces_the_pack_and_keeps_other_files(publisher, tmp_path, old_pack):
    dest = _run(publisher, tmp_path, dest=old_pack)
    assert (dest / "README.md").read_text() == "# shapes\n"
    assert (dest / "sources.toml").read_text() == "# kept\n"
    first = verify(dest)
    # Without the optional source the old centroids file goes with its manifest entry.
    dest = _run(publisher, tmp_path, dest=old_pack, optional=False)
    second = verify(dest)
    assert set(first) - set(second) == {"lsoa21_centroids.parquet"}
    assert not (dest / "lsoa21_centroids.parquet").exists()
    assert list(tmp_path.glob(".shapes.fetch-*")) == []


def test_progress_is_reported_to_a_callback(publisher, tmp_path):
    calls = []
    _run(publisher, tmp_path, progress=lambda name, done, total: calls.append((name, done, total)))
    size = len(publisher.files[_path(IOD2025)])
    assert (IOD2025, size, size) in calls
    assert any(name == "lsoa21_boundaries (features)" for name, _, _ in calls)


def test_file_put_in_the_cache_by_hand_is_used(publisher, tmp_path):
    """Files fetched another way (e.g. on a machine with internet) go into the cache."""
    source = _test_sources()[IOD2019]
    folder = tmp_path / "cache" / IOD2019
    folder.mkdir(parents=True)
    (folder / source.filename).write_bytes(publisher.files[_path(IOD2019)])
    _run(publisher, tmp_path)
    assert publisher.hits(_path(IOD2019)) == []


def test_fetched_detailed_ethnic_groups_add_up_and_map_to_nhs_codes(built):
    from eia.analysis.ethnic_codes import DETAILED_FILE, MAPPING

    dest, _ = built
    fine = pd.read_parquet(dest / DETAILED_FILE)
    broad = pd.read_parquet(dest / "census2021_ethnicity_lsoa21.parquet")
    added = fine.groupby(["lsoa21_code", "ethnic_group"])["n"].sum()
    assert added.equals(broad.set_index(["lsoa21_code", "ethnic_group"])["n"].reindex(added.index))
    categories = set(fine["ethnic_group_detailed"])
    assert len(categories) == 19
    mapped = {c for cats, _ in MAPPING.values() for c in cats}
    assert categories == mapped  # every Census 2021 category has an NHS code, and back


def test_detailed_categories_that_do_not_add_up_are_refused(tmp_path):
    source = next(s for s in fetchmod.load_sources().values() if s.parser == "nomis_ts021")
    with zipfile.ZipFile(FIXTURES / "census2021-ts021.zip") as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    name = next(n for n in members if n.endswith("-lsoa.csv"))
    lines = members[name].decode().splitlines()
    cells = lines[1].split(",")
    cells[5] = str(int(cells[5]) + 1)  # Bangladeshi: one more than the Asian group allows
    members[name] = ("\r\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\r\n").encode()
    bad = tmp_path / "census2021-ts021.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        for n, data in members.items():
            archive.writestr(n, data)
    with pytest.raises(RefDataError, match="do not add up"):
        fetchmod.PARSERS["nomis_ts021"](bad, source)
