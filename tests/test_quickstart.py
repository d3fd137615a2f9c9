"""The README's Quick start and its OpenAI-SDK snippet, run as written (read from the README, so the
test breaks when the README drifts), in a folder laid out like a fresh checkout.

Two things differ from a user's run, both for running beside other tests: the port (8000 becomes a
free one, through make's PORT and the URLs), and `.venv`, which points at the environment running
these tests instead of being installed again (make sees it installed and goes on)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PHOTO = Path(__file__).parent / "fixtures" / "benign" / "coffee.jpg"


def readme_block(heading: str, language: str) -> str:
    """The first ```language block of the README section `## heading`."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block under '## {heading}'"
    return match.group(1)


def json_docs(text: str) -> list[dict[str, Any]]:
    """The JSON objects printed in `text` (curl prints them without a newline)."""
    decoder, docs, i = json.JSONDecoder(), [], 0
    while (i := text.find('{"', i)) != -1:
        try:
            doc, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i += 1
            continue
        docs.append(doc)
        i = end
    return docs


def checkout(folder: Path) -> None:
    """The Makefile and pyproject of this checkout, a `.venv` that make sees as installed, a photo."""
    shutil.copy2(ROOT / "Makefile", folder)
    shutil.copy2(ROOT / "pyproject.toml", folder)
    venv = folder / ".venv"
    venv.mkdir()
    (venv / "bin").symlink_to(Path(sys.executable).parent)
    (venv / ".installed").touch()  # newer than pyproject.toml: nothing to install
    shutil.copy(PHOTO, folder / "photo.jpg")


def test_quick_start_and_the_openai_snippet_run_as_written(tmp_path: Path) -> None:
    port = free_port()
    commands = readme_block("Quick start", "sh").replace("localhost:8000", f"localhost:{port}")
    lines = commands.splitlines()
    assert lines[-1].strip() == "make stop"
    start, stop = "\n".join(lines[:-1]), lines[-1]  # the SDK snippet runs while the server is up
    snippet = readme_block("Using the OpenAI SDK", "python").replace("localhost:8000", f"localhost:{port}")

    folder = tmp_path / "tamis"
    folder.mkdir()
    checkout(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAMIS_") and k not in ("MAKEFLAGS", "MFLAGS")}
    env["PORT"] = str(port)
    # The Quick start's shell sets KEY; the snippet reads it from the environment: hand it over.
    script = f"set -e -o pipefail\n{start}\nprintf '\\nKEY=%s\\n' \"$KEY\"\n"
    try:
        ran = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True, timeout=900)
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        out = ran.stdout
        key = re.search(r"^KEY=(\S+)$", out, re.M).group(1)  # type: ignore[union-attr]

        # make start's banner: the URL, the data directory, the database and the first key.
        assert f"http://127.0.0.1:{port}" in out, out
        assert str((folder / "tamis-data").resolve()) in out
        assert re.search(r"API key\s+tamis_\S+\s+\(project 'myforum'", out), out
        text, image = [d for d in json_docs(out) if "results" in d]
        assert text["project"] == image["project"] == "myforum"
        assert text["results"][0]["data_id"] == "post-1" and text["results"][0]["verdict"] == "block"
        assert image["results"][0]["data_id"] == "post-2" and image["results"][0]["verdict"] == "pass"
        assert {"nsfw-image", "image-safety"} <= {a["name"] for a in image["results"][0]["analyzers"]}

        sdk = subprocess.run([sys.executable, "-c", snippet], cwd=folder, env={**env, "KEY": key},
                             capture_output=True, text=True, timeout=300)
        assert sdk.returncode == 0, sdk.stderr[-3000:]
        flagged, post = sdk.stdout.splitlines()
        assert flagged.startswith("True ") and float(flagged.split()[1]) > 0.9, flagged
        assert post.startswith("False ") and float(post.split()[1]) < 0.5, post
    finally:
        stopped = subprocess.run(["bash", "-c", stop], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
        pid_file = folder / "tamis-data" / "tamis.pid"
        if pid_file.exists():  # make stop failed: do not leave a server behind
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert stopped.returncode == 0, stopped.stderr
    time.sleep(0.5)
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        raise AssertionError("the server still answers after `make stop`")
    except httpx.TransportError:
        pass
