"""`copier update` across a release that moved code to another file: the team's edits follow it.

copier's update is a three-way merge per path. When a release moves code from one file to
another (a rename, or a module split in two), the team's edits to that code are a diff against a
file whose lines are gone: copier answers with a conflict in the old file, and deletes the old
file outright when the template no longer has it, edits and all. copier.yml's `_migrations` run
this script for each release that moved code, with the moves it made:

- `before` (in the project, before copier computes the team's diff): renders the template at
  the version the project was made from and at the version it goes to, with the project's
  answers, into a scratch folder. Each of the team's hunks in a moved file (`from`) whose lines
  the new version has in one of the move's targets (and no longer in `from`) is taken out of
  `from` (which is staged as the template had it there) and kept in the repository's git folder.
  A hunk whose lines the new version keeps in `from` is left to copier's merge.
- `after` (once copier has merged): each kept hunk is applied where its lines now are, and the
  scratch folder is removed. A hunk that no longer fits (the team changed the target too) goes to
  `<target>.rej`, and a file the template deleted with edits nowhere else to go is kept as
  `<from>.rej`: a conflict to resolve, never an edit lost. The generated CI fails while either is
  left (its "No unresolved update conflicts" step).

copier runs `_migrations` only when both versions are release tags (PEP 440), with `--trust`.
Run by copier with the Python that runs copier (`_copier_python`), which has copier installed.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

ANSWERS_FILE = ".copier-answers.yml"
WORK_DIR = "prodbridge-update"  # inside the project's git folder: never part of the merge


@dataclass
class Hunk:
    source: str  # the file the team edited, as the older version had it
    target: str  # where the new version has those lines
    before: list[str]  # the lines as the template had them (context included)
    after: list[str]  # the same lines as the team left them


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def work_dir(root: Path) -> Path:
    return Path(git(root, "rev-parse", "--absolute-git-dir")) / WORK_DIR


def render(src: str, ref: str, answers: dict[str, object], into: Path) -> Path:
    """The template at `ref` with the project's answers, tasks skipped (a cached render is
    reused: each release's migration asks for the same two)."""
    if into.is_dir():
        return into
    from copier import run_copy  # the Python that runs copier has it

    scratch = into.with_name(into.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    run_copy(
        src,
        scratch,
        data=answers,
        vcs_ref=ref,
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=True,
        skip_tasks=True,
    )
    scratch.rename(into)
    return into


CONTEXT = 3  # lines around a change, as in a unified diff; fewer where the move changed them


def changes(old: list[str], new: list[str]) -> list[tuple[int, int, int, int]]:
    """Each change from `old` to `new`: old[i1:i2] became new[j1:j2]."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def with_context(
    old: list[str], new: list[str], change: tuple[int, int, int, int], lead: int, trail: int
) -> tuple[list[str], list[str]]:
    """A change as (lines before, lines after), with `lead` and `trail` unchanged lines around."""
    i1, i2, j1, j2 = change
    before, after = old[max(0, i1 - lead) : i1], old[i2 : i2 + trail]
    return before + old[i1:i2] + after, before + new[j1:j2] + after


def contexts(change: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """Each (lead, trail) of context to look for a change with. An insertion has no lines of
    its own to find, so it needs some context."""
    every = [(lead, trail) for lead in range(CONTEXT + 1) for trail in range(CONTEXT + 1)]
    return every[1:] if change[0] == change[1] else every


def weight(lines: list[str]) -> int:
    """How much a block says about where it is: its lines that are not blank."""
    return sum(1 for line in lines if line.strip())


def find(block: list[str], lines: list[str]) -> int | None:
    """Where `block` starts in `lines` when it is there exactly once; else None."""
    if not block:
        return None
    starts = [
        i
        for i in range(len(lines) - len(block) + 1)
        if lines[i] == block[0] and lines[i : i + len(block)] == block
    ]
    return starts[0] if len(starts) == 1 else None


def occurs(block: list[str], lines: list[str]) -> bool:
    return any(lines[i : i + len(block)] == block for i in range(len(lines) - len(block) + 1))


def read_lines(path: Path) -> list[str] | None:
    return path.read_text(encoding="utf-8").splitlines(keepends=True) if path.is_file() else None


def targets_of(patterns: list[str], rendered: Path) -> list[str]:
    """The move's targets that the new version has (a pattern such as `gap/*.py` allowed)."""
    files = [p.relative_to(rendered).as_posix() for p in rendered.rglob("*") if p.is_file()]
    return [f for pattern in patterns for f in sorted(files) if fnmatch.fnmatchcase(f, pattern)]


def place(
    old: list[str],
    new: list[str],
    change: tuple[int, int, int, int],
    source: str,
    stays: list[str],
    targets: list[tuple[str, list[str]]],
) -> Hunk | None:
    """Where the new version has the lines a change of the team's touched. Each candidate (the
    file it was in, and each of the move's targets) scores the most context around the change
    that it holds (exactly once, for a target), counted in lines that are not blank. None when
    the file it was in scores highest, ties included: copier's merge applies the change there
    (or shows the conflict). Else the best target, with that context; `source` itself when no
    candidate holds anything (the change has nowhere to go)."""
    best: tuple[int, str, list[str], list[str]] | None = None
    stays_score = 0
    for lead, trail in contexts(change):
        lines_before, lines_after = with_context(old, new, change, lead, trail)
        score = weight(lines_before)
        if score == 0:
            continue
        if score > stays_score and occurs(lines_before, stays):
            stays_score = score
        for target, lines in targets:
            if (best is None or score > best[0]) and find(lines_before, lines) is not None:
                best = (score, target, lines_before, lines_after)
    if best is None:
        gone = with_context(old, new, change, CONTEXT, CONTEXT)
        return None if stays_score else Hunk(source, source, *gone)
    if stays_score >= best[0]:
        return None
    return Hunk(source, best[1], best[2], best[3])


def before(root: Path, moves: dict[str, list[str]], ref_from: str, ref_to: str, src: str) -> int:
    moves = {source: to for source, to in moves.items() if (root / source).is_file()}
    if not moves:
        return 0
    recorded = yaml.safe_load((root / ANSWERS_FILE).read_text(encoding="utf-8"))
    answers = {k: v for k, v in recorded.items() if not k.startswith("_")}
    work = work_dir(root)
    old = render(recorded["_src_path"], ref_from, answers, work / f"render-{ref_from}")
    new = render(src, ref_to, answers, work / f"render-{ref_to}")

    kept: list[Hunk] = []
    for source, patterns in moves.items():
        template_had = read_lines(old / source)
        team_has = read_lines(root / source)
        if template_had is None or team_has is None or template_had == team_has:
            continue
        stays = read_lines(new / source) or []
        targets = [(t, read_lines(new / t) or []) for t in targets_of(patterns, new)]
        moved: list[Hunk] = []
        reverted = list(team_has)  # `source` minus the moved changes: what copier merges there
        # From the last change up, so the earlier ones' line numbers still hold.
        for change in reversed(changes(template_had, team_has)):
            hunk = place(template_had, team_has, change, source, stays, targets)
            if hunk is None:
                continue
            if hunk.target == source and (new / source).is_file():
                continue  # found nowhere: copier's merge shows the conflict in `source`
            i1, i2, j1, j2 = change
            reverted[j1:j2] = template_had[i1:i2]
            moved.append(hunk)
        if not moved:
            continue
        (root / source).write_text("".join(reverted), encoding="utf-8")
        git(root, "add", "--", source)
        for hunk in reversed(moved):
            kept.append(hunk)
            if hunk.target != source:
                print(f"  moved with the code: your edit to {source} goes to {hunk.target}")
    if kept:
        work.mkdir(parents=True, exist_ok=True)
        with (work / "hunks.json").open("a", encoding="utf-8") as file:
            for hunk in kept:
                file.write(json.dumps(asdict(hunk)) + "\n")
    return 0


def after(root: Path) -> int:
    work = work_dir(root)
    saved = work / "hunks.json"
    if saved.is_file():
        for line in saved.read_text(encoding="utf-8").splitlines():
            hunk = Hunk(**json.loads(line))
            path = root / hunk.target
            lines = read_lines(path)
            at = find(hunk.before, lines) if lines is not None else None
            if lines is not None and at is not None and hunk.target != hunk.source:
                lines[at : at + len(hunk.before)] = hunk.after
                path.write_text("".join(lines), encoding="utf-8")
                continue
            diff = difflib.unified_diff(
                hunk.before, hunk.after, f"a/{hunk.source}", f"b/{hunk.target}"
            )
            with path.with_name(path.name + ".rej").open("a", encoding="utf-8") as file:
                file.writelines(diff)
            where = (
                "has no place in this version (the file is gone)"
                if hunk.target == hunk.source
                else f"did not fit {hunk.target}"
            )
            print(
                f"  CONFLICT: your edit to {hunk.source} {where}: see {hunk.target}.rej",
                file=sys.stderr,
            )
    shutil.rmtree(work, ignore_errors=True)
    # The update itself succeeded: a rejected hunk is a conflict to resolve, like copier's own.
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("before", "after"))
    parser.add_argument("--from-ref", help="the version the project was made from")
    parser.add_argument(
        "--to-ref", default="HEAD", help="the version it is updated to, in --src (HEAD)"
    )
    parser.add_argument("--src", help="the template at the new version (a local clone)")
    parser.add_argument(
        "--move",
        action="append",
        default=[],
        metavar="MODE:FROM=TO[,TO...]",
        help="a file whose code moved in a new service or a retrofit, and where to (targets may "
        "be glob patterns; {package} and {layer} are the answers package_name and layer_path)",
    )
    args = parser.parse_args(argv)
    root = Path.cwd()
    if args.stage == "after":
        return after(root)
    answers = yaml.safe_load((root / ANSWERS_FILE).read_text(encoding="utf-8"))
    names = {"package": answers.get("package_name", ""), "layer": answers.get("layer_path", "")}
    moves = {}
    for move in args.move:
        mode, _, move_in_mode = move.partition(":")
        if mode != answers.get("mode", "new"):
            continue
        source, _, to = move_in_mode.format(**names).partition("=")
        moves[source] = [t for t in to.split(",") if t]
    return before(root, moves, args.from_ref, args.to_ref, args.src)


if __name__ == "__main__":
    sys.exit(main())
