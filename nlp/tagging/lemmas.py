"""Lemmas without a tagger: a spaCy component for the tagging pass.

spaCy's rule lemmatizer needs each token's part of speech, which costs the shared `tok2vec`
and the tagger: about 80 % of the tagging pass's time. Seed phrases only need inflections
folded ("waited", "waiting" -> "wait"; "hours" -> "hour"), and the same function lemmatises
the phrases and the comments, so a context-free lemma is enough. It reads the pipeline's own
rule tables (exceptions, suffix rules, the word index), guesses the part of speech from the
suffix, and memoises per word. On the NHS comments it gives the same tags as the tagger-based
lemmas in 99.7 % of comments (bench/README.md), and the tagging pass runs four times faster.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.lookups import Lookups
from spacy.tokens import Doc

POS_ORDER = {
    "ing": ("verb", "noun", "adj"),
    "ed": ("verb", "adj", "noun"),
    "s": ("noun", "verb", "adj"),
    "er": ("adj", "noun", "verb"),
    "est": ("adj", "noun", "verb"),
}
_DEFAULT_ORDER = ("verb", "noun", "adj")
# Auxiliaries and their short forms, which spaCy lemmatises from the tagger's morphology, not
# from the tables ("does" would otherwise read as the noun "doe").
AUXILIARIES = {
    **dict.fromkeys(("is", "am", "are", "was", "were", "been", "being", "'re", "'m"), "be"),
    **dict.fromkeys(("does", "doing", "did", "done"), "do"),
    **dict.fromkeys(("has", "having", "had", "'ve"), "have"),
    **dict.fromkeys(("goes", "going", "went", "gone"), "go"),
    "'ll": "will",
    "'d": "would",
}
_KEEP_ENDINGS = ("ss", "us", "is", "as", "os", "ys")  # "this", "bus", "whereas" are no plurals


class ContextFreeLemmatizer:
    """Sets `token.lemma_` from the token's norm alone (so "n't" -> "not", "ca" -> "can").

    Per word: an auxiliary's lemma ("is" -> "be", "does" -> "do"); else an exception of the
    likeliest part of speech (by suffix: "kept" -> "keep", "better" -> "good"); else the first
    suffix rule whose result is in that part of speech's index, trying the parts of speech in
    suffix order, refusing results under three letters ("bed" is not "be"); else, for a
    plural-looking word no index knows ("apps"), the word without its "s"; else the word
    itself. Call `set_tables` with the model lemmatizer's lookups first.
    """

    def __init__(self, name: str = "context_free_lemmatizer"):
        self.name = name
        self._exc: dict[str, dict] = {}
        self._rules: dict[str, list] = {}
        self._index: dict[str, set[str]] = {}
        self._memo: dict[str, str] = {}

    def set_tables(self, lookups: Lookups) -> ContextFreeLemmatizer:
        rules = lookups.get_table("lemma_rules")
        exc = lookups.get_table("lemma_exc")
        index = lookups.get_table("lemma_index")
        for pos in ("verb", "noun", "adj", "adv"):
            self._exc[pos] = dict(exc[pos]) if pos in exc else {}
            self._rules[pos] = [tuple(r) for r in rules[pos]] if pos in rules else []
            self._index[pos] = set(index[pos]) if pos in index else set()
        self._memo.clear()
        return self

    def lemma(self, word: str) -> str:
        found = self._memo.get(word)
        if found is None:
            found = self._memo[word] = self._lemma(word)
        return found

    def _lemma(self, word: str) -> str:
        if not self._index:
            raise RuntimeError(f"{self.name}: call set_tables(lookups) before use")
        if word in AUXILIARIES:
            return AUXILIARIES[word]
        order = next(
            (o for suffix, o in POS_ORDER.items() if word.endswith(suffix)), _DEFAULT_ORDER
        )
        for pos in (*order, "adv"):
            if word in self._exc[pos]:
                return self._exc[pos][word][0]
        if not word.isalpha():
            return word
        for pos in order:
            for old, new in self._rules[pos]:
                if word.endswith(old) and len(word) > len(old):
                    form = word[: len(word) - len(old)] + new
                    if len(form) >= 3 and form in self._index[pos]:
                        return form
        known = any(word in self._index[pos] for pos in self._index)
        plural = word.endswith("s") and not word.endswith(_KEEP_ENDINGS)
        # a vowel before the "s": "ups" -> "up", but "nhs" and "gps" are acronyms
        if plural and not known and len(word) >= 3 and any(v in word[:-1] for v in "aeiouy"):
            return word[:-1]
        return word

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            token.lemma_ = self.lemma(token.norm_)
        return doc


@Language.factory("context_free_lemmatizer")
def make_context_free_lemmatizer(nlp: Language, name: str) -> ContextFreeLemmatizer:
    return ContextFreeLemmatizer(name)
