"""Person names in context: after titles, roles, kinship words and cue phrases ("nurse
tomasz", "spoke to siobhan", "my husband Gareth"), names coordinated with a redacted one, and
the ordinary-word test that keeps "spoke to reception" and "my husband and i" intact.

Split from pii.py (rules and orchestration); pii_names.py holds the gazetteer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from nlp.ingest.pii_names import NameTest, surname_after
from nlp.ingest.pii_words import VERBS

PERSON = "[PERSON]"

# Names in context, which a small NER model misses: after a title ("nurse Siobhan",
# "Mr Adebayo Okonkwo", "mrs jones"), after a cue ("ask for Priya", "thanks Dave"), and
# coordinated with a name already found ("[PERSON] and Bethan").
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ](?:['’][A-Z])?[a-z\u00df-\u024f][\w'’-]*"  # also O'Sullivan, Zoë
# Particles inside a name ("Mrs Ó Briain", "Dr van Dijk", "Maria de la Cruz"): only
# between name words, or after a title or cue before one.
_PARTICLE = (
    r"(?:Ó|Ní|Nic|Mac|[Vv]an|[Vv]on|[Dd]e|der|den|[Dd]a|[Dd]i|[Dd]u|[Dd]el|della|[Ll]e|[Ll]a|"
    r"dos|das|bin|ibn)"
)
_NAME = rf"(?:{_PARTICLE}\s+)?{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+){{0,2}}{_NAME_WORD}){{0,2}}"
_TITLE_NAME = re.compile(
    r"\b(?:(?i:mr|mrs|ms|miss|mx|dr|prof)\.?|(?i:doctor|nurse|sister|matron|professor|paramedic))"
    r"\s+(" + _NAME + r")"  # "Dr. Okafor", not "nurse. Ring me"
)
_SHORT_TITLE_LOWER = re.compile(r"\b(?i:mr|mrs|ms|miss|dr)\.?\s+([a-z][a-z'-]{2,})\b")
_CUE_NAME = re.compile(
    r"\b(?i:my name is|my name's|i am called|ask for|asked for|spoke to|speak to|spoke with|"
    r"talked to|talk to|talking to|speaking to|speak with|speaking with|talked with|seen by|"
    r"helped by|treated by|looked after by|referred to|thanks to|thank you to|thanks|thank you|"
    r"called|named|special mention to)\s+(" + _NAME + r")"
)
_AND_NAME = re.compile(r"(?<=\[PERSON\])(?:,\s*|\s+and\s+|\s*&\s*)(" + _NAME + r")")
# After a role or kinship word: "my caseworker Marguerite Okonkwo-Velasquez", "my husband
# Gareth", and in lower case "nurse tomasz", "i spoke to siobhan" when the word is not an
# ordinary English word ("my husband and i", "spoke to reception", "the nurse was kind").
_ROLE_WORDS = (
    r"(?:case|social|support|key|care|youth)\s?worker|keyworker|worker|advis[eo]r|officer|nurse|"
    r"doctor|receptionist|manager|supervisor|agent|consultant|midwife|teacher|counsell?or|"
    r"therapist|physio(?:therapist)?|surgeon|paramedic|pharmacist|health\s+visitor|carer|"
    r"coordinator|practitioner|assessor|matron|sister|work\s+coach|navigator|specialist|lady|"
    r"gentleman|man|woman|girl|guy|chap|lad|driver|porter|cleaner|housekeeper|dentist|"
    r"radiographer|hygienist|registrar|psychiatrist|psychologist|cpn|handler|operator|gp"
)
_ROLES = f"(?:{_ROLE_WORDS})s?|midwives"
_KIN = (
    r"husband|wife|partner|son|daughter|mother|mum|mom|mam|father|dad|brother|sister|"
    r"friend|grandson|granddaughter|grandmother|grandfather|gran|granny|nan|nana|grandma|"
    r"grandad|grandpa|uncle|aunt|auntie|aunty|niece|nephew|cousin|neighbou?r|boyfriend|"
    r"girlfriend|fianc[eé]e?|colleague|step(?:son|daughter|mum|dad)|baby|grandchild"
)
_ROLE_NAME = re.compile(r"\b(?i:" + _ROLES + "|" + _KIN + r")\s+(" + _NAME + r")")
_LOWER_WORD = r"([a-z\u00df-\u024f][\w'’-]{2,})\b"
# lower case: singular roles only ("doctors appt", "paramedics knowledgable" are not names)
_ROLE_LOWER = re.compile(r"\b(?i:" + _ROLE_WORDS + "|" + _KIN + r")\s+" + _LOWER_WORD)
_CUE_LOWER = re.compile(
    r"\b(?i:spoke|speak|speaking|talked|talk|talking)\s+(?i:to|with)\s+"
    r"|\b(?i:ask|asked|asking)\s+(?i:for)\s+|\b(?i:called|named|my name is|my name's)\s+"
)
_CUE_LOWER = re.compile(f"(?:{_CUE_LOWER.pattern}){_LOWER_WORD}")
_IS_ROLE = re.compile(r"(?i:" + _ROLES + "|" + _KIN + r")")
# Chat spellings a lower-case cue may be followed by that no word list has.
_CHAT = frozenset(
    """ive im id ill dont didnt cant couldnt wont wouldnt shouldnt isnt wasnt werent arent
    hasnt havent hadnt thats theres whats theyre youre hes shes lol pls plz thx alot abit
    aswell ok okay etc um umm uh uhm erm er hmm mm mmm mhm ah oh eh yeah yep yup nope hey hi
    wow""".split()
)
# Capitalised words after a cue that are not names in service feedback.
NOT_NAMES = frozenset(
    """ambulance service services hospital team teams staff reception receptionist everyone
    everybody all the a and for you your god nurse nurses doctor doctors ward wards care
    paramedics paramedic crew crews nhs gp surgery department unit clinic centre center
    council office desk line phone team's monday tuesday wednesday thursday friday saturday
    sunday january february march april may june july august september october november
    december a&e it this that them him her he she they we our my his me us mr mrs ms miss mx
    dr doctor sister matron prof professor said says told was is gave came did has had were
    will would could should asked called at in on from to explained saw seen prescribed
    checked who what when and or but not also just then there here very so
    """.split()
)

_SOCIAL = re.compile(r"(?<![\w@])[@#]\w|\[URL\]|\bRT\b")
_SERVICE = re.compile(
    r"\b(?i:(?:my|our|the|a|your)\s+(?:" + _ROLES + "|" + _KIN + r")|staff|reception|ward|"
    r"hospital|gp|surgery|clinic|appointment|helpline|customer\s+service|call\s+cent(?:re|er)|"
    r"spoke\s+to|spoke\s+with|called|named)\b"
)


def public_post(text: str) -> bool:
    """A social-media post (handle, hashtag, link) or a headline (mostly capitalised words)
    about no service encounter: names in it without a cue are public figures, not the people
    a service met."""
    if _SERVICE.search(text):
        return False
    words = re.findall(r"[^\W\d_][\w'’]*", text)
    headline = len(words) >= 5 and sum(w[0].isupper() for w in words) >= 0.6 * len(words)
    return headline or bool(_SOCIAL.search(text))


# Abbreviations and recent words that the name lists hold as names ("Fairview Ave", "30th
# Jul", "my wife app") and the model's word lists lack.
_ABBREVIATIONS = frozenset(
    """ave rd st ln dr blvd hwy jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues
    wed thu thur thurs fri sat sun app apps covid bluetooth wifi online login website email
    otp sms sim sims ni gran granny nan nana mum mam dad mom baby""".split()
)
# French, Spanish and German function words the name lists hold ("que", "est", "los"): a
# comment in another language is redacted too, and these are no names there.
_FOREIGN = frozenset(
    """que qui quoi est les des une pour avec dans sur pas mais ce ces cette nous vous ils
    elles je tu por para los las una uno pero como muy sin sobre entre hasta desde cuando
    donde quien und nicht mit eine auf für von""".split()
)
# Words never taken for a name, whatever the name lists say.
NOT_A_NAME = NOT_NAMES | _CHAT | _ABBREVIATIONS | _FOREIGN


def redact_names_in_context(
    text: str, is_ordinary: Callable[[str], bool] | None = None, names: NameTest | None = None
) -> tuple[str, int]:
    """Names after titles, roles, kinship words and cue phrases, and names coordinated with a
    redacted one. With `is_ordinary` (see `ordinary_words`), also lower-case names after a
    role or cue ("nurse tomasz", "spoke to siobhan"): a word it calls ordinary is kept unless
    `names` knows it as a first name; `names` also adds a surname after a redacted name."""
    n = 0

    def known(word: str) -> bool:
        return names is not None and names.cued_name(word)

    def name_only(match: re.Match) -> str:
        nonlocal n
        name = match.group(1)
        words = name.split()
        if words[0].lower() in NOT_NAMES:
            return match.group(0)
        # keep trailing words that are not names ("Dave Reception" -> "[PERSON] Reception")
        while len(words) > 1 and words[-1].lower() in NOT_NAMES:
            words.pop()
        n += 1
        start = match.start(1) - match.start(0)
        kept = " ".join(words)
        return match.group(0)[:start] + PERSON + name[len(kept) :]

    def after_role(match: re.Match) -> str:
        words = match.group(1).split()
        if _not_a_name(words[0]):
            return match.group(0)
        # "paramedics Explanation of ...": capitalised ordinary words in sentence-case text
        if is_ordinary is not None and not any(map(known, words)):
            if all(_all_ordinary(w.lower(), is_ordinary) for w in words):
                return match.group(0)
        return name_only(match)

    def lower_name(match: re.Match) -> str:
        if is_ordinary is None or not _lower_is_name(match, is_ordinary, names):
            return match.group(0)
        return name_only(match)

    rules: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
        (_TITLE_NAME, name_only),
        (_SHORT_TITLE_LOWER, name_only),
        (_CUE_NAME, after_role),
        (_ROLE_NAME, after_role),
    ]
    if is_ordinary is not None:
        rules += [(_ROLE_LOWER, lower_name), (_CUE_LOWER, lower_name)]
    for pattern, repl in [*rules, (_AND_NAME, name_only), (_AND_NAME, name_only)]:
        text = pattern.sub(repl, text)
    if names is not None:
        text = _AFTER_PERSON.sub(lambda m: _with_surname(m, names), text)
    return text, n


def _lower_is_name(
    match: re.Match, is_ordinary: Callable[[str], bool], names: NameTest | None
) -> bool:
    """A lower-case word after a role or cue is a name: a known first name, or a word that is
    no English word and is followed by a function word, punctuation or a surname."""
    word = re.sub(r"['’]s$", "", match.group(1))  # "my husband zoë's life"
    if _not_a_name(word):
        return False
    if names is not None and names.first_name(word):
        return True  # a known first name, no English word: "spoke to elif"
    after = _NEXT_NAME.match(match.string, match.end())
    if names is not None and after and not _not_a_name(after.group(1)):
        if names.strict_surname(after.group(1)) or names.surname(after.group(1).lower()):
            if "-" in after.group(1) or not is_ordinary(word):
                return True  # "called gethin evans-hughes": a name no list knows, a surname
    if not (names and names.any_name(word)) and _all_ordinary(word, is_ordinary):
        return False
    # a name is followed by a function word, a verb or punctuation ("tomasz was", "my
    # husband stephen died", "siobhan at"),
    # a misspelt word often by a content word ("dad deteriated rapidly")
    after = _NEXT_WORD.match(match.string, match.end())
    if after and not _not_a_name(after.group(1)) and after.group(1).lower() not in VERBS:
        if not (names and surname_after(after, names)):  # "called mark kaur"
            # unless both are unknown words: "called aoife higginbottom"
            return not (_all_ordinary(after.group(1).lower(), is_ordinary) or is_ordinary(word))
    return True


_AFTER_PERSON = re.compile(r"\[PERSON\][ \t]+([^\W\d_][\w'’-]*)(?=\s*([\w'’]+|[^\w\s]|$))")


def _with_surname(match: re.Match, names: NameTest) -> str:
    """ "[PERSON] okafor" -> "[PERSON]"; "[PERSON] was" kept."""
    word, follows = match.group(1), match.group(2)
    ok = names.surname(word) if word[:1].isupper() else names.after_name(word, follows)
    return PERSON if ok else match.group(0)


_CONTRACTION = re.compile(r"(?:n['’]t|['’](?:s|re|ve|ll|d|m))$")


def _not_a_name(word: str) -> bool:
    """Stop words ("couldn't" and "we're" as "could", "we"), the NOT_NAMES list, role and
    kinship words, chat spellings."""
    w = word.lower().strip("'’-")
    w = _CONTRACTION.sub("", w)
    w = {"ca": "can", "wo": "will", "sha": "shall"}.get(w, w)  # can't, won't, shan't
    return w in NOT_A_NAME or w in STOP_WORDS or bool(_IS_ROLE.fullmatch(w))


_NEXT_WORD = re.compile(r"[ \t]+([\w'’]+)")
_NEXT_NAME = re.compile(r"[ \t]+([\w'’]+(?:-[\w'’]+)*)")
_DERIVED = ("r", "er", "or", "ist", "ly", "able", "ible", "ness", "ment")


def _all_ordinary(word: str, is_ordinary: Callable[[str], bool]) -> bool:
    """Every hyphen part is a word, a derivation of one ("prescriber"), or two ("inlaw")."""
    return all(_ordinary_part(p, is_ordinary) for p in re.split(r"[-'’]", word) if p)


def _ordinary_part(w: str, is_ordinary: Callable[[str], bool]) -> bool:
    if is_ordinary(w):
        return True
    for suffix in _DERIVED:
        stem = w[: -len(suffix)]
        if w.endswith(suffix) and len(stem) >= 3 and (is_ordinary(stem) or is_ordinary(stem + "e")):
            return True
    return any(is_ordinary(w[:i]) and is_ordinary(w[i:]) for i in range(2, len(w) - 1))


@functools.lru_cache(maxsize=4)
def ordinary_words(nlp: Language) -> Callable[[str], bool] | None:
    """A test for ordinary English words: the model lemmatizer's word lists (its lemma index,
    its irregular forms, and its suffix rules: "waited" -> "wait"). None when the model has
    no lemma tables: lower-case name rules are then off (they would redact ordinary words)."""
    name = "lemmatizer"
    if name not in nlp.component_names:
        return None
    lookups = getattr(nlp.get_pipe(name), "lookups", None)
    tables = ("lemma_index", "lemma_exc", "lemma_rules")
    if lookups is None or not all(lookups.has_table(t) for t in tables):
        return None
    index = {pos: set(words) for pos, words in lookups.get_table("lemma_index").items()}
    forms = {w for table in lookups.get_table("lemma_exc").values() for w in table}
    words = set().union(*index.values()) | forms
    rules = [
        (old, new, index.get(pos, set()))
        for pos, pairs in lookups.get_table("lemma_rules").items()
        for old, new in pairs
    ]

    @functools.lru_cache(maxsize=65536)
    def is_form(word: str) -> bool:
        """An inflected form ("given", "rang", "waited"), never a name; a headword of the
        index may be one (WordNet lists "lakshmi", "macleod")."""
        if word in forms:
            return True
        return any(
            word.endswith(old) and len(word) > len(old) and word[: -len(old)] + new in known
            for old, new, known in rules
            if old
        )

    @functools.lru_cache(maxsize=65536)
    def is_ordinary(word: str) -> bool:
        return word in words or is_form(word)

    is_ordinary.is_form = is_form  # type: ignore[attr-defined]
    return is_ordinary
