"""Gold (human) codings -> one table of passages with their codes, whatever format they came in.

Four formats are read:

- **trustcode tables**: a run's passages and codings (an ``.xlsx`` with one sheet per table, or
  a folder of CSV, Parquet or JSON Lines tables), codes of any source;
- **hand-coded offsets**: ``doc_id,index,start,end,codes,coder``, one row per paragraph and no text;
  the text comes from the document (looked up by ``doc_id`` where ``documents`` says, by default
  in the folders above the gold file that hold a ``manifest.csv``), and offsets that no longer
  fit it are refused as stale;
- **a passage table** made in a spreadsheet (``.csv``/``.xlsx``): ``doc_id``, ``text``, ``codes``,
  optionally ``start``, ``end``, ``coder``, ``language``.
- **a review workbook** that ``trustcode code --review`` wrote and a person reviewed
  (:mod:`trustcode.review`): accepted and added codes.

Codes are ids separated by ``;`` (an empty cell: no code). Every format gives the same columns:
:data:`GOLD_COLUMNS`, one row per passage, ``codes`` a sorted tuple, then any document metadata
found (a passage table's other columns; the manifest's columns such as ``title`` and ``group``
for hand-coded offsets), which ``evaluate --group-by`` reads.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .errors import GoldError, InputError, listing
from .segment import paragraph_spans
from .types import Codebook, Document, passage_id

if TYPE_CHECKING:
    from .io.readers import CorpusEntry

#: the columns of the table :func:`read_gold` returns
GOLD_COLUMNS: tuple[str, ...] = (
    "doc_id",
    "passage_id",
    "start",
    "end",
    "text",
    "language",
    "codes",
    "coder",
)

HAND_CODED_COLUMNS: tuple[str, ...] = ("doc_id", "index", "start", "end", "codes")
PASSAGE_TABLE_COLUMNS: tuple[str, ...] = ("doc_id", "text", "codes")
_TABLE_SUFFIXES = (".csv", ".xlsx")
#: files that hold one document each (a gold folder holds none)
_DOCUMENT_SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")


def split_codes(cell: object) -> tuple[str, ...]:
    """A codes cell -> sorted unique code ids.

    >>> split_codes("repression; advocacy;;")
    ('advocacy', 'repression')
    """
    if cell is None or (isinstance(cell, float) and pd.isna(cell)):
        return ()
    return tuple(sorted({c.strip() for c in str(cell).split(";") if c.strip()}))


# --- reading the files -------------------------------------------------------------------------


def _read_sheet(path: Path) -> pd.DataFrame:
    """A csv or xlsx as strings, empty cells as ''."""
    try:
        if path.suffix.lower() == ".xlsx":
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        else:
            from .io.readers import decode_bytes

            text = decode_bytes(path.read_bytes(), str(path))
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise GoldError(
            f"{path}: cannot read the gold table ({exc}); give a CSV or XLSX file."
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.fillna("")
    if path.suffix.lower() == ".csv" and _escaped_by_trustcode(path):
        from .io.tables import unescape_cell_text

        frame.columns = [unescape_cell_text(c) for c in frame.columns]
        frame = frame.map(unescape_cell_text)
    return frame


def _escaped_by_trustcode(path: Path) -> bool:
    """A CSV table of a trustcode output folder, whose cells carry CSV-injection escapes."""
    import json

    from .io.tables import CSV_ESCAPE_KEY, PROVENANCE_FILE

    provenance = path.parent / PROVENANCE_FILE
    try:
        return CSV_ESCAPE_KEY in json.loads(provenance.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def _line(row: int) -> int:
    # data row 0 is on line 2 of the file, after the header
    return row + 2


def _require(frame: pd.DataFrame, columns: Sequence[str], path: Path, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise GoldError(
            f"{path}: a {what} needs the columns {', '.join(columns)}; missing "
            f"{', '.join(missing)} (it has: {', '.join(frame.columns) or 'no header'}). "
            "Add the missing columns or rename the ones that hold them."
        )


def _int_cell(value: str, path: Path, row: int, column: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise GoldError(
            f"{path}:{_line(row)}: column {column!r} must be a whole number; found {value!r}. "
            "Fix the cell."
        ) from None


def is_trustcode_tables(path: Path) -> bool:
    if path.is_dir():
        names = {p.stem for p in path.iterdir() if p.is_file()}
        return {"passages", "codings"} <= names
    if path.suffix.lower() == ".xlsx":
        try:
            from openpyxl import load_workbook

            book = load_workbook(path, read_only=True)
            sheets = set(book.sheetnames)
            book.close()
        except (OSError, ValueError, KeyError) as exc:
            raise GoldError(f"{path}: cannot open the workbook ({exc}).") from exc
        return {"passages", "codings"} <= sheets
    return False


def _gold_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise GoldError(f"{path}: no such gold file or folder; check the path.")
        if path.is_dir() and not is_trustcode_tables(path):
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and p.suffix.lower() in _TABLE_SUFFIXES
                and not p.name.startswith((".", "~$"))
                and p.name != "manifest.csv"
            )
            if not found:
                documents = (path / "manifest.csv").is_file() or any(
                    p.suffix.lower() in _DOCUMENT_SUFFIXES for p in path.iterdir()
                )
                hint = (
                    " It looks like a folder of documents: give it in documents=[...], "
                    "where the gold's documents are."
                    if documents
                    else ""
                )
                raise GoldError(
                    f"{path}: a gold folder needs .csv or .xlsx gold files, or a trustcode run's "
                    f"passages and codings tables; found none.{hint}",
                    params=("documents",) if documents else (),
                )
            files.extend(found)
        else:
            files.append(path)
    if not files:
        raise GoldError("No gold files given: pass gold tables or folders that hold them.")
    return files


# --- documents for hand-coded offsets ----------------------------------------------------------


def default_documents(gold_file: str | os.PathLike[str]) -> list[Path]:
    """Where the documents of a hand-coded gold file are looked up when no ``documents`` are
    given: the folders above it that hold a ``manifest.csv``, nearest first (for
    ``corpus/gold/coding/x.csv``, the corpus folder ``corpus/`` with its manifest).

    >>> import pathlib, tempfile
    >>> corpus = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (corpus / "manifest.csv").write_text("doc_id,path\n", encoding="utf-8")
    >>> default_documents(corpus / "gold" / "coding" / "g.csv") == [corpus.resolve()]
    True
    """
    return [
        folder
        for folder in Path(gold_file).resolve().parents
        if (folder / "manifest.csv").is_file()
    ]


def _where(locations: Sequence[Path]) -> str:
    return (
        ", ".join(str(p) for p in locations)
        or "nowhere: no folder above the gold file holds a manifest.csv"
    )


class _Documents:
    """Documents by doc_id, each read once, from text files, folders (recursively, or as their
    ``manifest.csv`` lists) and manifests, as ``trustcode code`` reads them; where several
    locations hold a doc_id, the first listed wins. Table files (one document per row) are left
    out: a folder's are skipped, one given by name is refused."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Path, ...], dict[str, CorpusEntry]] = {}
        self._docs: dict[tuple[Path, str], Document] = {}

    def _index(self, locations: tuple[Path, ...]) -> dict[str, CorpusEntry]:
        if locations not in self._cache:
            from .io.readers import CorpusEntry, folder_entries

            index: dict[str, CorpusEntry] = {}
            for location in locations:
                if not location.exists():
                    raise GoldError(
                        f"{location}: no such file or folder, given as where the gold's "
                        "documents are (documents=[...]); check the path.",
                        params=("documents",),
                    )
                if location.suffix.lower() in _TABLE_SUFFIXES and location.name != "manifest.csv":
                    raise GoldError(
                        f"{location}: a table of documents cannot give the gold's documents; "
                        "give the text files, their folder or its manifest.csv."
                    )
                try:
                    if location.is_dir() or location.name == "manifest.csv":
                        folder = location if location.is_dir() else location.parent
                        entries = folder_entries(folder)[0]
                    else:
                        entries = [CorpusEntry(location, location.stem)]
                except InputError as exc:
                    raise GoldError(f"Cannot list the gold's documents: {exc}") from exc
                for entry in entries:
                    if entry.path.suffix.lower() not in _TABLE_SUFFIXES:
                        index.setdefault(entry.doc_id, entry)
            self._cache[locations] = index
        return self._cache[locations]

    def find(self, doc_id: str, locations: tuple[Path, ...]) -> Document | None:
        entry = self._index(locations).get(doc_id)
        if entry is None:
            return None
        key = (entry.path, doc_id)
        if key not in self._docs:
            try:
                self._docs[key] = entry.read(strict=True)[0][0]
            except InputError as exc:
                raise GoldError(f"Cannot read document {doc_id!r} for the gold: {exc}") from exc
        return self._docs[key]


def find_documents(
    doc_ids: Iterable[str], locations: Sequence[str | os.PathLike[str]]
) -> dict[str, Document]:
    """The documents of ``doc_ids`` as they are now in ``locations`` (files, folders or
    manifests, read as ``trustcode code`` reads them; the first location holding a doc_id
    wins); a doc_id found nowhere is left out.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("Letters to prisoners.", encoding="utf-8")
    >>> {k: d.text for k, d in find_documents(["a", "b"], [folder]).items()}
    {'a': 'Letters to prisoners.'}
    """
    where = tuple(Path(p) for p in locations)
    finder = _Documents()
    found = {doc_id: finder.find(doc_id, where) for doc_id in dict.fromkeys(doc_ids)}
    return {doc_id: document for doc_id, document in found.items() if document is not None}


# --- the three formats -------------------------------------------------------------------------


def _metadata(document: Document) -> dict[str, str]:
    """What a document's manifest says of it beyond its text (``title``, ``group``, ``date``,
    ...): kept with its gold passages, so an evaluation can group them."""
    found = {"title": document.title} if document.title else {}
    found.update({str(k): str(v) for k, v in document.metadata.items() if str(v).strip()})
    return found


def _hand_coded(
    frame: pd.DataFrame, path: Path, locations: tuple[Path, ...], documents: _Documents
) -> pd.DataFrame:
    _require(frame, HAND_CODED_COLUMNS, path, "hand-coded gold file")
    rows = []
    stale: list[str] = []
    spans_of: dict[str, list[tuple[int, int]]] = {}
    sources: dict[str, str] = {}
    missing_docs: dict[str, list[str]] = {}
    for row, record in enumerate(frame.to_dict("records")):
        doc_id = str(record["doc_id"]).strip()
        index = _int_cell(record["index"], path, row, "index")
        start = _int_cell(record["start"], path, row, "start")
        end = _int_cell(record["end"], path, row, "end")
        pid = passage_id(doc_id, index)
        document = documents.find(doc_id, locations)
        if document is None:
            missing_docs.setdefault(doc_id, []).append(pid)
            continue
        text = document.text
        if doc_id not in spans_of:
            spans_of[doc_id] = paragraph_spans(text)
        paragraphs = spans_of[doc_id]
        if not 0 <= start < end <= len(text):
            sources[doc_id] = document.source
            stale.append(f"{pid} ({start}-{end} is outside the text of {len(text)} characters)")
            continue
        if not 0 <= index < len(paragraphs) or paragraphs[index] != (start, end):
            now = paragraphs[index] if 0 <= index < len(paragraphs) else "no such paragraph"
            sources[doc_id] = document.source
            stale.append(f"{pid} (gold {start}-{end}, document now {now})")
            continue
        rows.append(
            {
                "doc_id": doc_id,
                "passage_id": pid,
                "start": start,
                "end": end,
                "text": text[start:end],
                "language": document.language,
                "codes": split_codes(record["codes"]),
                "coder": str(record.get("coder", "") or "").strip(),
                **_metadata(document),
                "_line": _line(row),
            }
        )
    if missing_docs:
        names = [f"{doc} (passages {listing(pids)})" for doc, pids in missing_docs.items()]
        raise GoldError(
            f"{path}: the documents of these gold rows cannot be found: {'; '.join(names)}. "
            f"Looked in: {_where(locations)}. Say where they are in documents=[...] (files, "
            "folders or a manifest.csv, as many as needed), or fix the doc_id.",
            params=("documents",),
        )
    if stale:
        raise GoldError(
            f"{path}: stale offsets: {len(stale)} gold passage(s) no longer fit their document's "
            f"paragraphs: {listing(stale)} (read from {', '.join(sorted(set(sources.values())))}"
            "). The gold was coded on another text: give that one in documents=[...], or "
            "recode these passages or regenerate the gold offsets from the current text.",
            params=("documents",),
        )
    return pd.DataFrame(rows)


def _passage_table(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    _require(frame, PASSAGE_TABLE_COLUMNS, path, "gold passage table")
    # columns beyond the gold's own are document metadata (group, genre, ...), kept
    extra = [
        c
        for c in frame.columns
        if c not in GOLD_COLUMNS and c not in ("index", "passage_id") and str(c).strip()
    ]
    rows = []
    counters: dict[str, int] = {}
    for row, record in enumerate(frame.to_dict("records")):
        doc_id = str(record["doc_id"]).strip()
        text = str(record["text"])
        if not doc_id or not text.strip():
            raise GoldError(
                f"{path}:{_line(row)}: every gold passage needs a doc_id and a text; "
                "fill them in or delete the row."
            )
        if str(record.get("passage_id", "")).strip():
            pid = str(record["passage_id"]).strip()
        elif str(record.get("index", "")).strip():
            pid = passage_id(doc_id, _int_cell(record["index"], path, row, "index"))
        else:
            pid = passage_id(doc_id, counters.get(doc_id, 0))
        counters[doc_id] = counters.get(doc_id, 0) + 1
        start = end = None
        if str(record.get("start", "")).strip() and str(record.get("end", "")).strip():
            start = _int_cell(record["start"], path, row, "start")
            end = _int_cell(record["end"], path, row, "end")
        rows.append(
            {
                "doc_id": doc_id,
                "passage_id": pid,
                "start": start,
                "end": end,
                "text": text,
                "language": str(record.get("language", "") or "").strip() or None,
                "codes": split_codes(record["codes"]),
                "coder": str(record.get("coder", "") or "").strip(),
                **{k: str(record[k]).strip() for k in extra if str(record[k]).strip()},
                "_line": _line(row),
            }
        )
    table = pd.DataFrame(rows)
    fill_languages(table)
    return table


def fill_languages(table: pd.DataFrame) -> None:
    """Guess a document's language from all its passages when no language column says it."""
    from .io.readers import detect_language

    if table.empty:
        return
    for _, part in table[table["language"].isna()].groupby("doc_id", sort=False):
        table.loc[part.index, "language"] = detect_language("\n\n".join(part["text"]))


def _load_tables(path: Path) -> dict[str, pd.DataFrame]:
    from .io.tables import read_tables

    try:
        tables, _ = read_tables(path)
    except InputError as exc:
        raise GoldError(f"{path}: cannot read the trustcode tables: {exc}") from exc
    return dict(tables)


def gold_from_tables(tables: dict[str, pd.DataFrame], source: str = "tables") -> pd.DataFrame:
    """Gold from a trustcode run's tables: each passage with the codes of its codings (any
    source), coders joined by ``;``.

    >>> passages = pd.DataFrame({"doc_id": ["d"], "passage_id": ["d#0"], "index": [0],
    ...     "start": [0], "end": [4], "text": ["Text"]})
    >>> codings = pd.DataFrame({"passage_id": ["d#0"], "code": ["a"], "coder": ["ann"]})
    >>> gold_from_tables({"passages": passages, "codings": codings})["codes"].tolist()
    [('a',)]
    """
    for name, columns in (
        ("passages", ("doc_id", "passage_id", "start", "end", "text")),
        ("codings", ("passage_id", "code")),
    ):
        if name not in tables:
            raise GoldError(
                f"{source}: trustcode tables need a {name!r} table; found "
                f"{', '.join(tables) or 'none'}. Give the output of 'trustcode code'."
            )
        _require(tables[name], columns, Path(source), f"{name} table")
    passages, codings = tables["passages"], tables["codings"]
    codes: dict[str, set[str]] = {}
    coders: dict[str, set[str]] = {}
    for record in codings.to_dict("records"):
        pid = str(record["passage_id"])
        code = str(record["code"]).strip()
        if code:
            codes.setdefault(pid, set()).add(code)
        coder = str(record.get("coder", "") or "").strip()
        if coder and coder.lower() != "nan":
            coders.setdefault(pid, set()).add(coder)
    languages: dict[str, str] = {}
    if "documents" in tables and {"doc_id", "language"} <= set(tables["documents"].columns):
        for record in tables["documents"].to_dict("records"):
            language = str(record["language"] or "").strip()
            if language and language.lower() != "nan":
                languages[str(record["doc_id"])] = language
    rows = []
    for row, record in enumerate(passages.to_dict("records")):
        pid = str(record["passage_id"])
        doc_id = str(record["doc_id"])
        rows.append(
            {
                "doc_id": doc_id,
                "passage_id": pid,
                "start": int(record["start"]),
                "end": int(record["end"]),
                "text": str(record["text"]),
                "language": languages.get(doc_id),
                "codes": tuple(sorted(codes.get(pid, ()))),
                "coder": ";".join(sorted(coders.get(pid, ()))),
                "_line": _line(row),
            }
        )
    table = pd.DataFrame(rows)
    fill_languages(table)
    return table


# --- the public reader -------------------------------------------------------------------------


def _code_names(codebook: Codebook) -> dict[str, str | None]:
    """Each way gold may name a code -> its id: the id, and its label without regard to case or
    surrounding spaces (None where a label names two codes)."""
    names: dict[str, str | None] = {}
    for code in codebook.codes:
        key = " ".join(code.label.split()).casefold()
        if key:
            names[key] = code.id if names.get(key, code.id) == code.id else None
    for code in codebook.codes:
        names[code.id.strip().casefold()] = code.id
    return names


def _resolve_codes(table: pd.DataFrame, codebook: Codebook, source: str) -> pd.DataFrame:
    """The gold with each code named by its id, whether the gold gave the id or the label."""
    names = _code_names(codebook)
    unknown: dict[str, list[str]] = {}
    resolved = []
    for codes, line in zip(table["codes"], table["_line"], strict=True):
        ids = set()
        for code in codes:
            found = names.get(" ".join(code.split()).casefold())
            if found is None:
                unknown.setdefault(code, []).append(str(line))
            else:
                ids.add(found)
        resolved.append(tuple(sorted(ids)))
    if unknown:
        listed = "; ".join(
            f"{code!r} (line{'s' if len(lines) > 1 else ''} {listing(lines)})"
            for code, lines in sorted(unknown.items())
        )
        known = ", ".join(f"{c.id} ({c.label!r})" for c in codebook.codes)
        raise GoldError(
            f"{source}: unknown code ids {listed}, nor labels of one code. The "
            f"codebook {codebook.name!r} has (id and label): {known}. Fix the gold codes or "
            "use the codebook they were coded with."
        )
    return table.assign(codes=resolved)


def read_gold(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    codebook: Codebook | None = None,
    documents: Sequence[str | os.PathLike[str]] = (),
    unreviewed: str = "reject",
) -> pd.DataFrame:
    """Read gold codings from files or folders into one row per passage (:data:`GOLD_COLUMNS`).

    ``documents`` says where the documents of hand-coded offsets are: files, folders (read as
    ``trustcode code`` reads them: recursively, or as their ``manifest.csv`` lists) or
    manifests; the first that holds a doc_id gives its text. By default they are looked up in
    the folders above each gold file that hold a ``manifest.csv`` (:func:`default_documents`).
    With a ``codebook``, a code may be named
    by its id or by its label (in any letter case, with any surrounding spaces: as people
    name codes in a spreadsheet) and comes back as its id; a name it does not know is a
    :class:`GoldError` listing the ids and labels. A review workbook (:mod:`trustcode.review`)
    is read with :func:`trustcode.review.read_review`; ``unreviewed`` says what its proposals
    left without a decision count as (``"reject"``: not confirmed, or ``"accept"``).

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "gold.csv"
    >>> _ = p.write_text("doc_id,text,codes\\nd,Letters to prisoners.,prisoner_support\\n")
    >>> read_gold(p)[["passage_id", "codes"]].values.tolist()
    [['d#0', ('prisoner_support',)]]
    """
    from .review import is_review_workbook, review_table

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found = _Documents()
    parts = []
    for path in _gold_files(paths):
        if is_review_workbook(path):
            table = review_table(
                path, codebook=codebook, unreviewed=unreviewed, documents=documents
            )
        elif is_trustcode_tables(path):
            table = gold_from_tables(_load_tables(path), str(path))
        else:
            frame = _read_sheet(path)
            if "text" in frame.columns:
                table = _passage_table(frame, path)
            elif "index" in frame.columns and "start" in frame.columns:
                locations = tuple(Path(d) for d in documents) or tuple(default_documents(path))
                table = _hand_coded(frame, path, locations, found)
            else:
                missing = [c for c in PASSAGE_TABLE_COLUMNS if c not in frame.columns]
                raise GoldError(
                    f"{path}: not a gold table: a passage table needs the columns "
                    f"{', '.join(PASSAGE_TABLE_COLUMNS)} (missing {', '.join(missing)}); a "
                    f"hand-coded file needs {', '.join(HAND_CODED_COLUMNS)}. It has: "
                    f"{', '.join(frame.columns) or 'no header'}."
                )
        if codebook is not None and not table.empty:
            table = _resolve_codes(table, codebook, str(path))
        parts.append(table)
    return finish_gold(*parts)


def finish_gold(*parts: pd.DataFrame) -> pd.DataFrame:
    """Gold tables of the readers (with their ``_line`` column) -> one table of
    :data:`GOLD_COLUMNS` with its dtypes.

    >>> finish_gold().columns.tolist() == list(GOLD_COLUMNS)
    True
    """
    gold = pd.concat(
        [p for p in parts if not p.empty] or [pd.DataFrame(columns=GOLD_COLUMNS)], ignore_index=True
    )
    metadata = [c for c in gold.columns if c not in GOLD_COLUMNS and not str(c).startswith("_")]
    gold = gold.reindex(columns=[*GOLD_COLUMNS, *metadata])
    gold["start"] = pd.array(gold["start"], dtype="Int64")
    gold["end"] = pd.array(gold["end"], dtype="Int64")
    gold["coder"] = gold["coder"].fillna("").astype(str)
    return gold
