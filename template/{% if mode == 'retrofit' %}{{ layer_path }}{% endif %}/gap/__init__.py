"""The gap audit's detectors and report (run through ../audit.py).

Why our own AST checks rather than Bandit or Semgrep: those find insecure calls in any Python,
but not what breaks a web service on its first day in production (a route that wipes the
database on a GET, an exception handler that answers with the exception text, data kept in a
module-level store, a start-up that deletes the database), and they would be one more
dependency in the team's project. Each detector here knows the routes the app declares
(FastAPI, Flask, Starlette), so it can tell a route from a helper and a request's input
from a constant. Every module is one area of checks: see scan.DETECTORS.
"""
