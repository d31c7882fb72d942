"""The pipeline end to end through the library: tables, evidence, provenance, engines."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import trustcode
from trustcode.errors import InputError, OutputError, UsageError
from trustcode.io.tables import read_tables
from trustcode.types import (
    CODING_COLUMNS,
    DOCUMENT_COLUMNS,
    MATRIX_KEY_COLUMNS,
    PASSAGE_COLUMNS,
    SUMMARY_COLUMNS,
)

from .conftest import ARTICLE, REPO

SPEC_CODES = [
    "decentralization",
    "secure_communication",
    "safe_spaces",
    "prisoner_support",
    "advocacy",
    "risk_sharing",
    "counter_information",
    "repression",
    "denunciation",
    "emigration_divide",
]

EVIDENCE_ITEM = re.compile(r'(?P<rule>[\w.-]+): "(?P<text>.*?)" \[(?P<start>\d+)-(?P<end>\d+)\]')


@pytest.fixture(scope="module")
def article_run() -> trustcode.CodingRun:
    return trustcode.code_corpus(REPO / "corpus", model=None)


def test_tables_follow_the_contract(article_run: trustcode.CodingRun) -> None:
    tables = article_run.tables
    assert list(tables["documents"].columns[: len(DOCUMENT_COLUMNS)]) == list(DOCUMENT_COLUMNS)
    assert {"group", "date", "author"} <= set(tables["documents"].columns)
    assert list(tables["passages"].columns) == list(PASSAGE_COLUMNS)
    assert list(tables["codings"].columns) == list(CODING_COLUMNS)
    assert list(tables["matrix"].columns) == [*MATRIX_KEY_COLUMNS, *SPEC_CODES]
    assert list(tables["summary"].columns) == list(SUMMARY_COLUMNS)


def test_every_code_is_coded_by_rules_in_the_article(article_run: trustcode.CodingRun) -> None:
    codings = article_run.tables["codings"]
    assert set(codings["code"]) == set(SPEC_CODES)
    assert set(codings["source"]) == {"rule"}
    assert (codings["evidence"].str.len() > 0).all()


def test_evidence_offsets_point_at_the_matched_words(article_run: trustcode.CodingRun) -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    codings = article_run.tables["codings"]
    checked = 0
    for row in codings.itertuples():
        for item in EVIDENCE_ITEM.finditer(row.evidence):
            start, end = int(item["start"]), int(item["end"])
            assert row.start <= start < end <= row.end
            assert text[start:end] == item["text"]
            assert item["rule"].split(".")[0] == row.code
            checked += 1
    assert checked >= len(codings)


def test_passages_slice_back_and_matrix_and_summary_agree(
    article_run: trustcode.CodingRun,
) -> None:
    text = ARTICLE.read_text(encoding="utf-8")
    passages = article_run.tables["passages"]
    assert all(text[p.start : p.end] == p.text for p in passages.itertuples())
    matrix = article_run.tables["matrix"].set_index("passage_id")
    codings = article_run.tables["codings"]
    for code in SPEC_CODES:
        coded = set(codings.loc[codings["code"] == code, "passage_id"])
        assert set(matrix.index[matrix[code] == 1]) == coded
    summary = article_run.tables["summary"].set_index("code")
    for code in SPEC_CODES:
        assert summary.loc[code, "passages"] == matrix[code].sum()
        assert summary.loc[code, "share"] == pytest.approx(matrix[code].sum() / len(matrix))


def test_provenance_names_codebook_unit_and_version(article_run: trustcode.CodingRun) -> None:
    prov = article_run.provenance
    book = trustcode.load_codebook()
    assert prov["codebook_sha256"] == book.sha256
    assert prov["trustcode_version"] == trustcode.__version__
    assert prov["unit"] == "paragraph"
    assert prov["model"] is None


def test_same_inputs_give_identical_tables(article_run: trustcode.CodingRun) -> None:
    again = trustcode.code_corpus(REPO / "corpus", model=None)
    for name, frame in article_run.tables.items():
        pd.testing.assert_frame_equal(frame, again.tables[name])


def test_worker_processes_give_identical_tables(tmp_path: Path) -> None:
    for i, text in enumerate(
        [
            "Volunteers write letters to political prisoners.\n\nThe court fined him.",
            "Активистов задержали у суда.\n\nАдвокаты добились освобождения.",
            "A picnic and a reading club for activists.",
        ]
    ):
        (tmp_path / f"doc{i}.txt").write_text(text, encoding="utf-8")
    one = trustcode.code_corpus(tmp_path, model=None, jobs=1)
    two = trustcode.code_corpus(tmp_path, model=None, jobs=2)
    for name, frame in one.tables.items():
        pd.testing.assert_frame_equal(frame, two.tables[name])


def test_workers_give_identical_tables_over_many_chunks_with_the_model(tmp_path: Path) -> None:
    """More documents than one worker chunk, rules and classifier, in memory and written."""
    sentences = [
        "Volunteers write letters to political prisoners every week.",
        "The court fined the activist twice and police detained three more.",
        "Активистов задержали у суда, адвокаты добились освобождения.",
        "Письма политзаключённым пишут каждую неделю.",
        "A picnic and a reading club for activists in exile.",
    ]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(23):
        paragraphs = [sentences[(i + k) % len(sentences)] for k in range(1 + i % 4)]
        (corpus / f"doc{i:02d}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    one = trustcode.code_corpus(corpus, jobs=1)
    two = trustcode.code_corpus(corpus, jobs=2)
    assert len(one.tables["documents"]) == 23
    assert (one.tables["codings"]["source"].str.contains("classifier")).any()
    for name, frame in one.tables.items():
        pd.testing.assert_frame_equal(frame, two.tables[name])
    for jobs in (1, 2):
        trustcode.code_corpus(corpus, jobs=jobs, batch_size=5, output=tmp_path / f"j{jobs}.parquet")
    written = [read_tables(tmp_path / f"j{jobs}.parquet")[0] for jobs in (1, 2)]
    for name, frame in written[0].items():
        pd.testing.assert_frame_equal(frame, written[1][name])
        pd.testing.assert_frame_equal(
            frame.reset_index(drop=True), one.tables[name], check_dtype=False
        )


def test_streamed_output_reads_back_as_the_returned_tables(
    tmp_path: Path, article_run: trustcode.CodingRun
) -> None:
    out = tmp_path / "coded.parquet"
    run = trustcode.code_corpus(REPO / "corpus", model=None, output=out, batch_size=1)
    assert run.output == out
    tables, prov = read_tables(out)
    assert prov["codebook_sha256"] == article_run.provenance["codebook_sha256"]
    for name in ("passages", "codings", "matrix", "summary"):
        pd.testing.assert_frame_equal(
            tables[name].reset_index(drop=True), article_run.tables[name], check_dtype=False
        )


def test_sentence_unit_codes_smaller_passages(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(
        "Lawyers represented the defendants in court. The weather was cold.", encoding="utf-8"
    )
    run = trustcode.code_corpus(tmp_path, unit="sentence", model=None)
    assert len(run.tables["passages"]) == 2
    assert run.tables["codings"]["passage_id"].tolist() == ["a#0"]


def test_russian_document_is_coded_by_russian_rules(tmp_path: Path) -> None:
    (tmp_path / "ru.txt").write_text(
        "В 2023 году полиция задержала участников пикета, суд назначил им штрафы.",
        encoding="utf-8",
    )
    run = trustcode.code_corpus(tmp_path, model=None)
    assert run.tables["documents"]["language"].tolist() == ["ru"]
    assert "repression" in set(run.tables["codings"]["code"])


def test_no_documents_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        trustcode.code_corpus(tmp_path, model=None)


def test_bad_jobs_and_unit_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="jobs"):
        trustcode.code_corpus(tmp_path, model=None, jobs=0)
    with pytest.raises(UsageError, match="Unknown unit"):
        trustcode.code_corpus(tmp_path, model=None, unit="page")


def test_shared_corpus_is_coded_in_both_languages(corpus_sources: Path) -> None:
    run = trustcode.code_corpus(corpus_sources, model=None)
    documents = run.tables["documents"]
    assert len(documents) == 5
    assert set(documents["language"]) == {"en", "ru"}
    coded_docs = set(run.tables["codings"]["doc_id"])
    assert coded_docs == set(documents["doc_id"])


def test_a_bad_output_name_fails_before_codebook_or_model_are_read(tmp_path: Path) -> None:
    """Neither file below exists: the output is checked first, so its error is the one given."""
    with pytest.raises(OutputError, match="unknown output format '.csv'"):
        trustcode.code_corpus(
            tmp_path,
            codebook=tmp_path / "no-such-codebook.yaml",
            model=tmp_path / "no-such-model.skops",
            output=tmp_path / "coded.csv",
        )


def test_passages_skipped_without_a_hit_or_score_would_get_no_code(corpus_sources) -> None:
    """The coder skips combining a passage with no rule hit and no score at its threshold;
    combining every passage, as the reference below does, gives the same codes."""
    from trustcode.codebook import load_codebook
    from trustcode.combine import combine
    from trustcode.io.readers import read_corpus
    from trustcode.pipeline import Coder, resolve_model
    from trustcode.pipeline.models import load_run_model

    book = load_codebook()
    coder = Coder(book, model=load_run_model(resolve_model("default", book), book))
    checked = 0
    for document in read_corpus(corpus_sources):
        coded = coder.code_document(document)
        texts = [p.text for p in coded.passages]
        scores = coder.model.predict_scores(texts)
        hits = coder.ruleset.match(coded.passages, document.language)
        expected = [
            (passage.passage_id, code, source)
            for row, passage in enumerate(coded.passages)
            for code, source, _ in combine(
                book,
                coder.ruleset.codes(hits[row]),
                coder.ruleset.vetoed(hits[row]),
                scores.iloc[row].to_dict(),
                coder.model.thresholds_,
            )
        ]
        assert [(c.passage_id, c.code, c.source) for c in coded.codings] == expected
        checked += len(expected)
    assert checked > 100


def test_lazy_imports_help_needs_no_spacy_and_coding_with_the_model_no_sklearn(
    tmp_path: Path,
) -> None:
    """Start-up cost: --help loads neither spaCy nor pandas; coding with the shipped model reads
    and applies it without importing scikit-learn or skops (about 2 s of a short run)."""
    import subprocess
    import sys

    (tmp_path / "short.txt").write_text(
        "Volunteers answer the hotline at night and send lawyers to police stations after "
        "detentions at protests.\n\nLetters keep political prisoners connected.\n",
        encoding="utf-8",
    )
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from trustcode.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('spacy', 'pandas', 'sklearn') if m in sys.modules))\n"
        "import trustcode\n"
        f"run = trustcode.code_corpus({str(tmp_path / 'short.txt')!r})\n"
        "assert len(run.tables['passages']) == 2\n"
        "assert run.provenance['model'] == 'default (shipped)', run.provenance\n"
        "print(sorted(m for m in ('spacy', 'sklearn', 'skops.io') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split("\n")[:2] == ["[]", "['spacy']"], out.stdout + out.stderr
