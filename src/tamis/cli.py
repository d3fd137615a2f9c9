"""The `tamis` command: serve, worker, moderate, scan, keys, policy, webhooks."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(help="tamis: self-hosted content moderation.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys (one project per key).", no_args_is_help=True)
policy_app = typer.Typer(help="Policies: thresholds, lists, analyzers; versioned.", no_args_is_help=True)
hooks_app = typer.Typer(help="Webhooks: endpoints, deliveries, replay.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(policy_app, name="policy")
app.add_typer(hooks_app, name="webhooks")

err = Console(stderr=True)
ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Project (tenant) name.")]


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}")  # messages quote input: never read it as markup
    raise typer.Exit(2)


def _print_json(doc: object) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _print_table(table: Table) -> None:
    """Never shorten cells to fit 80 columns (pipes, narrow terminals): ids are what other commands take."""
    from rich.measure import Measurement

    console = Console()
    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    Console(width=max(console.width, natural)).print(table)


# --- serving -----------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    worker: Annotated[bool, typer.Option(help="Deliver webhooks in this process (the embedded runner).")] = True,
) -> None:
    """Start the HTTP API (SQLite and an embedded webhook runner unless configured otherwise)."""
    import uvicorn

    from tamis.api import create_app

    uvicorn.run(create_app(embedded_worker=worker), host=host, port=port, log_level="info")


@app.command()
def worker() -> None:
    """Deliver webhooks from the outbox until interrupted (run as many as you like on PostgreSQL)."""
    from tamis.store.db import session_factory
    from tamis.webhooks import DeliveryLoop

    loop = DeliveryLoop(session_factory())
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    loop.start()
    err.print("tamis worker: delivering webhooks (Ctrl-C to stop)")
    stop.wait()
    loop.stop()


# --- judging -----------------------------------------------------------------------------------


@app.command()
def moderate(
    target: Annotated[str, typer.Argument(help="Text to judge, or the path of an image or text file.")],
    project: ProjectOpt = "default",
    policy: Annotated[str, typer.Option(help="Policy id.")] = "default",
    store: Annotated[bool, typer.Option(help="Record the decision (and send webhooks).")] = True,
    text: Annotated[bool, typer.Option("--text", help="Treat TARGET as text even if a file has that name.")] = False,
) -> None:
    """Judge one text or image and print the decision (the API's result shape)."""
    from tamis.errors import ProblemError
    from tamis.items import Item
    from tamis.media import decode_image
    from tamis.pipeline import moderate as run_pipeline

    path = Path(target)
    try:
        if not text and path.is_file():
            data = path.read_bytes()
            if path.suffix.lower() in (".txt", ".md"):
                item = Item(path.name, text=data.decode("utf-8", errors="replace"))
            else:
                item = Item(path.name, image=decode_image(data, field=str(path)))
        else:
            if not target.strip():
                _fail("text is empty")
            item = Item("cli", text=target)
        doc = run_pipeline(project, [item], policy_id=policy, source="cli", store=store)
    except ProblemError as exc:
        _fail(f"{exc.field}: {exc.detail}" if exc.field else exc.detail)
    except LookupError:
        _fail(f"policy {policy!r} does not exist in project {project!r}")
    _print_json(doc.model_dump(mode="json"))


@app.command()
def scan(
    directory: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Folder of images and text files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where results.jsonl and report.html go.")] = Path("scan-out"),
    project: ProjectOpt = "default",
    policy: Annotated[str, typer.Option(help="Policy id.")] = "default",
    store: Annotated[bool, typer.Option(help="Record the decisions.")] = False,
) -> None:
    """Judge every image and text file under DIRECTORY; write JSON lines and an HTML report."""
    from tamis.scan import run_scan

    try:
        summary = run_scan(directory, out, project=project, policy_id=policy, store=store)
    except LookupError:
        _fail(f"policy {policy!r} does not exist in project {project!r}")
    verdicts = ", ".join(f"{n} {v}" for v, n in summary.verdicts.items())
    err.print(f"{summary.files} files: {verdicts}; {summary.errors} errors")
    err.print(f"results: {summary.results_path}\nreport:  {summary.report_path}")


# --- keys ----------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(project: ProjectOpt = "default", name: Annotated[str, typer.Option(help="A label.")] = "") -> None:
    """Create a key; it is printed once, on the last line, and stored only as a hash."""
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        key, plaintext = queries.create_key(session, project, name)
        err.print(f"created key {key.id} for project {project!r}; store it now, it is not shown again")
    print(plaintext)


@keys_app.command("list")
def keys_list(project: Annotated[Optional[str], typer.Option("--project", "-p")] = None) -> None:
    from tamis.store import queries
    from tamis.store.db import transaction

    table = Table("id", "project", "prefix", "name", "created", "revoked")
    with transaction() as session:
        for k in queries.list_keys(session, project):
            table.add_row(k.id, k.project_id, k.prefix + "…", k.name, k.created_at.isoformat(timespec="seconds"),
                          k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "")
    _print_table(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        if not queries.revoke_key(session, key_id):
            _fail(f"no active key {key_id}")
    err.print(f"revoked {key_id}")


# --- policies ------------------------------------------------------------------------------------


@policy_app.command("show")
def policy_show(policy_id: Annotated[str, typer.Argument()] = "default", project: ProjectOpt = "default") -> None:
    """Print the enforced policy (and the shadow one, if any) as JSON."""
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        try:
            enforced, shadow = queries.active_policies(session, project, policy_id)
        except LookupError:
            _fail(f"policy {policy_id!r} does not exist in project {project!r}")
    doc = {"enforced": {"version": enforced.version, **enforced.body.model_dump(mode="json")}}
    if shadow:
        doc["shadow"] = {"version": shadow.version, **shadow.body.model_dump(mode="json")}
    _print_json(doc)


@policy_app.command("set")
def policy_set(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Policy JSON (see `policy show`).")],
    policy_id: Annotated[str, typer.Option("--id", help="Policy id.")] = "default",
    project: ProjectOpt = "default",
    shadow: Annotated[Optional[bool], typer.Option("--shadow/--enforce", help="Override the file's shadow flag.")] = None,
) -> None:
    """Write FILE as a new version of the policy."""
    from pydantic import ValidationError

    from tamis.policy import PolicyBody
    from tamis.store import queries
    from tamis.store.db import transaction

    try:
        raw = json.loads(file.read_text())
        raw.pop("version", None)
        if shadow is not None:
            raw["shadow"] = shadow
        body = PolicyBody.model_validate(raw)
    except (json.JSONDecodeError, ValidationError) as exc:
        _fail(f"{file}: {exc}")
    with transaction() as session:
        policy = queries.put_policy(session, project, policy_id, body)
    err.print(f"policy {policy_id!r} of {project!r} is now version {policy.version}{' (shadow)' if policy.shadow else ''}")


# --- webhooks ------------------------------------------------------------------------------------


@hooks_app.command("add")
def hooks_add(
    url: str,
    project: ProjectOpt = "default",
    verdicts: Annotated[str, typer.Option(help="Comma-separated verdicts that trigger a delivery.")] = "review,block",
    include_shadow: Annotated[bool, typer.Option(help="Also deliver shadow-policy decisions.")] = False,
) -> None:
    """Register URL; prints the signing secret on the last line."""
    from tamis import webhooks
    from tamis.store import queries
    from tamis.store.db import transaction

    chosen = [v.strip() for v in verdicts.split(",") if v.strip()]
    if not url.startswith(("http://", "https://")):
        _fail("the URL must start with http:// or https://")
    if not chosen or set(chosen) - set(webhooks.VERDICTS):
        _fail(f"verdicts must be among {webhooks.VERDICTS}")
    with transaction() as session:
        queries.ensure_project(session, project)
        hook = webhooks.create_webhook(session, project, url, verdicts=chosen, include_shadow=include_shadow)
        err.print(f"webhook {hook.id} -> {url} for {chosen}")
        print(hook.secret)


@hooks_app.command("list")
def hooks_list(project: ProjectOpt = "default") -> None:
    from sqlalchemy import func, select

    from tamis.store.db import transaction
    from tamis.store.models import Delivery, Webhook

    table = Table("id", "url", "verdicts", "active", "pending", "delivered", "failed")
    with transaction() as session:
        for hook in session.scalars(select(Webhook).where(Webhook.project_id == project)):
            counts = dict(session.execute(
                select(Delivery.status, func.count()).where(Delivery.webhook_id == hook.id).group_by(Delivery.status)
            ).all())
            table.add_row(hook.id, hook.url, ",".join(hook.verdicts), str(hook.active),
                          *(str(counts.get(s, 0)) for s in ("pending", "delivered", "failed")))
    _print_table(table)


@hooks_app.command("replay")
def hooks_replay(
    delivery: Annotated[Optional[str], typer.Argument(help="A delivery id to send again.")] = None,
    webhook: Annotated[Optional[str], typer.Option(help="Replay this webhook's deliveries instead.")] = None,
    status: Annotated[str, typer.Option(help="With --webhook: failed, delivered or all.")] = "failed",
    project: ProjectOpt = "default",
) -> None:
    """Queue deliveries again; the running server or worker sends them."""
    from sqlalchemy import select

    from tamis import webhooks
    from tamis.store.db import transaction
    from tamis.store.models import Delivery

    if (delivery is None) == (webhook is None):
        _fail("give a delivery id or --webhook ID")
    with transaction() as session:
        query = select(Delivery).where(Delivery.project_id == project)
        if delivery:
            query = query.where(Delivery.id == delivery)
        else:
            query = query.where(Delivery.webhook_id == webhook)
            if status != "all":
                query = query.where(Delivery.status == status)
        rows = list(session.scalars(query))
        if delivery and not rows:
            _fail(f"no delivery {delivery} in project {project!r}")
        for row in rows:
            webhooks.replay(session, row)
    err.print(f"queued {len(rows)} deliveries again")


if __name__ == "__main__":
    app()
