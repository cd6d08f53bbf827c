"""Make the screenshots of the exports that README.md shows (docs/export-*.png).

The recording is the demo session of the UI screenshots
(testdata/recordings/demo-session.jsonl: a markup message, the weather, two bookings
one of which fails, a model failure, a slow search cancelled while it ran and its late
result, billing and back), plus one turn added here so the pictures show what the
recorded agent never does: a reply in Markdown (a list, inline code, a code block).
No agent runs.

- ``export-html-wide.png``: ``parley export -o x.html`` in Chromium, 1280 px wide;
- ``export-html-narrow.png``: the same page 390 px wide, dark colour scheme;
- ``export-cast.png``: ``parley export -o x.cast --type-delay 0.04`` in
  asciinema-player 3 (its last frame), from a local copy of the player.

Needs ``chromium`` (``apt-get install chromium``) and ``npm`` (the player is
installed with ``npm install asciinema-player@3`` into a cache directory the first
time).

Run:  .venv/bin/python docs/export_screenshots.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from parley.app.protocol import items as it
from parley.app.session.eventlog import Recording, read_log
from parley.headless.export import to_cast, to_html

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RECORDING = ROOT / "testdata" / "recordings" / "demo-session.jsonl"
PLAYER = Path(tempfile.gettempdir()) / "parley-docs-player"
MARKDOWN_REPLY = """Here is what I can do for your trip:

- check the **weather** anywhere
- look up a booking by its number, e.g. `ABC123`
- connect you to *billing*

To call me from a script:

```sh
parley say "what's the weather in Paris?" && echo ok
```"""


def recording() -> Recording:
    """The demo session with a turn answered in Markdown appended."""
    rec = read_log(RECORDING)
    last = rec.items[-1]
    seq, ts = last.seq, last.ts

    def at(item: it.ChatItem, dt: float) -> it.ChatItem:
        nonlocal seq
        seq += 1
        return dataclasses.replace(item, seq=seq, ts=ts + dt)

    more = [
        at(it.UserMessage(text="what can you do? (in **Markdown**)", turn_id="t10"), 4.0),
        at(it.AgentMessage(text=MARKDOWN_REPLY, turn_id="t10", agent_id="concierge"), 4.6),
        at(it.TurnFinished(status="ok", turn_id="t10", duration_ms=600.0), 4.7),
    ]
    return Recording(rec.header, [*rec.items, *more])


def chromium(url: str, out: Path, width: int, height: int, *, dark: bool = False) -> None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("chromium not found: apt-get install -y chromium")
    args = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--virtual-time-budget=5000",
        f"--window-size={width},{height}",
        f"--screenshot={out}",
    ]
    if dark:
        args.append("--force-dark-mode")
    subprocess.run([*args, url], check=True, capture_output=True)
    print(f"wrote {out.relative_to(ROOT)}")


def player() -> Path:
    """The asciinema-player 3 bundle directory (installed with npm once)."""
    dist = PLAYER / "node_modules" / "asciinema-player" / "dist" / "bundle"
    if not (dist / "asciinema-player.min.js").exists():
        PLAYER.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(PLAYER), "asciinema-player@3"],
            check=True,
            capture_output=True,
        )
    return dist


def player_page(cast: str, dist: Path) -> str:
    """A page that shows ``cast`` in asciinema-player at its last frame."""
    events = [json.loads(ln) for ln in cast.splitlines()[1:]]
    end = events[-1][0] if events else 0
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="{(dist / "asciinema-player.css").as_uri()}">
<style>body {{ margin: 0; background: #fff; }} #p {{ width: 1000px; margin: 10px; }}
.ap-overlay-start {{ display: none !important; }}</style>
</head><body><div id="p"></div>
<script src="{(dist / "asciinema-player.min.js").as_uri()}"></script>
<script>
AsciinemaPlayer.create({{ data: {json.dumps(cast)} }}, document.getElementById("p"),
  {{ poster: "npt:{end:.3f}", fit: "width", preload: true }});
</script></body></html>
"""


def main() -> None:
    rec = recording()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "session.html"
        page.write_text(to_html(rec), encoding="utf-8")
        chromium(page.as_uri(), DOCS / "export-html-wide.png", 1280, 2300)
        chromium(page.as_uri(), DOCS / "export-html-narrow.png", 390, 1400, dark=True)
        cast = to_cast(rec, type_delay=0.04)
        play = Path(tmp) / "cast.html"
        play.write_text(player_page(cast, player()), encoding="utf-8")
        chromium(play.as_uri(), DOCS / "export-cast.png", 1020, 730)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
