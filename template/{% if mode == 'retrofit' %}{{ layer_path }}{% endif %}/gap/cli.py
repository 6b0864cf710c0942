"""The command line: write, check, routes and init-routes."""

import argparse
import os
import re
import sys
from collections import Counter
from pathlib import Path

from .decisions import render_route_decisions
from .files import Config, load_config, read_text
from .model import MASK, REPORT_FILE, ROUTES_FILE, Finding
from .report import read_recorded, render_report
from .scan import routes, scan

STRING = re.compile(r"(?P<q>[\"'])(?:\\.|(?!(?P=q)).)*(?P=q)")


def _annotation(finding: Finding) -> str:
    """A GitHub Actions error annotation, escaped as the workflow commands require."""
    text = f"{finding.kind}: {finding.message}"
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    file = finding.file.replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
    return f"::error file={file},line={finding.line}::{text}"


def _record_key(record: object) -> tuple[str, str, str] | None:
    """(kind, file, code) of a recorded finding; None for a line that is not one."""
    if not isinstance(record, dict):
        return None
    kind, file, code = record.get("kind"), record.get("file"), record.get("code")
    if isinstance(kind, str) and isinstance(file, str) and isinstance(code, str):
        return kind, file, _comparable(kind, code)
    return None


def _comparable(kind: str, code: str) -> str:
    """The code to compare a finding by: a credential's line with its strings masked, so a
    report written before masking (or after the secret was rotated in place) still matches."""
    return STRING.sub(f'"{MASK}"', code) if kind == "hard-coded-secret" else code


def check(root: Path, config: Config, report: Path, layer: Path) -> int:
    """Exit status 1 if the scan finds something the committed report does not record."""
    refresh = f"python {config['layer']}/audit.py write"
    recorded = read_recorded(read_text(report)) if report.is_file() else None
    if recorded is None:
        problem = "not found" if not report.is_file() else "has no readable findings block"
        print(f"{report.name} {problem}: run `{refresh}` and commit it.", file=sys.stderr)
        return 2
    allowed = Counter(key for record in recorded if (key := _record_key(record)) is not None)
    current: Counter[tuple[str, str, str]] = Counter()
    new: list[Finding] = []
    for finding in scan(root, layer):
        key = (finding.kind, finding.file, _comparable(finding.kind, finding.code))
        current[key] += 1
        new += [finding] if current[key] > allowed[key] else []
    for f in new:
        print(f"{f.file}:{f.line}: {f.kind}: {f.message}")
        if os.environ.get("GITHUB_ACTIONS") == "true":
            print(_annotation(f))
    for kind, file, code in sorted((allowed - current).elements()):
        print(f"fixed: {file}: {kind}: {code}: refresh the report with `{refresh}`")
    if new:
        print(
            f"{len(new)} finding(s) not in {report.name}: fix them, or record them with"
            f" `{refresh}` and commit the report."
        )
        return 1
    print(f"{report.name}: no new findings.")
    return 0


def init_routes(root: Path, output: Path, layer: Path) -> int:
    if output.exists():
        print(f"{output.name} exists: left as it is (init-routes never overwrites).")
        return 0
    found = routes(root, layer)
    output.write_text(render_route_decisions(found), encoding="utf-8", newline="\n")
    routes_text = "1 route" if len(found) == 1 else f"{len(found)} routes"
    print(f"wrote {output.name}: {routes_text}; review every access decision.")
    return 0


def main(argv: list[str] | None, layer: Path, description: str) -> int:
    try:
        return _main(argv, layer, description)
    except Exception as exc:  # noqa: BLE001 -- a heuristic tool ends in a message, not a traceback
        where = f"{type(exc).__name__} at {_origin(exc)}"
        print(
            f"audit: could not read this project ({where}: {exc}). This is a bug in the gap"
            " audit, not in your code: please report it to prodbridge.",
            file=sys.stderr,
        )
        return 3


def _origin(exc: BaseException) -> str:
    """gap/<module>.py:<line> where the exception was raised."""
    trace = exc.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is None:
        return "?"
    return f"{Path(trace.tb_frame.f_code.co_filename).name}:{trace.tb_lineno}"


def _main(argv: list[str] | None, layer: Path, description: str) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    commands = parser.add_subparsers(dest="command", required=True)
    write_command = commands.add_parser("write", help=f"write {REPORT_FILE}")
    write_command.add_argument("--output", default=REPORT_FILE, help="relative to --root")
    check_command = commands.add_parser("check", help="fail on findings the report lacks")
    check_command.add_argument("--report", default=REPORT_FILE, help="relative to --root")
    commands.add_parser("routes", help="print the discovered routes")
    init_command = commands.add_parser("init-routes", help=f"write {ROUTES_FILE} if absent")
    init_command.add_argument("--output", default=ROUTES_FILE, help="relative to --root")
    args = parser.parse_args(argv)
    root = args.root
    try:
        config = load_config(root, layer)
    except ValueError as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    if args.command == "write":
        text = render_report(root, config, layer)
        (root / args.output).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {args.output}: {len(read_recorded(text) or [])} findings.")
        return 0
    if args.command == "check":
        return check(root, config, root / args.report, layer)
    if args.command == "init-routes":
        return init_routes(root, root / args.output, layer)
    for route in routes(root, layer):
        state = "authenticated" if route.authenticated else "no auth"
        print(f"{','.join(route.methods)} {route.path}  {route.file}:{route.line}  {state}")
    return 0
