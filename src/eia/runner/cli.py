"""The ``eia`` command: validate, run and batch proposals; install reference data.

Errors a user can cause are printed as a message (no traceback) and exit with
code 2; a failed run exits with code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eia._version import __version__
from eia.errors import EIAError, ParamsError


def _validate(args: argparse.Namespace) -> int:
    from eia import params
    from eia.analysis import guards
    from eia.refdata import load_pack
    from eia.refdata.lookup import describe_area
    from eia.report.wording import warning_text

    failed = 0
    pack = None
    for file in args.files:
        try:
            pack = pack or load_pack()
            proposal = params.load(file, pack)
            warnings = guards.check_proposal(proposal, pack)
            if warnings and args.strict:
                raise guards.as_error(str(file), warnings, warning_text)
        except ParamsError as exc:
            failed += 1
            print(str(exc), file=sys.stderr)
            continue
        for warning in warnings:
            print(f"{file}: warning: {warning_text(warning)}", file=sys.stderr)
        for choice in params.site_choices(proposal, pack):
            print(f"{file}: note: {choice}", file=sys.stderr)
        note = f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""
        where = describe_area(pack, proposal.area.spec) if proposal.area else "no area"
        print(f"{file}: valid ({proposal.template_label}, id {proposal.id}, area {where}{note})")
    return 2 if failed else 0


def _run(args: argparse.Namespace) -> int:
    from eia.runner.run import default_out, run

    print(f"Running {args.file} …", file=sys.stderr)
    try:
        progress = sys.stderr.isatty() if args.progress is None else args.progress
        result = run(args.file, args.out, quiet=not progress, strict=args.strict, pdf=args.pdf)
    finally:
        _write_index(args.out or default_out())
    for warning in result.warnings:
        print(f"{args.file}: warning: {warning}", file=sys.stderr)
    print(f"Report: {result.report}")
    if result.pdf is not None:
        print(f"PDF: {result.pdf}")
    for name in result.removed:
        hint = " (add --pdf, or publish: {pdf: true}, to make it)" if name == "report.pdf" else ""
        print(f"Removed {name} of the earlier run: this run did not make it again{hint}")
    print(f"Notebook: {result.notebook}")
    print(f"Metrics: {result.metrics}")
    print(f"Index: {Path(args.out or default_out()) / 'index.html'}")
    return 0


def _template_list(args: argparse.Namespace) -> int:
    from eia.runner import template

    for t in template.available(args.dir):
        print(f"{t.name:<22} {t.description}")
    return 0


def _template_new(args: argparse.Namespace) -> int:
    from eia.runner import template

    path = template.new(args.name, args.source, args.dir, params_file=args.params)
    print(f"Wrote {path} (a copy of {args.source}).")
    print(f"Use it with `template: ./{path.name}` in a params file in {path.parent.resolve()}.")
    return 0


def _lookup(args: argparse.Namespace) -> int:
    from eia.refdata import load_pack, lookup

    pack = load_pack()
    areas = {}
    for flag in ("near", "inside"):
        given = getattr(args, flag)
        if given:
            found = lookup.area_code(pack, given)
            if found is None:
                print(
                    f"eia lookup: --{flag.replace('inside', 'in')}: no ICB, local authority "
                    "or LSOA has that code or name",
                    file=sys.stderr,
                )
                return 2
            if found.code.upper() != given.strip().upper() and found.also != given.strip().upper():
                print(
                    f"(--{flag.replace('inside', 'in')} taken as {found.code} {found.name})",
                    file=sys.stderr,
                )
            areas[flag] = found.code
    if not args.text.strip() and "inside" not in areas:
        print("eia lookup: give TEXT, or --in AREA to list what is in an area", file=sys.stderr)
        return 2
    matches = lookup.search(
        pack,
        args.kind,
        args.text,
        near=areas.get("near") or areas.get("inside"),  # each row says "inside the area"
        inside=areas.get("inside"),
    )
    if not matches:
        print(f"No {args.kind} matches that; try fewer words.", file=sys.stderr)
        return 1
    text = args.text.strip().upper()
    if lookup.CODE.fullmatch(text) and not any(text in (m.code, m.also) for m in matches):
        print(f"No {args.kind} has the code {text}; the closest codes:", file=sys.stderr)
    limit = args.limit if args.limit is not None else (None if "inside" in areas else 10)
    shown = matches if limit is None else matches[:limit]
    print(_lookup_count(args.kind, len(matches), len(shown), areas.get("inside")))
    for m in shown:
        print(m)
    return 0


#: Plural nouns of the look-up kinds.
_KIND_NOUNS = {
    "icb": ("ICB", "ICBs"),
    "ltla": ("local authority", "local authorities"),
    "hospital": ("hospital", "hospitals"),
    "lsoa": ("LSOA", "LSOAs"),
}


def _lookup_count(kind: str, matched: int, shown: int, inside: str | None) -> str:
    """``17 hospitals in E54000029, all shown`` or ``42 ICBs match; first 10 shown (--limit)``."""
    noun = _KIND_NOUNS[kind][matched != 1]
    verb = "matches" if matched == 1 else "match"
    head = f"{matched} {noun} in {inside}" if inside else f"{matched} {noun} {verb}"
    if shown == matched:
        return f"{head}, {'all shown' if matched > 1 else 'shown'}"
    return f"{head}; the first {shown} shown (--limit N shows more)"


def _write_index(out: Path) -> None:
    """Regenerate OUT/index.html after a run, good or failed (a failure is shown there too)."""
    from eia.report import index

    if not Path(out).is_dir():
        return
    try:
        index.write(out)
    except Exception as exc:  # noqa: BLE001 - never hide the run's own outcome
        print(f"eia: index.html not updated: {exc}", file=sys.stderr)


def _batch(args: argparse.Namespace) -> int:
    from eia.runner.batch import print_summary, run_batch

    result = run_batch(
        args.paths,
        args.out,
        jobs=args.jobs,
        progress=not args.no_progress,
        strict=args.strict,
        pdf=args.pdf,
    )
    print_summary(result)
    return result.exit_code


def _data_install(args: argparse.Namespace) -> int:
    from eia.refdata import install

    dest = install(args.source, args.dest)
    print(f"Reference data verified and installed in {dest}")
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from eia.refdata import check_contents, locate, verify

    folder = locate()
    manifest = verify(folder)
    check_contents(folder, manifest)
    print(
        f"Reference data in {folder}: {len(manifest)} files, all checksums match, "
        "every file meets its data contract"
    )
    return 0


def _data_fetch(args: argparse.Namespace) -> int:
    from eia.refdata.fetch import fetch

    path = fetch(
        dest=args.dest,
        cache=args.cache,
        sources=args.sources,
        base_url=args.base_url,
        optional=not args.no_optional,
        progress=not args.quiet,
    )
    print(f"Reference pack ready in {path}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from eia import params
    from eia.population.area import select_lsoas
    from eia.refdata import load_pack
    from eia.service import synth

    pack = load_pack()
    proposal = params.parse(params.read_yaml(args.file), str(args.file))
    spec = proposal.service
    out = args.out or (spec.path if spec is not None and spec.path is not None else None)
    if out is not None:  # checked as named: a symbolic link is never followed
        out = synth.check_target(
            out,
            Path(args.file).absolute().parent,
            synthetic=bool(spec and spec.synthetic),
            named=args.out is not None,
        )
    if out is None:
        print(
            "eia: the params file has no service block: name the output with --out PATH",
            file=sys.stderr,
        )
        return 2
    events = args.events or (spec.generate.events if spec and spec.generate else 20_000)
    seed = (
        args.seed
        if args.seed is not None
        else (spec.generate.seed if spec and spec.generate else 2021)
    )
    frame = synth.generate(pack, select_lsoas(pack, proposal.area.spec), n_events=events, seed=seed)
    path = synth.write(frame, out)
    print(f"Synthetic extract ({len(frame):,} events, seed {seed}) written to {path}")
    print("It is synthetic: label it `synthetic: true` in the params file's service block.")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


#: Options shared by ``validate``, ``run`` and ``batch``.
_STRICT = {
    "action": "store_true",
    "help": "treat warnings about the inputs (far-away sites, options that change nothing, "
    "identical options, options that affect nobody) as errors: exit code 2",
}
_TRUST = {
    "action": "append",
    "type": Path,
    "default": None,
    "metavar": "PATH",
    "help": "a custom template (or a folder of them) you trust to run: a template is code "
    "that runs with your permissions (repeatable; see README 'What eia guarantees')",
}
_OUT = {
    "type": Path,
    "default": None,
    "help": "output folder (default: outputs/ in the current folder)",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``eia`` and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="eia",
        description="Equity impact assessments of proposed health service changes.",
    )
    parser.add_argument("--version", action="version", version=f"eia {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check params files; list every problem")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--strict", **_STRICT)
    p.add_argument("--trust-template", **_TRUST)
    p.set_defaults(func=_validate)

    p = sub.add_parser(
        "run", help="run one proposal: OUT/<id>/report.html, assessment.ipynb, metrics.json"
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--out", **_OUT)
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar per notebook cell (default: on when the terminal is interactive)",
    )
    p.add_argument("--strict", **_STRICT)
    p.add_argument("--trust-template", **_TRUST)
    p.add_argument(
        "--pdf",
        action="store_true",
        default=None,
        help="also write report.pdf (A4, tagged, bookmarked) for the board pack; "
        "needs Chromium and eia[pdf] (params: publish.pdf)",
    )
    p.set_defaults(func=_run)

    p = sub.add_parser(
        "batch",
        help="run many proposals in parallel; a summary table and OUT/index.html",
        description="Run every params file found (files, folders, glob patterns) in parallel "
        "processes, then print a summary table. Exit code 0 only if every proposal succeeded.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="params files, folders or globs")
    p.add_argument("--out", **_OUT)
    p.add_argument(
        "--jobs",
        "-j",
        type=_positive_int,
        default=None,
        metavar="N",
        help="proposals run at once (default: the number of cores)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--strict", **_STRICT)
    p.add_argument(
        "--pdf",
        action="store_true",
        default=None,
        help="also write each report.pdf (without it, each params file's publish.pdf decides)",
    )
    p.add_argument("--trust-template", **_TRUST)
    p.set_defaults(func=_batch)

    p = sub.add_parser(
        "synth",
        help="generate a synthetic service extract for a proposal's area (examples, tests)",
        description="Generate a reproducible synthetic event-level extract for the area of a "
        "params file, from Census 2021 populations with declared differences by deprivation and "
        "ethnic group. Written to the params file's service.path unless --out is given.",
    )
    p.add_argument("file", type=Path, metavar="PARAMS")
    p.add_argument("--events", type=_positive_int, default=None, help="number of events")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument("--out", type=Path, default=None, help="output file (.csv, .parquet or .xlsx)")
    p.set_defaults(func=_synth)

    tmpl = sub.add_parser("template", help="notebook templates: list, new (a copy to customise)")
    tsub = tmpl.add_subparsers(dest="template_command", required=True, metavar="ACTION")
    p = tsub.add_parser("list", help="built-in templates and custom ones in this folder")
    p.add_argument("--dir", type=Path, default=Path("."), help="folder of custom templates")
    p.set_defaults(func=_template_list)
    p = tsub.add_parser(
        "new",
        help="copy a built-in template to NAME.ipynb to customise",
        description="Copy a built-in template into this folder (parameters cell intact); use it "
        "with `template: ./NAME.ipynb` in a params file.",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "--from",
        dest="source",
        default="site_change",
        help="built-in template (site_change …) or your own notebook (./mine.ipynb) to copy",
    )
    p.add_argument("--dir", type=Path, default=Path("."), help="where to write it")
    p.add_argument("--params", default=None, help="params file it runs by hand in JupyterLab")
    p.set_defaults(func=_template_new)

    p = sub.add_parser(
        "lookup",
        help="find codes and names: ICBs, local authorities, hospitals, LSOAs",
        description="Names and codes both ways, any case, close spellings too. With --near, "
        "hospitals that match equally well are ranked by distance from that area; with --in, "
        "only what lies in an area is searched (`eia lookup ltla --in E54000015` lists the "
        "local authorities of an ICB).",
    )
    p.add_argument("kind", choices=["icb", "ltla", "hospital", "lsoa"])
    p.add_argument("text", metavar="TEXT", nargs="?", default="", help="a code or words of a name")
    p.add_argument(
        "--near", metavar="AREA", default=None, help="an ICB, LTLA or LSOA (code or name)"
    )
    p.add_argument(
        "--in",
        dest="inside",
        metavar="AREA",
        default=None,
        help="only what lies in this ICB, LTLA (code or name); alone, lists them all",
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="most results (default: all within --in AREA, else 10); the count is always printed",
    )
    p.set_defaults(func=_lookup)

    data = sub.add_parser("data", help="reference data: install, check")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = dsub.add_parser("install", help="verify a reference pack and install it into shapes/")
    p.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="DIR",
        help="folder holding manifest.json and the pack's Parquet files",
    )
    p.add_argument("--dest", type=Path, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_data_install)
    p = dsub.add_parser(
        "fetch",
        help="download the publishers' releases and build the pack in shapes/",
        description="Download the official releases listed in shapes/sources.toml, verify them "
        "and build the reference pack. Honours HTTP(S)_PROXY. If a download is blocked, fetch "
        "the file another way and use `eia data install --from DIR`, or drop it in the cache.",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="download cache (default: $EIA_FETCH_CACHE or ~/.cache/eia/downloads)",
    )
    p.add_argument(
        "--dest", type=Path, default=None, help="where to build the pack (default: shapes/)"
    )
    p.add_argument(
        "--sources",
        type=Path,
        default=None,
        metavar="FILE",
        help="sources file (default: shapes/sources.toml)",
    )
    p.add_argument(
        "--base-url", default=None, help="replace every source's scheme and host (mirrors, tests)"
    )
    p.add_argument("--no-optional", action="store_true", help="skip optional sources (centroids)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_data_fetch)
    p = dsub.add_parser("check", help="verify the reference data eia would use")
    p.set_defaults(func=_data_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, run the command, turn user errors into messages."""
    from eia.runner import without_iri_grammars

    without_iri_grammars()  # nbformat's jsonschema, seconds of grammars for nothing
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse cannot take an optional positional after an option: lookup's TEXT
        if args.command == "lookup" and not args.text and not extra[0].startswith("-"):
            args.text, rest = extra[0], extra[1:]
            if rest:
                args = parser.parse_args([*(argv or sys.argv[1:])])  # the usual message
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "trust_template", None):
        from eia.runner import template

        template.trust(args.trust_template)  # for this process and the workers it starts
    try:
        return args.func(args)
    except EIAError as exc:
        from eia.redact import printable, scrub

        text = "\n".join(printable(scrub(line)) for line in str(exc).splitlines())
        print(f"eia: {text}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("eia: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
