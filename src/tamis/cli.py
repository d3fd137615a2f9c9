"""The `tamis` command: serve, worker, moderate, scan, keys, policy, webhooks, bank.

Each command imports what it needs when it runs, so that `tamis --help` and `tamis keys list` do not
load the models and the web stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

app = typer.Typer(help="tamis: self-hosted content moderation.", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys (one project per key).", no_args_is_help=True)
policy_app = typer.Typer(help="Policies: thresholds, lists, analyzers; versioned.", no_args_is_help=True)
hooks_app = typer.Typer(help="Webhooks: endpoints, deliveries, replay.", no_args_is_help=True)
bank_app = typer.Typer(help="Hash banks: media hashes that block, review or (negative) clear.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(policy_app, name="policy")
app.add_typer(hooks_app, name="webhooks")
app.add_typer(bank_app, name="bank")
users_app = typer.Typer(help="Reviewers of the review workspace (/review): accounts and roles per project.", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The review workspace's audit log, as the operator reads it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
dsa_app = typer.Typer(help="EU Digital Services Act: statement settings, statements of reasons, transparency reports.", no_args_is_help=True)
app.add_typer(dsa_app, name="dsa")

err = Console(stderr=True)
# One default everywhere: $TAMIS_PROJECT, else "default" (an API call's project is its key's).
ProjectOpt = Annotated[str, typer.Option("--project", "-p", envvar="TAMIS_PROJECT", show_envvar=True,
                                         help="Project (tenant) name.")]


def _version(value: bool) -> None:
    if value:
        from tamis import __version__

        print(f"tamis {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say which data directory and database are used.")] = False,
    create_data_dir: Annotated[bool, typer.Option("--create-data-dir", help="Create the data directory if it does not exist.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """tamis: self-hosted content moderation. Settings come from TAMIS_* variables (see the README)."""
    from tamis.config import get_settings
    from tamis.api.startup import masked_database

    settings = get_settings()
    # Checked when a command first opens the database (so `--help` never needs a data directory).
    settings.create_data_dir = create_data_dir
    if verbose:
        err.print(escape(f"data dir: {settings.data_dir.resolve()}"), soft_wrap=True)
        err.print(escape(f"database: {masked_database(settings)}"), soft_wrap=True)


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
    _serve(host, port, worker)


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"


def _serve(host: str, port: int, worker: bool, banner: list[str] | None = None) -> None:
    import uvicorn

    from tamis.api import create_app
    from tamis.api.server import server_config
    from tamis.config import get_settings
    from tamis.api.startup import Banner
    from tamis.services.destinations import LISTENING_PORTS

    get_settings().resolved_database_url()  # a missing data directory ends here, not inside uvicorn
    LISTENING_PORTS.add(port)  # webhooks must never call tamis itself
    for line in banner or Banner(_url(host, port), get_settings()).lines():
        err.print(escape(line), soft_wrap=True, highlight=False)
    err.print("loading models; /readyz answers 200 once they are loaded", highlight=False)
    uvicorn.Server(server_config(create_app(embedded_worker=worker), host, port, log_level="info")).run()


def _first_key(project: str) -> str | None:
    """A new key for the project if it has no active one (the first start), else None."""
    from tamis.services import audit
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        if any(k.revoked_at is None for k in queries.list_keys(session, project)):
            return None
        key, plaintext = queries.create_key(session, project, "created by tamis up")
        audit.log(session, "key_create", actor="cli", project_id=project, key=key.id, prefix=key.prefix, name=key.name)
    return plaintext


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _pid_file() -> Path:
    from tamis.config import get_settings

    return get_settings().data_dir / "tamis.pid"


def _running_pid() -> int | None:
    try:
        pid = int(_pid_file().read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


@app.command()
def up(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    project: ProjectOpt = "default",
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Serve in the background; return once ready.")] = False,
    timeout: Annotated[float, typer.Option(help="With --detach: seconds to wait until ready.")] = 600.0,
) -> None:
    """First start in one command: create the data directory and (the first time) an API key for the
    project, print them with the URL, and serve. With --detach, return once the server is ready."""
    from tamis.config import get_settings
    from tamis.api.startup import Banner, wait_ready

    settings = get_settings()
    if not settings.data_dir.is_dir():  # also with PostgreSQL: the PDQ index, the log and the pid live there
        settings.data_dir.mkdir(parents=True)
        err.print(escape(f"created data directory {settings.data_dir.resolve()}"), soft_wrap=True)
    if (pid := _running_pid()) is not None:
        _fail(f"tamis already runs from this data directory (pid {pid}); `tamis down` stops it")
    if not _port_free(host, port):
        _fail(f"something already listens on {host}:{port}; choose another with --port")
    url = _url(host, port)
    if not detach:
        _serve(host, port, True, Banner(url, settings, _first_key(project), project).lines())
        return
    log = (settings.data_dir / "server.log").resolve()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tamis", "serve", "--host", host, "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    _pid_file().write_text(f"{proc.pid}\n")
    err.print(f"starting tamis in the background (pid {proc.pid}); loading models…", highlight=False)
    if not wait_ready(url, timeout_s=timeout, alive=lambda: proc.poll() is None):
        tail = log.read_text(errors="replace").splitlines()[-20:]
        if proc.poll() is None:
            proc.terminate()
        _pid_file().unlink(missing_ok=True)
        _fail(f"tamis did not become ready at {url} (log {log}):\n" + "\n".join(tail))
    key = _first_key(project)  # only once the server runs: a key printed for a server that failed is lost
    for line in Banner(url, settings, key, project, log).lines():
        print(line)
    print("ready; `tamis down` stops it")


@app.command()
def down(timeout: Annotated[float, typer.Option(help="Seconds to wait for it to stop.")] = 30.0) -> None:
    """Stop the server `tamis up --detach` started from this data directory."""
    import time

    pid = _running_pid()
    if pid is None:
        _pid_file().unlink(missing_ok=True)
        _fail(f"no tamis started by `tamis up --detach` runs from {_pid_file().parent.resolve()}")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if _running_pid() is not None:
        _fail(f"tamis (pid {pid}) did not stop within {timeout:g} s")
    _pid_file().unlink(missing_ok=True)
    err.print(f"stopped tamis (pid {pid})")


@app.command()
def worker() -> None:
    """Deliver webhooks and run background jobs until interrupted (run many on PostgreSQL)."""
    from tamis.services.jobs import JobLoop
    from tamis.services.retention import MediaRetentionLoop
    from tamis.store.db import session_factory
    from tamis.services.delivery import DeliveryLoop

    loops = [DeliveryLoop(session_factory()), JobLoop(session_factory()), MediaRetentionLoop(session_factory())]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for loop in loops:
        loop.start()
    err.print("tamis worker: delivering webhooks and running jobs (Ctrl-C to stop)")
    stop.wait()
    for loop in loops:
        loop.stop()
    from tamis.banks.matcher import save_matcher_snapshot

    save_matcher_snapshot()


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
    from tamis.schema import Item
    from tamis.media import decode_image
    from tamis.services.moderation import moderate as run_pipeline

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
    from tamis.tools.scan import run_scan

    try:
        summary = run_scan(directory, out, project=project, policy_id=policy, store=store)
    except LookupError:
        _fail(f"policy {policy!r} does not exist in project {project!r}")
    verdicts = ", ".join(f"{n} {v}" for v, n in summary.verdicts.items())
    err.print(f"{summary.files} files: {verdicts}; {summary.errors} errors")
    err.print(f"results: {summary.results_path}\nreport:  {summary.report_path}")


@app.command("eval")
def eval_command(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Labelled JSON lines (.jsonl or .jsonl.gz).")],
    policy: Annotated[str, typer.Option(help="Policy id whose thresholds make the predictions.")] = "default",
    project: ProjectOpt = "default",
    out: Annotated[Path, typer.Option("--out", "-o", help="Where eval.json and eval.html go.")] = Path("eval-out"),
    limit: Annotated[Optional[int], typer.Option(min=1, help="Read at most N rows from each file.")] = None,
) -> None:
    """Score labelled data with the pipeline (nothing recorded): AUPRC, ROC-AUC, P/R at the policy
    threshold and calibration per category, language, set and group; FPR per identity group on clean text."""
    from tamis.tools.eval import EvalInputError, run_eval
    from tamis.tools.eval.report import summary_tables

    try:
        report = run_eval(files, out, project=project, policy_id=policy, limit=limit)
    except EvalInputError as exc:
        for problem in exc.problems:
            err.print(escape(problem), soft_wrap=True)
        _fail(f"{len(exc.problems) + exc.more} problem(s) in the input; nothing was scored")
    except LookupError:
        _fail(f"policy {policy!r} does not exist in project {project!r}")
    for table in summary_tables(report):
        _print_table(table)
    err.print(escape(f"wrote {out / 'eval.json'} and {out / 'eval.html'}"), soft_wrap=True)



@app.command("hash")
def hash_command(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An image or a video.")]) -> None:
    """Print the PDQ (with quality), MD5 and SHA-256 of an image, or the vPDQ frames of a video."""
    from tamis.api.hashes import hash_media
    from tamis.errors import ProblemError

    try:
        _print_json(hash_media(file.read_bytes()))
    except ProblemError as exc:
        _fail(f"{file}: {exc.detail}")


@app.command()
def match(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An image or a video.")],
    project: ProjectOpt = "default",
) -> None:
    """Match an image or video against the project's banks; print the matches as JSON."""
    from tamis.api.hashes import hash_media, match_media
    from tamis.errors import ProblemError

    try:
        hashes = hash_media(file.read_bytes())
    except ProblemError as exc:
        _fail(f"{file}: {exc.detail}")
    matches = match_media(project, hashes)
    _print_json({"hashes": hashes, "matches": matches})


# --- keys ----------------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(project: ProjectOpt = "default", name: Annotated[str, typer.Option(help="A label.")] = "") -> None:
    """Create a key; it is printed once, on the last line, and stored only as a hash."""
    from tamis.store import queries
    from tamis.store.db import transaction

    from tamis.services import audit

    with transaction() as session:
        key, plaintext = queries.create_key(session, project, name)
        audit.log(session, "key_create", actor="cli", project_id=project, key=key.id, prefix=key.prefix, name=name)
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

    from tamis.services import audit
    from tamis.store.models import ApiKey

    with transaction() as session:
        if not queries.revoke_key(session, key_id):
            _fail(f"no active key {key_id}")
        key = session.get(ApiKey, key_id)
        audit.log(session, "key_revoke", actor="cli", project_id=key.project_id if key else None, key=key_id)
    err.print(f"revoked {key_id}")


# --- reviewers (the review workspace) --------------------------------------------------------------

RoleOpt = Annotated[str, typer.Option("--role", help="reviewer, moderator or admin (in --project).")]


def _password(password_stdin: bool) -> str:
    """From standard input (one line: scripts), else asked twice without echo."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _audit(session, kind: str, reviewer_id: str, project: str | None, **detail: str) -> None:  # type: ignore[no-untyped-def]
    """User changes made here go to the review audit log, by "cli" (whoever runs tamis on the server)."""
    from tamis.services import audit

    audit.log(session, kind, actor="cli", reviewer_id=reviewer_id, project_id=project, **detail)


def _reviewers_do(change) -> None:  # type: ignore[no-untyped-def]
    from tamis.services.reviewers import ReviewerError
    from tamis.store.db import transaction

    try:
        with transaction() as session:
            change(session)
    except ReviewerError as exc:
        _fail(str(exc))


@audit_app.command("sign-ins")
def audit_sign_ins(
    failed: Annotated[bool, typer.Option("--failed", help="Only failed and throttled sign-ins.")] = False,
    since: Annotated[Optional[str], typer.Option(help="From this day or time on (ISO 8601, UTC).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Sign-ins of the whole server, newest first, including failures under names that have no
    account (shown as `anonymous`: the name typed is never kept; the address is)."""
    from datetime import UTC, datetime

    from tamis.services import audit
    from tamis.store.db import transaction

    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError:
        _fail(f"--since: not an ISO 8601 day or time: {since!r}")
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    with transaction() as session:
        rows = [{"at": e.created_at.isoformat(timespec="seconds"), "kind": e.kind, "user": e.actor,
                 "no_such_account": bool(e.detail.get("unknown_user")), "address": e.detail.get("ip", ""),
                 "scope": e.detail.get("scope", "")} for e in audit.sign_ins(session, failed=failed, since=start, limit=limit)]
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    table = Table("at (UTC)", "event", "user", "address", "throttled")
    for row in rows:
        user = "anonymous (no such account)" if row["no_such_account"] else row["user"]
        table.add_row(row["at"], row["kind"], escape(user), escape(row["address"]), row["scope"])
    _print_table(table)


@users_app.command("add")
def users_add(
    username: str,
    project: ProjectOpt = "default",
    role: RoleOpt = "reviewer",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a reviewer with a role in the project (the password is asked, never an argument)."""
    from tamis.services import reviewers

    password = _password(password_stdin)
    def change(session) -> None:  # type: ignore[no-untyped-def]
        reviewer = reviewers.add(session, username, password)
        reviewers.grant(session, username, project, role)
        _audit(session, "user_add", reviewer.id, project, user=username, role=role)

    _reviewers_do(change)
    err.print(f"added {username!r} as {role} of project {project!r}; they sign in at /review")


@users_app.command("list")
def users_list(project: Annotated[Optional[str], typer.Option("--project", "-p", help="Only this project's reviewers.")] = None) -> None:
    from tamis.services import reviewers
    from tamis.store.db import transaction

    table = Table("username", "projects (role)", "disabled", "created")
    with transaction() as session:
        for r in reviewers.all_reviewers(session):
            roles = reviewers.memberships(session, r.id)
            if project and project not in {p for p, _ in roles}:
                continue
            table.add_row(r.username, ", ".join(f"{p} ({role})" for p, role in roles), "yes" if r.disabled else "",
                          r.created_at.isoformat(timespec="seconds"))
    _print_table(table)


@users_app.command("disable")
def users_disable(username: str, enable: Annotated[bool, typer.Option("--enable", help="Allow sign-in again.")] = False) -> None:
    """Stop a reviewer signing in; their sessions end now."""
    from tamis.services import reviewers

    _reviewers_do(lambda s: _audit(s, "user_enable" if enable else "user_disable", reviewers.set_disabled(s, username, not enable).id,
                                   None, user=username))
    err.print(f"{'enabled' if enable else 'disabled'} {username!r}")


@users_app.command("reset-password")
def users_reset_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """A new password; the reviewer's sessions end."""
    from tamis.services import reviewers

    password = _password(password_stdin)
    _reviewers_do(lambda s: _audit(s, "user_password", reviewers.reset_password(s, username, password).id, None, user=username))
    err.print(f"new password set for {username!r}")


@users_app.command("grant")
def users_grant(username: str, project: ProjectOpt = "default", role: RoleOpt = "reviewer") -> None:
    """Give a reviewer a role in a project (or change it)."""
    from tamis.services import reviewers

    _reviewers_do(lambda s: _audit(s, "user_grant", reviewers.grant(s, username, project, role).reviewer_id, project,
                                   user=username, role=role))
    err.print(f"{username!r} is {role} of project {project!r}")


@users_app.command("revoke")
def users_revoke(username: str, project: ProjectOpt = "default") -> None:
    """Take a reviewer out of a project."""
    from tamis.services import reviewers

    def change(session) -> None:  # type: ignore[no-untyped-def]
        if not reviewers.revoke(session, username, project):
            _fail(f"{username!r} has no role in project {project!r}")
        _audit(session, "user_revoke", reviewers.by_name(session, username).id, project, user=username)

    _reviewers_do(change)
    err.print(f"{username!r} removed from project {project!r}")


@app.command("limits")
def limits(
    project: ProjectOpt = "default",
    requests_per_s: Annotated[Optional[float], typer.Option(min=0, help="Requests per second per key (0 = no limit).")] = None,
    requests_burst: Annotated[Optional[float], typer.Option(min=1, help="Requests a key may send at once.")] = None,
    items_per_s: Annotated[Optional[float], typer.Option(min=0, help="Items judged per second per key (0 = no limit).")] = None,
    items_burst: Annotated[Optional[float], typer.Option(min=1, help="Items a key may send at once.")] = None,
    reset: Annotated[bool, typer.Option(help="Forget the project's own limits: back to TAMIS_RATE_LIMIT_*.")] = False,
) -> None:
    """Show a project's rate limits per API key as JSON; the options set its own (running servers
    apply them within 10 s)."""
    from tamis.api.ratelimit import LIMITS, Limiter
    from tamis.store import queries
    from tamis.store.db import transaction

    given = {"requests_per_s": requests_per_s, "requests_burst": requests_burst,
             "items_per_s": items_per_s, "items_burst": items_burst}
    with transaction() as session:
        own = queries.set_limits(session, project, given, reset=reset)
    effective = Limiter().limits(project)
    _print_json({"project": project, "limits": {n: getattr(effective, n) for n in LIMITS}, "own": own})


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

    from tamis.engine.policy import PolicyBody
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
    from tamis.services import audit

    with transaction() as session:
        policy = queries.put_policy(session, project, policy_id, body)
        audit.log(session, "policy_put", actor="cli", project_id=project, policy=policy_id, version=policy.version,
                  shadow=policy.shadow)
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
    from tamis.services import webhooks
    from tamis.config import get_settings
    from tamis.services.destinations import RefusedDestination, check
    from tamis.store import queries
    from tamis.store.db import transaction

    chosen = [v.strip() for v in verdicts.split(",") if v.strip()]
    if not url.startswith(("http://", "https://")):
        _fail("the URL must start with http:// or https://")
    if not chosen or set(chosen) - set(webhooks.VERDICTS):
        _fail(f"verdicts must be among {webhooks.VERDICTS}")
    try:
        check(url, get_settings().webhook_allowed_networks())
    except RefusedDestination as e:
        _fail(f"{e}: refused (allow networks with TAMIS_WEBHOOK_ALLOW_NETWORKS)")
    with transaction() as session:
        queries.ensure_project(session, project)
        hook = webhooks.create_webhook(session, project, url, verdicts=chosen, include_shadow=include_shadow)
        err.print(f"webhook {hook.id} -> {url} for {chosen}")
        print(hook.secret)


@hooks_app.command("list")
def hooks_list(project: ProjectOpt = "default") -> None:
    from tamis.services import webhooks
    from tamis.store.db import transaction

    table = Table("id", "url", "verdicts", "active", "pending", "delivered", "failed")
    with transaction() as session:
        for hook in webhooks.list_webhooks(session, project):
            counts = webhooks.delivery_counts(session, hook.id)
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
    from tamis.services import webhooks
    from tamis.store.db import transaction
    from tamis.store.models import Webhook

    if (delivery is None) == (webhook is None):
        _fail("give a delivery id or --webhook ID")
    with transaction() as session:
        if delivery:
            one = webhooks.get_delivery(session, project, delivery)
            if one is None:
                _fail(f"no delivery {delivery} in project {project!r}")
            rows = [one]
        else:
            hook = webhooks.get_webhook(session, project, str(webhook))
            rows = webhooks.list_deliveries(session, hook.id, status) if hook else []
        deleted = {r.webhook_id for r in rows if not session.get(Webhook, r.webhook_id).active}  # type: ignore[union-attr]
        if deleted:  # their deliveries would wait forever
            _fail(f"webhook {sorted(deleted)[0]} is deleted; its deliveries are not sent again")
        for row in rows:
            webhooks.replay(session, row)
    err.print(f"queued {len(rows)} deliveries again")


# --- banks ---------------------------------------------------------------------------------------

BankArg = Annotated[str, typer.Argument(help="The bank's name.")]
SignalOpt = Annotated[Optional[str], typer.Option("--signal", "-s", help="pdq, md5, sha256 or vpdq.")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", "-f", help="plain, te, te-csv, te-simple or hma.")]


@contextmanager
def _bank_session() -> Iterator[Session]:
    """A transaction whose problems (bad input, unknown bank) end the command with exit 2."""
    from tamis.errors import ProblemError
    from tamis.store.db import transaction

    try:
        with transaction() as session:
            yield session
    except ProblemError as exc:
        _fail(f"{exc.field}: {exc.detail}" if exc.field else exc.detail)


def _bank_settings(**options: object) -> dict[str, object]:
    """The options given (not None); category 'none' clears the category."""
    settings = {k: v for k, v in options.items() if v is not None}
    if settings.get("category") in ("", "none"):
        settings["category"] = None
    return settings


@bank_app.command("create")
def bank_create(
    name: BankArg,
    project: ProjectOpt = "default",
    category: Annotated[Optional[str], typer.Option(help="Taxonomy category a match counts towards.")] = None,
    action: Annotated[str, typer.Option(help="review or block.")] = "block",
    negative: Annotated[bool, typer.Option("--negative", help="Known-benign hashes that suppress matches.")] = False,
    shadow: Annotated[bool, typer.Option("--shadow", help="Only record what the bank would match.")] = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    rollout: Annotated[float, typer.Option(help="Share of traffic it applies to, 0 to 1.")] = 1.0,
    distance: Annotated[int, typer.Option(help="PDQ match distance, 0 to 31.")] = 31,
    description: Annotated[str, typer.Option(help="What the bank holds.")] = "",
) -> None:
    """Create a bank."""
    from tamis.banks import service as banks

    with _bank_session() as session:
        banks.create_bank(session, project, name, category=category, action=action, negative=negative, shadow=shadow,
                          enabled=not disabled, rollout=rollout, pdq_distance=distance, description=description)
    err.print(f"created bank {name!r} in project {project!r}")


@bank_app.command("list")
def bank_list(project: ProjectOpt = "default") -> None:
    from tamis.banks import service as banks

    table = Table("name", "category", "action", "negative", "enabled", "shadow", "rollout", "distance", "entries")
    with _bank_session() as session:
        rows = banks.list_banks(session, project)
        counts = banks.entry_counts(session, [b.id for b in rows])
        for b in rows:
            held = ", ".join(f"{s} {n}" for s, n in sorted(counts[b.id].items())) or "0"
            table.add_row(b.name, b.category or "", b.action, str(b.negative), str(b.enabled), str(b.shadow),
                          f"{b.rollout:g}", str(b.pdq_distance), held)
    _print_table(table)


@bank_app.command("show")
def bank_show(name: BankArg, project: ProjectOpt = "default") -> None:
    """Print the bank's settings and entry counts as JSON."""
    from tamis.banks import service as banks

    with _bank_session() as session:
        bank = banks.require_bank(session, project, name)
        doc = banks.bank_doc(bank, banks.entry_counts(session, [bank.id])[bank.id])
    _print_json(doc)


def _bank_update(name: str, project: str, settings: dict[str, object]) -> None:
    from tamis.banks import service as banks

    with _bank_session() as session:
        banks.update_bank(session, banks.require_bank(session, project, name), **settings)
    err.print(escape(f"bank {name!r}: " + ", ".join(f"{k}={v}" for k, v in settings.items())), soft_wrap=True)


@bank_app.command("enable")
def bank_enable(name: BankArg, project: ProjectOpt = "default") -> None:
    _bank_update(name, project, {"enabled": True})


@bank_app.command("disable")
def bank_disable(name: BankArg, project: ProjectOpt = "default") -> None:
    _bank_update(name, project, {"enabled": False})


@bank_app.command("set")
def bank_set(
    name: BankArg,
    project: ProjectOpt = "default",
    category: Annotated[Optional[str], typer.Option(help="Taxonomy category; 'none' clears it.")] = None,
    action: Annotated[Optional[str], typer.Option(help="review or block.")] = None,
    negative: Annotated[Optional[bool], typer.Option("--negative/--positive", help="Known-benign or not.")] = None,
    shadow: Annotated[Optional[bool], typer.Option("--shadow/--live", help="Only record, or act.")] = None,
    enabled: Annotated[Optional[bool], typer.Option("--enabled/--disabled")] = None,
    rollout: Annotated[Optional[float], typer.Option(help="Share of traffic, 0 to 1.")] = None,
    distance: Annotated[Optional[int], typer.Option(help="PDQ match distance, 0 to 31.")] = None,
    description: Annotated[Optional[str], typer.Option()] = None,
) -> None:
    """Change the settings given; the others stay."""
    settings = _bank_settings(category=category, action=action, negative=negative, shadow=shadow, enabled=enabled,
                              rollout=rollout, pdq_distance=distance, description=description)
    if not settings:
        _fail("nothing to change: give at least one option (see --help)")
    _bank_update(name, project, settings)


@bank_app.command("delete")
def bank_delete(name: BankArg, project: ProjectOpt = "default") -> None:
    """Remove every entry and the bank (tombstones stay for the record); the name becomes free."""
    from tamis.banks import service as banks

    with _bank_session() as session:
        removed = banks.delete_bank(session, banks.require_bank(session, project, name))
    err.print(f"deleted bank {name!r} ({removed} entries removed)")


@bank_app.command("add")
def bank_add(
    name: BankArg,
    value: Annotated[str, typer.Argument(metavar="HASH", help="Hex digits, or a vPDQ JSON frame list.")],
    signal: SignalOpt = None,
    label: Annotated[str, typer.Option(help="A label for the entry.")] = "",
    note: Annotated[str, typer.Option(help="A note.")] = "",
    source: Annotated[str, typer.Option(help="Where the hash comes from.")] = "",
    project: ProjectOpt = "default",
) -> None:
    """Add one hash; prints the new entry's id (nothing if the bank already holds it)."""
    from tamis.banks import exchange, service as banks

    try:
        signal = signal or exchange.detect_signal(value)
    except exchange.AmbiguousSignal as exc:
        _fail(f"{exc}: give --signal")
    except ValueError as exc:
        _fail(str(exc))
    with _bank_session() as session:
        result = banks.add_entries(session, banks.require_bank(session, project, name),
                                   [banks.EntryIn(signal, value, label, note, source)])
    if not result.ids:
        err.print(f"bank {name!r} already holds this {signal} hash")
        return
    err.print(f"added {signal} entry {result.ids[0]} to bank {name!r}; retro_match job {result.job_id}", soft_wrap=True)
    print(result.ids[0])


@bank_app.command("remove")
def bank_remove(
    name: BankArg,
    entry_ids: Annotated[list[int], typer.Argument(metavar="ENTRY_ID...", help="Entry ids (see `bank entries`).")],
    project: ProjectOpt = "default",
) -> None:
    """Remove entries (tombstoned: past decisions still name them). All or nothing."""
    from tamis.banks import service as banks

    with _bank_session() as session:
        removed = banks.remove_entries(session, banks.require_bank(session, project, name), entry_ids)
        missing = sorted(set(entry_ids) - set(removed))
        if missing:
            _fail(f"bank {name!r} has no live entry {', '.join(map(str, missing))}; nothing was removed")
    err.print(f"removed {len(removed)} entries from bank {name!r}")


@bank_app.command("entries")
def bank_entries(
    name: BankArg,
    signal: SignalOpt = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    before: Annotated[Optional[int], typer.Option(help="Only entries older than this id.")] = None,
    project: ProjectOpt = "default",
) -> None:
    """List live entries, newest first."""
    from tamis.banks import service as banks

    table = Table("id", "signal", "value", "label", "source", "created")
    with _bank_session() as session:
        rows = banks.list_entries(session, banks.require_bank(session, project, name), signal=signal,
                                  before=before, limit=max(1, min(limit, 10_000)))
        for e in rows:
            value = f"{len(json.loads(e.value))} frames" if e.signal == "vpdq" else e.value
            table.add_row(str(e.id), e.signal, value, e.label, e.source, e.created_at.isoformat(timespec="seconds"))
    _print_table(table)


def _read_text(file: str) -> str:
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        return data.decode("utf-8-sig")
    except OSError as exc:
        _fail(f"{file}: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        _fail(f"{file}: not UTF-8 text (byte {exc.start})")
    return ""  # not reached: _fail exits


@bank_app.command("import")
def bank_import(
    name: BankArg,
    file: Annotated[str, typer.Argument(help="The hash list; '-' reads standard input.")],
    fmt: FormatOpt = None,
    signal: SignalOpt = None,
    label: Annotated[str, typer.Option(help="Label for entries the file gives none.")] = "",
    source: Annotated[Optional[str], typer.Option(help="Source for entries the file gives none (default: the file name).")] = None,
    project: ProjectOpt = "default",
) -> None:
    """Import a hash list, all or nothing: bad lines are listed with their numbers and nothing is added.

    The format defaults to te-simple for simple.*.te files, te-csv for *.csv, plain otherwise; a
    plain list of 64-hex hashes needs --signal (pdq or sha256 look alike).
    """
    from dataclasses import replace

    from tamis.banks import exchange, service as banks

    fmt = fmt or exchange.guess_format(file)
    if fmt in ("te-simple", "hma") and signal is None:
        signal = exchange.signal_from_filename(file)
    text = _read_text(file)
    try:
        entries, errors = exchange.parse(fmt, text, signal=signal)
    except ValueError as exc:
        _fail(str(exc))
    if errors:
        for e in errors[:100]:
            err.print(f"{escape(file)}:{e.line}: {escape(e.detail)}", soft_wrap=True)
        _fail(f"{len(errors)} bad line(s) in {file}; nothing was imported")
    default_source = source if source is not None else ("" if file == "-" else Path(file).name)
    entries = [replace(e, label=e.label or label, source=e.source or default_source) for e in entries]
    with _bank_session() as session:
        result = banks.add_entries(session, banks.require_bank(session, project, name), entries)
    job = f"; retro_match job {result.job_id}" if result.job_id else ""
    err.print(f"imported {len(result.ids)} entries into bank {name!r} ({result.duplicates} duplicates skipped){job}", soft_wrap=True)


@bank_app.command("export")
def bank_export(
    name: BankArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="plain, te, te-csv, te-simple or hma.")] = "plain",
    signal: SignalOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write here instead of standard output.")] = None,
    project: ProjectOpt = "default",
) -> None:
    """Write the bank's live entries in a format `bank import` (and ThreatExchange tools) read."""
    from tamis.banks import exchange, service as banks

    with _bank_session() as session:
        bank = banks.require_bank(session, project, name)
        try:
            signal = exchange.export_signal(fmt, signal, banks.entry_counts(session, [bank.id])[bank.id])
            lines = exchange.export_lines(fmt, banks.iter_entries(session, bank, signal=signal), signal=signal,
                                          collab=bank.name, category="NEGATIVE_CLASS" if bank.negative else "POSITIVE_CLASS")
            with (out.open("w", encoding="utf-8", newline="") if out else contextlib.nullcontext(sys.stdout)) as target:
                target.writelines(lines)
        except ValueError as exc:
            _fail(str(exc))
    if out:
        err.print(escape(f"wrote bank {name!r} to {out}"), soft_wrap=True)


# --- the DSA (statements of reasons, transparency report) ---------------------------------------


def _day(value: str | None, option: str) -> datetime | None:
    """A date (YYYY-MM-DD, the day's start) or an ISO 8601 time, in UTC when no zone is given."""
    from datetime import UTC, datetime

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{option}: {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 time")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dsa_app.command("settings")
def dsa_settings_command(
    project: ProjectOpt = "default",
    set_file: Annotated[Optional[Path], typer.Option("--set", exists=True, dir_okay=False, help="A JSON file of settings to write.")] = None,
    token_stdin: Annotated[bool, typer.Option("--token-stdin", help="Read the submission token from stdin.")] = False,
) -> None:
    """Show the project's statement settings (the token is never shown), or write them from a file."""
    from pydantic import ValidationError

    from tamis.config import get_settings
    from tamis.services import destinations
    from tamis.services.dsa import settings as dsa
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        if set_file is not None or token_stdin:
            try:
                wanted = dsa.StatementSettings.model_validate_json(set_file.read_bytes()) if set_file else dsa.load(session, project)[0]
            except ValidationError as exc:
                _fail(str(exc))
            if wanted.submission.url:
                try:
                    destinations.check(wanted.submission.url, get_settings().webhook_allowed_networks())
                except destinations.RefusedDestination as exc:
                    _fail(f"submission.url refused: {exc}")
            queries.ensure_project(session, project)
            token = sys.stdin.readline().strip() if token_stdin else None
            row = dsa.save(session, project, wanted, token=token or None)
            if wanted.submission.enabled and not (wanted.submission.url and row.submission_token):
                _fail("an enabled submission needs a url and a token (--token-stdin)")
        current, row = dsa.load(session, project)
        _print_json(dsa.public_doc(current, row))


@dsa_app.command("statements")
def dsa_statements(
    since: Annotated[str, typer.Option(help="From this date (YYYY-MM-DD) or time, UTC.")],
    until: Annotated[Optional[str], typer.Option(help="Before this date or time.")] = None,
    project: ProjectOpt = "default",
    out: Annotated[Optional[Path], typer.Option(help="A directory: one batch-NNNN.json per 100 statements (else JSON lines on stdout).")] = None,
    submit: Annotated[bool, typer.Option("--submit", help="Send the statements not yet submitted to the configured endpoint.")] = False,
    restorations: Annotated[bool, typer.Option("--include-restorations", help="Also lifted restrictions (the database has no field for them).")] = False,
) -> None:
    """Statements of reasons in the batch API's shape: {"statements": [...]}, 1 to 100 per batch."""
    from tamis.services.dsa import statements as sor
    from tamis.services.dsa import submit as submission
    from tamis.store.db import transaction

    start, end = _day(since, "--since"), _day(until, "--until")
    if submit:
        rows = submission.pending(project, since=start, until=end, restorations=restorations)
        try:
            sent = submission.submit(project, rows)
        except submission.SubmissionOff as exc:
            _fail(str(exc))
        for s in sent:
            err.print(escape(f"batch {s.submission_id}: {s.count} statements, {s.error or f'accepted (HTTP {s.status_code})'}"))
        if any(s.error for s in sent):
            raise typer.Exit(1)
        return
    bodies, after = [], None
    with transaction() as session:
        while page := sor.page(session, project, since=start, until=end, after=after, limit=1000, restorations=restorations):
            bodies += [r.body for r in page]
            after = page[-1].id
    batches = sor.batches(bodies)
    if out is None:
        for batch in batches:
            sys.stdout.write(json.dumps(batch, ensure_ascii=False) + "\n")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for n, batch in enumerate(batches, 1):
            (out / f"batch-{n:04d}.json").write_text(json.dumps(batch, ensure_ascii=False, indent=1), encoding="utf-8")
    err.print(escape(f"{len(bodies)} statements in {len(batches)} batches" + (f" in {out}" if out else "")))


@dsa_app.command("report")
def dsa_report(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD), UTC.")],
    end: Annotated[str, typer.Option("--to", help="Day after the last (YYYY-MM-DD): the period is [from, to).")],
    project: ProjectOpt = "default",
    fmt: Annotated[str, typer.Option("--format", help="csv or html.")] = "html",
    out: Annotated[Optional[Path], typer.Option(help="The file to write (else stdout).")] = None,
) -> None:
    """The transparency report of a period (DSA Art. 15 and 24): CSV after the harmonised templates, or an HTML page."""
    from tamis.services.dsa import transparency
    from tamis.store.db import transaction
    from tamis.web import transparency as render

    if fmt not in ("csv", "html"):
        _fail("--format is csv or html")
    first, last = _day(start, "--from"), _day(end, "--to")
    assert first is not None and last is not None
    if first >= last:
        _fail("--from must be before --to")
    with transaction() as session:
        figures = transparency.figures(session, project, first, last)
    text = render.to_csv(figures) if fmt == "csv" else render.to_html(figures)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        err.print(escape(f"wrote {out}"))


def main() -> None:
    """The console script: `tamis`. Problems of the setting (no data directory) end with a message, exit 2."""
    from tamis.config import MissingDataDir

    try:
        app(prog_name="tamis")
    except MissingDataDir as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(2)


if __name__ == "__main__":
    main()
