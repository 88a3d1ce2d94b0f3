"""The fake Jira stays honest: every route it serves exists in Jira Cloud's published OpenAPI document, and
its responses have the spec's shape (no invented keys where the spec is closed, the right JSON types)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import requests

from tests.fakes.jira_server import JiraServer
from tests.shared_files import JIRA_SPEC, skip_unless

SPEC_PATH = JIRA_SPEC
pytestmark = skip_unless(SPEC_PATH)


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())  # type: ignore[no-any-return]


def shape(path: str) -> str:
    """A path with its parameters blanked: /rest/api/3/issue/{issueIdOrKey} -> /rest/api/3/issue/{}."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def spec_operations() -> set[tuple[str, str]]:
    return {(method.upper(), shape(path)) for path, ops in spec()["paths"].items() for method in ops}


def fake_operations() -> set[tuple[str, str]]:
    app = JiraServer(seed=False).build_app()
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        path = shape(route.resource.canonical.replace("{v}", "3"))  # type: ignore[union-attr]
        methods = ["GET", "POST"] if route.method == "*" else [route.method]
        found.update((m, path) for m in methods if m != "HEAD")
    return found


def test_every_route_of_the_fake_exists_in_the_jira_cloud_spec() -> None:
    missing = sorted(fake_operations() - spec_operations())

    assert missing == []


def test_the_fake_serves_the_routes_the_jira_package_calls() -> None:
    needed = {
        ("GET", "/rest/api/3/serverInfo"),
        ("GET", "/rest/api/3/myself"),
        ("GET", "/rest/api/3/field"),
        ("GET", "/rest/api/3/project"),
        ("GET", "/rest/api/3/project/{}"),
        ("POST", "/rest/api/3/issue"),
        ("GET", "/rest/api/3/issue/{}"),
        ("PUT", "/rest/api/3/issue/{}"),
        ("GET", "/rest/api/3/issue/{}/transitions"),
        ("POST", "/rest/api/3/issue/{}/transitions"),
        ("PUT", "/rest/api/3/issue/{}/assignee"),
        ("GET", "/rest/api/3/issue/{}/comment"),
        ("POST", "/rest/api/3/issue/{}/comment"),
        ("GET", "/rest/api/3/search/jql"),
        ("POST", "/rest/api/3/search/jql"),
        ("GET", "/rest/api/3/search"),
        ("GET", "/rest/api/3/user/search"),
        ("GET", "/rest/api/3/user"),
        ("GET", "/rest/api/3/mypermissions"),
    }

    assert needed <= fake_operations()


# ---------------------------------------------------------------- response shapes


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}}
        for part in schema["allOf"]:
            part = resolve(part)
            merged["properties"].update(part.get("properties", {}))
            if "additionalProperties" in part:
                merged["additionalProperties"] = part["additionalProperties"]
        return merged
    return schema


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
}


def problems(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Where `value` does not fit the spec schema (unknown keys in closed objects, wrong JSON types)."""
    schema = resolve(schema)
    if value is None:
        return []
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        props = schema.get("properties", {})
        found = [
            f"{where}.{k}: not in the spec"
            for k in value
            if k not in props and schema.get("additionalProperties") is False
        ]
        for key, item in value.items():
            if key in props:
                found += problems(item, props[key], f"{where}.{key}")
        return found
    if kind in _TYPES and not (
        isinstance(value, _TYPES[kind]) and not (kind != "boolean" and isinstance(value, bool))
    ):
        return [f"{where}: expected {kind}, got {type(value).__name__} {value!r:.40}"]
    if kind == "array":
        return [
            p
            for n, item in enumerate(value)
            for p in problems(item, schema.get("items", {}), f"{where}[{n}]")
        ]
    return []


def response_schema(path: str, method: str, status: str) -> dict[str, Any]:
    return spec()["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server() -> Iterator[JiraServer]:
    with JiraServer() as fake:
        yield fake


CASES = [
    ("GET", "/rest/api/3/serverInfo", "/rest/api/3/serverInfo", None),
    ("GET", "/rest/api/3/myself", "/rest/api/3/myself", None),
    ("GET", "/rest/api/3/field", "/rest/api/3/field", None),
    ("GET", "/rest/api/3/project", "/rest/api/3/project", None),
    ("GET", "/rest/api/3/project/{projectIdOrKey}", "/rest/api/3/project/OPS?expand=issueTypes", None),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}", "/rest/api/3/issue/OPS-12?expand=changelog", None),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions", "/rest/api/3/issue/OPS-12/transitions", None),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/comment", "/rest/api/3/issue/OPS-14/comment", None),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/changelog", "/rest/api/3/issue/OPS-12/changelog", None),
    (
        "GET",
        "/rest/api/3/search/jql",
        "/rest/api/3/search/jql?jql=project%3DOPS&fields=*all&maxResults=5",
        None,
    ),
    ("GET", "/rest/api/3/user/search", "/rest/api/3/user/search?query=maya", None),
    ("GET", "/rest/api/3/user/assignable/search", "/rest/api/3/user/assignable/search?project=OPS&query=maya", None),
    ("GET", "/rest/api/3/user", "/rest/api/3/user?accountId=5b10a2844c20165700ede21g", None),
    (
        "GET",
        "/rest/api/3/mypermissions",
        "/rest/api/3/mypermissions?permissions=BROWSE_PROJECTS,ADD_COMMENTS",
        None,
    ),
    (
        "POST",
        "/rest/api/3/issue",
        "/rest/api/3/issue",
        {"fields": {"project": {"key": "WEB"}, "summary": "Hi", "issuetype": {"name": "Task"}}},
    ),
]


@pytest.mark.parametrize(
    ("method", "spec_path", "url", "body"), CASES, ids=[c[2].split("?")[0] for c in CASES]
)
def test_responses_have_the_shape_the_spec_gives(
    server: JiraServer, method: str, spec_path: str, url: str, body: Any
) -> None:
    response = requests.request(
        method, server.url + url, json=body, auth=(server.email, server.api_token), timeout=5
    )
    status = str(response.status_code)

    assert status in spec()["paths"][spec_path][method.lower()]["responses"]
    assert problems(response.json(), response_schema(spec_path, method.lower(), status), "response") == []


def test_errors_use_jiras_error_collection(server: JiraServer) -> None:
    response = requests.get(
        f"{server.url}/rest/api/3/issue/OPS-999", auth=(server.email, server.api_token), timeout=5
    )

    assert response.status_code == 404
    assert problems(response.json(), {"$ref": "#/components/schemas/ErrorCollection"}, "error") == []
    assert set(response.json()) == {"errorMessages", "errors"}


def test_the_old_search_answers_410_on_cloud(server: JiraServer) -> None:
    response = requests.get(
        f"{server.url}/rest/api/2/search?jql=project%3DOPS", auth=(server.email, server.api_token), timeout=5
    )

    assert response.status_code == 410
    assert "CHANGE-2046" in response.json()["errorMessages"][0]
