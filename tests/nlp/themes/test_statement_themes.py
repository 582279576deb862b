"""Statement-level themes on real models: a comment that raises several issues carries several
themes (clustering whole comments would give it one)."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from nlp.themes.params import ThemeSettings
from nlp.themes.registry import Registry
from nlp.themes.statements import split_statements

pytestmark = pytest.mark.slow  # the real encoder and BERTopic

PARKING = [
    "the car park was full again",
    "parking costs far too much",
    "I could not find a parking space anywhere",
    "paying for parking at the hospital is a rip off",
    "the parking machines never take cards",
    "there are not enough disabled parking bays",
    "I drove round the car park for half an hour",
    "the parking charges are a disgrace",
]
WAITING = [
    "I waited four hours to be seen",
    "the wait in A&E was far too long",
    "we sat in the waiting room all afternoon",
    "nobody told us how long the wait would be",
    "my appointment ran two hours late",
    "waiting times are getting worse every year",
    "I waited weeks for a call back",
    "the queue at the desk took forever",
]
STAFF = [
    "the nurses were kind and caring",
    "the doctor listened to every question",
    "staff were friendly and reassuring",
    "the receptionist was lovely to my mum",
    "the midwife was patient and gentle",
    "everyone treated me with respect",
    "the porter made us laugh and feel at ease",
    "the team were polite and helpful",
]
OPENERS = ["", "Honestly, ", "To be fair ", "Sadly ", "Also "]


def _corpus() -> tuple[pd.DataFrame, list[str]]:
    texts = []
    for theme in (PARKING, WAITING, STAFF):
        texts += [f"{o}{s}.".strip().capitalize() for o, s in itertools.product(OPENERS, theme)]
    pairs = list(itertools.product(PARKING[:5], STAFF[:5]))  # 25 two-issue comments
    multi = [f"{a.capitalize()}. But {b}." for a, b in pairs]
    ids = [f"s{i}" for i in range(len(texts))] + [f"m{i}" for i in range(len(multi))]
    docs = pd.DataFrame({"comment_id": ids, "text": texts + multi})
    return docs, [f"m{i}" for i in range(len(multi))]


def _first_run(statements: pd.DataFrame, emb, nlp, encoder, min_topic_size: int):
    """The themes stage's first run (empty registry, every comment new) on `statements`."""
    from nlp.embedding import embed_texts
    from nlp.themes.stage import theme_tables

    return theme_tables(
        statements=statements,
        embeddings=emb,
        previous=statements.iloc[:0].drop(columns="text"),
        new_ids=set(statements["comment_id"]),
        registry=Registry.empty(emb.shape[1]),
        saved_fit={},
        nlp=nlp,
        encode=lambda texts: embed_texts(encoder, texts),
        taxonomy_categories=[],
        settings=ThemeSettings(min_topic_size=min_topic_size, stability_sample=0),
        run_id="r1",
    )


def test_statement_themes_a_multi_issue_comment_gets_two_themes(spacy_nlp):
    from nlp.embedding import embed_texts, load_encoder

    docs, multi_ids = _corpus()
    statements = split_statements(spacy_nlp, docs)
    assert statements.groupby("comment_id").size()[multi_ids].eq(2).all()
    encoder = load_encoder()
    emb = embed_texts(encoder, statements["text"].tolist())
    tables = _first_run(statements, emb, spacy_nlp, encoder, 10)
    assert tables.result.metrics["n_topics"] >= 3, tables.topics[["label", "size"]]
    ct = tables.comment_topics.dropna(subset=["topic_id"])
    themes_per_comment = ct.groupby("comment_id").size()
    assert (themes_per_comment.reindex(multi_ids).fillna(0) >= 2).mean() >= 0.8
    # single-issue comments keep one theme
    singles = themes_per_comment.drop(multi_ids, errors="ignore")
    assert (singles == 1).mean() >= 0.95
    assert tables.fit_metadata["unit"] == "statement"


SERVICES = ["Riverside Clinic", "Northgate Surgery", "Hillview Hospital", "Castle Practice"]


def test_statement_themes_services_named_in_every_comment_do_not_become_themes(spacy_nlp):
    """Each service's comments name it ("At Riverside Clinic ..."): the themes follow the
    reason (parking / waiting / staff), not the service, once services are masked."""
    from sklearn.metrics import normalized_mutual_info_score

    from nlp.embedding import embed_texts, load_encoder
    from nlp.themes.statements import theme_input, with_theme_text

    rows = []
    for reason, sentences in (("parking", PARKING), ("waiting", WAITING), ("staff", STAFF)):
        for i, sentence in enumerate(sentences * 2):
            service = SERVICES[(i + len(rows)) % len(SERVICES)]
            frame = ("At {s} {t}", "{s}: {t}", "{t} at {s}")[i % 3]
            rows.append((service, reason, frame.format(s=service, t=sentence) + "."))
    docs = pd.DataFrame(rows, columns=["service", "reason", "text"])
    docs["comment_id"] = [f"c{i}" for i in range(len(docs))]
    statements = with_theme_text(split_statements(spacy_nlp, docs), services=SERVICES)
    assert not statements["theme_text"].str.contains("Riverside|Northgate").any()
    encoder = load_encoder()
    emb = embed_texts(encoder, statements["theme_text"].tolist())
    tables = _first_run(theme_input(statements), emb, spacy_nlp, encoder, 8)
    primary = tables.comment_topics[tables.comment_topics["is_primary"]].set_index("comment_id")
    got = primary["topic_id"].fillna(-1).reindex(docs["comment_id"]).to_numpy()
    by_reason = normalized_mutual_info_score(docs["reason"], got)
    by_service = normalized_mutual_info_score(docs["service"], got)
    assert by_reason >= 0.5 and by_service <= 0.1, (by_reason, by_service)
    labels = " ".join(tables.topics["label"].astype(str)).lower()
    assert not any(s.split()[0].lower() in labels for s in SERVICES)
