"""Schemathesis over every operation of the OpenAPI document, in process (ASGI), on the real database.

Three runs, each a bounded number of generated requests (`fuzz` marker; `make test` runs them):

- every operation with a valid key: never a 5xx; bodies of declared statuses match their schema;
  an operation that declares its error statuses (beyond FastAPI's automatic 422) answers no other;
- every `/v1` operation without a key, and with an unknown key: 401, a problem document;
- stateful: chains that follow OpenAPI links added here (create a bank -> add entries -> match
  them / export / delete one; register a webhook -> list its deliveries -> replay; moderate ->
  read the decision; write a policy -> read its version; queue a video -> read the job), with
  another project's key answering 404 for the ids the chain created.

No request leaves the machine: name resolution answers every host with a documentation address
(TEST-NET-1) that the SSRF guard refuses, so generated image, video and webhook URLs are refused
the way a private address is, and never fetched.
"""

from __future__ import annotations

import copy
import os
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, settings
from pydantic import BaseModel
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from conftest import unlimited_key
from tamis import config
from tamis.api import create_app
from tamis.api.hashes import MatchRequest
from tamis.api.openai_compat import ModerationRequest

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

# Examples per operation and steps per stateful run. TAMIS_FUZZ_EXAMPLES raises them for a long local run.
EXAMPLES = int(os.environ.get("TAMIS_FUZZ_EXAMPLES", "25"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run and machine: a failure in CI reproduces locally
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
DOCUMENTATION_ADDRESS = "192.0.2.1"  # TEST-NET-1 (RFC 5737): never routed, refused by media/fetch


def _op_id(doc: dict[str, Any], method: str, path: str) -> str:
    return doc["paths"][path][method]["operationId"]


def _link(doc: dict[str, Any], source: tuple[str, str, str], name: str, target: tuple[str, str], **spec: Any) -> None:
    method, path, status = source
    responses = doc["paths"][path][method]["responses"]
    response = responses.setdefault(status, {"description": "Success"})
    response.setdefault("links", {})[name] = {"operationId": _op_id(doc, *target), **spec}


def _json_body(doc: dict[str, Any], method: str, path: str, model: type[BaseModel]) -> None:
    """Declare the JSON body of an operation that reads its body by hand and declares none (yet)."""
    operation = doc["paths"][path][method]
    if operation.get("requestBody", {}).get("content", {}).get("application/json"):
        return
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    doc["components"]["schemas"].update(schema.pop("$defs", {}))
    content = operation.setdefault("requestBody", {"required": True}).setdefault("content", {})
    content["application/json"] = {"schema": schema}


def with_links(doc: dict[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI document with the links the stateful run follows (added for the test only),
    and the JSON bodies of /v1/match and /v1/moderations, which the app reads by hand."""
    doc = copy.deepcopy(doc)
    _json_body(doc, "post", "/v1/match", MatchRequest)
    _json_body(doc, "post", "/v1/moderations", ModerationRequest)
    bank = ("post", "/v1/banks", "201")
    by_name = {"parameters": {"path.name": "$response.body#/name"}}
    for name, target in (
        ("GetBank", ("get", "/v1/banks/{name}")),
        ("PatchBank", ("patch", "/v1/banks/{name}")),
        ("AddEntries", ("post", "/v1/banks/{name}/entries")),
        ("ListEntries", ("get", "/v1/banks/{name}/entries")),
        ("Import", ("post", "/v1/banks/{name}/import")),
        ("Export", ("get", "/v1/banks/{name}/export")),
        ("DeleteBank", ("delete", "/v1/banks/{name}")),
    ):
        _link(doc, bank, name, target, **by_name)
    added = ("post", "/v1/banks/{name}/entries", "200")
    _link(doc, added, "RemoveEntry", ("delete", "/v1/banks/{name}/entries/{entry_id}"),
          parameters={"path.name": "$request.path.name", "path.entry_id": "$response.body#/ids/0"})
    _link(doc, added, "RetroJob", ("get", "/v1/jobs/{job_id}"), parameters={"path.job_id": "$response.body#/job_id"})
    _link(doc, added, "ExportAgain", ("get", "/v1/banks/{name}/export"), parameters={"path.name": "$request.path.name"})
    # The entry just added, matched by its own value: the bank must find it.
    _link(doc, added, "MatchAdded", ("post", "/v1/match"), requestBody={
        "hashes": [{"signal": "$request.body#/0/signal", "value": "$request.body#/0/value"}]})

    hook = ("post", "/v1/webhooks", "201")
    by_id = {"parameters": {"path.webhook_id": "$response.body#/id"}}
    for name, target in (
        ("Deliveries", ("get", "/v1/webhooks/{webhook_id}/deliveries")),
        ("ReplayAll", ("post", "/v1/webhooks/{webhook_id}/replay")),
        ("DeleteWebhook", ("delete", "/v1/webhooks/{webhook_id}")),
    ):
        _link(doc, hook, name, target, **by_id)
    _link(doc, ("get", "/v1/webhooks/{webhook_id}/deliveries", "200"), "ReplayOne",
          ("post", "/v1/deliveries/{delivery_id}/replay"), parameters={"path.delivery_id": "$response.body#/deliveries/0/id"})

    decided = ("post", "/v1/moderate", "200")
    _link(doc, decided, "GetDecision", ("get", "/v1/decisions/{decision_id}"),
          parameters={"path.decision_id": "$response.body#/id"})
    _link(doc, decided, "Thumbnail", ("get", "/v1/decisions/{decision_id}/items/{data_id}/thumbnail"),
          parameters={"path.decision_id": "$response.body#/id", "path.data_id": "$response.body#/results/0/data_id"})
    _link(doc, decided, "ListByDataId", ("get", "/v1/decisions"),
          parameters={"query.data_id": "$response.body#/results/0/data_id"})

    written = ("put", "/v1/policies/{policy_id}", "201")
    _link(doc, written, "GetPolicy", ("get", "/v1/policies/{policy_id}"), parameters={"path.policy_id": "$request.path.policy_id"})
    _link(doc, written, "GetVersion", ("get", "/v1/policies/{policy_id}/versions/{version}"),
          parameters={"path.policy_id": "$request.path.policy_id", "path.version": "$response.body#/version"})
    _link(doc, ("post", "/v1/videos", "202"), "GetJob", ("get", "/v1/jobs/{job_id}"),
          parameters={"path.job_id": "$response.body#/job/id"})
    return doc


@pytest.fixture(scope="module", autouse=True)
def models_loaded(client) -> None:  # type: ignore[no-untyped-def]
    """The models are loaded (see `client`) before anything is generated: schemathesis starts the
    app's lifespan itself, whose warm-up then finds them loaded and parses nothing beside hypothesis."""


@pytest.fixture(scope="module")
def offline() -> Iterator[None]:
    """Every host name and IP literal but loopback resolves to a documentation address, which fetching
    refuses (as it refuses loopback): generated URLs are never fetched."""
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        # Loopback stays itself (the test database may be reached by name); fetching refuses it anyway.
        loopback = host in ("localhost", "127.0.0.1", "::1", b"localhost", b"127.0.0.1")
        return real(host if loopback else DOCUMENTATION_ADDRESS, port, *args, **kwargs)

    # Webhooks may be registered to that network (as an operator allows one), so that the webhook
    # chains are walked; nothing delivers in these tests (no worker runs), so nothing is sent there.
    allowed = os.environ.get("TAMIS_WEBHOOK_ALLOW_NETWORKS")
    os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"] = f"{DOCUMENTATION_ADDRESS}/32"
    config.get_settings.cache_clear()
    socket.getaddrinfo = resolve  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.getaddrinfo = real  # type: ignore[assignment]
        if allowed is None:
            del os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"]
        else:
            os.environ["TAMIS_WEBHOOK_ALLOW_NETWORKS"] = allowed
        config.get_settings.cache_clear()


def _new_key(project: str) -> str:
    return unlimited_key(project)  # thousands of requests: no 429s


@pytest.fixture(scope="module")
def fuzz_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {_new_key('fuzz-main')}"}


# The document is read from an app made at collection time (making one touches no database); the
# requests go to the session's app (`app=` below), which runs on the test database.
DOCUMENT = with_links(create_app(embedded_worker=False).openapi())
schema = schemathesis.openapi.from_dict(DOCUMENT)
# Without a valid key only requests that are valid otherwise say anything: the key must be what fails.
valid_only = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
valid_only.config.generation.update(modes=[GenerationMode.POSITIVE])


def _declares_errors(case: schemathesis.Case) -> bool:
    """Whether the operation lists its error statuses (FastAPI adds 422 to every one by itself)."""
    return any(code.startswith(("4", "5")) and code != "422" for code in case.operation.responses.status_codes)


def checks_for(case: schemathesis.Case) -> list[Any]:
    """No 5xx, bodies as documented, and every status one the operation declares."""
    checks = [not_a_server_error, response_schema_conformance]
    return checks + [status_code_conformance] if _declares_errors(case) else checks


@pytest.mark.models
@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_with_a_valid_key_never_answers_5xx(case: schemathesis.Case, app, offline, fuzz_auth) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=dict(fuzz_auth), checks=checks_for(case), app=app)


def test_an_empty_moderations_input_is_refused(client, fuzz_auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/moderations", headers=fuzz_auth, json={"input": []})
    assert response.status_code == 422, response.text


BAD_KEYS = ({}, {"Authorization": "Bearer tamis_not-a-key"}, {"Authorization": "Basic Zm9vOmJhcg=="},
            {"Authorization": "Bearer "})


@valid_only.parametrize()
@settings(FUZZ_SETTINGS, max_examples=max(2, EXAMPLES // 5), phases=[Phase.generate])
def test_every_v1_operation_without_a_valid_key_is_401(case: schemathesis.Case, app, offline) -> None:  # type: ignore[no-untyped-def]
    for headers in BAD_KEYS:
        response = case.call(headers=headers, app=app)
        if not case.operation.path.startswith("/v1/"):  # /healthz and the like need no key
            assert response.status_code < 500, response.text
            continue
        assert response.status_code == 401, (headers, response.status_code, response.text)
        assert response.headers["content-type"][0].startswith("application/problem+json")
        assert response.json()["status"] == 401
        assert response.headers["www-authenticate"][0].startswith("Bearer")


# --- stateful: chains of calls along the links, and another project's key on what they made ---------

# Paths whose ids name things a project made; another project must get 404 for every one of them.
# (Policy ids are names in each project's own namespace: every project has a "default".)
def _owned(case: schemathesis.Case) -> bool:
    return bool(case.path_parameters) and not case.operation.path.startswith("/v1/policies/")


def stateful_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The linked document with entries drawn as pdq or sha256 values (64 hex digits), so that added
    entries are valid and the chains behind them are walked (the stateless run sends the rest)."""
    doc = copy.deepcopy(doc)
    entry = doc["components"]["schemas"]["EntryModel"]
    entry["properties"]["signal"] = {"type": "string", "enum": ["pdq", "sha256"]}
    entry["properties"]["value"] = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
    body = doc["paths"]["/v1/banks/{name}/entries"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body["maxItems"] = 5
    return doc


# The operations the chains are made of (every other one is in the stateless runs): with fewer rules
# to choose from, a bounded run walks each chain to its end.
CHAIN_OPERATIONS = [
    "POST /v1/banks", "POST /v1/banks/{name}/entries", "DELETE /v1/banks/{name}/entries/{entry_id}",
    "GET /v1/banks/{name}/export", "POST /v1/match", "GET /v1/jobs/{job_id}",
    "POST /v1/webhooks", "GET /v1/webhooks/{webhook_id}/deliveries", "POST /v1/webhooks/{webhook_id}/replay",
    "POST /v1/deliveries/{delivery_id}/replay", "DELETE /v1/webhooks/{webhook_id}",
    "POST /v1/moderate", "GET /v1/decisions/{decision_id}", "GET /v1/decisions/{decision_id}/items/{data_id}/thumbnail",
    "PUT /v1/policies/{policy_id}", "GET /v1/policies/{policy_id}/versions/{version}",
]
chains = schemathesis.openapi.from_dict(stateful_document(DOCUMENT)).include(name=CHAIN_OPERATIONS)
chains.config.generation.update(modes=[GenerationMode.POSITIVE])  # negative data is the stateless run's
BANK_DEFAULTS = {"enabled": True, "rollout": 1, "negative": False, "shadow": False}


def _plain_bank(body: Any) -> bool:
    """A bank made with these settings matches every query (enabled, all traffic, not negative or shadow)."""
    return isinstance(body, dict) and all(body.get(k, v) == v for k, v in BANK_DEFAULTS.items())


def test_stateful_chains_never_answer_5xx_and_hide_their_ids_from_other_projects(app, offline) -> None:  # type: ignore[no-untyped-def]
    intruder = {"Authorization": f"Bearer {_new_key('fuzz-intruder')}"}
    answered: dict[str, list[int]] = {}
    found_again: list[bool] = []

    class Workflow(chains.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # A project per scenario: what one made cannot change what the next one is answered.
            self.auth = {"Authorization": f"Bearer {_new_key(f'fuzz-chain-{secrets.token_hex(4)}')}"}
            self.plain: set[str] = set()  # banks made in this run that match every query
            self.added: dict[tuple[str, str], str] = {}  # (signal, value) -> bank, in a plain bank

        def call(self, case: schemathesis.Case, **kwargs: Any) -> schemathesis.Response:
            # The other project goes first, so that a DELETE it could wrongly perform is seen.
            foreign = case.call(headers=dict(intruder), app=app) if _owned(case) else None
            response = case.call(headers=dict(self.auth), app=app)
            answered.setdefault(case.operation.label, []).append(response.status_code)
            if foreign is not None and 200 <= response.status_code < 300:
                assert foreign.status_code == 404, (case.operation.label, case.path_parameters, foreign.text)
            if 200 <= response.status_code < 300:
                self.follow(case, response)
            return response

        def follow(self, case: schemathesis.Case, response: schemathesis.Response) -> None:
            """Keep what the project's banks hold; a match of a value just added must find it."""
            label, name = case.operation.label, (case.path_parameters or {}).get("name")
            if label == "POST /v1/banks" and _plain_bank(case.body):
                self.plain.add(case.body["name"])
            elif label in ("PATCH /v1/banks/{name}", "DELETE /v1/banks/{name}", "DELETE /v1/banks/{name}/entries/{entry_id}"):
                self.plain.discard(name)
                self.added = {k: v for k, v in self.added.items() if v != name}
            elif label == "POST /v1/banks/{name}/entries" and name in self.plain:
                self.added.update({(e["signal"], e["value"].lower()): name for e in case.body})
            elif label == "POST /v1/match" and isinstance(case.body, dict):
                for result in response.json()["results"]:
                    bank = self.added.get((result["signal"], result["value"]))
                    if bank is not None:
                        found_again.append(any(m["bank"] == bank for m in result["matches"]))

        def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
            case.validate_response(response, checks=checks_for(case))

    # No shrinking: the database keeps what earlier runs made, so a replay would not see the same state.
    Workflow.run(settings=settings(FUZZ_SETTINGS, max_examples=EXAMPLES, stateful_step_count=10, phases=[Phase.generate]))
    succeeded = {label for label, statuses in answered.items() if any(200 <= s < 300 for s in statuses)}
    # The chains were walked, not only their first steps: something was made, then used by its id.
    for label in ("POST /v1/banks", "POST /v1/banks/{name}/entries", "POST /v1/webhooks",
                  "GET /v1/webhooks/{webhook_id}/deliveries", "POST /v1/match"):
        assert label in succeeded, (label, {k: v[:20] for k, v in answered.items()})
    assert found_again and all(found_again), found_again
