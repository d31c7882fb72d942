"""Codes that hold on text the model never saw: content-word features and evidence, a classifier
per code only where it earns its place, models bound to codes rather than to a codebook file,
the passages written for the codebook (training only), evaluation grouped by metadata, and
restraint on unrelated prose."""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustcode.classify import (
    ILLUSTRATIVE_CODER,
    CodeClassifier,
    load_model,
    model_metadata,
    save_model,
    stop_words_for,
    train_model,
)
from trustcode.codebook import load_codebook
from trustcode.errors import GoldError, ModelError, TrustcodeWarning
from trustcode.evaluate import evaluate
from trustcode.gold import read_gold
from trustcode.ngrams import NgramTfidf, drop_stop_chunks
from trustcode.pipeline import default_model_path
from trustcode.pipeline.models import resolve_model
from trustcode.types import Code, Codebook

from .conftest import CODEBOOK, REPO

ILLUSTRATIVE = REPO / "corpus" / "illustrative"
STOP = frozenset(stop_words_for(["en", "ru"]))
TOKEN = re.compile(r"(?u)\b\w\w+\b")


# --- features and evidence ---------------------------------------------------------------------


TEXTS = [
    "The court of appeal upheld the fine of the activist; 'of the' is not evidence.",
    "Суд оставил в силе штраф активистке, и это не было неожиданностью для них.",
    "Volunteers wrote letters to the prisoners and their families, and to the court.",
    "the of and (the) — 2012",
]


def test_stop_words_leave_word_and_character_features_as_scikit_learn_has_them() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(stop_words=sorted(STOP), ngram_range=(1, 2), sublinear_tf=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    expected_word = word.fit_transform(TEXTS).toarray()
    expected_char = char.fit_transform([drop_stop_chunks(t, STOP) for t in TEXTS]).toarray()
    fast_word = NgramTfidf.from_sklearn(word, STOP).transform(TEXTS).toarray()
    fast_char = NgramTfidf.from_sklearn(char, STOP).transform(TEXTS).toarray()
    np.testing.assert_allclose(fast_word, expected_word, atol=1e-12)
    np.testing.assert_allclose(fast_char, expected_char, atol=1e-12)
    assert "of the" not in word.vocabulary_ and "court appeal" in word.vocabulary_
    assert not any(g.strip() in {"the", "of"} for g in char.vocabulary_)


def test_a_vectorizer_with_other_stop_words_is_refused() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(stop_words=["the"]).fit(TEXTS)
    with pytest.raises(ValueError, match="stop_words"):
        NgramTfidf.from_sklearn(word, STOP)


def _toy() -> tuple[list[str], list[tuple[str, ...]]]:
    support = [
        "Volunteers of the group wrote letters to the political prisoners in the colony.",
        "The lawyers of the fund defended the detained activists in the court.",
        "They collected money for the families of the prisoners and sent parcels.",
        "Волонтёры написали письма политзаключённым и отправили им передачи.",
        "Адвокаты фонда защищали задержанных активистов в суде.",
    ]
    other = [
        "The weather in the mountains was cold and the hikers returned early.",
        "The recipe asks for the flour and the butter to be mixed by hand.",
        "The team won the match in the last minute of the game.",
        "Погода в горах была холодной, и туристы вернулись рано.",
        "В рецепте муку и масло смешивают руками до однородности.",
    ]
    return support + other, [("support",)] * len(support) + [()] * len(other)


def test_evidence_is_content_words_in_the_passage_language() -> None:
    texts, labels = _toy()
    model = CodeClassifier(folds=2, min_positives=1, stop_words=sorted(STOP)).fit(
        texts, labels, codes=["support"]
    )
    for row in model.explain(
        texts[:5] + ["They wrote to the prisoners of the camp."], "support", k=5
    ):
        assert row, "a coded passage cites some evidence"
        for feature, _ in row:
            assert not any(word in STOP for word in TOKEN.findall(feature)), feature
    # a model that keeps stop words cites phrases made with them ('activists in', 'and sent')
    plain = CodeClassifier(folds=2, min_positives=1).fit(texts, labels, codes=["support"])
    cited = {f for row in plain.explain(texts[:5], "support", k=5) for f, _ in row}
    assert any(word in STOP for f in cited for word in TOKEN.findall(f))


# --- a classifier only where it earns its place ------------------------------------------------


def test_a_classifier_that_does_not_beat_the_rules_is_left_out_with_both_figures() -> None:
    texts, labels = _toy()
    texts = [f"{t} ({i})" for i, t in enumerate(texts * 3)]
    groups = [f"d{i % 6}" for i in range(len(texts))]
    # a code the words do not tell (every third passage), which the rules find exactly: the
    # classifier can only add mistakes
    arbitrary = [("support",) if i % 3 == 0 else () for i in range(len(texts))]
    with pytest.warns(TrustcodeWarning, match=r"support \(F1 0\.\d\d with it, 1\.00 rules alone\)"):
        model = CodeClassifier(folds=3, min_positives=1, min_threshold=0.0).fit(
            texts,
            arbitrary,
            codes=["support"],
            groups=groups,
            rule_codes=[frozenset(lab) for lab in arbitrary],
        )
    assert model.classifier_codes_ == ()
    # rules that find nothing of a code the words tell: the classifier beats them and stays
    labels = labels * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)
        model = CodeClassifier(folds=3, min_positives=1).fit(
            texts, labels, codes=["support"], groups=groups, rule_codes=[frozenset()] * len(texts)
        )
    assert model.classifier_codes_ == ("support",)


def test_too_few_real_passages_cannot_take_a_classifier_away() -> None:
    texts, labels = _toy()
    counted = [i < 2 or i >= 5 for i in range(len(texts))]  # two real positives only
    model = CodeClassifier(folds=2, min_positives=1).fit(
        texts,
        [() if i == 0 else lab for i, lab in enumerate(labels)],
        codes=["support"],
        rule_codes=[frozenset(lab) for lab in labels],
        counted=counted,
    )
    assert model.classifier_codes_ == ("support",)


# --- the passages written for the codebook ------------------------------------------------------


def test_the_illustrative_set_is_marked_valid_and_covers_every_code_in_both_languages() -> None:
    book = load_codebook(CODEBOOK)
    files = sorted(ILLUSTRATIVE.glob("*.csv"))
    assert files, "corpus/illustrative holds the passages written for the codebook"
    gold = read_gold(files, codebook=book)  # unknown code ids would raise here
    assert set(gold["coder"]) == {ILLUSTRATIVE_CODER}
    assert gold["text"].is_unique
    for language in ("en", "ru"):
        part = gold[gold["language"] == language]
        for code in book.leaf_codes:
            found = sum(code.id in codes for codes in part["codes"])
            assert found >= 10, f"{code.id} has {found} {language} passages"
        assert sum(not codes for codes in part["codes"]) >= 100, f"{language} negatives"
    readme = (ILLUSTRATIVE / "README.md").read_text(encoding="utf-8")
    assert "written for the codebook" in readme and "never" in readme


def test_an_illustrative_passage_naming_an_unknown_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "written.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc_id", "text", "codes", "coder", "language"])
        writer.writerow(
            [
                "ill-1",
                "Volunteers sent letters to prisoners.",
                "prisoner_support",
                ILLUSTRATIVE_CODER,
                "en",
            ]
        )
        writer.writerow(
            ["ill-2", "Activists met in a reading club.", "safe_space", ILLUSTRATIVE_CODER, "en"]
        )
    with pytest.raises(GoldError, match=r"'safe_space' \(line 3\)"):
        read_gold(path, codebook=load_codebook(CODEBOOK))


def _gold_table(doc_groups: dict[str, str], coder: str = "ann") -> pd.DataFrame:
    texts, labels = _toy()
    rows = []
    for i, (text, codes) in enumerate(zip(texts, labels, strict=True)):
        doc = list(doc_groups)[i % len(doc_groups)]
        rows.append(
            {
                "doc_id": doc,
                "passage_id": f"{doc}#{i}",
                "start": None,
                "end": None,
                "text": text,
                "language": "ru" if re.search("[а-я]", text) else "en",
                "codes": codes,
                "coder": coder,
                "group": doc_groups[doc],
            }
        )
    return pd.DataFrame(rows)


def test_evaluate_holds_out_one_metadata_value_at_a_time_and_never_tests_written_passages() -> None:
    book = Codebook("toy", (Code("support", "Support"),), languages=("en", "ru"))
    gold = _gold_table({"a": "reports", "b": "reports", "c": "article"})
    written = _gold_table({"w1": "x"}, coder=ILLUSTRATIVE_CODER).assign(
        passage_id=lambda f: "w" + f["passage_id"]
    )
    result = evaluate(
        pd.concat([gold, written], ignore_index=True),
        book,
        group_by="group",
        train_params={"min_positives": 1, "folds": 2},
    )
    assert [(f.label, f.test_docs) for f in result.folds] == [
        ("group=reports", ("a", "b")),
        ("group=article", ("c",)),
    ]
    assert set(result.predictions["doc_id"]) == {"a", "b", "c"}  # the written ones: never tested
    by_language = evaluate(
        gold, book, group_by="language", train_params={"min_positives": 1, "folds": 2}
    )
    assert [f.label for f in by_language.folds] == ["language=en", "language=ru"]


def test_evaluate_group_by_names_what_is_missing() -> None:
    book = Codebook("toy", (Code("support", "Support"),))
    gold = _gold_table({"a": "reports", "b": "reports"})
    with pytest.raises(GoldError, match="no column 'genre'.*group"):
        evaluate(gold, book, group_by="genre")
    with pytest.raises(GoldError, match="at least 2 values"):
        evaluate(gold, book, group_by="group")
    gold.loc[gold["doc_id"] == "b", "group"] = None
    with pytest.raises(GoldError, match="no 'group' value.*: b"):
        evaluate(gold, book, group_by="group")
    with pytest.raises(GoldError, match="Every gold passage is of coder 'illustrative'"):
        evaluate(gold.assign(coder=ILLUSTRATIVE_CODER), book)


def test_cli_evaluate_group_by(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from trustcode.cli import main

    gold = _gold_table({"a": "reports", "b": "reports", "c": "article"})
    path = tmp_path / "gold.csv"
    gold.assign(codes=gold["codes"].map(";".join)).drop(
        columns=["passage_id", "start", "end"]
    ).to_csv(path, index=False)
    runner = CliRunner()
    result = runner.invoke(
        main, ["evaluate", str(path), "-c", str(CODEBOOK), "--group-by", "group"]
    )
    assert result.exit_code == 2 and "unknown code ids 'support'" in result.output
    book = tmp_path / "book.yaml"
    book.write_text(
        "name: toy\nlanguages: [en, ru]\ncodes:\n  - id: support\n    label: Support\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["evaluate", str(path), "-c", str(book), "--group-by", "group"])
    assert result.exit_code == 0, result.output
    assert "fold 1: tested on group=article (1 document(s))" in result.output
    result = runner.invoke(main, ["evaluate", str(path), "-c", str(book), "--group-by", "genre"])
    assert result.exit_code == 2 and "no column 'genre'" in result.output


# --- models bound to codes ----------------------------------------------------------------------


def _toy_model(tmp_path: Path, codes: tuple[str, ...] = ("support", "weather")) -> Path:
    texts, labels = _toy()
    labels = [lab or ("weather",) for lab in labels]
    book = Codebook("toy", tuple(Code(c, c.title()) for c in codes), sha256="a" * 64)
    gold = pd.DataFrame(
        {
            "doc_id": [f"d{i}" for i in range(len(texts))],
            "text": texts,
            "codes": [tuple(c for c in lab if c in codes) for lab in labels],
        }
    )
    model = train_model(gold, book, min_positives=1, folds=2, compare_rules=False)
    return save_model(model, tmp_path / "toy.skops", book)


def test_a_model_outlives_edits_of_its_codebook(tmp_path: Path) -> None:
    path = _toy_model(tmp_path)
    edited = Codebook(
        "toy v2",
        (Code("support", "Support of prisoners", colour="#112233"), Code("weather", "Weather")),
        sha256="b" * 64,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)
        model = load_model(path, edited)
    assert model.classifier_codes_ == ("support", "weather")
    assert model_metadata(path)["codebook_sha256"] == "a" * 64


def test_added_and_removed_codes_keep_the_others_with_one_warning(tmp_path: Path) -> None:
    path = _toy_model(tmp_path)
    changed = Codebook("toy v3", (Code("support", "Support"), Code("new", "New")))
    with pytest.warns(TrustcodeWarning) as caught:
        model = load_model(path, changed)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "rules only (the model does not know them): new" in message
    assert "not in the codebook, unused: weather" in message
    assert model.classifier_codes_ == ("support",) and model.coef_.shape[0] == 1
    texts, _ = _toy()
    assert list(model.predict_scores(texts[:2]).columns) == ["support"]
    assert model.predict([texts[0]])[0] == ("support",)


def test_a_model_sharing_no_code_with_the_codebook_is_refused_naming_both(tmp_path: Path) -> None:
    path = _toy_model(tmp_path)
    other = Codebook("cap", (Code("economy", "Economy"), Code("health", "Health")))
    with pytest.raises(ModelError, match=r"codes support, weather.*shares none.*economy, health"):
        load_model(path, other)


def test_an_edited_copy_of_the_shipped_codebook_keeps_the_default_model(tmp_path: Path) -> None:
    text = CODEBOOK.read_text(encoding="utf-8")
    edited = tmp_path / "codebook.yaml"
    edited.write_text(
        text.replace("name:", "# refined by a researcher\nname:", 1), encoding="utf-8"
    )
    book = load_codebook(edited)
    assert book.sha256 != load_codebook(CODEBOOK).sha256
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrustcodeWarning)
        assert resolve_model("default", book) == str(default_model_path())
    foreign = Codebook("cap", (Code("economy", "Economy"),))
    with pytest.warns(TrustcodeWarning, match="has none of them: coding with rules only"):
        assert resolve_model("default", foreign) is None


# --- restraint on unrelated prose, with the shipped model --------------------------------------


def _unrelated(shared: Path, language: str) -> list[str]:
    path = shared / "corpus-unrelated" / f"unrelated_{language}.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not beside this checkout (CI provides it)")
    return pd.read_csv(path)["text"].astype(str).tolist()


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_shipped_model_stays_off_unrelated_prose(shared_dir: Path, language: str) -> None:
    from trustcode.pipeline import Coder
    from trustcode.types import Document

    book = load_codebook(CODEBOOK)
    texts = _unrelated(shared_dir, language)
    coder = Coder(book, model=load_model(default_model_path(), book))
    classifier_only = any_code = 0
    cited: list[str] = []
    for i, text in enumerate(texts):
        coded = coder.code_document(Document(f"u{i}", text, language=language))
        sources = {c.source for c in coded.codings}
        any_code += bool(coded.codings)
        classifier_only += "classifier" in sources
        for coding in coded.codings:
            if "classifier" in coding.source:
                cited += re.findall(r"'([^']+)'", coding.evidence)
    # the targets: at most 3 % classifier-only, 5 % any code
    assert classifier_only <= 0.03 * len(texts), (classifier_only, len(texts))
    assert any_code <= 0.05 * len(texts), (any_code, len(texts))
    stop = [f for f in cited if all(w in STOP for w in TOKEN.findall(f.lower()))]
    assert len(stop) <= 0.1 * max(len(cited), 1)
