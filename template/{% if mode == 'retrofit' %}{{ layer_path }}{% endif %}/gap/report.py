"""PRODUCTION_GAP.md: what the scan found, the files changed, kept and added, and per area
what is still on the team; its findings block is what `check` compares with."""

import fnmatch
import json
from pathlib import Path

from .areas import AREAS, found_and_todo, listed
from .deps import changed_files
from .files import Config, ignored, read_text
from .model import FINDINGS_END, FINDINGS_START, ROUTES_FILE, Finding
from .scan import findings as scan_findings
from .scan import project

KEPT_NOTES = {
    "Dockerfile": "its command must be `{serve_command}` (the entry point `{entry_point}`)",
    "workflow": "add a step that runs `python {layer}/audit.py check`",
    ROUTES_FILE: "every route needs a decision: compare with `python {layer}/audit.py routes`",
}
# What an ignore file should keep out: of git, .env; of the image, .env, .git and .venv.
IGNORES = {
    ".gitignore": ([".env"], "git"),
    ".dockerignore": ([".env", ".git", ".venv"], "the image"),
}
DEPLOY_FILES = {"Dockerfile", ".dockerignore", ".github/workflows/production.yml"}
DEPLOY_FILES |= {".github/workflows/deploy.yml", ".github/workflows/deploy-environment.yml"}
DEPLOY_FILES |= {".github/workflows/rollback.yml", "deploy/deploy.sh", "deploy/rollback.sh"}


def _bullets(items: list[str], empty: str, indent: str = "") -> list[str]:
    return [f"{indent}- {item}" for item in items] or [f"{indent}- {empty}"]


def _names(items: list[str]) -> str:
    quoted = [f"`{item}`" for item in items]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _kept_out(root: Path, path: str, names: list[str]) -> list[str]:
    """Which of `names` the ignore file at `path` keeps out (git is asked in a work tree)."""
    patterns = [line.strip() for line in read_text(root / path).splitlines()]
    patterns = [p.strip("/") for p in patterns if p and not p.startswith(("#", "!"))]
    by_pattern = {n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)}
    return sorted(by_pattern | (ignored(root, names) if path == ".gitignore" else set()))


def _kept_note(root: Path, path: str, config: Config) -> str:
    name = Path(path).name
    if name in IGNORES and (root / path).is_file():
        names, where = IGNORES[name]
        kept_out = _kept_out(root, path, names)
        missing = [n for n in names if n not in kept_out]
        if not missing:
            kept = f"it keeps {_names(names)} out of {where} already"
            return f"{kept}; compare the rest with prodbridge's"
        secrets = "local secrets" if where == "git" else "they"
        return f"add {_names(missing)}, so {secrets} stay out of {where}"
    key = "workflow" if path.startswith(".github/workflows/") else name
    default = "compare it with prodbridge's version and merge what you need"
    return KEPT_NOTES.get(key, default).format(**config)


def _finding_record(finding: Finding) -> str:
    """One JSON line; \\u003c/\\u003e so a "-->" in the code cannot end the HTML comment."""
    record = {"kind": finding.kind, "file": finding.file, "line": finding.line}
    record["code"] = finding.code
    text = json.dumps(record, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


def render_report(root: Path, config: Config, layer_dir: Path) -> str:
    app = project(root, layer_dir)
    findings = scan_findings(app)
    layer = config["layer"]
    changed = [f"`{path}`: {reason}" for path, reason in changed_files(root, config, layer_dir)]
    kept = [f"`{path}`: {_kept_note(root, path, config)}." for path in config["kept"]]
    items = [f"**{f.kind}** {listed(f)}" for f in findings]
    lines = [
        "# Production gap report",
        "",
        "What the production layer that prodbridge added does not close on its own: what a static"
        " scan of your code found, and per readiness area what was found, what the layer added"
        " and what is still on the team. It is generated and reproducible: refresh it with"
        f" `python {layer}/audit.py write`. CI runs `python {layer}/audit.py check`, which fails"
        " on any finding not recorded here.",
        "",
        "## Files of yours this retrofit changed",
        "",
        *_bullets(changed, "None."),
        "",
        "## Kept as they were",
        "",
        "prodbridge would have written these, but they existed, so it did not overwrite them."
        " Merge by hand:",
        "",
        *_bullets(kept, "None."),
        "",
        "## Added",
        "",
        *_bullets([f"`{path}`" for path in sorted(config["added"])], "None."),
        "",
        "## Findings",
        "",
        *_bullets(items, "No findings."),
        "",
        FINDINGS_START,
        *map(_finding_record, findings),
        FINDINGS_END,
        "",
        "## The six essentials and readiness areas",
    ]
    areas = found_and_todo(app, config, layer_dir, findings)
    for title, (found, team) in areas.items():
        lines += ["", f"### {title}", "", f"- **Found**: {found}."]
        lines += [f"- **Added by prodbridge**: {AREAS[title].format(**config)}"]
        deploy_files = [f"`{p}`" for p in sorted(config["added"]) if p in DEPLOY_FILES]
        if title == "Deployment" and deploy_files:
            lines[-1] += f" Also added: {', '.join(deploy_files)}."
        lines += [
            "- **Still on the team**:",
            *_bullets(team, "Nothing found by the scan.", indent="  "),
        ]
    return "\n".join(lines) + "\n"


def read_recorded(text: str) -> list[object] | None:
    """The findings block of a report; None when it has none or it is damaged."""
    lines = text.splitlines()
    if FINDINGS_START not in lines:
        return None
    records: list[object] = []
    for line in lines[lines.index(FINDINGS_START) + 1 :]:
        if line.strip() == FINDINGS_END:
            return records
        try:
            records += [json.loads(line)] if line.strip() else []
        except json.JSONDecodeError:
            return None
    return None
