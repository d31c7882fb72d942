"""File-to-file workflows behind the commands: code, train, evaluate, compare, agree, report,
export, import.

Each reads its inputs, calls the stage function that does the work (which returns DataFrames),
and writes its outputs atomically. The CLI is a thin wrapper over these; a notebook can call
them, or the stage functions directly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .codebook import load_codebook
from .errors import UsageError
from .types import Codebook

PathLike = str | os.PathLike[str]


def _book(codebook: Codebook | PathLike | None) -> Codebook:
    return codebook if isinstance(codebook, Codebook) else load_codebook(codebook)


# --- code -------------------------------------------------------------------------------------


def code_files(
    paths: PathLike | Sequence[PathLike],
    output: PathLike,
    *,
    codebook: Codebook | PathLike | None = None,
    unit: str = "paragraph",
    model: PathLike | None = "default",
    language: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    strict: bool = False,
    jobs: int = 1,
    force: bool = False,
    progress: Any = None,
    redact: Any = None,
    review: bool = False,
    review_size: int | None = None,
    engine: str = "local",
    scheduler: Any = None,
) -> Any:
    """Code documents and write the result to ``output``, in the form its name asks for: the
    tables (``.xlsx``, ``.parquet``, ``.jsonl`` or a folder of CSV), a REFI-QDA project
    (``.qdpx``), or with ``review`` a review workbook (``.xlsx``). Returns the
    :class:`~trustcode.pipeline.CodingRun`, its ``output`` the path written.

    The target is checked before any document is read, and the codebook is read once. The
    options are those of :func:`trustcode.pipeline.code_corpus`; ``review_size`` is how many
    passages a review sheet puts first (:func:`trustcode.review.write_review`). ``engine="dask"``
    codes on a Dask cluster at ``scheduler`` (:func:`trustcode.engines.code_with_dask`) and
    writes tables only; the run's tables and provenance are then in the output it wrote.

    >>> run = code_files(["corpus/"], "coded.xlsx")  # doctest: +SKIP
    >>> run = code_files(["corpus/"], "project.qdpx", model=None)  # doctest: +SKIP
    """
    from .atomic import check_target
    from .io.tables import check_output
    from .pipeline import CodingRun, code_corpus

    if engine not in ("local", "dask"):
        raise UsageError(
            f"The 'engine' parameter of code must be 'local' or 'dask'. Got {engine!r} instead.",
            params=("engine",),
        )
    if review_size is not None and review_size < 0:
        raise UsageError(
            f"The 'review_size' parameter of code must be an int in [0, inf). "
            f"Got {review_size} instead.",
            params=("review_size",),
        )
    suffix = Path(output).suffix.lower()
    if engine == "dask":
        if review or redact is not None or jobs > 1:
            raise UsageError(
                "engine='dask' writes Parquet tables: it does not go with review, "
                "redact or jobs > 1.",
                params=("engine", "review", "redact", "jobs"),
            )
        from .engines import code_with_dask

        written = code_with_dask(
            paths,
            output,
            codebook=codebook,
            model=model,
            unit=unit,
            language=language,
            text_column=text_column,
            id_column=id_column,
            strict=strict,
            scheduler=scheduler,
            force=force,
        )
        return CodingRun({}, {}, output=written)
    # every target is checked before the corpus is read: a bad name fails at once
    if review:
        if suffix != ".xlsx":
            raise UsageError(
                "review writes a workbook: give output a name ending in .xlsx.",
                params=("review", "output"),
            )
        check_output(output, force=force)
    elif suffix == ".qdpx":
        check_target(output, force=force)
    book = _book(codebook)
    tables_out = None if review or suffix == ".qdpx" else output
    run = code_corpus(
        paths,
        codebook=book,
        unit=unit,
        model=model,
        language=language,
        text_column=text_column,
        id_column=id_column,
        strict=strict,
        jobs=jobs,
        output=tables_out,
        force=force,
        progress=progress,
        redact=redact,
    )
    if review:
        from .pipeline import review_model
        from .review import REVIEW_SIZE, write_review

        run.output = write_review(
            run.tables,
            output,
            codebook=book,
            force=force,
            provenance=run.provenance,
            review_size=REVIEW_SIZE if review_size is None else review_size,
            model=review_model(model, book),
        )
    elif suffix == ".qdpx":
        from .refiqda import export_qdpx

        # each document's text is read again from its source (and checked by its sha256)
        run.output = export_qdpx(run.tables, book, output, provenance=run.provenance, force=force)
    return run


# --- train and evaluate -----------------------------------------------------------------------


def _encoder_params(embeddings: str | None) -> dict[str, Any]:
    """The classifier parameter for a sentence encoder, checked before any gold is read."""
    if embeddings is None:
        return {}
    from .embeddings import check_encoder

    check_encoder(embeddings)
    return {"embeddings": embeddings}


def train(
    gold: Sequence[PathLike],
    output: PathLike,
    *,
    codebook: Codebook | PathLike | None = None,
    force: bool = False,
    unreviewed: str = "reject",
    definitions: bool | None = None,
    documents: Sequence[PathLike] = (),
    embeddings: str | None = None,
    base: PathLike | None = None,
) -> tuple[Any, Path]:
    """Train a classifier on gold codings and the codebook's examples; save it with skops.
    The codebook's descriptions of the codes join the training passages unless ``definitions``
    is False (see :func:`trustcode.classify.training_set`). ``documents``: where the documents of
    hand-coded gold offsets are (see :func:`trustcode.gold.read_gold`). ``embeddings`` names a
    sentence encoder whose features join the n-grams (see :mod:`trustcode.embeddings`). With
    ``base`` (``"default"`` for the shipped model, or a model file) the base model is adapted to
    the gold instead, without its own training texts (:func:`trustcode.classify.adapt_model`).

    >>> model, path = train(["gold/"], "model.skops", documents=["reports/"])  # doctest: +SKIP
    >>> model, path = train(["review.xlsx"], "adapted.skops", base="default")  # doctest: +SKIP
    """
    from .classify import adapt_model, load_model, save_model, train_model
    from .gold import read_gold

    book = _book(codebook)
    from .atomic import check_target

    out = check_target(output, force=force)
    if base is not None and (definitions or embeddings is not None):
        raise UsageError(
            "definitions and embeddings train a new model; an adapted model "
            "keeps its base's training: leave them out, or leave out base.",
            params=("definitions", "embeddings", "base"),
        )
    params = _encoder_params(embeddings)
    base_model = None
    if base is not None:
        from .classify import model_metadata
        from .classify.adapting import check_base_codes
        from .pipeline import SHIPPED_MODELS, shipped_model_path

        shipped = str(base) if str(base) in SHIPPED_MODELS else None
        base_path = shipped_model_path(shipped) if shipped else Path(base)
        if not base_path.is_file():
            from .errors import ModelError

            raise ModelError(
                f"Base model {base_path} does not exist: pass 'default', 'muse' or "
                "a model file that train wrote.",
                params=("base",),
            )
        check_base_codes(model_metadata(base_path)["labels"], book, str(base_path))
        base_model = load_model(base_path, book)
    table = read_gold(list(gold), codebook=book, unreviewed=unreviewed, documents=documents)
    if base_model is not None:
        name = f"{shipped} (shipped)" if shipped else str(base)
        model = adapt_model(base_model, table, book, base_name=name)
    else:
        model = train_model(table, book, definitions=definitions is not False, **params)
    return model, save_model(model, out, book)


def evaluate_gold(
    gold: Sequence[PathLike],
    *,
    codebook: Codebook | PathLike | None = None,
    folds: int = 5,
    model: PathLike | None = None,
    unreviewed: str = "reject",
    definitions: bool | None = None,
    group_by: str | None = None,
    documents: Sequence[PathLike] = (),
    embeddings: str | None = None,
) -> Any:
    """Grouped cross-validation (or a held-out test of ``model``) against gold codings.
    each fold's classifier learns from the codebook's descriptions of the codes too unless
    ``definitions`` is False;
    ``group_by`` holds out one value of a document metadata column at a time (``language``,
    ``group``, ...). Passages written for the codebook (coder ``illustrative``) are trained on
    in every fold and never tested on. ``documents`` says where the gold's documents are (see
    :func:`trustcode.gold.read_gold`). ``embeddings`` names a sentence encoder whose features
    join each fold's n-grams (see :mod:`trustcode.embeddings`).

    >>> result = evaluate_gold(["gold/"], folds=5, documents=["reports/"])  # doctest: +SKIP
    >>> result.side_by_side().loc["micro"]  # doctest: +SKIP
    """
    from .classify import load_model
    from .evaluate import evaluate
    from .gold import read_gold

    book = _book(codebook)
    if folds < 2:
        raise UsageError(
            f"The 'folds' parameter of evaluate must be an int in [2, inf). Got {folds} instead.",
            params=("folds",),
        )
    if definitions and model is not None:
        raise UsageError(
            "definitions applies to the models cross-validation trains; a saved model was "
            "trained as it was. Drop definitions, or model to cross-validate.",
            params=("definitions", "model"),
        )
    if embeddings is not None and model is not None:
        raise UsageError(
            "embeddings applies to the models cross-validation trains; a saved model uses the "
            "features it was trained with. Drop embeddings, or model to cross-validate.",
            params=("embeddings", "model"),
        )
    params = {"definitions": definitions is not False, **_encoder_params(embeddings)}
    table = read_gold(list(gold), codebook=book, unreviewed=unreviewed, documents=documents)
    loaded = load_model(model, book) if model is not None else None
    if group_by is not None and model is not None:
        raise UsageError(
            "group_by chooses the folds cross-validation trains on; a saved model is tested on "
            "all the gold. Drop group_by, or model to cross-validate.",
            params=("group_by", "model"),
        )
    return evaluate(
        table, book, folds=folds, model=loaded, train_params=params or None, group_by=group_by
    )


def evaluation_frames(result: Any) -> dict[str, pd.DataFrame]:
    """The sheets an evaluation writes: metrics (long), side by side per language, review."""
    frames: dict[str, pd.DataFrame] = {"metrics": result.metrics}
    for language in dict.fromkeys(result.metrics["language"]):
        wide = result.side_by_side(language)
        wide.columns = [f"{system}_{metric}" for system, metric in wide.columns]
        frames[f"f1_{language}"] = wide.reset_index()
    frames["disagreements"] = result.disagreements
    return frames


# --- compare, agree, report -------------------------------------------------------------------


def compare_files(
    coded: Sequence[PathLike],
    *,
    by: str | None = None,
    codebook: Codebook | PathLike | None = None,
    documents: Sequence[PathLike] = (),
) -> Any:
    """:func:`trustcode.compare.compare` over coded outputs or gold files (``documents``: where
    the documents of hand-coded gold offsets are)."""
    from .coded import read_coded_many
    from .compare import compare

    book = _book(codebook)
    return compare(
        read_coded_many(coded, codebook=book, documents=documents), by=by, codes=_codes_in_use(book)
    )


def _codes_in_use(book: Codebook) -> dict[str, str]:
    return {c.id: c.label for c in book.leaf_codes}


def comparison_frames(result: Any) -> dict[str, pd.DataFrame]:
    return {
        "by_document": result.by_document,
        "by_group": result.by_group,
        "tests": result.tests,
        "cooccurrence": result.cooccurrence,
        "similarity": result.similarity.reset_index(names="doc_id"),
        "exemplars": result.exemplars,
    }


def write_comparison(result: Any, output: PathLike, *, force: bool = False) -> list[Path]:
    """Write a comparison's tables (workbook or CSV folder) and its figures beside them.

    All or nothing: the figures are drawn into a temporary folder first, the tables are
    written, and only then are the figures renamed into ``OUTPUT-figures/``; a failure at any
    step (a full disk) leaves no new file behind and earlier outputs as they were.
    """
    from . import figures
    from .atomic import disk_size, move_into_place, remove_quietly, temporary_beside, write_failed
    from .errors import OutputError
    from .io.tables import write_frames

    target = Path(output)
    folder = target.parent / f"{target.stem if target.suffix else target.name}-figures"
    drawn = temporary_beside(folder)
    try:
        try:
            drawn.mkdir()
            names = [
                p.name
                for draw, name in (
                    (figures.heatmap_code_document, "code_document"),
                    (figures.shares_by_group, "shares_by_group"),
                    (figures.cooccurrence_heatmap, "cooccurrence"),
                )
                for p in draw(result, drawn / name, force=True)
            ]
        except (OSError, OutputError) as exc:
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            if not isinstance(cause, OSError):
                raise
            # name the figures folder the user asked for, not the temporary one
            written = disk_size(drawn)
            remove_quietly(drawn)
            raise write_failed(folder, cause, written=written) from cause
        out = write_frames(comparison_frames(result), target, force=force)
        try:
            if folder.is_dir():
                for name in names:
                    os.replace(drawn / name, folder / name)
            else:
                move_into_place(drawn, folder)
        except OSError as exc:
            remove_quietly(drawn)
            raise write_failed(folder, exc) from exc
    finally:
        remove_quietly(drawn)
    return [out, *(folder / name for name in names)]


def agree_files(
    coded: Sequence[PathLike],
    *,
    unit: str = "passage",
    coded_only: bool = False,
    codebook: Codebook | PathLike | None = None,
    unreviewed: str = "reject",
    documents: Sequence[PathLike] = (),
) -> Any:
    """:func:`trustcode.agreement.agree` over two or more codings read from files
    (``documents``: where the documents of hand-coded gold offsets are)."""
    from .agreement import agree
    from .coded import read_coded_many

    if len(coded) < 2:
        raise UsageError("agree needs two or more codings (for example gold.csv coded.xlsx).")
    book = _book(codebook)
    codings = read_coded_many(coded, codebook=book, unreviewed=unreviewed, documents=documents)
    return agree(codings, unit=unit, coded_only=coded_only, codes=[c.id for c in book.leaf_codes])


def agreement_frames(result: Any) -> dict[str, pd.DataFrame]:
    return {
        "overall": result.overall,
        "per_code": result.per_code,
        "disagreements": result.disagreements,
    }


def report(
    coded: PathLike,
    output: PathLike,
    *,
    codebook: Codebook | PathLike | None = None,
    by: str | None = None,
    gold: PathLike | None = None,
    force: bool = False,
    redact: Any = None,
    validation: PathLike | None = None,
    documents: Sequence[PathLike] = (),
) -> Path:
    """Write the self-contained HTML report of a coded output (``redact``: a Redactor;
    ``validation``: the output of ``trustcode validate estimate``; ``documents``: where the
    documents of hand-coded gold offsets are)."""
    from .coded import read_coded
    from .report import write_report

    book = _book(codebook)
    estimates = None
    if validation is not None:
        from .validation import read_estimates

        estimates = read_estimates(validation)
    tables, provenance = read_coded(coded, codebook=book, documents=documents)
    gold_tables = (
        read_coded(gold, codebook=book, documents=documents)[0] if gold is not None else None
    )
    if redact is not None:
        tables = redact.redact_tables(tables)
        gold_tables = redact.redact_tables(gold_tables) if gold_tables is not None else None
    return write_report(
        tables,
        output,
        codebook=book,
        provenance=provenance,
        by=by,
        gold=gold_tables,
        force=force,
        validation=estimates,
    )


# --- REFI-QDA ---------------------------------------------------------------------------------


def export_project(
    coded: PathLike,
    output: PathLike,
    *,
    codebook: Codebook | PathLike | None = None,
    force: bool = False,
    redact: Any = None,
) -> Path:
    """A coded output (or gold) as a REFI-QDA project (.qdpx) (``redact``: a Redactor)."""
    from .coded import read_coded
    from .refiqda import export_qdpx

    book = _book(codebook)
    tables, provenance = read_coded(coded, codebook=book)
    if redact is not None:
        tables = redact.redact_tables(tables)
        # the source files hold the unredacted text: rebuild each text from its passages
        tables["documents"] = tables["documents"].assign(source="")
    return export_qdpx(tables, book, output, provenance=provenance, force=force)


@dataclass(frozen=True)
class _ImportedPassage:
    """A passage of a .qdpx project: its own id, not one made from an index."""

    doc_id: str
    passage_id: str


def import_project(project: PathLike, output: PathLike, *, force: bool = False) -> Path:
    """A REFI-QDA project from another tool as trustcode tables with human codings."""
    from .io.tables import write_tables
    from .pipeline import matrix_frame, summary_frame
    from .refiqda import read_qdpx
    from .types import Coding, Document

    tables = read_qdpx(project).tables
    passages = [
        _ImportedPassage(d, p)
        for d, p in zip(tables["passages"]["doc_id"], tables["passages"]["passage_id"], strict=True)
    ]
    frame = tables["codings"]
    codings = [
        Coding(d, p, s, e, c, "human")
        for d, p, s, e, c in zip(
            frame["doc_id"],
            frame["passage_id"],
            frame["start"],
            frame["end"],
            frame["code"],
            strict=True,
        )
    ]
    codes = sorted({c.code for c in codings})
    # the summary covers the documents with coded passages, in doc_id order
    documents = [Document(d, "") for d in sorted({p.doc_id for p in passages})]
    full = {
        **tables,
        "matrix": matrix_frame(passages, codings, codes),
        "summary": summary_frame(documents, passages, codings, codes),
    }
    provenance = {"imported_from": str(project), "format": "REFI-QDA"}
    return write_tables(full, output, provenance=provenance, force=force)
