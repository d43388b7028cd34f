"""Comparing names and titles: the one compare key, and the fuzzy-match thresholds.

Documents of one plan spell the same KPI or initiative with different spacing, brackets and
punctuation (``創業塾、創業セミナーの参加人数`` / ``創業塾・創業セミナー参加人数``). Every
comparison of names — linking KPI codes, checks across documents, themes — goes through
:func:`name_key`, and every fuzzy comparison uses a threshold from here.

(Labels — the words that name a block or a column — have their own key,
:func:`schemas.vocabulary.label_key`, which also drops parenthesized notes.)
"""

from __future__ import annotations

import re

from core.normalize import clean_text

_NOISE = re.compile(r"[\s・、。,.()（）「」『』【】《》〈〉<>\[\]/／:：~〜～\-‐_＿]")

#: rapidfuzz ``ratio`` of name keys: a progress-sheet KPI ↔ the name its code is cited with.
KPI_LINK = 80.0
#: rapidfuzz ``partial_ratio``: a progress-sheet initiative ↔ an action-plan row of its measure.
INITIATIVE_MATCH = 75.0
#: rapidfuzz ``partial_ratio``: two schedule activities that say the same thing.
SAME_ACTIVITY = 70.0
#: rapidfuzz ``ratio``: a 再掲 row or a row sharing a short name repeats the other's text.
SAME_TEXT = 90.0


def name_key(text: str | None) -> str:
    """The form names are compared in: NFKC (as the normalizer does it), without white space,
    brackets or punctuation. ``創業塾、創業セミナー (人)`` → ``創業塾創業セミナー人``."""
    return _NOISE.sub("", clean_text(text))
