"""A new service starts as a git repository with one commit.

`copier update` works only in a git-tracked project with no uncommitted changes, and a team's
first step is `git init` anyway; doing it here makes the README's update command work at once.
Run by copier.yml's tasks, in the new service's folder, after a first `copier copy` of a new
service (never on a retrofit, which is the team's repository, nor on an update).

It does nothing, and says why, when git is not installed or the folder is inside a repository
already (a service made inside a monorepo belongs to that repository's history). A commit that
fails (no identity, a signing key that is not there, a hook) leaves the repository with the files
staged and says what to run; the service itself is complete either way, so the exit code is 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )


def identity(root: Path, name: str, email: str) -> list[str]:
    """`-c user.name=... -c user.email=...` where git has no identity of its own to commit
    with: the service's authors, as answered."""
    found = []
    pairs = (("name", "GIT_AUTHOR_NAME", name), ("email", "GIT_AUTHOR_EMAIL", email))
    for key, variable, fallback in pairs:
        if not os.environ.get(variable) and git(root, "config", "--get", f"user.{key}").returncode:
            found += ["-c", f"user.{key}={fallback}"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--message", required=True)
    parser.add_argument("--author-name", required=True)
    parser.add_argument("--author-email", required=True)
    # copier -q: say nothing unless something went wrong (stderr). A list-form task cannot
    # leave an argument out, so the loud way has a flag of its own.
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--say", dest="quiet", action="store_false")
    args = parser.parse_args(argv)
    say = (lambda _: None) if args.quiet else print
    root = Path.cwd()
    if shutil.which("git") is None:
        say("git is not installed: no repository was made (copier update needs one).")
        return 0
    inside = git(root, "rev-parse", "--show-toplevel")
    if inside.returncode == 0:
        say(f"Inside the git repository {inside.stdout.strip()}: nothing was committed.")
        return 0
    for step in (["init", "-q"], ["symbolic-ref", "HEAD", "refs/heads/main"], ["add", "-A"]):
        done = git(root, *step)
        if done.returncode:
            print(f"git {' '.join(step)} failed: {done.stderr.strip()}", file=sys.stderr)
            return 0
    who = identity(root, args.author_name, args.author_email)
    done = git(root, *who, "commit", "-q", "-m", args.message)
    if done.returncode:
        print(
            f"The first commit failed ({done.stderr.strip()}); the files are staged: "
            'run git commit -m "First commit" when it can.',
            file=sys.stderr,
        )
        return 0
    say("Made a git repository with the first commit (branch main).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
