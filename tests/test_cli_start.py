"""The first minutes with the command line: the version, which database a command uses, a data
directory that is not there, one project default (`TAMIS_PROJECT`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tamis import __version__
from tamis.cli import app
from tamis.config import Settings
from tamis.api.startup import Banner, masked_database

PHOTO = Path(__file__).parent / "fixtures" / "benign" / "coffee.jpg"


def tamis(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m tamis ARGS` in `cwd`, with no TAMIS_* settings but those given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAMIS_")}
    return subprocess.run([sys.executable, "-m", "tamis", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_version(tmp_path: Path) -> None:
    done = tamis("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"tamis {__version__}"


@pytest.mark.slow
def test_a_missing_data_directory_is_refused_unless_asked_to_create_it(tmp_path: Path) -> None:
    assert tamis("keys", "create", "--help", cwd=tmp_path).returncode == 0  # help needs no data directory
    refused = tamis("keys", "create", cwd=tmp_path)
    assert refused.returncode == 2
    message = " ".join(refused.stderr.split())
    assert f"data directory {tmp_path / 'tamis-data'} does not exist" in message and "--create-data-dir" in message
    assert not (tmp_path / "tamis-data").exists() and refused.stdout == ""  # no key, no empty database

    created = tamis("--verbose", "--create-data-dir", "keys", "create", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    database = tmp_path / "tamis-data" / "tamis.db"
    assert database.exists() and created.stdout.strip().startswith("tamis_")
    assert f"database: sqlite:///{database}" in " ".join(created.stderr.split()).replace("\n", "")

    elsewhere = tmp_path / "data"
    assert tamis("keys", "list", cwd=tmp_path, TAMIS_DATA_DIR=str(elsewhere)).returncode == 2
    assert not elsewhere.exists()
    assert tamis("hash", str(PHOTO), cwd=tmp_path, TAMIS_DATA_DIR=str(elsewhere)).returncode == 0  # no database


@pytest.mark.slow
def test_verbose_names_the_database_with_its_password_hidden(tmp_path: Path) -> None:
    url = "postgresql://tamis:s3cret-pw@127.0.0.1:1/nowhere"
    done = tamis("--verbose", "hash", str(PHOTO), cwd=tmp_path, TAMIS_DATABASE_URL=url)  # hash opens no database
    assert done.returncode == 0, done.stderr
    assert "database: postgresql://tamis:***@127.0.0.1:1/nowhere" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout
    settings = Settings(database_url=url, data_dir=tmp_path)
    banner = "\n".join(Banner("http://127.0.0.1:8000", settings, key=None, project="forum").lines())
    assert "s3cret" not in banner and "tamis keys create --project forum" in banner and str(tmp_path) in banner
    assert masked_database(Settings(data_dir=tmp_path, database_url=None)) == f"sqlite:///{tmp_path / 'tamis.db'}"


def test_tamis_project_is_the_default_project_of_every_command(project: str) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["bank", "create", "quickstart-bank"], env={"TAMIS_PROJECT": project})
    assert created.exit_code == 0, created.output
    assert f"in project {project!r}" in created.output
    listed = runner.invoke(app, ["bank", "list"], env={"TAMIS_PROJECT": project, "COLUMNS": "200"})
    assert "quickstart-bank" in listed.output
    assert "quickstart-bank" not in runner.invoke(app, ["bank", "list"], env={"COLUMNS": "200"}).output  # "default"
    key = runner.invoke(app, ["keys", "create"], env={"TAMIS_PROJECT": project})
    assert f"for project {project!r}" in key.output
    explicit = runner.invoke(app, ["bank", "list", "--project", "other"], env={"TAMIS_PROJECT": project, "COLUMNS": "200"})
    assert "quickstart-bank" not in explicit.output  # --project wins
