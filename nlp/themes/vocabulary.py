"""The themes' word list and label helpers, shared by the topic model and the phrase labels."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from nlp.ingest.cleaning import FILLERS

# English stop words plus spoken fillers and apostrophe-less contractions ("dont").
_EXTRA_STOP = (
    "dont didnt doesnt im ive wasnt couldnt wouldnt cant isnt gonna like just really know "
    "think mean sort thing things thats theres whats its youre theyre hes shes weve wed id "
    "ill lot lots bit got get"
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | FILLERS | set(_EXTRA_STOP.split()))

# Negations may open a theme name or sit inside one ("No parking spaces", "Phone not answered").
NEGATIONS = frozenset("not no never nobody nothing none cannot cant dont didnt doesnt".split())
# Stop words that still carry meaning in a theme name ("Good food", "Phone call back", "Not
# enough staff", "Booking system", "Two week wait"): a name may start or end with them.
NAME_CONTENT_WORDS = frozenset(
    "good great perfect serious true call bill system fire front back bottom top side full empty "
    "detail interest move name part show find found give keep take made done first last next "
    "two three four five six seven eight nine ten twelve twenty hundred thank thanks".split()
)
# Words that may open a name but not end it ("More staff needed", "Too long a wait").
NAME_OPENERS = NEGATIONS | frozenset("more less enough too few many".split())
# Words a theme name never starts or ends with, and never consists of alone.
NAME_FUNCTION_WORDS = (
    frozenset(STOP_WORDS) | frozenset("theyve youve youll theyll hed shed lets".split())
) - (NAME_CONTENT_WORDS | NEGATIONS)


def stem(word: str) -> str:
    """A crude stem so 'waiting', 'waited' and 'wait' count as one word in a label."""
    w = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


def topic_label(words: Sequence[str], n_terms: int = 3) -> str:
    """A short label from top words: each term adds a word stem not already shown."""
    chosen: list[str] = []
    for w in words:
        stems = {stem(t) for t in w.split()}
        overlap = [c for c in chosen if {stem(t) for t in c.split()} & stems]
        if not overlap:
            if len(chosen) < n_terms:
                chosen.append(w)
            continue
        # a phrase replaces the single word it extends ("wait" -> "waiting time")
        if len(overlap) == 1 and len(overlap[0].split()) == 1 and len(stems) > 1:
            chosen[chosen.index(overlap[0])] = w
    return " / ".join(chosen) if chosen else "(no label)"
