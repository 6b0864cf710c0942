"""Keep the template's own test run out of the prototypes.

Each folder here is a self-contained project with its own tests and dependencies (FastAPI,
Flask, ...) that this repository's environment does not have. The template's tests copy a
prototype and run its tests in its own environment; `uv run pytest` from the root must not
collect them.
"""

collect_ignore_glob = ["*"]
