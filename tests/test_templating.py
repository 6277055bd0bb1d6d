"""Jinja's bytecode cache for eia's templates: used when it can be, never in the way."""

from __future__ import annotations

from jinja2 import DictLoader, Environment, FileSystemBytecodeCache

from eia.report import html, templating

SOURCE = {"t.j2": "{% macro hi(name) %}Hello {{ name | upper }}{% endmacro %}{{ hi(who) }}"}


def _render(cache) -> str:
    return (
        Environment(loader=DictLoader(SOURCE), bytecode_cache=cache)
        .get_template("t.j2")
        .render(who="board")
    )


def _cache_in(monkeypatch, folder):
    monkeypatch.setattr(
        templating, "FileSystemBytecodeCache", lambda: FileSystemBytecodeCache(str(folder))
    )
    return templating._OptionalFileCache()


def test_a_template_is_compiled_once_and_then_read_from_the_cache(tmp_path, monkeypatch):
    cache = _cache_in(monkeypatch, tmp_path)
    assert _render(cache) == "Hello BOARD"
    assert len(list(tmp_path.glob("__jinja2_*.cache"))) == 1
    compiled = []
    monkeypatch.setattr(Environment, "compile", lambda *a, **k: compiled.append(a))
    assert _render(_cache_in(monkeypatch, tmp_path)) == "Hello BOARD"  # a new process's view
    assert compiled == []


def test_no_usable_cache_folder_only_means_compiling(monkeypatch):
    def refuse():
        raise RuntimeError("Cannot determine safe temp directory.")

    monkeypatch.setattr(templating, "FileSystemBytecodeCache", refuse)
    assert _render(templating._OptionalFileCache()) == "Hello BOARD"


def test_a_cache_that_cannot_be_written_only_means_compiling(tmp_path, monkeypatch):
    gone = tmp_path / "gone"  # never made: every write fails
    assert _render(_cache_in(monkeypatch, gone)) == "Hello BOARD"


def test_every_prose_environment_shares_the_cache():
    from eia.report import decision, ratings, wording

    envs = [decision._ENV, decision._TEXT_ENV, ratings._environment(), wording._ENV]
    assert all(e.bytecode_cache is templating.bytecode_cache() for e in envs)
    assert html.exporter().environment.bytecode_cache is templating.bytecode_cache()
