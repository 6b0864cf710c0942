"""The OpenAPI schema documents what the service really answers when a request goes wrong."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def operations(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def test_every_error_is_documented_as_a_problem(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # never sent
    for name, operation in operations(schema).items():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == PROBLEM, (name, status)


def test_each_route_documents_what_the_edge_and_handlers_answer(client: TestClient) -> None:
    found = operations(client.get("/openapi.json").json())

    def statuses(name: str) -> set[str]:
        return {status for status in found[name]["responses"] if int(status) >= 400}

    assert statuses("GET /healthz") == set()  # public, not limited, takes nothing
    assert statuses("GET /api/v1/notes") >= {"400", "401", "403", "422", "429"}
    assert statuses("POST /api/v1/notes") >= {"400", "401", "403", "413", "422", "429"}
    note = "/api/v1/notes/{note_id}"
    assert statuses(f"GET {note}") >= {"401", "403", "404", "422", "429"}
    assert statuses(f"PATCH {note}") >= {"400", "404", "412", "413", "422", "428"}
