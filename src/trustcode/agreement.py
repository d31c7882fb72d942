"""Agreement between codings of the same documents: coders with each other, humans with machines.

:func:`agree` turns each coding into a yes/no decision per (unit, code) and reports percent
agreement, Cohen's kappa (two coders), Fleiss' kappa and Krippendorff's alpha (nominal) with a
bootstrap confidence interval, per code and pooled over all codes.

Units (``unit=``):

- ``passage``: the first coding's passages are the units. A unit counts as coded with code *c*
  by coder *k* when one of *k*'s coded spans with *c* overlaps it by at least half of the unit's
  length. Codings cut into other passages are thereby aligned to the first coder's segmentation.
- ``document``: a document is coded with *c* when any of its passages is.
- ``character``: every character of the documents is a unit. Characters are grouped into runs
  between span boundaries, weighted by their length, so the cost grows with the number of coded
  spans, not with the length of the text.

Percent agreement is the share of units on which every coder made the same decision (with three
or more coders, all must agree). Cohen's kappa is reported for two coders only.

With ``coded_only=True`` only units that some coder coded (with any code) count, so long stretches
of text nobody coded do not inflate agreement.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trustcode.errors import InputError, TrustcodeWarning, UsageError

AGREEMENT_UNITS: tuple[str, ...] = ("passage", "document", "character")
#: a unit is coded when a span covers at least this share of it (``passage`` units)
MIN_OVERLAP = 0.5
STAT_COLUMNS: tuple[str, ...] = (
    "percent_agreement",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "alpha_ci_low",
    "alpha_ci_high",
)
#: bootstrap replicates drawn at once: bounds memory at (units x this) integers
_CHUNK = 100

Tables = Mapping[str, pd.DataFrame]


@dataclass
class AgreementResult:
    """What :func:`agree` found.

    - ``overall``: one row over every (unit, code) decision pooled: ``n_units, n_decisions``,
      the statistics of :data:`STAT_COLUMNS`, and ``note``
    - ``per_code``: one row per code: ``code, n_units`` and the same statistics and ``note``
    - ``disagreements``: ``unit, doc_id, start, end, text, codes`` (the codes in dispute) and
      one column per coder with that coder's codes for the unit, ``"; "``-joined
    """

    unit: str
    coders: tuple[str, ...]
    codes: tuple[str, ...]
    overall: pd.DataFrame
    per_code: pd.DataFrame
    disagreements: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON-ready) of every table.

        >>> agree([a, b]).to_dict()["overall"][0]["krippendorff_alpha"]  # doctest: +SKIP
        0.82
        """
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

        return {
            "unit": self.unit,
            "coders": list(self.coders),
            "codes": list(self.codes),
            "notes": list(self.notes),
            "overall": records(self.overall),
            "per_code": records(self.per_code),
            "disagreements": records(self.disagreements),
        }


@dataclass
class _Coder:
    name: str
    codings: pd.DataFrame
    documents: pd.DataFrame | None
    passages: pd.DataFrame | None
    #: doc_id -> (starts, ends, code index), filled on first use
    by_doc: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None


@dataclass
class _Units:
    """The units as rows, and the decision cube ``coded[unit, code, coder]``."""

    frame: pd.DataFrame  # unit, doc_id, start, end
    weight: np.ndarray  # how many units each row stands for (characters in a run)
    coded: np.ndarray


def agree(
    codings_list: Sequence[Tables],
    *,
    unit: str = "passage",
    coded_only: bool = False,
    codes: Sequence[str] | None = None,
    bootstrap: int = 1000,
    random_state: int = 0,
) -> AgreementResult:
    """Agreement between two or more codings of the same documents.

    Each item of ``codings_list`` is one coding's tables (``codings``, and ``documents`` /
    ``passages`` where known). The coder is named by the ``coder`` column; an input with several
    coders there is split into one coding per coder; an input without a name becomes ``coderN``.
    ``bootstrap`` resamples units (percentile interval, 95%) with a fixed ``random_state``.

    >>> result = agree([gold_tables, machine_tables], unit="passage")  # doctest: +SKIP
    >>> result.per_code[["code", "krippendorff_alpha"]]  # doctest: +SKIP
    """
    if unit not in AGREEMENT_UNITS:
        raise UsageError(
            f"agree: unit={unit!r} is not one of {', '.join(AGREEMENT_UNITS)}. "
            "Fix: pass unit='passage', 'document' or 'character'."
        )
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        raise UsageError(f"agree: bootstrap must be an int >= 0. Got {bootstrap!r} instead.")
    coders = _split_coders(codings_list)
    notes: list[str] = []
    doc_order, n_chars = _shared_documents(coders)
    code_ids = _code_ids(coders, codes)
    for c in coders:
        if c.codings.empty:
            _warn(notes, f"agree: coder {c.name!r} coded nothing.")

    if unit == "passage":
        units = _passage_units(coders, doc_order, code_ids)
    elif unit == "document":
        units = _document_units(coders, doc_order, n_chars, code_ids)
    else:
        units = _character_units(coders, doc_order, n_chars, code_ids)
    if coded_only:
        keep = units.coded.any(axis=(1, 2))
        units = _Units(units.frame[keep].reset_index(drop=True), units.weight[keep],
                       units.coded[keep])

    rng = np.random.default_rng(random_state)
    names = [c.name for c in coders]
    rows = []
    for j, code in enumerate(code_ids):
        stats = _statistics(units.coded[:, j, :], units.weight, bootstrap, rng, names)
        rows.append({"code": code, "n_units": int(units.weight.sum()), **stats})
    per_code = pd.DataFrame(rows, columns=["code", "n_units", *STAT_COLUMNS, "note"])
    per_code = per_code.astype({"n_units": "int64"})

    pooled = _statistics_pooled(units, bootstrap, rng, names)
    overall = pd.DataFrame([{
        "n_units": int(units.weight.sum()),
        "n_decisions": int(units.weight.sum()) * len(code_ids),
        **pooled,
    }])
    return AgreementResult(
        unit=unit,
        coders=tuple(names),
        codes=tuple(code_ids),
        overall=overall,
        per_code=per_code,
        disagreements=_disagreements(units, coders, code_ids, unit),
        notes=notes,
    )


# --- inputs -----------------------------------------------------------------------------------


def _split_coders(codings_list: Sequence[Tables]) -> list[_Coder]:
    if isinstance(codings_list, Mapping):
        codings_list = [codings_list]
    coders: list[_Coder] = []
    for i, tables in enumerate(codings_list):
        if not isinstance(tables, Mapping) or "codings" not in tables:
            found = sorted(tables) if isinstance(tables, Mapping) else type(tables).__name__
            raise InputError(
                f"agree: input {i + 1} has no 'codings' table (found {found}). Expected a dict "
                "with keys codings, documents, passages; fix: read it with read_tables()."
            )
        codings = tables["codings"]
        missing = [c for c in ("doc_id", "start", "end", "code") if c not in codings.columns]
        if missing:
            raise InputError(
                f"agree: the codings table of input {i + 1} lacks column(s) {missing}; it has "
                f"{list(codings.columns)}. Fix: use the column names of the table contract."
            )
        spans = codings[["start", "end"]].apply(pd.to_numeric, errors="coerce")
        if spans.isna().any(axis=None):
            bad = int(spans.isna().any(axis=1).sum())
            raise InputError(
                f"agree: {bad} row(s) of the codings table of input {i + 1} have no numeric "
                "start/end offsets. Expected character offsets into the document text; fix: "
                "fill them in (a passage's start and end) or drop those rows."
            )
        documents = tables.get("documents")
        passages = tables.get("passages")
        names = []
        if "coder" in codings.columns:
            names = [n for n in dict.fromkeys(codings["coder"].dropna().astype(str)) if n]
        if len(names) <= 1:
            coders.append(_Coder(names[0] if names else "", codings, documents, passages))
        else:
            for name in names:
                own = codings[codings["coder"].astype(str) == name]
                coders.append(_Coder(name, own, documents, passages))
    taken: set[str] = set()
    for k, c in enumerate(coders, start=1):
        name = c.name or f"coder{k}"
        n = 2
        while name in taken:  # two machine runs both called "trustcode", say
            name, n = f"{c.name or f'coder{k}'} ({n})", n + 1
        c.name = name
        taken.add(name)
    if len(coders) < 2:
        raise UsageError(
            f"agree: agreement needs at least two codings; got {len(coders)} coder(s) "
            f"({', '.join(c.name for c in coders)}). Fix: pass a list of two or more codings."
        )
    return coders


def _doc_ids(c: _Coder) -> list[str] | None:
    """The documents a coder's coding covers, or None when its tables do not say."""
    for table in (c.documents, c.passages):
        if table is not None and "doc_id" in table.columns and len(table):
            return [str(d) for d in dict.fromkeys(table["doc_id"])]
    if len(c.codings):
        return [str(d) for d in dict.fromkeys(c.codings["doc_id"])]
    return None


def _shared_documents(coders: list[_Coder]) -> tuple[list[str], dict[str, int]]:
    known = [(c, ids) for c in coders if (ids := _doc_ids(c)) is not None]
    if not known:
        raise InputError(
            "agree: none of the codings names a document (no documents, passages or codings "
            "rows). Fix: pass each coding with its documents table."
        )
    every = set().union(*(set(ids) for _, ids in known))
    lacking = [(c.name, sorted(every - set(ids))) for c, ids in known if every - set(ids)]
    if lacking:
        detail = "; ".join(f"coder {name!r} lacks {', '.join(docs)}" for name, docs in lacking)
        raise InputError(
            f"agree: the codings cover different documents ({detail}). Agreement compares "
            "codings of the same documents; fix: restrict every coding to the shared documents."
        )
    hashes: dict[str, set[str]] = {}
    n_chars: dict[str, int] = {}
    for c in coders:
        if c.documents is None:
            continue
        for row in c.documents.to_dict(orient="records"):
            doc = str(row["doc_id"])
            if isinstance(row.get("sha256"), str) and row["sha256"]:
                hashes.setdefault(doc, set()).add(row["sha256"])
            if pd.notna(row.get("n_chars")) and doc not in n_chars:
                n_chars[doc] = int(row["n_chars"])
    clash = sorted(d for d, h in hashes.items() if len(h) > 1)
    if clash:
        raise InputError(
            f"agree: document(s) {', '.join(clash)} have different texts in different codings "
            "(sha256 differs), so their offsets do not line up. Fix: code the same text versions."
        )
    return known[0][1], n_chars


def _code_ids(coders: list[_Coder], codes: Sequence[str] | None) -> list[str]:
    if codes is not None:
        return [codes] if isinstance(codes, str) else [str(c) for c in codes]
    found = set().union(*(set(c.codings["code"].astype(str)) for c in coders))
    if not found:
        raise InputError(
            "agree: no coding contains any code, so there is nothing to agree on. Fix: pass "
            "codes=[...] to measure agreement on codes nobody applied, or check the inputs."
        )
    return sorted(found)


def _warn(notes: list[str], message: str) -> None:
    notes.append(message)
    warnings.warn(message, TrustcodeWarning, stacklevel=3)


# --- units ------------------------------------------------------------------------------------


def _spans(c: _Coder, doc: str, code_ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, code index) of one coder's codings of one document, known codes only."""
    if c.by_doc is None:
        col = {code: j for j, code in enumerate(code_ids)}
        rows = c.codings.assign(_code=c.codings["code"].astype(str).map(col))
        rows = rows[rows["_code"].notna()]
        c.by_doc = {
            str(d): (g["start"].to_numpy(np.int64), g["end"].to_numpy(np.int64),
                     g["_code"].to_numpy(np.int64))
            for d, g in rows.groupby(rows["doc_id"].astype(str), sort=False)
        }
    empty = np.zeros(0, dtype=np.int64)
    return c.by_doc.get(doc, (empty, empty, empty))


def _passage_units(coders: list[_Coder], docs: list[str], code_ids: list[str]) -> _Units:
    first = coders[0]
    p = first.passages
    if p is None or p.empty or not {"doc_id", "start", "end"} <= set(p.columns):
        raise InputError(
            f"agree: unit='passage' takes the passages of the first coding (coder "
            f"{first.name!r}) as units, but it has no passages table with doc_id, start, end. "
            "Fix: put a coding with passages first, or use unit='document' or 'character'."
        )
    p = p[p["doc_id"].astype(str).isin(docs)].copy()
    p["doc_id"] = p["doc_id"].astype(str)
    rank = {d: i for i, d in enumerate(docs)}
    p = p.sort_values(["doc_id", "start"], key=lambda s: s.map(rank) if s.name == "doc_id" else s)
    p = p[p["end"] > p["start"]].reset_index(drop=True)  # an empty passage cannot be coded
    ids = p["passage_id"].astype(str) if "passage_id" in p.columns else p.index.astype(str)
    frame = pd.DataFrame({"unit": ids.to_numpy(), "doc_id": p["doc_id"].to_numpy(),
                          "start": p["start"].to_numpy(np.int64),
                          "end": p["end"].to_numpy(np.int64)})
    if "text" in p.columns:
        frame["text"] = p["text"].astype(str).to_numpy()
    coded = np.zeros((len(frame), len(code_ids), len(coders)), dtype=bool)
    for doc, rows in frame.groupby("doc_id", sort=False).indices.items():
        us, ue = frame["start"].to_numpy()[rows], frame["end"].to_numpy()[rows]
        for k, c in enumerate(coders):
            ss, se, sc = _spans(c, doc, code_ids)
            if not len(ss):
                continue
            overlap = np.minimum(ue[:, None], se[None, :]) - np.maximum(us[:, None], ss[None, :])
            hit = (overlap > 0) & (overlap >= MIN_OVERLAP * (ue - us)[:, None])
            ui, si = np.nonzero(hit)
            coded[rows[ui], sc[si], k] = True
    return _Units(frame, np.ones(len(frame), dtype=np.int64), coded)


def _document_units(
    coders: list[_Coder], docs: list[str], n_chars: dict[str, int], code_ids: list[str]
) -> _Units:
    col = {code: j for j, code in enumerate(code_ids)}
    row = {d: i for i, d in enumerate(docs)}
    coded = np.zeros((len(docs), len(code_ids), len(coders)), dtype=bool)
    for k, c in enumerate(coders):
        pairs = c.codings[["doc_id", "code"]].astype(str)
        pairs = pairs[pairs["code"].isin(col) & pairs["doc_id"].isin(row)]
        coded[pairs["doc_id"].map(row).to_numpy(int), pairs["code"].map(col).to_numpy(int), k] = 1
    frame = pd.DataFrame({"unit": docs, "doc_id": docs, "start": 0,
                          "end": [n_chars.get(d, pd.NA) for d in docs]})
    return _Units(frame, np.ones(len(docs), dtype=np.int64), coded)


def _character_units(
    coders: list[_Coder], docs: list[str], n_chars: dict[str, int], code_ids: list[str]
) -> _Units:
    """Runs of characters between consecutive span boundaries: within a run nothing changes."""
    frames, weights, cubes = [], [], []
    passage_ends = _passage_ends(coders)
    for doc in docs:
        spans = [_spans(c, doc, code_ids) for c in coders]
        ends = [int(s[1].max()) for s in spans if len(s[1])]
        length = n_chars.get(doc, passage_ends.get(doc, max(ends, default=0)))
        bounds = np.unique(np.clip(np.concatenate(
            [np.array([0, length], dtype=np.int64)] + [np.concatenate(s[:2]) for s in spans]
        ), 0, length))
        n_runs = len(bounds) - 1
        if n_runs <= 0:
            continue
        cube = np.zeros((n_runs, len(code_ids), len(coders)), dtype=bool)
        for k, (ss, se, sc) in enumerate(spans):
            # Difference array over runs: +1 where a span starts, -1 where it ends.
            diff = np.zeros((n_runs + 1, len(code_ids)), dtype=np.int64)
            first = np.searchsorted(bounds, np.clip(ss, 0, length))
            last = np.searchsorted(bounds, np.clip(se, 0, length))
            np.add.at(diff, (first, sc), 1)
            np.add.at(diff, (last, sc), -1)
            cube[:, :, k] = np.cumsum(diff, axis=0)[:-1] > 0
        starts, stops = bounds[:-1], bounds[1:]
        frames.append(pd.DataFrame({
            "unit": [f"{doc}:{s}-{e}" for s, e in zip(starts, stops, strict=True)],
            "doc_id": doc, "start": starts, "end": stops,
        }))
        weights.append(stops - starts)
        cubes.append(cube)
    if not frames:
        empty = pd.DataFrame(columns=["unit", "doc_id", "start", "end"])
        return _Units(empty, np.zeros(0, dtype=np.int64),
                      np.zeros((0, len(code_ids), len(coders)), dtype=bool))
    return _Units(pd.concat(frames, ignore_index=True), np.concatenate(weights),
                  np.concatenate(cubes))


def _passage_ends(coders: list[_Coder]) -> dict[str, int]:
    """Where each document's last passage ends: its length when the documents table omits it."""
    for c in coders:
        p = c.passages
        if p is not None and "end" in p.columns and len(p):
            ends = p.groupby(p["doc_id"].astype(str))["end"].max()
            return {str(d): int(e) for d, e in ends.items()}
    return {}


# --- statistics -------------------------------------------------------------------------------


def _statistics(
    x: np.ndarray, w: np.ndarray, bootstrap: int, rng: np.random.Generator, names: list[str]
) -> dict[str, Any]:
    """Agreement on one code: ``x[unit, coder]`` decisions, ``w[unit]`` unit weights."""
    n_coders = x.shape[1]
    m = x.sum(axis=1)
    counts = np.bincount(m, weights=w, minlength=n_coders + 1).astype(np.int64)
    out: dict[str, Any] = dict.fromkeys(STAT_COLUMNS, np.nan)
    out["note"] = _note(counts, x, names)
    if counts.sum() == 0:
        return out
    out["percent_agreement"] = (counts[0] + counts[-1]) / counts.sum()
    if counts[0] == counts.sum() or counts[-1] == counts.sum():
        return out  # one value everywhere: chance agreement is 1, every kappa is 0/0
    weighted = bool((w != 1).any())
    if n_coders == 2:
        from sklearn.metrics import cohen_kappa_score

        out["cohen_kappa"] = float(cohen_kappa_score(
            x[:, 0].astype(int), x[:, 1].astype(int), labels=[0, 1],
            sample_weight=w if weighted else None,
        ))
    if weighted:
        # The references take one row per unit; a run of characters stands for many, so
        # compute from the pattern counts (tests check these equal the references).
        out["fleiss_kappa"] = float(fleiss_from_counts(counts))
        out["krippendorff_alpha"] = float(alpha_from_counts(counts))
    else:
        import krippendorff
        from statsmodels.stats.inter_rater import fleiss_kappa

        out["fleiss_kappa"] = float(fleiss_kappa(np.column_stack([m, n_coders - m])))
        out["krippendorff_alpha"] = float(krippendorff.alpha(
            reliability_data=x.T.astype(float), level_of_measurement="nominal",
            value_domain=[0.0, 1.0],
        ))
    # Resampling units from their empirical distribution: units with the same number of
    # "coded" votes are interchangeable, so a replicate is a multinomial draw of pattern counts.
    if bootstrap:
        total = int(counts.sum())
        draws = rng.multinomial(total, counts / total, size=bootstrap)
        alphas = np.asarray(alpha_from_counts(draws))
        out["alpha_ci_low"], out["alpha_ci_high"] = _interval(alphas)
    return out


def _statistics_pooled(
    units: _Units, bootstrap: int, rng: np.random.Generator, names: list[str]
) -> dict[str, Any]:
    """Every (unit, code) decision pooled; the bootstrap resamples units with all their codes."""
    n_units, n_codes, n_coders = units.coded.shape
    x = units.coded.reshape(n_units * n_codes, n_coders)
    w = np.repeat(units.weight, n_codes)
    out = _statistics(x, w, 0, rng, names)
    if bootstrap and n_units and not np.isnan(out["krippendorff_alpha"]):
        # patterns[u, j]: how many codes of unit u were coded by exactly j coders
        per_unit = units.coded.sum(axis=2)
        patterns = np.zeros((n_units, n_coders + 1), dtype=np.int64)
        np.add.at(patterns, (np.repeat(np.arange(n_units), n_codes), per_unit.ravel()), 1)
        # Units with the same pattern are interchangeable, so resampling units is a multinomial
        # draw over the distinct patterns (few, whatever the number of units or characters).
        distinct, inverse = np.unique(patterns, axis=0, return_inverse=True)
        weight = np.bincount(inverse.ravel(), weights=units.weight, minlength=len(distinct))
        total = int(units.weight.sum())
        alphas = []
        for start in range(0, bootstrap, _CHUNK):
            size = min(_CHUNK, bootstrap - start)
            draws = rng.multinomial(total, weight / weight.sum(), size=size)
            alphas.append(np.asarray(alpha_from_counts(draws @ distinct)))
        out["alpha_ci_low"], out["alpha_ci_high"] = _interval(np.concatenate(alphas))
    return out


def _interval(alphas: np.ndarray) -> tuple[float, float]:
    alphas = alphas[~np.isnan(alphas)]
    if not len(alphas):
        return np.nan, np.nan
    low, high = np.percentile(alphas, [2.5, 97.5])
    return float(low), float(high)


def _note(counts: np.ndarray, x: np.ndarray, names: list[str]) -> str:
    total = counts.sum()
    if total == 0:
        return "no units"
    if counts[0] == total:
        return "no variation: every unit uncoded by every coder"
    if counts[-1] == total:
        return "no variation: every unit coded by every coder"
    never = [names[k] for k in range(x.shape[1]) if not x[:, k].any()]
    if never:
        return f"never applied by {', '.join(never)}"
    return ""


def alpha_from_counts(counts: np.ndarray) -> np.ndarray | float:
    """Krippendorff's alpha (nominal, yes/no) from pattern counts.

    ``counts[..., j]`` is how many units exactly ``j`` of the coders coded (every coder judges
    every unit, so the data have no gaps). NaN when one value is all there is.

    >>> round(float(alpha_from_counts(np.array([3, 0, 1]))), 3)  # 2 coders agree on 4 units
    1.0
    """
    counts = np.asarray(counts, dtype=float)
    n_coders = counts.shape[-1] - 1
    j = np.arange(n_coders + 1, dtype=float)
    # Coincidences of a unit with j "yes" of m coders: o11 = j(j-1)/(m-1), o01 = j(m-j)/(m-1).
    o01 = (counts * j * (n_coders - j)).sum(axis=-1) / (n_coders - 1)
    n1 = (counts * j).sum(axis=-1)
    n = counts.sum(axis=-1) * n_coders
    n0 = n - n1
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where((n0 > 0) & (n1 > 0), 1 - (n - 1) * o01 / (n0 * n1), np.nan)
    return alpha if alpha.ndim else float(alpha)


def fleiss_from_counts(counts: np.ndarray) -> float:
    """Fleiss' kappa (yes/no) from pattern counts, as :func:`alpha_from_counts` takes them.

    >>> fleiss_from_counts(np.array([2, 0, 2]))
    1.0
    """
    counts = np.asarray(counts, dtype=float)
    n_coders = len(counts) - 1
    j = np.arange(n_coders + 1, dtype=float)
    total = counts.sum()
    p_yes = (counts * j).sum() / (total * n_coders)
    chance = p_yes**2 + (1 - p_yes) ** 2
    per_unit = (j**2 + (n_coders - j) ** 2 - n_coders) / (n_coders * (n_coders - 1))
    observed = (counts * per_unit).sum() / total
    if chance == 1:
        return float("nan")
    return float((observed - chance) / (1 - chance))


# --- disagreements ----------------------------------------------------------------------------


def _disagreements(
    units: _Units, coders: list[_Coder], code_ids: list[str], unit: str
) -> pd.DataFrame:
    coded = units.coded
    split = np.any(coded, axis=2) & ~np.all(coded, axis=2)  # [unit, code]: coders differ
    rows = np.flatnonzero(np.any(split, axis=1))
    frame = units.frame.iloc[rows].reset_index(drop=True)
    if "text" not in frame.columns:
        frame["text"] = _texts(frame, coders[0].passages, unit)
    frame["codes"] = ["; ".join(code_ids[j] for j in np.flatnonzero(split[r])) for r in rows]
    fixed = set(frame.columns)
    for k, c in enumerate(coders):
        column = c.name if c.name not in fixed else f"{c.name} (coder)"
        frame[column] = [
            "; ".join(code_ids[j] for j in np.flatnonzero(coded[r, :, k])) for r in rows
        ]
    return frame


def _texts(frame: pd.DataFrame, passages: pd.DataFrame | None, unit: str) -> list[str]:
    """Each unit's text, cut from the document text the passages rebuild ("" where unknown)."""
    if unit == "document" or passages is None or frame.empty or "text" not in passages:
        return [""] * len(frame)
    texts: dict[str, str] = {}
    for doc, g in passages.groupby(passages["doc_id"].astype(str)):
        parts, at = [], 0
        g = g.sort_values("start")
        for start, text in zip(g["start"], g["text"].astype(str), strict=True):
            start = int(start)
            # Gaps between passages are separators (blank lines); overlapping windows repeat.
            parts.append(" " * max(start - at, 0) + text[max(at - start, 0):])
            at = max(at, start + len(text))
        texts[doc] = "".join(parts)
    return [texts.get(str(d), "")[int(s):int(e)]
            for d, s, e in zip(frame["doc_id"], frame["start"], frame["end"], strict=True)]
