"""Compare codings across documents and groups of documents.

:func:`compare` reads coded tables (documents, passages, codings; see DESIGN.md) and builds
code x document and code x group tables (passages coded, share of passages, rate per 1,000
words), tests whether each code's prevalence differs between groups, code co-occurrence,
document similarity by code profile, and exemplar passages for each (code, group) cell.

A passage counts as coded with a code when any row of the codings table names that passage and
code, whatever its ``source`` or ``coder``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, fisher_exact

from trustcode.errors import InputError, TrustcodeWarning, UsageError
from trustcode.types import Codebook, check_tables

#: group name used when ``by`` is None: the whole corpus is one group
ALL_GROUP = "all"
#: how many exemplar passages each (code, group) cell keeps, and their text length
EXEMPLARS = 3
EXEMPLAR_CHARS = 300

Tables = Mapping[str, pd.DataFrame]
CodeSpec = Sequence[str] | Mapping[str, str] | Codebook | None

_REQUIRED = {
    "documents": ("doc_id",),
    "passages": ("doc_id", "passage_id", "text"),
    "codings": ("doc_id", "passage_id", "code"),
}


@dataclass
class ComparisonResult:
    """What :func:`compare` found; every table is a long (tidy) DataFrame.

    - ``by_document``: ``code, doc_id, passages, n_passages, share, words, rate_per_1000``
    - ``by_group``: ``code, group, passages, n_passages, share, ci_low, ci_high, words,
      rate_per_1000, residual, note`` (``residual``: adjusted standardized residual of the
      coded count; ``ci_*``: 95% Wilson interval of the share)
    - ``tests``: ``code, test, statistic, dof, p_value, p_adjusted, reject, min_expected, note``
    - ``cooccurrence``: ``code_a, code_b, n_a, n_b, n_both, jaccard`` (every ordered pair)
    - ``similarity``: square document x document cosine similarity of share vectors
    - ``exemplars``: ``code, group, rank, doc_id, passage_id, score, n_evidence, text``
    """

    by: str | None
    codes: tuple[str, ...]
    groups: tuple[str, ...]
    labels: dict[str, str]
    by_document: pd.DataFrame
    by_group: pd.DataFrame
    tests: pd.DataFrame
    cooccurrence: pd.DataFrame
    similarity: pd.DataFrame
    exemplars: pd.DataFrame
    correction: str = "holm"
    notes: list[str] = field(default_factory=list)

    def label(self, code: str) -> str:
        """The code's label where one was given, else its id."""
        return self.labels.get(code, code)

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and dicts (JSON-ready) of every table.

        >>> result.to_dict()["by_group"][0]["code"]  # doctest: +SKIP
        'solidarity'
        """

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            clean = frame.astype(object).where(frame.notna(), None)
            return clean.to_dict(orient="records")

        sim = self.similarity
        return {
            "by": self.by,
            "codes": list(self.codes),
            "groups": list(self.groups),
            "labels": dict(self.labels),
            "correction": self.correction,
            "notes": list(self.notes),
            "by_document": records(self.by_document),
            "by_group": records(self.by_group),
            "tests": records(self.tests),
            "cooccurrence": records(self.cooccurrence),
            "similarity": {
                "doc_ids": [str(d) for d in sim.index],
                "values": sim.astype(object).where(sim.notna(), None).values.tolist(),
            },
            "exemplars": records(self.exemplars),
        }


def compare(
    tables: Tables | Sequence[Tables],
    *,
    by: str | None = None,
    codes: CodeSpec = None,
    correction: str = "holm",
    alpha: float = 0.05,
) -> ComparisonResult:
    """Compare how often each code occurs across documents and across groups of documents.

    ``tables`` is one dict of DataFrames (keys ``documents``, ``passages``, ``codings``) or a
    list of them, concatenated. ``by`` names a documents column (e.g. ``group``) whose values form
    the groups; ``None`` treats the corpus as one group. ``codes`` restricts and orders the codes
    (ids, a mapping id -> label, or a :class:`Codebook` whose leaf codes give ids and labels).
    Prevalence differences between groups use chi-square, or Fisher's exact test for two groups
    with an expected count below 5; ``correction`` is a statsmodels ``multipletests`` method.

    >>> result = compare(tables, by="group")  # doctest: +SKIP
    >>> result.by_group[["code", "group", "share"]]  # doctest: +SKIP
    """
    merged = merge_tables(tables)
    docs, passages, codings = merged["documents"], merged["passages"], merged["codings"]
    if codings.empty:
        raise InputError(
            "compare: the codings table is empty, so there is nothing to compare. "
            "Expected at least one coded passage; fix: run `trustcode code` first, or pass the "
            "tables of a run that coded something."
        )
    code_ids, labels = _resolve_codes(codes, codings)
    notes: list[str] = []

    # Passages in document order, each with its group and word count.
    passages = _order_passages(docs, passages)
    group_of = _groups(docs, by, notes)
    passages["group"] = (
        passages["doc_id"].map(group_of).fillna(ALL_GROUP if by is None else _missing_group(by))
    )
    passages["words"] = passages["text"].astype(str).str.split().str.len().astype("int64")

    known = set(passages["passage_id"])
    stray = codings.loc[~codings["passage_id"].isin(known), "passage_id"].unique()
    if len(stray):
        _warn(
            notes,
            f"compare: {len(stray)} coded passage id(s) are not in the passages table and were "
            f"left out (first: {stray[0]!r}); check that the tables come from the same run.",
        )
    codings = codings[codings["passage_id"].isin(known) & codings["code"].isin(code_ids)]

    # X: passage x code indicator, the one structure every table below is computed from.
    pos = pd.Index(passages["passage_id"])
    col = {c: j for j, c in enumerate(code_ids)}
    x = np.zeros((len(passages), len(code_ids)), dtype=bool)
    x[pos.get_indexer(codings["passage_id"]), codings["code"].map(col).to_numpy(int)] = True

    doc_order = list(dict.fromkeys([*docs["doc_id"], *passages["doc_id"]]))
    by_document = _tally(x, passages, "doc_id", doc_order, code_ids)
    group_order = sorted(set(group_of.values()) | set(passages["group"]))
    by_group = _tally(x, passages, "group", group_order, code_ids)
    by_group = _add_intervals(by_group)
    empty_groups = sorted(set(group_order) - set(passages["group"]))
    for g in empty_groups:
        _warn(notes, f"compare: group {g!r} of column {by!r} has no passages; its row is zero.")
    by_group["note"] = np.where(by_group["group"].isin(empty_groups), "group has no passages", "")
    tests, residuals = _group_tests(by_group, code_ids, correction, alpha)
    by_group["residual"] = residuals
    by_group = by_group[
        [
            "code",
            "group",
            "passages",
            "n_passages",
            "share",
            "ci_low",
            "ci_high",
            "words",
            "rate_per_1000",
            "residual",
            "note",
        ]
    ]

    return ComparisonResult(
        by=by,
        codes=tuple(code_ids),
        groups=tuple(group_order),
        labels=labels,
        by_document=by_document,
        by_group=by_group,
        tests=tests,
        cooccurrence=_cooccurrence(x, code_ids),
        similarity=_similarity(by_document, doc_order, code_ids),
        exemplars=_exemplars(codings, passages, code_ids, group_order),
        correction=correction,
        notes=notes,
    )


# --- input ------------------------------------------------------------------------------------


def merge_tables(tables: Tables | Sequence[Tables]) -> dict[str, pd.DataFrame]:
    """Check and concatenate one or more table sets (documents de-duplicated by ``doc_id``).

    >>> merge_tables([run_a, run_b])["documents"]  # doctest: +SKIP
    """
    parts = [tables] if isinstance(tables, Mapping) else list(tables)
    if not parts:
        raise UsageError("compare: no tables were given; pass a dict of DataFrames or a list.")
    for i, part in enumerate(parts):
        _check_columns(part, i)
    docs = pd.concat([p["documents"] for p in parts], ignore_index=True)
    if "sha256" in docs.columns:
        hashes = docs.dropna(subset=["sha256"]).groupby("doc_id")["sha256"].nunique()
        clash = sorted(str(d) for d in hashes[hashes > 1].index)
        if clash:
            raise InputError(
                f"compare: document(s) {', '.join(clash)} appear in several inputs with different "
                "texts (sha256 differs), so their passages cannot be pooled. Expected one text per "
                "doc_id; fix: give the differing versions distinct doc_ids."
            )
    docs = docs.drop_duplicates("doc_id", keep="first").reset_index(drop=True)
    passages = pd.concat([p["passages"] for p in parts], ignore_index=True)
    spans = [c for c in ("start", "end") if c in passages.columns]
    passages = passages.drop_duplicates(["passage_id", *spans])
    dup = passages["passage_id"][passages["passage_id"].duplicated()].unique()
    if len(dup):
        raise InputError(
            f"compare: passage id(s) {', '.join(map(str, dup[:5]))} have different spans in "
            "different inputs (the documents were segmented differently). Expected one "
            "segmentation; fix: code all inputs with the same unit."
        )
    codings = pd.concat([p["codings"] for p in parts], ignore_index=True).drop_duplicates()
    return {"documents": docs, "passages": passages.reset_index(drop=True), "codings": codings}


def _check_columns(part: Tables, i: int) -> None:
    check_tables(part, _REQUIRED, where="compare", part=f" of input {i + 1}")


def _resolve_codes(codes: CodeSpec, codings: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    if codes is None:
        return sorted(map(str, codings["code"].unique())), {}
    if isinstance(codes, Codebook):
        return [c.id for c in codes.leaf_codes], {c.id: c.label for c in codes.leaf_codes}
    if isinstance(codes, Mapping):
        return [str(c) for c in codes], {str(k): str(v) for k, v in codes.items()}
    if isinstance(codes, str):
        return [codes], {}
    return [str(c) for c in codes], {}


def _order_passages(docs: pd.DataFrame, passages: pd.DataFrame) -> pd.DataFrame:
    rank = {d: i for i, d in enumerate(docs["doc_id"])}
    out = passages.copy()
    out["_doc_rank"] = out["doc_id"].map(rank).fillna(len(rank))
    keys = ["_doc_rank", "doc_id"] + [c for c in ("index", "start") if c in out.columns]
    return out.sort_values(keys, kind="stable").drop(columns="_doc_rank").reset_index(drop=True)


def _missing_group(by: str | None) -> str:
    return f"(no {by})"


def _groups(docs: pd.DataFrame, by: str | None, notes: list[str]) -> dict[Any, str]:
    if by is None:
        return dict.fromkeys(docs["doc_id"], ALL_GROUP)
    if by not in docs.columns:
        raise UsageError(
            f"compare: by={by!r} is not a column of the documents table. Available columns: "
            f"{', '.join(map(str, docs.columns))}. Fix: pass one of them, e.g. by='group'."
        )
    values = docs[by].astype(object).where(docs[by].notna() & (docs[by].astype(str) != ""))
    if values.isna().any():
        _warn(
            notes,
            f"compare: {int(values.isna().sum())} document(s) have no value in column {by!r}; "
            f"they form the group {_missing_group(by)!r}.",
        )
    values = values.fillna(_missing_group(by)).astype(str)
    return dict(zip(docs["doc_id"], values, strict=True))


def _warn(notes: list[str], message: str) -> None:
    notes.append(message)
    warnings.warn(message, TrustcodeWarning, stacklevel=3)


# --- tables -----------------------------------------------------------------------------------


def _tally(
    x: np.ndarray, passages: pd.DataFrame, key: str, order: list[str], code_ids: list[str]
) -> pd.DataFrame:
    """Coded passages, passages, words and derived shares per (code, key value)."""
    codes_df = pd.DataFrame(x, columns=code_ids)
    codes_df[key] = passages[key].to_numpy()
    coded = codes_df.groupby(key, sort=False)[code_ids].sum().reindex(order, fill_value=0)
    sizes = passages.groupby(key, sort=False).agg(
        n_passages=("passage_id", "size"), words=("words", "sum")
    )
    sizes = sizes.reindex(order, fill_value=0)
    long = coded.reset_index(names=key).melt(id_vars=key, var_name="code", value_name="passages")
    long = long.merge(sizes.reset_index(names=key), on=key, how="left")
    n, w = long["n_passages"].to_numpy(float), long["words"].to_numpy(float)
    k = long["passages"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        long["share"] = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
        long["rate_per_1000"] = np.where(w > 0, 1000 * k / np.where(w > 0, w, 1), 0.0)
    long["code"] = pd.Categorical(long["code"], categories=code_ids, ordered=True)
    long[key] = pd.Categorical(long[key], categories=order, ordered=True)
    long = long.sort_values(["code", key]).reset_index(drop=True)
    long["code"] = long["code"].astype(str)
    long[key] = long[key].astype(str)
    long = long.astype({"passages": "int64", "n_passages": "int64", "words": "int64"})
    return long[["code", key, "passages", "n_passages", "share", "words", "rate_per_1000"]]


def _add_intervals(by_group: pd.DataFrame) -> pd.DataFrame:
    from statsmodels.stats.proportion import proportion_confint

    k = by_group["passages"].to_numpy(float)
    n = by_group["n_passages"].to_numpy(float)
    low = np.full(len(k), np.nan)
    high = np.full(len(k), np.nan)
    ok = n > 0
    if ok.any():
        low[ok], high[ok] = proportion_confint(k[ok], n[ok], alpha=0.05, method="wilson")
    by_group = by_group.copy()
    by_group["ci_low"], by_group["ci_high"] = low, high
    return by_group


def _group_tests(
    by_group: pd.DataFrame, code_ids: list[str], correction: str, alpha: float
) -> tuple[pd.DataFrame, np.ndarray]:
    """One test per code of coded vs not coded across the groups that have passages."""
    from statsmodels.stats.multitest import multipletests

    rows = []
    residuals = np.full(len(by_group), np.nan)
    for code in code_ids:
        mask = (by_group["code"] == code).to_numpy() & (by_group["n_passages"] > 0).to_numpy()
        k = by_group.loc[mask, "passages"].to_numpy(float)
        n = by_group.loc[mask, "n_passages"].to_numpy(float)
        row: dict[str, Any] = {
            "code": code,
            "test": "",
            "statistic": np.nan,
            "dof": np.nan,
            "p_value": np.nan,
            "min_expected": np.nan,
            "note": "",
        }
        rows.append(row)
        if len(k) < 2:
            row["note"] = "fewer than two groups with passages: nothing to compare"
            continue
        total_k, total_n = k.sum(), n.sum()
        if total_k == 0 or total_k == total_n:
            row["note"] = "no variation: the code is in no passage or in every passage"
            continue
        expected = np.vstack([n * total_k / total_n, n * (total_n - total_k) / total_n])
        table = np.vstack([k, n - k])
        row["min_expected"] = float(expected.min())
        # Adjusted residuals (Agresti): comparable across cells, ~N(0, 1) under independence.
        scale = np.sqrt(expected[0] * (1 - total_k / total_n) * (1 - n / total_n))
        residuals[np.flatnonzero(mask)] = (k - expected[0]) / scale
        if len(k) == 2 and expected.min() < 5:
            row["test"] = "fisher"
            res = fisher_exact(table)
            row["statistic"], row["p_value"] = float(res.statistic), float(res.pvalue)
        else:
            row["test"] = "chi2"
            res = chi2_contingency(table)
            row["statistic"], row["p_value"] = float(res.statistic), float(res.pvalue)
            row["dof"] = int(res.dof)
            if expected.min() < 5:
                row["note"] = "expected counts below 5: the chi-square p-value is approximate"
    tests = pd.DataFrame(rows)
    tests["p_adjusted"] = np.nan
    tests["reject"] = False
    valid = tests["p_value"].notna().to_numpy()
    if valid.any():
        reject, adjusted, _, _ = multipletests(
            tests.loc[valid, "p_value"].to_numpy(), alpha=alpha, method=correction
        )
        tests.loc[valid, "p_adjusted"] = adjusted
        tests.loc[valid, "reject"] = reject
    tests["reject"] = tests["reject"].astype(bool)
    cols = [
        "code",
        "test",
        "statistic",
        "dof",
        "p_value",
        "p_adjusted",
        "reject",
        "min_expected",
        "note",
    ]
    return tests[cols], residuals


def _cooccurrence(x: np.ndarray, code_ids: list[str]) -> pd.DataFrame:
    xi = x.astype(np.int64)
    both = xi.T @ xi
    n = np.diag(both)
    union = n[:, None] + n[None, :] - both
    with np.errstate(divide="ignore", invalid="ignore"):
        jaccard = np.where(union > 0, both / np.where(union > 0, union, 1), np.nan)
    k = len(code_ids)
    a, b = np.repeat(np.arange(k), k), np.tile(np.arange(k), k)
    return pd.DataFrame(
        {
            "code_a": [code_ids[i] for i in a],
            "code_b": [code_ids[j] for j in b],
            "n_a": n[a].astype("int64"),
            "n_b": n[b].astype("int64"),
            "n_both": both[a, b].astype("int64"),
            "jaccard": jaccard[a, b],
        }
    )


def _similarity(
    by_document: pd.DataFrame, doc_order: list[str], code_ids: list[str]
) -> pd.DataFrame:
    shares = by_document.pivot(index="doc_id", columns="code", values="share")
    v = shares.reindex(index=doc_order, columns=code_ids).to_numpy(float)
    norm = np.linalg.norm(v, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = v / norm[:, None]
    sim = unit @ unit.T  # rows of zero norm give NaN: a document without codes has no profile
    sim[norm == 0, :] = np.nan
    sim[:, norm == 0] = np.nan
    frame = pd.DataFrame(sim, index=pd.Index(doc_order, name="doc_id"), columns=doc_order)
    return frame


def _exemplars(
    codings: pd.DataFrame, passages: pd.DataFrame, code_ids: list[str], groups: list[str]
) -> pd.DataFrame:
    cols = ["code", "group", "rank", "doc_id", "passage_id", "score", "n_evidence", "text"]
    if codings.empty:
        return pd.DataFrame(columns=cols)
    c = codings[["passage_id", "code"]].copy()
    c["score"] = pd.to_numeric(codings["score"], errors="coerce") if "score" in codings else np.nan
    evidence = codings["evidence"] if "evidence" in codings else pd.Series("", index=codings.index)
    c["n_evidence"] = evidence.fillna("").astype(str).map(_count_evidence)
    # One row per (passage, code): several sources may code the same passage.
    c = c.groupby(["passage_id", "code"], as_index=False).agg(
        score=("score", "max"), n_evidence=("n_evidence", "max")
    )
    order = pd.Series(np.arange(len(passages)), index=passages["passage_id"])
    c["order"] = c["passage_id"].map(order)
    c = c.merge(passages[["passage_id", "doc_id", "group", "text"]], on="passage_id")
    c["_score"] = c["score"].fillna(-np.inf)
    c = c.sort_values(
        ["code", "group", "_score", "n_evidence", "order"],
        ascending=[True, True, False, False, True],
        kind="stable",
    )
    top = c.groupby(["code", "group"], sort=False).head(EXEMPLARS).copy()
    top["rank"] = top.groupby(["code", "group"]).cumcount() + 1
    top["text"] = top["text"].astype(str).map(_trim)
    top["code"] = pd.Categorical(top["code"], categories=code_ids, ordered=True)
    top["group"] = pd.Categorical(top["group"], categories=groups, ordered=True)
    top = top.sort_values(["code", "group", "rank"]).astype({"code": str, "group": str})
    return top[cols].reset_index(drop=True)


def _count_evidence(evidence: str) -> int:
    return sum(1 for part in evidence.split(";") if part.strip())


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXEMPLAR_CHARS else text[: EXEMPLAR_CHARS - 1].rstrip() + "…"
