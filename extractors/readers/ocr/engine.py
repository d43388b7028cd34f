"""The OCR engine (Tesseract ``jpn`` through tesserocr): where its data is, whether it can run,
what version reads, and one engine kept loaded per process. The reader's constants live here."""

from __future__ import annotations

import hashlib
import os
import threading
from functools import cache
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract is 2–3× slower on 2 cores without it

import numpy as np  # noqa: E402

OCR_VERSION = "2"  # bump when the image processing changes what a page reads as
DPI = 300
SCALE = DPI / 72  # pixels per PDF point
LOW_CONFIDENCE = 60.0  # cells read with less are reported (documents warnings)
MARGIN = 10  # white pixels around each line given to Tesseract
EDGE_REACH = 8  # pixels either side of a cell's edge where its ruling is erased
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
INSTALL_HINT = (
    "install Tesseract to read it: bash scripts/install-ocr.sh "
    "(apt-get install tesseract-ocr tesseract-ocr-jpn; pip install tesserocr)"
)
DIGITS = "0123456789,.()%-"


@cache
def tessdata() -> str | None:
    """The folder holding ``jpn.traineddata`` (``TESSDATA_PREFIX`` first), or None."""
    for folder in (os.environ.get("TESSDATA_PREFIX"), *TESSDATA_DIRS):
        if folder and (Path(folder) / "jpn.traineddata").is_file():
            return str(folder).rstrip("/") + "/"
    return None


def unavailable() -> str | None:
    """Why OCR cannot run here (tesserocr or the Japanese data missing), or None."""
    try:
        import tesserocr  # noqa: F401
    except ImportError:
        return "tesserocr is not installed"
    if tessdata() is None:
        return "Tesseract's Japanese data (jpn.traineddata) is not installed"
    return None


@cache
def engine_version() -> str:
    """What can change the OCR output: this reader's version, Tesseract's and the data's."""
    import tesserocr

    data = Path(tessdata() or "") / "jpn.traineddata"
    digest = hashlib.sha256(data.read_bytes()).hexdigest()[:12] if data.is_file() else "none"
    tess = tesserocr.tesseract_version().split()[1]
    source = hashlib.sha256(
        b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py")))
    ).hexdigest()[:12]
    return f"ocr{OCR_VERSION}-{source}/tesseract-{tess}/jpn-{digest}/dpi{DPI}"


class _Engine:
    """One Tesseract engine, loaded once per process and used by one page at a time."""

    _instance: _Engine | None = None
    _create = threading.Lock()

    def __init__(self) -> None:
        import tesserocr

        # RAW_LINE (13): one line, no layout analysis. Tesseract 5.5's SINGLE_LINE (7) returns
        # nothing for short lines (課題等, 実施) that 13 reads, and 13 is ~25 % faster.
        self.api = tesserocr.PyTessBaseAPI(path=tessdata(), lang="jpn", psm=tesserocr.PSM.RAW_LINE)
        self.api.SetVariable("user_defined_dpi", str(DPI))
        self.lock = threading.Lock()

    @classmethod
    def get(cls) -> _Engine:
        with cls._create:
            if cls._instance is None:
                cls._instance = _Engine()
            return cls._instance

    def set_page(self, grey: np.ndarray) -> None:
        from PIL import Image

        self.page = grey
        self.api.SetImage(Image.fromarray(grey))
        self.on_page = True

    def read(
        self, box: tuple[int, int, int, int], digits: bool = False, alone: bool = False
    ) -> tuple[str, float]:
        """Text and confidence of one line in ``box`` (x0, y0, x1, y1 pixels) of the page;
        ``alone``: the line cut out and recognised on a white margin of :data:`MARGIN` pixels
        (a lone ９ read on the page is ``e)`` at 61, alone 9 at 96)."""
        from PIL import Image

        x0, y0, x1, y1 = box
        if alone:
            crop = self.page[max(0, y0) : max(y0 + 1, y1), max(0, x0) : max(x0 + 1, x1)]
            canvas = np.full((crop.shape[0] + 2 * MARGIN, crop.shape[1] + 2 * MARGIN), 255, np.uint8)
            canvas[MARGIN : MARGIN + crop.shape[0], MARGIN : MARGIN + crop.shape[1]] = crop
            self.api.SetImage(Image.fromarray(canvas))
            self.on_page = False
        else:
            if not self.on_page:
                self.set_page(self.page)
            self.api.SetRectangle(x0, y0, max(1, x1 - x0), max(1, y1 - y0))
        self.api.SetVariable("tessedit_char_whitelist", DIGITS if digits else "")
        text = self.api.GetUTF8Text().strip()
        conf = float(self.api.MeanTextConf()) if text else 0.0
        return text, conf
