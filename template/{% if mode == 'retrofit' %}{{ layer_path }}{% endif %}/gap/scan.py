"""The scan: every detector over the application, and the routes it declares.

Each detector is a module of this package with a `find(project)` that returns its findings;
DETECTORS lists them in the order the report explains them.
"""

from collections.abc import Callable
from pathlib import Path

from . import cors, errors, gets, integrity, lookups, repo, secrets, startup, state
from .files import load_config, load_modules
from .model import Finding, Project, Route
from .routes import discover_routes, is_destructive

Detector = Callable[[Project], list[Finding]]


def unprotected_routes(project: Project) -> list[Finding]:
    """unprotected-route: a destructive route with no sign of authentication."""
    return [
        project.module(route.file).finding("unprotected-route", route.line, route.label)
        for route in project.routes
        if is_destructive(route) and not route.authenticated
    ]


DETECTORS: list[Detector] = [
    secrets.find,
    errors.find_bare_excepts,
    errors.find_leaks,
    state.find_state,
    state.find_debug,
    unprotected_routes,
    gets.find,
    cors.find,
    lookups.find,
    integrity.find,
    startup.find,
    repo.find,
]


def project(root: Path, layer: Path) -> Project:
    """The application under `root`, without the layer in `layer`."""
    modules = load_modules(root, load_config(root, layer), layer)
    return Project(root, modules, discover_routes(modules))


def findings(app: Project) -> list[Finding]:
    found = [finding for detector in DETECTORS for finding in detector(app)]
    unique = {(f.kind, f.file, f.line): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.file, f.line, f.kind))


def scan(root: Path, layer: Path) -> list[Finding]:
    """Static scan of the application's own code for the kinds of production problem."""
    return findings(project(root, layer))


def routes(root: Path, layer: Path) -> list[Route]:
    """Every route found statically in the application, with router prefixes applied."""
    return project(root, layer).routes
