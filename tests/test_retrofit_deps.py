"""Tests for retrofit_deps.py: text edits of pyproject.toml and requirements files."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from extensions import retrofit_deps
from extensions.retrofit_deps import RetrofitError, add_requirements, main

PROTOTYPES = Path(__file__).parent / "prototypes"
NEW = ["structlog>=25.1", "orjson>=3.10"]
HEAD = '[project]\nname = "app"\nversion = "0.1.0"\n'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def run(tmp_path: Path, name: str, reqs: list[str] = NEW) -> retrofit_deps.Result:
    return add_requirements(tmp_path, name, reqs, lock=False)


def deps(path: Path) -> list[str]:
    return tomllib.loads(path.read_text())["project"]["dependencies"]


# --- pyproject.toml: exact text edits -----------------------------------------------------------

CASES = {
    "trailing-comma": (
        '[project]\ndependencies = [\n    "fastapi>=0.115",\n    "uvicorn>=0.30",\n]\n',
        '[project]\ndependencies = [\n    "fastapi>=0.115",\n    "uvicorn>=0.30",\n'
        '    "structlog>=25.1",\n    "orjson>=3.10",\n]\n',
    ),
    "no-trailing-comma": (
        '[project]\ndependencies = [\n    "fastapi",\n    "uvicorn"\n]\n',
        '[project]\ndependencies = [\n    "fastapi",\n    "uvicorn",\n'
        '    "structlog>=25.1",\n    "orjson>=3.10"\n]\n',
    ),
    "comments": (
        '[project]\ndependencies = [  # runtime\n    "fastapi",  # web\n'
        '    "uvicorn"  # server\n    # "celery",\n]  # end\n',
        '[project]\ndependencies = [  # runtime\n    "fastapi",  # web\n'
        '    "uvicorn",  # server\n    # "celery",\n    "structlog>=25.1",\n'
        '    "orjson>=3.10"\n]  # end\n',
    ),
    "two-space-indent": (
        '[project]\ndependencies = [\n  "fastapi",\n]\n',
        '[project]\ndependencies = [\n  "fastapi",\n  "structlog>=25.1",\n  "orjson>=3.10",\n]\n',
    ),
    "single-quotes": (
        "[project]\ndependencies = [\n    'fastapi',\n]\n",
        "[project]\ndependencies = [\n    'fastapi',\n    'structlog>=25.1',\n"
        "    'orjson>=3.10',\n]\n",
    ),
    "single-line": (
        '[project]\ndependencies = ["fastapi", "uvicorn"]\nname = "x"\n',
        '[project]\ndependencies = ["fastapi", "uvicorn", "structlog>=25.1", "orjson>=3.10"]\n'
        'name = "x"\n',
    ),
    "single-line-trailing-comma": (
        "[project]\ndependencies = ['fastapi',]\n",
        "[project]\ndependencies = ['fastapi', 'structlog>=25.1', 'orjson>=3.10',]\n",
    ),
    "empty": (
        "[project]\ndependencies = []\n",
        '[project]\ndependencies = [\n    "structlog>=25.1",\n    "orjson>=3.10",\n]\n',
    ),
    "empty-multi-line": (
        "[project]\ndependencies = [\n]\n",
        '[project]\ndependencies = [\n    "structlog>=25.1",\n    "orjson>=3.10",\n]\n',
    ),
    "bracket-after-last-item": (
        '[project]\ndependencies = ["fastapi",\n                "uvicorn"]\n',
        '[project]\ndependencies = ["fastapi",\n                "uvicorn",\n'
        '                "structlog>=25.1",\n                "orjson>=3.10"]\n',
    ),
    "bracket-after-comma": (
        '[project]\ndependencies = [\n    "fastapi",]\n',
        '[project]\ndependencies = [\n    "fastapi",\n    "structlog>=25.1",\n'
        '    "orjson>=3.10",]\n',
    ),
    "missing-key": (
        '[project]\nname = "app"\nclassifiers = [\n    "A",\n]\n\n# about tools\n'
        "[tool.ruff]\nline-length = 100\n",
        '[project]\nname = "app"\nclassifiers = [\n    "A",\n]\ndependencies = [\n'
        '    "structlog>=25.1",\n    "orjson>=3.10",\n]\n\n# about tools\n'
        "[tool.ruff]\nline-length = 100\n",
    ),
    "missing-key-eof-no-newline": (
        '[project]\nname = "app"',
        '[project]\nname = "app"\ndependencies = [\n    "structlog>=25.1",\n'
        '    "orjson>=3.10",\n]\n',
    ),
    "header-only": (
        "[project]\n[tool.x]\na = 1\n",
        '[project]\ndependencies = [\n    "structlog>=25.1",\n    "orjson>=3.10",\n]\n'
        "[tool.x]\na = 1\n",
    ),
    "tricky-strings-before": (
        '[tool.a]\ns = """\n[project]\ndependencies = [\n"""\n[project]\n'
        "dependencies = ['a # not a comment']\n",
        '[tool.a]\ns = """\n[project]\ndependencies = [\n"""\n[project]\n'
        "dependencies = ['a # not a comment', 'structlog>=25.1', 'orjson>=3.10']\n",
    ),
}


@pytest.mark.parametrize(("before", "after"), CASES.values(), ids=CASES.keys())
def test_pyproject_edit(tmp_path: Path, before: str, after: str) -> None:
    path = write(tmp_path, "pyproject.toml", before)
    old = tomllib.loads(before)["project"].get("dependencies", [])
    result = run(tmp_path, "pyproject.toml")
    assert result.added == NEW
    assert path.read_text() == after
    assert deps(path) == old + NEW
    # idempotent: a second run is a byte-identical no-op
    again = run(tmp_path, "pyproject.toml")
    assert again.added == []
    assert again.already_present == NEW
    assert path.read_text() == after


def test_long_single_line_becomes_multi_line(tmp_path: Path) -> None:
    before = (
        '[project]\ndependencies = ["fastapi>=0.115", "uvicorn[standard]>=0.30", "jinja2>=3"]\n'
    )
    path = write(tmp_path, "pyproject.toml", before)
    run(tmp_path, "pyproject.toml")
    assert path.read_text() == (
        '[project]\ndependencies = [\n    "fastapi>=0.115",\n    "uvicorn[standard]>=0.30",\n'
        '    "jinja2>=3",\n    "structlog>=25.1",\n    "orjson>=3.10",\n]\n'
    )


def test_single_quote_style_falls_back_for_markers(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", "[project]\ndependencies = [\n    'a',\n]\n")
    req = "tomli; python_version < '3.11'"
    run(tmp_path, "pyproject.toml", [req])
    assert path.read_text() == (
        "[project]\ndependencies = [\n    'a',\n    \"tomli; python_version < '3.11'\",\n]\n"
    )
    assert deps(path) == ["a", req]


def test_crlf_preserved(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", '[project]\r\ndependencies = [\r\n    "a",\r\n]\r\n')
    run(tmp_path, "pyproject.toml")
    assert path.read_bytes() == (
        b'[project]\r\ndependencies = [\r\n    "a",\r\n    "structlog>=25.1",\r\n'
        b'    "orjson>=3.10",\r\n]\r\n'
    )


def test_already_present_any_spelling(tmp_path: Path) -> None:
    text = (
        HEAD
        + 'dependencies = [\n    "Pydantic_Settings>=2.0",\n'
        + "    \"ORJSON[x]==3.9; os_name=='nt'\",\n]\n"
    )
    path = write(tmp_path, "pyproject.toml", text)
    result = run(
        tmp_path, "pyproject.toml", ["pydantic-settings>=2.5", "orjson>=3.10", "structlog"]
    )
    assert result.added == ["structlog"]
    assert result.already_present == ["pydantic-settings>=2.5", "orjson>=3.10"]
    assert result.existing["pydantic-settings>=2.5"] == "Pydantic_Settings>=2.0"
    # ==3.9 excludes the layer's floor: raised, keeping the spelling, extras and marker.
    assert result.changed == [("ORJSON[x]==3.9; os_name=='nt'", "ORJSON[x]>=3.10; os_name=='nt'")]
    assert deps(path)[:2] == ["Pydantic_Settings>=2.0", "ORJSON[x]>=3.10; os_name=='nt'"]


def test_duplicate_requests_added_once(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", HEAD + "dependencies = []\n")
    result = run(tmp_path, "pyproject.toml", ["structlog>=25.1", "StructLog"])
    assert result.added == ["structlog>=25.1"]
    assert deps(path) == ["structlog>=25.1"]


def test_nothing_else_changes(tmp_path: Path) -> None:
    src = PROTOTYPES / "fastapi-package"
    shutil.copy(src / "pyproject.toml", tmp_path)
    shutil.copy(src / "uv.lock", tmp_path)
    before = (tmp_path / "pyproject.toml").read_text()
    result = run(tmp_path, "pyproject.toml", [*NEW, "FastAPI>=0.100"])
    after = (tmp_path / "pyproject.toml").read_text()
    assert result.added == NEW
    assert result.already_present == ["FastAPI>=0.100"]
    assert after == before.replace(
        '    "uvicorn>=0.30",\n',
        '    "uvicorn>=0.30",\n    "structlog>=25.1",\n    "orjson>=3.10",\n',
    )
    assert (tmp_path / "uv.lock").read_bytes() == (src / "uv.lock").read_bytes()
    assert not result.lock_updated


# --- pyproject.toml: refusals -------------------------------------------------------------------

REFUSALS = {
    "dynamic": (
        "pyproject.toml",
        HEAD + 'dynamic = ["dependencies"]\n[tool.setuptools.dynamic]\n'
        'dependencies = {file = ["requirements.txt"]}\n',
        "requirements.txt",
    ),
    "poetry-inline-table": (
        "pyproject.toml",
        '[tool.poetry]\nname = "app"\ndependencies = {python = "^3.11", orjson = "^3.9"}\n',
        'poetry add "structlog>=25.1"',
    ),
    "no-project": ("pyproject.toml", "[tool.ruff]\nline-length = 100\n", "no [project] table"),
    "invalid-toml": ("pyproject.toml", "[project\n", "not valid"),
    "dotted-project": (
        "pyproject.toml",
        'project.name = "app"\nproject.dependencies = ["a"]\n',
        "layout",
    ),
    "hash": (
        "requirements.txt",
        "flask==3.0.0 \\\n    --hash=sha256:abc\n",
        "requirements.in",
    ),
    "pip-compile": (
        "requirements.txt",
        "#\n# This file is autogenerated by pip-compile with Python 3.11\n"
        "# by the following command:\n#\n#    pip-compile base.in\n#\nflask==3.0.0\n",
        "base.in",
    ),
    "uv-pip-compile": (
        "requirements/prod.txt",
        "# This file was autogenerated by uv via the following command:\n"
        "#    uv pip compile requirements/prod.in -o requirements/prod.txt\nflask==3.0.0\n",
        "requirements/prod.in",
    ),
    "unknown-format": ("setup.py", "from setuptools import setup\nsetup()\n", "by hand"),
}


@pytest.mark.parametrize(("name", "text", "hint"), REFUSALS.values(), ids=REFUSALS.keys())
def test_refusal_leaves_file_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, hint: str
) -> None:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    path = write(tmp_path, name, text)
    before = path.read_bytes()
    args = ["--root", str(tmp_path), "--file", name, "--no-lock"]
    assert main([*args, "--require", NEW[0], "--require", NEW[1]]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert hint in captured.err
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if p.name != "copier-settings.yml") == [
        path.name
    ]


POETRY = (
    '[tool.poetry]\nname = "app"\n\n[tool.poetry.dependencies]\npython = "^3.11"\n'
    'fastapi = "0.110.0"  # the web framework\n'
    'orjson = "^3.9"\n'
    'uvicorn = {version = "0.23.2", extras = ["standard"]}\n'
    '\n[tool.poetry.group.dev.dependencies]\npytest = "^8.0"\n'
)


def test_poetry_table_pins_raised_and_missing_added(tmp_path: Path) -> None:
    path = write(tmp_path, "pyproject.toml", POETRY)
    reqs = ["fastapi>=0.115.12", "orjson>=3.10", "uvicorn[standard]>=0.32", "structlog>=25.1"]
    result = run(tmp_path, "pyproject.toml", reqs)
    assert result.added == ["structlog>=25.1"]
    # ^3.9 admits 3.10 (>=3.9,<4): left alone; the exact pins are raised to the layer's floor.
    assert path.read_text() == POETRY.replace('"0.110.0"', '">=0.115.12"').replace(
        'version = "0.23.2"', 'version = ">=0.32"'
    ).replace('extras = ["standard"]}\n', 'extras = ["standard"]}\nstructlog = ">=25.1"\n')
    assert [old for old, _ in result.changed] == [
        "fastapi = '0.110.0'",
        "uvicorn = '0.23.2'",
    ]
    assert run(tmp_path, "pyproject.toml", reqs).changed == []  # idempotent


def test_poetry_group_pins_that_exclude_the_layer_are_raised(tmp_path: Path) -> None:
    # Poetry resolves every group together: a dev pin below the layer's floor conflicts too.
    path = write(tmp_path, "pyproject.toml", POETRY.replace('pytest = "^8.0"', 'httpx = "^0.27.0"'))
    result = run(tmp_path, "pyproject.toml", ["httpx>=0.28", "tomli>=2.0; python_version < '3.11'"])
    assert result.changed == [("httpx = '^0.27.0' (dev)", 'httpx = ">=0.28" (dev)')]
    data = tomllib.loads(path.read_text())["tool"]["poetry"]
    assert data["group"]["dev"]["dependencies"]["httpx"] == ">=0.28"
    assert data["dependencies"]["httpx"] == ">=0.28"
    assert data["dependencies"]["tomli"] == {
        "version": ">=2.0",
        "markers": "python_version < '3.11'",
    }


@pytest.mark.parametrize(
    ("constraint", "conflict"),
    [("0.110.0", True), ("^0.110", True), ("~0.110.1", True), ("*", False), (">=0.100", False),
     ("^0.115", False), (">=0.100,<0.112", True), ("^0.100 || ^0.115", False)],
)  # fmt: skip
def test_poetry_constraints(constraint: str, conflict: bool) -> None:
    from packaging.version import Version

    from extensions import retrofit_pins

    pep440 = retrofit_pins.poetry_to_pep440(constraint)
    assert retrofit_pins.conflicts(pep440, Version("0.115.12")) is conflict


def test_missing_file_and_bad_requirement(tmp_path: Path) -> None:
    with pytest.raises(RetrofitError, match="does not exist"):
        run(tmp_path, "requirements.txt")
    write(tmp_path, "requirements.txt", "")
    with pytest.raises(RetrofitError, match="not a valid requirement"):
        run(tmp_path, "requirements.txt", ["-r evil.txt"])
    with pytest.raises(RetrofitError, match="not a valid requirement"):
        run(tmp_path, "requirements.txt", ["a\nb"])
    assert (tmp_path / "requirements.txt").read_bytes() == b""


# --- requirements files -------------------------------------------------------------------------

BLOCK = "\n" + retrofit_deps.MARKER + "\nstructlog>=25.1\norjson>=3.10\n"


def test_requirements_no_trailing_newline(tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", "flask>=3.0")
    run(tmp_path, "requirements.txt")
    assert path.read_text() == "flask>=3.0\n" + BLOCK


def test_requirements_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "requirements-prod.txt", "")
    run(tmp_path, "requirements-prod.txt")
    assert path.read_text() == BLOCK[1:]


def test_requirements_existing_forms(tmp_path: Path) -> None:
    text = (
        "-r base.txt\n-c constraints.txt\n--index-url https://example.invalid/simple\n"
        "Structlog==24.1.0  # pinned\nuvicorn[standard]>=0.30\n"
        "pydantic_settings ; python_version >= '3.8'\n"
        "-e git+https://example.invalid/x.git#egg=Prometheus_Client\n"
        "# orjson is commented out, so it is not there\n"
        "https://example.invalid/pkgs/thing-1.0.tar.gz\n"
        "httpx @ https://example.invalid/httpx.whl\n"
    )
    path = write(tmp_path, "requirements.txt", text)
    reqs = [
        "structlog>=25.1",
        "uvicorn>=0.32",
        "pydantic-settings>=2",
        "prometheus-client>=0.20",
        "httpx>=0.27",
        "orjson>=3.10",
        "base",
    ]
    result = run(tmp_path, "requirements.txt", reqs)
    assert result.added == ["orjson>=3.10", "base"]
    assert result.existing["uvicorn>=0.32"] == "uvicorn[standard]>=0.30"
    assert result.changed == [("Structlog==24.1.0", "Structlog>=25.1")]
    raised = text.replace("Structlog==24.1.0  # pinned", "Structlog>=25.1  # pinned")
    expected = raised + "\n" + retrofit_deps.MARKER + "\norjson>=3.10\nbase\n"
    assert path.read_text() == expected
    assert run(tmp_path, "requirements.txt", reqs).added == []
    assert path.read_text() == expected


def test_requirements_later_run_extends_own_block(tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", "flask\n")
    run(tmp_path, "requirements.txt", ["structlog>=25.1"])
    run(tmp_path, "requirements.txt", ["structlog>=25.1", "orjson>=3.10"])
    assert path.read_text() == "flask\n" + BLOCK


def test_flask_factory_fixture_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(PROTOTYPES / "flask-factory" / "requirements.txt", tmp_path)
    original = (tmp_path / "requirements.txt").read_text()
    argv = ["--root", str(tmp_path), "--file", "requirements.txt"]
    argv += ["--require", "structlog>=25.1", "--require", "Flask>=3.1"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "added: structlog>=25.1",
        "already there: Flask>=3.1 (as 'flask>=3.0')",
        "requirements.txt resolves for Python 3.11 (uv pip compile).",
        "requirements.txt: 1 added, 0 raised, 1 already there",
    ]
    text = (tmp_path / "requirements.txt").read_text()
    assert text == original + "\n" + retrofit_deps.MARKER + "\nstructlog>=25.1\n"
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert (tmp_path / "requirements.txt").read_text() == text


def test_file_none(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--root", str(tmp_path), "--file", "none", "--require", "structlog>=25.1"]) == 0
    out = capsys.readouterr().out
    assert "    structlog>=25.1" in out
    assert [p.name for p in tmp_path.iterdir()] == ["copier-settings.yml"]  # conftest's


# --- uv.lock ------------------------------------------------------------------------------------


def test_stale_lock_when_uv_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "pyproject.toml", HEAD + "dependencies = []\n")
    write(tmp_path, "uv.lock", "version = 1\n")
    monkeypatch.setattr(retrofit_deps.shutil, "which", lambda _name: None)
    result = add_requirements(tmp_path, "pyproject.toml", NEW)
    assert not result.lock_updated
    assert any("stale" in m and "uv lock" in m for m in result.messages)
    assert (tmp_path / "uv.lock").read_text() == "version = 1\n"


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv not on PATH")
def test_real_uv_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = tmp_path / "fastapi-package"
    shutil.copytree(PROTOTYPES / "fastapi-package", app)
    assert "structlog" not in (app / "uv.lock").read_text()
    assert (
        main(["--root", str(app), "--file", "pyproject.toml", "--require", "structlog>=25.1"]) == 0
    )
    assert "uv.lock updated" in capsys.readouterr().out
    lock = (app / "uv.lock").read_text()
    assert 'name = "structlog"' in lock
    assert deps(app / "pyproject.toml") == ["fastapi>=0.115", "uvicorn>=0.30", "structlog>=25.1"]


def test_warn_only_goes_on_and_records_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # copier's task: a file it cannot edit does not stop the retrofit here (the report lists the
    # rest, and the final check fails with the reason recorded).
    path = write(tmp_path, "pyproject.toml", REFUSALS["dynamic"][1])
    before = path.read_bytes()
    record = tmp_path / "layer" / "retrofit-record.json"
    args = ["--root", str(tmp_path), "--file", "pyproject.toml", "--warn-only"]
    assert main([*args, "--record", str(record), "--require", NEW[0]]) == 0
    err = capsys.readouterr().err
    assert "dynamic" in err
    assert "--data dependency_file=PATH" in err
    assert path.read_bytes() == before
    recorded = json.loads(record.read_text())["dependencies"]
    assert "dynamic" in recorded["error"]
    assert recorded["resolve_failed"] is False


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-8"])
def test_requirements_keep_their_encoding_and_line_ends(tmp_path: Path, encoding: str) -> None:
    # pip freeze > requirements.txt in Windows PowerShell: UTF-16 LE with a BOM, CRLF.
    text = "fastapi==0.115.12\r\npydantic-settings==2.3.4\r\n"
    path = tmp_path / "requirements.txt"
    bom = b"\xfe\xff" if encoding == "utf-16-be" else b""
    path.write_bytes(bom + text.encode(encoding))
    result = run(tmp_path, "requirements.txt", ["pydantic-settings>=2.7", "structlog>=25.1"])
    assert result.changed == [("pydantic-settings==2.3.4", "pydantic-settings>=2.7")]
    data = path.read_bytes()
    assert data.startswith(bom or text.encode(encoding)[:2])
    assert data.decode(encoding).removeprefix("\ufeff") == (
        "fastapi==0.115.12\r\npydantic-settings>=2.7\r\n\r\n"
        + retrofit_deps.MARKER
        + "\r\nstructlog>=25.1\r\n"
    )


def test_latin1_comment_in_requirements(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes("# d\xe9pendances\nflask\n".encode("latin-1"))
    run(tmp_path, "requirements.txt", ["structlog>=25.1"])
    assert path.read_bytes().decode("latin-1").startswith("# d\xe9pendances\nflask\n\n#")


def test_unreadable_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"\x80\x81[project]\xff")
    args = ["--root", str(tmp_path), "--file", "pyproject.toml", "--require", NEW[0]]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("retrofit_deps: pyproject.toml is not text in an encoding")
    assert "Traceback" not in err


def test_unexpected_error_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "requirements.txt", "flask\n")

    def broken(*_: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(retrofit_deps, "_requirements", broken)
    args = ["--root", str(tmp_path), "--file", "requirements.txt", "--require", NEW[0]]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "unexpected KeyError while editing requirements.txt" in err
    assert "Traceback" not in err


# --- resolving for real -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_pin_that_cannot_resolve_puts_the_file_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # fastapi 0.110 caps starlette below 0.37: the layer's starlette>=0.46 cannot be had with it,
    # and fastapi is the team's pin (not one of the layer's requirements), so it is not raised.
    path = write(tmp_path, "requirements.txt", "fastapi==0.110.0\n")
    record = tmp_path / "retrofit-record.json"
    args = ["--root", str(tmp_path), "--file", "requirements.txt", "--record", str(record)]
    assert main([*args, "--require", "starlette>=0.46"]) == 1
    err = capsys.readouterr().err
    assert "does not resolve with the production layer's requirements" in err
    assert "starlette" in err
    assert path.read_text() == "fastapi==0.110.0\n"
    assert json.loads(record.read_text())["dependencies"]["resolve_failed"] is True
