"""Screenshot an HTML report in a real headless browser and check that Japanese renders.

    .venv/bin/python tools/screenshot_report.py curated/compare/kama-vs-chiba.html -o curated/compare/report.png

Needs Debian's ``chromium`` and a Japanese font (``fonts-noto-cjk`` or ``fonts-ipaexfont``):
``scripts/install-browser.sh`` installs both. The glyph check renders the report's own font
stack on a probe page: distinct Japanese characters must give distinct pixels (tofu boxes
are all alike), and differ from an unassigned code point's rendering.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.report.html import FONT_STACK  # noqa: E402

PROBE = "事業承継観光創起"  # distinct characters
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit(
        "chromium not found: run scripts/install-browser.sh (Debian's chromium + fonts-noto-cjk)"
    )


def screenshot(url: str, out: Path, size: str) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--screenshot={out}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def glyphs_render(workdir: Path) -> tuple[bool, str]:
    """Render each probe character (and U+E000) in its own box; compare the boxes' pixels."""
    from PIL import Image

    chars = [*PROBE, "\ue000"]
    boxes = "".join(f'<div class="g" style="left:{i * 100}px">{c}</div>' for i, c in enumerate(chars))
    css = (
        f".g {{position:absolute; top:50px; width:100px; height:100px; font-size:80px; line-height:100px; "
        f"text-align:center; font-family:{FONT_STACK}}}"
    )
    probe = workdir / "probe.html"
    probe.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head>'
        f'<body style="margin:0;background:#fff">{boxes}</body></html>',
        encoding="utf-8",
    )
    png = workdir / "probe.png"
    screenshot(probe.as_uri(), png, f"{100 * len(chars)},300")
    img = Image.open(png).convert("L")
    digests = [
        hashlib.sha1(img.crop((i * 100, 50, i * 100 + 100, 150)).tobytes()).hexdigest()
        for i in range(len(chars))
    ]
    japanese, unassigned = digests[:-1], digests[-1]
    distinct = len(set(japanese)) == len(japanese)
    ok = distinct and unassigned not in japanese
    return ok, f"{len(set(japanese))} distinct renderings for {len(japanese)} characters; " + (
        "Japanese glyphs render" if ok else "tofu: install a Japanese font (fonts-noto-cjk)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("html", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--size", default="1280,2400")
    args = ap.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    screenshot(args.html.resolve().as_uri(), args.output, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        ok, message = glyphs_render(Path(tmp))
    print(f"screenshot: {args.output}\nglyph check: {message}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
