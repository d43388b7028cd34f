"""Document kind auto-detection: score each kind by the label markers found in the grid."""

from __future__ import annotations

from core.models import Grid
from extractors.kinds import KINDS
from schemas.vocabulary import Vocabulary, label_key, vocabulary


def kind_scores(grid: Grid, vocab: Vocabulary | None = None) -> dict[str, int]:
    """How many distinct markers of each kind occur in the document (NFKC, spaces ignored)."""
    vocab = vocab or vocabulary()
    text = label_key(grid.all_text()[:200_000])
    markers = vocab.kind_markers()
    return {kind: sum(1 for m in markers.get(kind, []) if m and m in text) for kind in KINDS}


def detect_kind(grid: Grid, vocab: Vocabulary | None = None) -> str | None:
    """The best-scoring kind, or None when no kind has at least two markers or two kinds tie."""
    scores = kind_scores(grid, vocab)
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 2 or top == second:
        return None
    return best
