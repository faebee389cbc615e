"""The OpenAPI document, accurate enough for a schema-driven client.

Write bodies are read by a dependency (so that access is checked before the
body, SPEC §4), which FastAPI cannot see: each write route names its body
model with `request_body`, and `install_openapi` adds those schemas, and the
problem schema every error answer uses, to the document's components.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.problems import PROBLEM_CONTENT_TYPE, Problem
from ledger.events import EventType

__all__ = ["install_openapi", "problem_responses", "request_body", "write_operation"]

_REF = "#/components/schemas/{model}"
_BODY_MODELS: dict[str, type[BaseModel]] = {}


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body is `model`."""
    _BODY_MODELS[model.__name__] = model
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}
            },
        }
    }


_CONDITIONS: Final = [
    {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": 'Append only if the claim is at this version: "3".',
        "schema": {"type": "string"},
    },
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "1 to 255 printable ASCII characters; a retry with the same key and "
        "body gets the first answer again and appends nothing.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
]


def write_operation(model: type[BaseModel], path_ids: list[str]) -> dict[str, Any]:
    """`openapi_extra` for a write: its body, the ids in its path, its conditions.
    (A write reads them itself, so that access is checked before them, SPEC §4.)"""
    ids = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        }
        for name in path_ids
    ]
    return {**request_body(model), "parameters": [*ids, *_CONDITIONS]}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` entries of the problems a route may answer with."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": _REF.format(model="Problem")}}},
        }
        for status in statuses
    }


# Which operations a write's answer leads to, and how: OpenAPI links let a
# schema-driven client (or a fuzzer) follow a new claim or item to its reads
# and writes.
_CLAIM_ID: Final = "$response.body#/claim_id"


def _links() -> dict[str, dict[str, dict[str, str]]]:
    registration = EventType.CLAIM_REGISTERED.declared.operation
    links: dict[str, dict[str, dict[str, str]]] = {
        registration: {
            "get_claim": {"claim_id": _CLAIM_ID},
            "get_history": {"claim_id": _CLAIM_ID},
            "get_timeline": {"claim_id": _CLAIM_ID},
            "get_event": {"event_id": "$response.body#/event_id"},
        }
    }
    for event_type in EventType:
        declared = event_type.declared
        if event_type.registers or declared.ends is not None:
            continue
        links[registration][declared.operation] = {"claim_id": _CLAIM_ID}
        if declared.begins is None:
            continue
        for ending in EventType:
            if ending.declared.ends is declared.begins:
                field = declared.begins.id_field
                links[declared.operation] = {
                    ending.declared.operation: {
                        "claim_id": _CLAIM_ID,
                        field: f"$response.body#/data/{field}",
                    }
                }
    # A claim has a ClaimReview once a verification stands on it.
    verification = EventType.VERIFICATION_RECORDED.declared.operation
    links[verification]["get_claim_review"] = {"claim_id": _CLAIM_ID}
    return links


def _add_links(document: dict[str, Any]) -> None:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            links = _links().get(operation.get("operationId", ""))
            created = operation.get("responses", {}).get("201")
            if links and created is not None:
                created["links"] = {
                    target: {"operationId": target, "parameters": parameters}
                    for target, parameters in links.items()
                }


_STRING = {"schema": {"type": "string"}}
_WRITE_HEADERS = {
    "Location": {"description": "The claim: /claims/{claim_id}.", **_STRING},
    "ETag": {"description": 'The claim\'s version after this event: "3".', **_STRING},
}
_WINDOW_HEADERS = {
    "Ledger-As-Of": {"description": "The system time the answer was computed as of.", **_STRING},
    "Ledger-Valid-At": {"description": "The world time it was valid at, when bounded.", **_STRING},
}
_READ_HEADERS = {
    "get_claim": {
        **_WINDOW_HEADERS,
        "ETag": {"description": "The claim's version; only without as_of and valid_at.", **_STRING},
    },
    "get_history": _WINDOW_HEADERS,
    "get_timeline": _WINDOW_HEADERS,
}


def _add_headers(document: dict[str, Any]) -> None:
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if "201" in responses:
                responses["201"]["headers"] = _WRITE_HEADERS
            if headers := _READ_HEADERS.get(operation.get("operationId", "")):
                responses["200"]["headers"] = headers


BEARER: Final = "bearerAuth"
_BEARER_SCHEME: Final = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key, as `factledger keys create` printed it: `fl_<key id>_<secret>`. "
    "Writes need one with the write's role; reads need none unless the ledger is configured "
    "so (then any valid key).",
}


def _add_security(document: dict[str, Any]) -> None:
    """What needs a role (every write, the import, the export: the operations that
    may answer 403) needs a bearer key; the reads take one (optional: `{}` allows
    none). Swagger UI's *Authorize* then sends it."""
    document["components"]["securitySchemes"] = {BEARER: _BEARER_SCHEME}
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if "403" in operation.get("responses", {}):
                operation["security"] = [{BEARER: []}]
            else:
                operation["security"] = [{}, {BEARER: []}]


def _add_schemas(components: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=_REF, mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault(model.__name__, schema)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            models: list[type[BaseModel]] = [Problem, *_BODY_MODELS.values()]
            for model in models:
                _add_schemas(components, model)
            # FastAPI's own 422 schema is not what this API answers with.
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            for path in document.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    if "422" in responses:
                        responses["422"] = problem_responses(422)[422]
            _add_links(document)
            _add_headers(document)
            _add_security(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
