"""Answers given on the command line are checked before the first question.

copier checks a `--data` answer only when it reaches that question, and ends a refusal with a
Python traceback (a ValueError) 40 lines long, the reason on its last line. This check runs
first, from the `when` of the hidden `answers_given` entry at the top of copier.yml: it tries
every answer given with `--data` or `--data-file` (and, under `--defaults`, the user's own
defaults) against its question's choices (each choice's
`validator` included) and `validator`, in copier.yml's own words, and ends the run on the first
refusal with copier's UserMessageError: the reason in red, exit code 1, nothing written.

It renders copier.yml's own Jinja, so there is one set of rules: what an interactive session
greys out and what a validator refuses. A rule that names an answer not known yet (not given,
and not a default under `--defaults`) is left to copier, which checks it in order.
"""

from __future__ import annotations

import re
import sys
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from copier.errors import UserMessageError
from jinja2 import Environment, meta, pass_context
from jinja2.ext import Extension
from jinja2.runtime import Context

COPIER_YML = Path(__file__).resolve().parents[1] / "copier.yml"


@lru_cache(maxsize=1)
def _questions() -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {
        name: spec
        for name, spec in loaded.items()
        if not name.startswith("_") and isinstance(spec, dict) and spec.get("when") is not False
    }


def _render(env: Environment, source: object, values: dict[str, Any]) -> str | None:
    """The rendered text, or None when it names an answer that is not known yet."""
    if not isinstance(source, str):
        return str(source)
    if not meta.find_undeclared_variables(env.parse(source)) <= values.keys():
        return None
    return env.from_string(source).render(values).strip()


def _choices(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(value, the choice's validator) for each choice of a question."""
    choices = spec.get("choices") or []
    pairs = choices.items() if isinstance(choices, dict) else ((c, c) for c in choices)
    found = []
    for _label, choice in pairs:
        if isinstance(choice, dict):
            found.append((str(choice["value"]), str(choice.get("validator", ""))))
        else:
            found.append((str(choice), ""))
    return found


def _shown(value: Any) -> str:
    """An answer as typed, quoted where it is empty or holds spaces."""
    text = str(value)
    return text if re.fullmatch(r"[^\s'\"]+", text) else repr(text)


def _refusal(env: Environment, name: str, value: Any, values: dict[str, Any]) -> str:
    spec = _questions()[name]
    if spec.get("choices"):
        allowed, reason, because = [], None, ""
        for choice, validator in _choices(spec):
            refused = _render(env, validator, values) if validator else ""
            if choice == str(value):
                reason = refused
                # The answers the rule reads: "with deploy_target=kubernetes".
                named = sorted(meta.find_undeclared_variables(env.parse(validator)) - {name})
                because = ", ".join(f"{other}={values[other]}" for other in named)
            elif refused == "":
                allowed.append(choice)
        others = " or ".join(f"{name}={choice}" for choice in allowed)
        if reason is None:
            return f"{name}={_shown(value)} is not a choice: answer {others}"
        if reason:
            return f"{name}={_shown(value)} cannot go with {because} ({reason}): answer {others}"
    if spec.get("validator"):
        message = _render(env, spec["validator"], {**values, name: value})
        if message:
            return f"{name}={_shown(value)} is refused: {message}"
    return ""


def _fit(text: str, width: int = 76) -> str:
    """Each line within `width` columns: a terminal cuts a longer one."""
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False)
        for line in text.splitlines()
    )


# Answers changed on `copier update --data NAME=VALUE`, where the answer recorded in the project's
# .copier-answers.yml differs: those the update carries out, with the note printed before it
# about what the changed files do not do for the team, and those it refuses, with what to do by
# hand.
NOTED_ON_UPDATE = {
    "database": (
        "database {old} -> {new}: the update switches the settings, the engine, the backups and "
        "the dependencies, not the data. After it: run `uv lock` and commit uv.lock; set "
        "DATABASE_URL (and TEST_DATABASE_URL for the tests) for the new database; run `migrate` "
        "there; then copy the rows across yourself (a `backup` of the old database is the "
        "copy to keep). docs/database.md says more."
    ),
    "rate_limit_store": (
        "rate_limit_store {old} -> {new}: the update switches the store and the dependencies. "
        "After it: run `uv lock` and commit uv.lock; with redis, set REDIS_URL in every "
        "environment (and TEST_REDIS_URL where the tests run). Counters start from zero."
    ),
}
REFUSED_ON_UPDATE = {
    "auth": (
        "auth={new} cannot replace auth={old} in `copier update`: each answer brings its own "
        "tables, migrations and routes (users, API keys), and the update would delete the "
        "migrations your database has applied. To switch by hand: make a service with "
        "auth={new} in a new folder (`copier copy`), and move your code into it; or keep "
        "auth={old} and add the other way of signing in to production/auth yourself."
    ),
    "mode": (
        "mode={new} cannot replace mode={old} in `copier update`: a retrofit and a new service "
        "are different layouts. Make a new copy instead."
    ),
}
_noted: set[tuple[str, str, str]] = set()


def _recorded_answers(conf: dict[str, Any]) -> dict[str, Any]:
    """The answers the destination's answers file holds (empty on a first copy)."""
    answers_file = str(conf.get("answers_file") or ".copier-answers.yml")
    path = Path(str(conf.get("dst_path", "."))) / answers_file
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) and "_commit" in loaded else {}


def _check_changes(given: dict[str, Any], recorded: dict[str, Any]) -> None:
    """Refuse an answer that cannot change on update; say what a changed one leaves to do."""
    for name in (*REFUSED_ON_UPDATE, *NOTED_ON_UPDATE):
        if name not in given or name not in recorded or str(given[name]) == str(recorded[name]):
            continue
        values = {"old": recorded[name], "new": given[name]}
        if name in REFUSED_ON_UPDATE:
            raise UserMessageError(_fit(REFUSED_ON_UPDATE[name].format(**values)))
        key = (name, str(values["old"]), str(values["new"]))
        if key not in _noted:  # copier evaluates this more than once a run
            _noted.add(key)
            print(_fit(NOTED_ON_UPDATE[name].format(**values)), file=sys.stderr)


@pass_context
def check_answers_given(context: Context) -> bool:
    """False (the hidden entry is never asked), or a UserMessageError for a refused answer."""
    conf = context.get("_copier_conf") or {}
    given = dict(conf.get("data") or {})
    if conf.get("defaults"):
        # Under --defaults, the user's own defaults (copier's settings file, or the API's
        # user_defaults) are answers too.
        given = {**dict(conf.get("user_defaults") or {}), **given}
    if not given:
        return False
    _check_changes(given, _recorded_answers(conf))
    env = context.environment
    values = dict(context.get_all())
    # Under --defaults the answers not given are known too: their defaults, in question order.
    for name, spec in _questions().items():
        if name in given:
            values[name] = given[name]
        elif conf.get("defaults") and "default" in spec:
            default = _render(env, spec["default"], values)
            if default is not None:
                values[name] = default
    for name, value in given.items():
        if name not in _questions():
            continue  # copier stores an unknown key as it is; not ours to refuse
        when = _render(env, _questions()[name].get("when", True), values)
        if when is not None and not yaml.safe_load(when or "false"):
            continue  # a question that is not asked: copier ignores its answer
        refusal = _refusal(env, name, value, values)
        if refusal:
            raise UserMessageError(_fit(refusal))
    return False


class AnswerChecks(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["check_answers_given"] = check_answers_given
