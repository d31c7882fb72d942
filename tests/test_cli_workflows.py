"""The commands beyond `code`: train, evaluate, compare, agree, report, export, import, and
codebook export/import — each driven through the CLI, checked through the library."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from trustcode.cli import main
from trustcode.io.tables import read_tables

from .conftest import REPO

EN = [
    ("Volunteers write letters to political prisoners every week.", "prisoner_support"),
    ("Lawyers from the hotline defended the detained protesters in court.", "prisoner_support"),
    ("Police detained forty people at the rally and the court fined them.", "repression"),
    ("He was arrested and sentenced to five years for a post.", "repression"),
    ("The weather in the capital was mild that spring.", ""),
    ("The organization published its annual budget.", ""),
]
RU = [
    ("Волонтеры пишут письма политзаключенным каждую неделю.", "prisoner_support"),
    ("Адвокаты защищали задержанных активистов в суде.", "prisoner_support"),
    ("Полиция задержала участников пикета, суд назначил штрафы.", "repression"),
    ("Его арестовали и приговорили к пяти годам колонии.", "repression"),
    ("Весна в столице была теплой.", ""),
    ("Организация опубликовала годовой бюджет.", ""),
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def gold_csv(tmp_path: Path) -> Path:
    rows = []
    for doc, items in (
        ("en1", EN[:3] + EN[4:5]),
        ("en2", EN[3:4] + EN[5:]),
        ("ru1", RU[:3] + RU[4:5]),
        ("ru2", RU[3:4] + RU[5:]),
    ):
        rows += [
            {"doc_id": doc, "text": text, "codes": codes, "coder": "ann"} for text, codes in items
        ]
    path = tmp_path / "gold.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def coded(tmp_path: Path, runner: CliRunner) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "manifest.csv").write_text(
        "doc_id,path,group\nen,en.txt,left\nru,ru.txt,stayed\n", encoding="utf-8"
    )
    (docs / "en.txt").write_text("\n\n".join(t for t, _ in EN), encoding="utf-8")
    (docs / "ru.txt").write_text("\n\n".join(t for t, _ in RU), encoding="utf-8")
    out = tmp_path / "coded.xlsx"
    result = runner.invoke(main, ["code", str(docs), "-o", str(out), "-m", "none"])
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_a_model_that_code_uses(
    runner: CliRunner, gold_csv: Path, tmp_path: Path, coded: Path
) -> None:
    model = tmp_path / "model.skops"
    result = runner.invoke(main, ["train", str(gold_csv), "-o", str(model)])
    assert result.exit_code == 0, result.output
    assert "Trained on" in result.output and model.is_file()
    out = tmp_path / "with-model.parquet"
    docs = tmp_path / "docs"
    result = runner.invoke(main, ["code", str(docs), "-m", str(model), "-o", str(out)])
    assert result.exit_code == 0, result.output
    tables, prov = read_tables(out)
    assert prov["model"] == str(model) and len(prov["model_sha256"]) == 64
    again = runner.invoke(main, ["train", str(gold_csv), "-o", str(model)])
    assert again.exit_code == 2 and "--force" in again.output


def test_model_for_another_codebook_is_refused(
    runner: CliRunner, gold_csv: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.skops"
    assert runner.invoke(main, ["train", str(gold_csv), "-o", str(model)]).exit_code == 0
    other = tmp_path / "other.yaml"
    other.write_text(
        "name: other\ncodes:\n  - id: x\n    label: X\n    rules: [{phrases: [x]}]\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        main,
        [
            "code",
            str(tmp_path / "docs"),
            "-c",
            str(other),
            "-m",
            str(model),
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2 and "trained for" in result.output
    assert not (tmp_path / "o").exists()


def test_evaluate_prints_and_writes_metrics(
    runner: CliRunner, gold_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "evaluation.xlsx"
    result = runner.invoke(main, ["evaluate", str(gold_csv), "--folds", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "== all: precision, recall, F1 and Krippendorff's alpha" in result.output
    # the metrics README and --help promise, side by side for each system
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["system"])
    assert lines[at].split() == ["system", "rules", "classifier", "combined"]
    assert lines[at + 1].split() == ["precision", "recall", "f1", "alpha"] * 3
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert {"metrics", "f1_all", "disagreements"} <= set(sheets)


def test_evaluate_rejects_unknown_codes(runner: CliRunner, tmp_path: Path) -> None:
    gold = tmp_path / "g.csv"
    gold.write_text("doc_id,text,codes\nd,Some text.,solidarity\n", encoding="utf-8")
    result = runner.invoke(main, ["evaluate", str(gold)])
    assert result.exit_code == 2 and "solidarity" in result.output
    assert "Traceback" not in result.output


def test_compare_by_group_writes_tables_and_figures(
    runner: CliRunner, coded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "comparison.xlsx"
    result = runner.invoke(main, ["compare", str(coded), "--by", "group", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert sheets == ["by_document", "by_group", "tests", "cooccurrence", "similarity", "exemplars"]
    figures = sorted(p.name for p in (tmp_path / "comparison-figures").iterdir())
    assert figures == sorted(
        f"{n}.{s}"
        for n in ("code_document", "shares_by_group", "cooccurrence")
        for s in ("png", "svg")
    )


def test_compare_by_a_missing_column_lists_the_columns(
    runner: CliRunner, coded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "c.xlsx"
    result = runner.invoke(main, ["compare", str(coded), "--by", "wave", "-o", str(out)])
    assert result.exit_code == 2 and "group" in result.output
    assert not out.exists()


def test_agree_with_itself_is_perfect_and_writes_tables(
    runner: CliRunner, coded: Path, tmp_path: Path
) -> None:
    out = tmp_path / "agreement"
    result = runner.invoke(main, ["agree", str(coded), str(coded), "-o", str(out)])
    assert result.exit_code == 0, result.output
    overall = pd.read_csv(out / "overall.csv")
    assert overall.loc[0, "percent_agreement"] == 1.0
    assert sorted(p.name for p in out.iterdir()) == [
        "disagreements.csv",
        "overall.csv",
        "per_code.csv",
    ]


def test_agree_gold_against_machine(
    runner: CliRunner, gold_csv: Path, coded: Path, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["agree", str(gold_csv), str(coded), "--unit", "document"])
    # the gold documents (en1, ru1, ...) are not the coded ones (en, ru): say which
    assert result.exit_code == 2 and "en1" in result.output


def test_report_is_written_once(runner: CliRunner, coded: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["report", str(coded), "--by", "group", "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "Support of political prisoners" in html and "<svg" in html
    again = runner.invoke(main, ["report", str(coded), "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


def test_export_and_import_round_trip(runner: CliRunner, coded: Path, tmp_path: Path) -> None:
    project = tmp_path / "project.qdpx"
    result = runner.invoke(main, ["export", str(coded), "--to", "qdpx", "-o", str(project)])
    assert result.exit_code == 0, result.output
    back = tmp_path / "back.xlsx"
    result = runner.invoke(main, ["import", str(project), "-o", str(back)])
    assert result.exit_code == 0, result.output
    original, _ = read_tables(coded)
    imported, _ = read_tables(back)
    pairs = {(r.doc_id, r.start, r.end, r.code) for r in original["codings"].itertuples()}
    assert {(r.doc_id, r.start, r.end, r.code) for r in imported["codings"].itertuples()} == pairs
    assert set(imported["codings"]["source"]) == {"human"}


def test_codebook_export_and_import(runner: CliRunner, tmp_path: Path) -> None:
    qdc = tmp_path / "codebook.qdc"
    result = runner.invoke(
        main, ["codebook", "export", str(REPO / "codebook.yaml"), "--to", "qdc", "-o", str(qdc)]
    )
    assert result.exit_code == 0, result.output
    skeleton = tmp_path / "skeleton.yaml"
    result = runner.invoke(main, ["codebook", "import", str(qdc), "-o", str(skeleton)])
    assert result.exit_code == 0, result.output
    from trustcode.codebook import load_codebook

    assert load_codebook(skeleton).code_ids == load_codebook(REPO / "codebook.yaml").code_ids


def test_codebook_import_of_a_liwc_dictionary(runner: CliRunner, tmp_path: Path) -> None:
    dic = tmp_path / "trust.dic"
    dic.write_text("%\n1\tsupport\n2\tfear\n%\nhelp*\t1\nlawyer\t1\nafraid\t2\n", encoding="utf-8")
    out = tmp_path / "cb.yaml"
    result = runner.invoke(main, ["codebook", "import", str(dic), "-o", str(out)])
    assert result.exit_code == 0, result.output
    check = runner.invoke(main, ["codebook", "show", str(out)])
    assert "support" in check.output and "fear" in check.output


def test_schema_output_is_json(runner: CliRunner) -> None:
    assert "properties" in json.loads(runner.invoke(main, ["codebook", "schema"]).output)


def test_review_round_trip_through_the_cli(runner: CliRunner, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(
        "Volunteers write letters to political prisoners every week.\n\n"
        "Police detained forty people at the rally.",
        encoding="utf-8",
    )
    sheet = tmp_path / "review.xlsx"
    result = runner.invoke(main, ["code", str(docs), "--review", "-o", str(sheet), "-m", "none"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(sheet)
    ws = book["review"]
    header = [c.value for c in ws[1]]
    decision = header.index("repression: decision") + 1
    added = header.index("added_codes") + 1
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, header.index("repression") + 1).value:
            ws.cell(row, decision, "accept")
        else:
            ws.cell(row, added, "advocacy")
    book.save(sheet)
    agreement = tmp_path / "agreement"
    result = runner.invoke(main, ["agree", str(sheet), str(sheet), "-o", str(agreement)])
    assert result.exit_code == 0, result.output
    codes = pd.read_csv(agreement / "per_code.csv")
    assert set(codes["code"]) >= {"repression", "advocacy"}
    model = tmp_path / "m.skops"
    result = runner.invoke(main, ["train", str(sheet), "-o", str(model), "--unreviewed", "accept"])
    assert result.exit_code == 0, result.output


def test_review_needs_an_xlsx(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Some text here.", encoding="utf-8")
    result = runner.invoke(
        main, ["code", str(tmp_path / "a.txt"), "--review", "-o", str(tmp_path / "r.parquet")]
    )
    assert result.exit_code == 2 and ".xlsx" in result.output


def test_codebook_diagnose_and_diff(runner: CliRunner, tmp_path: Path) -> None:
    corpus = REPO / "corpus"
    out = tmp_path / "diagnosis.xlsx"
    result = runner.invoke(
        main, ["codebook", "diagnose", str(corpus), "-m", "none", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Rules that never fire" in result.output
    assert "rules" in openpyxl.load_workbook(out, read_only=True).sheetnames
    import yaml

    data = yaml.safe_load((REPO / "codebook.yaml").read_text(encoding="utf-8"))
    data["codes"][1]["rules"] = []  # decentralization loses every rule
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    diff = tmp_path / "diff"
    result = runner.invoke(
        main,
        [
            "codebook",
            "diff",
            str(REPO / "codebook.yaml"),
            str(edited),
            str(corpus),
            "-o",
            str(diff),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "decentralization: +0 / -4 passages" in result.output
    lost = pd.read_csv(diff / "passages.csv")
    assert set(lost["code"]) == {"decentralization"}


def test_redact_on_code_export_and_report(runner: CliRunner, tmp_path: Path) -> None:
    doc = tmp_path / "pii.txt"
    doc.write_text(
        "Anna Petrova wrote to anna@example.org and +7 916 123-45-67.\n\n"
        "Anna Petrova was detained by police.",
        encoding="utf-8",
    )
    names = tmp_path / "names.txt"
    names.write_text("Anna Petrova\n", encoding="utf-8")
    out = tmp_path / "coded"
    result = runner.invoke(
        main,
        ["code", str(doc), "--redact", "--redact-names", str(names), "-m", "none", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    tables, prov = read_tables(out)
    texts = " ".join(tables["passages"]["text"])
    assert "Petrova" not in texts and "example.org" not in texts and "916" not in texts
    assert texts.count("[PERSON-1]") == 2  # the same name, the same pseudonym
    for p in tables["passages"].itertuples():
        assert p.end - p.start == len(p.text)
    assert prov["options"]["redacted"] is True

    plain = tmp_path / "plain"
    assert runner.invoke(main, ["code", str(doc), "-m", "none", "-o", str(plain)]).exit_code == 0
    report = tmp_path / "r.html"
    result = runner.invoke(
        main, ["report", str(plain), "--redact", "--redact-names", str(names), "-o", str(report)]
    )
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    assert "Petrova" not in html and "[PERSON-1]" in html
    project = tmp_path / "p.qdpx"
    result = runner.invoke(main, ["export", str(plain), "--redact", "-o", str(project)])
    assert result.exit_code == 0, result.output
    import zipfile

    with zipfile.ZipFile(project) as archive:
        sources = [
            archive.read(n).decode("utf-8") for n in archive.namelist() if n.startswith("sources/")
        ]
    assert sources and all("example.org" not in s for s in sources)


def test_redact_names_needs_redact(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Some text here.", encoding="utf-8")
    result = runner.invoke(
        main,
        ["code", str(tmp_path / "a.txt"), "--redact-names", "x.txt", "-o", str(tmp_path / "o")],
    )
    assert result.exit_code == 2 and "--redact" in result.output


def test_code_straight_to_a_qdpx_project(runner: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "project.qdpx"
    result = runner.invoke(main, ["code", str(REPO / "corpus"), "-m", "none", "-o", str(project)])
    assert result.exit_code == 0, result.output
    back = tmp_path / "back"
    assert runner.invoke(main, ["import", str(project), "-o", str(back)]).exit_code == 0
    imported, _ = read_tables(back)
    assert len(set(imported["codings"]["code"])) == 10
    again = runner.invoke(main, ["code", str(REPO / "corpus"), "-m", "none", "-o", str(project)])
    assert again.exit_code == 2 and "--force" in again.output


def test_train_and_evaluate_with_the_codebook_definitions(
    runner: CliRunner, gold_csv: Path, tmp_path: Path
) -> None:
    from trustcode.classify import code_descriptions, model_metadata
    from trustcode.codebook import load_codebook

    plain, described = tmp_path / "plain.skops", tmp_path / "described.skops"
    result = runner.invoke(main, ["train", str(gold_csv), "--no-definitions", "-o", str(plain)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["train", str(gold_csv), "-o", str(described)])  # the default
    assert result.exit_code == 0, result.output
    extra = sum(len(code_descriptions(c)) for c in load_codebook().leaf_codes)
    assert model_metadata(described)["definitions"] is True
    assert "definitions" not in model_metadata(plain)
    assert (
        model_metadata(described)["training_size"] == model_metadata(plain)["training_size"] + extra
    )

    result = runner.invoke(main, ["evaluate", str(gold_csv), "--folds", "2", "--definitions"])
    assert result.exit_code == 0, result.output
    assert "== all: precision, recall, F1 and Krippendorff's alpha" in result.output
    result = runner.invoke(
        main, ["evaluate", str(gold_csv), "--definitions", "--model", str(described)]
    )
    assert result.exit_code == 2
    assert (
        "Drop definitions, or model to cross-validate. Command line: --definitions, --model."
        in result.output
    )
    assert "Traceback" not in result.output


class _FakeEncoder:
    """Stands in for a sentence encoder: hashes words into 6 numbers."""

    def encode(self, texts: list[str], **_: object) -> object:
        import numpy as np

        out = np.zeros((len(texts), 6))
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(map(ord, word)) % 6] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_train_and_evaluate_with_embeddings_from_the_cli(
    runner: CliRunner, gold_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trustcode import embeddings
    from trustcode.classify import model_metadata

    monkeypatch.setitem(embeddings.ENCODERS, "fake", "no_such_package")
    monkeypatch.setitem(embeddings.DIMENSIONS, "fake", 6)
    monkeypatch.setattr(embeddings, "_encoder", lambda name: _FakeEncoder())
    monkeypatch.setattr(embeddings, "_CACHE", {})
    model = tmp_path / "embedded.skops"
    result = runner.invoke(main, ["train", str(gold_csv), "--embeddings", "fake", "-o", str(model)])
    assert result.exit_code == 0, result.output
    assert model_metadata(model)["params"]["embeddings"] == "fake"
    result = runner.invoke(
        main, ["evaluate", str(gold_csv), "--folds", "2", "--embeddings", "fake"]
    )
    assert result.exit_code == 0, result.output
    assert "== all: precision, recall, F1" in result.output
    result = runner.invoke(
        main, ["evaluate", str(gold_csv), "--embeddings", "fake", "--model", str(model)]
    )
    assert result.exit_code == 2
    assert (
        "Drop embeddings, or model to cross-validate. Command line: --embeddings, --model."
        in result.output
    )


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_embeddings_without_the_extra_is_a_clear_error(
    runner: CliRunner,
    gold_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    from trustcode import embeddings

    monkeypatch.setitem(embeddings.ENCODERS, "absent", "trustcode_no_such_encoder_package")
    out = tmp_path / ("m.skops" if command == "train" else "e.xlsx")
    result = runner.invoke(main, [command, str(gold_csv), "--embeddings", "absent", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        "Error: Sentence encoder 'absent' needs the optional package of trustcode[embeddings]"
    )
    assert "pip install 'trustcode[embeddings]'" in result.output
    assert "Command line: --embeddings" in result.output and "Traceback" not in result.output
    assert not out.exists()
    result = runner.invoke(
        main, [command, str(gold_csv), "--embeddings", "word2vec", "-o", str(out)]
    )
    assert result.exit_code == 2
    assert "Unknown sentence encoder 'word2vec'; known encoders: " in result.output


# --- gold kept outside any corpus folder, and codings of other texts ------------------------


@pytest.fixture
def outside_gold(tmp_path: Path, runner: CliRunner) -> dict[str, Path]:
    """Hand-coded offsets (no text) in a folder of their own, the clean texts they were coded
    on, another version of one of them (a header added), and each coded by rules."""
    from trustcode.segment import paragraph_spans

    texts = {"en": "\n\n".join(t for t, _ in EN), "ru": "\n\n".join(t for t, _ in RU)}
    codes = {"en": [c for _, c in EN], "ru": [c for _, c in RU]}
    clean, raw = tmp_path / "clean", tmp_path / "raw"
    for folder, header in ((clean, ""), (raw, "Printed from the web site.\n\n")):
        folder.mkdir()
        for doc, text in texts.items():
            (folder / f"{doc}.txt").write_text(
                (header if doc == "en" else "") + text, encoding="utf-8"
            )
    rows = ["doc_id,index,start,end,codes,coder"]
    for doc, text in texts.items():
        for i, (s, e) in enumerate(paragraph_spans(text)):
            rows.append(f"{doc},{i},{s},{e},{codes[doc][i]},ann")
    gold = tmp_path / "hand" / "gold.csv"
    gold.parent.mkdir()
    gold.write_text("\n".join(rows) + "\n", encoding="utf-8")
    paths = {"gold": gold, "clean": clean, "raw": raw}
    for name in ("clean", "raw"):
        out = tmp_path / f"{name}.xlsx"
        result = runner.invoke(main, ["code", str(paths[name]), "-m", "none", "-o", str(out)])
        assert result.exit_code == 0, result.output
        paths[f"{name}_coded"] = out
    return paths


@pytest.mark.parametrize(
    "command",
    [
        ["evaluate", "--folds", "2"],
        ["train", "-o", "{tmp}/m.skops"],
        ["agree", "{clean_coded}"],
        ["report", "{clean_coded}", "--gold"],
        ["codebook", "diagnose", "{clean}", "--gold"],
    ],
)
def test_gold_outside_the_repository_finds_its_documents_with_documents_option(
    runner: CliRunner, outside_gold: dict[str, Path], tmp_path: Path, command: list[str]
) -> None:
    places = {k: str(v) for k, v in outside_gold.items()} | {"tmp": str(tmp_path)}
    args = [a.format(**places) for a in command] + [str(outside_gold["gold"])]
    if args[0] == "report":
        args += ["-o", str(tmp_path / "r.html")]
    without = runner.invoke(main, args)
    assert without.exit_code == 2, without.output
    assert "the documents of these gold rows cannot be found: en (passages en#0" in without.output
    assert "Command line: --documents." in without.output and "Traceback" not in without.output
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "m.skops").exists()
    with_documents = runner.invoke(main, [*args, "--documents", str(outside_gold["clean"])])
    assert with_documents.exit_code == 0, with_documents.output


def test_agree_refuses_gold_of_another_text_naming_it(
    runner: CliRunner, outside_gold: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "agreement"
    result = runner.invoke(
        main,
        [
            "agree",
            str(outside_gold["gold"]),
            str(outside_gold["raw_coded"]),
            "--documents",
            str(outside_gold["clean"]),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "refer to different texts of the same document(s)" in message
    assert "en: at character 0 coding 1 (coder 'ann') reads 'Volunteers write letters" in message
    assert "coding 2 (coder 'trustcode') reads 'Printed from the web site." in message
    assert "ru:" not in message  # the same text on both sides
    assert not out.exists()
    same = runner.invoke(
        main,
        [
            "agree",
            str(outside_gold["gold"]),
            str(outside_gold["clean_coded"]),
            "--documents",
            str(outside_gold["clean"]),
        ],
    )
    assert same.exit_code == 0, same.output


def test_report_refuses_gold_of_another_text(
    runner: CliRunner, outside_gold: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(
        main,
        [
            "report",
            str(outside_gold["raw_coded"]),
            "--gold",
            str(outside_gold["gold"]),
            "--documents",
            str(outside_gold["clean"]),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "refer to different texts" in result.output and "en: at character 0" in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", ["compare", "agree", "evaluate"])
def test_force_replaces_a_csv_folder_of_the_commands_own_tables(
    runner: CliRunner, coded: Path, gold_csv: Path, tmp_path: Path, command: str
) -> None:
    args = {
        "compare": ["compare", str(coded), "--by", "group"],
        "agree": ["agree", str(coded), str(coded)],
        "evaluate": ["evaluate", str(gold_csv), "--folds", "2"],
    }[command]
    out = tmp_path / f"{command}-tables"
    first = runner.invoke(main, [*args, "-o", str(out)])
    assert first.exit_code == 0, first.output
    written = sorted(p.name for p in out.iterdir())
    assert written and all(n.endswith(".csv") or n == "provenance.json" for n in written)
    again = runner.invoke(main, [*args, "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    forced = runner.invoke(main, [*args, "-o", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(p.name for p in out.iterdir()) == written
    # a folder with a file of the user's own is never replaced, even with --force
    (out / "my-notes.txt").write_text("mine", encoding="utf-8")
    refused = runner.invoke(main, [*args, "-o", str(out), "--force"])
    assert refused.exit_code == 2 and "my-notes.txt" in refused.output
    assert (out / "my-notes.txt").read_text(encoding="utf-8") == "mine"
