"""Tests of trustcode.compare and trustcode.figures on small hand-made corpora."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, fisher_exact

from trustcode import figures
from trustcode.compare import ComparisonResult, compare
from trustcode.errors import InputError, OutputError, TrustcodeWarning, UsageError
from trustcode.types import CODING_COLUMNS, PASSAGE_COLUMNS, sha256_text

# Two groups, two documents each, one English and one Russian per group. Word counts (whitespace
# tokens) are written beside each passage because the rate tests rely on them.
PASSAGES = [
    # doc, text, codes, score, evidence
    (
        "e1",
        "We met volunteers in Tbilisi and shared stories.",
        ["solidarity"],
        0.8,
        'solidarity.meet: "met volunteers" [3-17]',
    ),  # 8 words
    ("e1", "Nobody trusted the new chat at first.", ["distrust"], 0.7, ""),  # 7 words
    (
        "e2",
        "Мы открыли кружок для тех, кто уехал.",
        ["solidarity", "support"],
        0.8,
        'solidarity.circle: "кружок" [11-17]; support.open: "открыли" [3-10]',
    ),  # 7 words
    ("e2", "Встречи проходили каждую субботу.", [], None, ""),  # 4 words
    ("s1", "Those who stayed kept quiet about the protests.", ["distrust"], None, ""),  # 8 words
    ("s1", "Lawyers helped detained people anyway.", ["support"], 0.6, ""),  # 5 words
    (
        "s2",
        "Соседи помогали друг другу с передачами.",
        ["support", "solidarity"],
        0.9,
        "",
    ),  # 6 words
    ("s2", "Мы боялись говорить открыто.", ["distrust"], None, ""),  # 4 words
]
GROUPS = {"e1": "emigrated", "e2": "emigrated", "s1": "stayed", "s2": "stayed"}


def make_tables(rows=PASSAGES, groups=GROUPS) -> dict[str, pd.DataFrame]:
    """Tables as the pipeline writes them: passages joined by blank lines in each document."""
    texts: dict[str, list[str]] = {}
    passages, codings = [], []
    for doc, text, codes, score, evidence in rows:
        parts = texts.setdefault(doc, [])
        start = sum(len(t) + 2 for t in parts)
        pid = f"{doc}#{len(parts)}"
        passages.append((doc, pid, len(parts), start, start + len(text), text))
        parts.append(text)
        for code in codes:
            codings.append(
                (
                    doc,
                    pid,
                    start,
                    start + len(text),
                    code,
                    "rule",
                    np.nan if score is None else score,
                    evidence,
                    "trustcode",
                )
            )
    docs = pd.DataFrame(
        [
            {
                "doc_id": d,
                "source": f"{d}.txt",
                "title": d,
                "language": "en",
                "n_chars": len("\n\n".join(t)),
                "sha256": sha256_text("\n\n".join(t)),
                "group": groups.get(d, ""),
            }
            for d, t in texts.items()
        ]
    )
    return {
        "documents": docs,
        "passages": pd.DataFrame(passages, columns=list(PASSAGE_COLUMNS)),
        "codings": pd.DataFrame(
            codings,
            columns=list(CODING_COLUMNS),
        ),
    }


def cell(frame: pd.DataFrame, key: str, code: str, value: str, column: str) -> float:
    row = frame[(frame["code"] == code) & (frame[key] == value)]
    assert len(row) == 1, (code, value)
    return row[column].iloc[0]


@pytest.fixture
def result() -> ComparisonResult:
    return compare(make_tables(), by="group")


# --- counts, shares, rates -------------------------------------------------------------------


def test_counts_shares_and_rates_by_group(result):
    g = result.by_group
    assert result.groups == ("emigrated", "stayed")
    assert result.codes == ("distrust", "solidarity", "support")
    # emigrated: 4 passages, 8 + 7 + 7 + 4 = 26 words; solidarity in e1#0 and e2#0.
    assert cell(g, "group", "solidarity", "emigrated", "passages") == 2
    assert cell(g, "group", "solidarity", "emigrated", "n_passages") == 4
    assert cell(g, "group", "solidarity", "emigrated", "words") == 26
    assert cell(g, "group", "solidarity", "emigrated", "share") == pytest.approx(2 / 4)
    assert cell(g, "group", "solidarity", "emigrated", "rate_per_1000") == pytest.approx(
        1000 * 2 / 26
    )
    # stayed: 8 + 5 + 6 + 4 = 23 words; support in s1#1 and s2#0, distrust in s1#0 and s2#1.
    assert cell(g, "group", "support", "stayed", "passages") == 2
    assert cell(g, "group", "support", "stayed", "rate_per_1000") == pytest.approx(1000 * 2 / 23)
    assert cell(g, "group", "distrust", "stayed", "share") == pytest.approx(0.5)
    assert cell(g, "group", "support", "emigrated", "share") == pytest.approx(1 / 4)


def test_counts_by_document(result):
    d = result.by_document
    assert len(d) == 3 * 4
    # e2: 2 passages, 7 + 4 = 11 words, solidarity once.
    assert cell(d, "doc_id", "solidarity", "e2", "passages") == 1
    assert cell(d, "doc_id", "solidarity", "e2", "share") == pytest.approx(0.5)
    assert cell(d, "doc_id", "solidarity", "e2", "rate_per_1000") == pytest.approx(1000 / 11)
    assert cell(d, "doc_id", "distrust", "e2", "passages") == 0
    assert cell(d, "doc_id", "distrust", "e2", "rate_per_1000") == 0.0


def test_wilson_intervals_hold_the_share(result):
    g = result.by_group
    assert (g["ci_low"] <= g["share"]).all() and (g["share"] <= g["ci_high"]).all()
    # Wilson interval of 2/4 by its formula: centre (k + z²/2) / (n + z²), half-width below.
    z, k, n = 1.959963984540054, 2, 4
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    assert cell(g, "group", "solidarity", "emigrated", "ci_low") == pytest.approx(centre - half)
    assert cell(g, "group", "solidarity", "emigrated", "ci_high") == pytest.approx(centre + half)


# --- tests between groups --------------------------------------------------------------------


def test_small_counts_use_fisher_and_match_scipy(result):
    t = result.tests.set_index("code")
    assert (t["test"] == "fisher").all()  # 3 of 8 coded over 4 + 4 passages: expected 1.5 < 5
    # rows: coded / not coded; columns: emigrated / stayed
    expected_p = {
        "solidarity": fisher_exact([[2, 1], [2, 3]]).pvalue,
        "support": fisher_exact([[1, 2], [3, 2]]).pvalue,
        "distrust": fisher_exact([[1, 2], [3, 2]]).pvalue,
    }
    for code, p in expected_p.items():
        assert t.loc[code, "p_value"] == pytest.approx(p)
    # Holm over three p-values: the k-th smallest times (3 - k + 1), running maximum, cap 1.
    ordered = sorted(expected_p.values())
    holm = np.minimum(1, np.maximum.accumulate([3 * ordered[0], 2 * ordered[1], ordered[2]]))
    assert sorted(t["p_adjusted"]) == pytest.approx(list(holm))
    assert not t["reject"].any()


def big_rows(k_a: int, n_a: int, k_b: int, n_b: int, k_c: int = 0, n_c: int = 0):
    rows, groups = [], {}
    for name, k, n in (("a", k_a, n_a), ("b", k_b, n_b), ("c", k_c, n_c)):
        for i in range(n):
            rows.append(
                (f"{name}doc", f"passage number {i} here", ["theme"] if i < k else [], None, "")
            )
        groups[f"{name}doc"] = name
    return rows, groups


def test_large_counts_use_chi_square_and_match_scipy():
    rows, groups = big_rows(30, 50, 12, 60)
    res = compare(make_tables(rows, groups), by="group")
    row = res.tests.iloc[0]
    table = [[30, 12], [20, 48]]
    ref = chi2_contingency(table)
    assert row["test"] == "chi2"
    assert row["p_value"] == pytest.approx(ref.pvalue)
    assert row["statistic"] == pytest.approx(ref.statistic)
    assert row["dof"] == 1
    assert row["p_adjusted"] == pytest.approx(ref.pvalue)  # one code: nothing to correct
    assert ref.pvalue < 0.05 and bool(row["reject"])
    # Adjusted residual of group a: (O - E) / sqrt(E (1 - row share) (1 - column share)).
    e = 50 * 42 / 110
    r_a = (30 - e) / math.sqrt(e * (1 - 42 / 110) * (1 - 50 / 110))
    assert cell(res.by_group, "group", "theme", "a", "residual") == pytest.approx(r_a)
    assert cell(res.by_group, "group", "theme", "b", "residual") == pytest.approx(-r_a)


def test_three_groups_chi_square():
    rows, groups = big_rows(10, 20, 5, 20, 15, 20)
    row = compare(make_tables(rows, groups), by="group").tests.iloc[0]
    ref = chi2_contingency([[10, 5, 15], [10, 15, 5]])
    assert row["test"] == "chi2" and row["dof"] == 2
    assert row["p_value"] == pytest.approx(ref.pvalue)


# --- co-occurrence, similarity, exemplars ----------------------------------------------------


def test_cooccurrence_counts_and_jaccard(result):
    co = result.cooccurrence.set_index(["code_a", "code_b"])
    # solidarity in e1#0, e2#0, s2#0; support in e2#0, s1#1, s2#0: both in e2#0 and s2#0.
    assert co.loc[("solidarity", "support"), "n_both"] == 2
    assert co.loc[("solidarity", "support"), "jaccard"] == pytest.approx(2 / (3 + 3 - 2))
    assert co.loc[("support", "solidarity"), "jaccard"] == pytest.approx(0.5)
    assert co.loc[("distrust", "support"), "n_both"] == 0
    assert co.loc[("distrust", "support"), "jaccard"] == 0.0
    assert co.loc[("distrust", "distrust"), "jaccard"] == 1.0
    assert len(co) == 9


def test_document_similarity_is_cosine_of_shares(result):
    sim = result.similarity
    # shares (distrust, solidarity, support): e1 (.5, .5, 0), e2 (0, .5, .5), s1 (.5, 0, .5)
    assert sim.loc["e1", "e2"] == pytest.approx(0.25 / (math.sqrt(0.5) * math.sqrt(0.5)))
    assert sim.loc["e1", "e1"] == pytest.approx(1.0)
    assert sim.loc["e2", "e1"] == pytest.approx(sim.loc["e1", "e2"])
    assert list(sim.index) == ["e1", "e2", "s1", "s2"]


def test_exemplars_order_by_score_then_evidence_then_position(result):
    ex = result.exemplars
    sol = ex[(ex["code"] == "solidarity") & (ex["group"] == "emigrated")]
    # both score 0.8; e2#0 names two pieces of evidence, e1#0 one
    assert list(sol["passage_id"]) == ["e2#0", "e1#0"]
    assert list(sol["rank"]) == [1, 2]
    sup = ex[(ex["code"] == "support") & (ex["group"] == "stayed")]
    assert list(sup["passage_id"]) == ["s2#0", "s1#1"]  # 0.9 before 0.6
    dis = ex[(ex["code"] == "distrust") & (ex["group"] == "stayed")]
    assert list(dis["passage_id"]) == ["s1#0", "s2#1"]  # no scores: document order
    assert sup["text"].iloc[0] == "Соседи помогали друг другу с передачами."


def test_exemplars_keep_three_and_trim_text():
    long_text = " ".join(["слово"] * 80)  # 80 * 6 - 1 = 479 characters
    rows = [
        ("d", long_text if i == 0 else f"short passage {i}", ["theme"], 0.5 - i / 10, "")
        for i in range(5)
    ]
    ex = compare(make_tables(rows, {"d": "g"}), by="group").exemplars
    assert len(ex) == 3
    assert list(ex["passage_id"]) == ["d#0", "d#1", "d#2"]
    assert len(ex["text"].iloc[0]) == 300 and ex["text"].iloc[0].endswith("…")
    assert ex["text"].iloc[1] == "short passage 1"


# --- inputs ----------------------------------------------------------------------------------


def test_group_without_passages_is_a_warned_zero_row():
    tables = make_tables()
    extra = tables["documents"].iloc[[0]].assign(doc_id="empty", sha256="0", group="newcomers")
    tables["documents"] = pd.concat([tables["documents"], extra], ignore_index=True)
    with pytest.warns(TrustcodeWarning, match="'newcomers'.*no passages"):
        res = compare(tables, by="group")
    row = res.by_group[(res.by_group["group"] == "newcomers")]
    assert len(row) == 3
    assert (row["passages"] == 0).all() and (row["n_passages"] == 0).all()
    assert (row["note"] == "group has no passages").all()
    # The empty group does not enter the tests: the p-values stay those of two groups.
    assert res.tests.set_index("code").loc["solidarity", "p_value"] == pytest.approx(
        fisher_exact([[2, 1], [2, 3]]).pvalue
    )


def test_unknown_by_column_lists_the_columns():
    with pytest.raises(UsageError) as err:
        compare(make_tables(), by="country")
    message = str(err.value)
    assert "'country'" in message
    for column in ("doc_id", "group", "language"):
        assert column in message


def test_empty_codings_is_an_input_error():
    tables = make_tables()
    tables["codings"] = tables["codings"].iloc[0:0]
    with pytest.raises(InputError, match="codings table is empty"):
        compare(tables)


def test_missing_column_is_an_input_error():
    tables = make_tables()
    tables["passages"] = tables["passages"].drop(columns="text")
    with pytest.raises(InputError, match=r"passages table of input 1 lacks column\(s\) \['text'\]"):
        compare(tables)


def test_several_inputs_concatenate():
    rows_e = [r for r in PASSAGES if r[0].startswith("e")]
    rows_s = [r for r in PASSAGES if r[0].startswith("s")]
    both = compare([make_tables(rows_e), make_tables(rows_s), make_tables(rows_e)], by="group")
    one = compare(make_tables(), by="group")
    pd.testing.assert_frame_equal(both.by_group, one.by_group)
    pd.testing.assert_frame_equal(both.cooccurrence, one.cooccurrence)


def test_same_doc_id_with_other_text_is_an_input_error():
    other = make_tables([("e1", "A different text altogether.", ["solidarity"], None, "")])
    with pytest.raises(InputError, match="e1"):
        compare([make_tables(), other])


def test_without_by_the_corpus_is_one_group(result):
    res = compare(make_tables())
    assert res.groups == ("all",)
    assert cell(res.by_group, "group", "support", "all", "share") == pytest.approx(3 / 8)
    assert res.tests["p_value"].isna().all()
    assert res.tests["note"].str.contains("fewer than two groups").all()


def test_codes_restrict_and_label():
    res = compare(
        make_tables(), by="group", codes={"support": "Mutual support", "unused": "Never coded"}
    )
    assert res.codes == ("support", "unused")
    assert res.label("support") == "Mutual support"
    assert cell(res.by_group, "group", "unused", "stayed", "passages") == 0
    t = res.tests.set_index("code")
    assert "no variation" in t.loc["unused", "note"] and math.isnan(t.loc["unused", "p_value"])


def test_to_dict_is_json_ready(result):
    data = json.loads(json.dumps(result.to_dict()))
    assert data["by"] == "group"
    assert len(data["by_group"]) == 6
    assert data["similarity"]["doc_ids"] == ["e1", "e2", "s1", "s2"]


# --- figures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draw", [figures.heatmap_code_document, figures.shares_by_group, figures.cooccurrence_heatmap]
)
def test_figures_written_as_png_and_svg(draw, tmp_path):
    res = compare(
        make_tables(),
        by="group",
        codes={
            "solidarity": "Solidarity across borders",
            "support": "Mutual support",
            "distrust": "Distrust",
        },
    )
    png, svg = draw(res, tmp_path / "figure")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    root = ET.fromstring(svg.read_bytes())
    assert root.tag.endswith("svg")
    text = svg.read_text(encoding="utf-8")
    assert "Mutual support" in text  # labels, not ids
    with pytest.raises(OutputError, match="exists; pass force=True"):
        draw(res, tmp_path / "figure")
    assert draw(res, tmp_path / "figure.png", force=True) == [png, svg]


def test_figure_svg_string_and_unknown_kind(result):
    svg = figures.figure_svg(result, "shares")
    assert ET.fromstring(svg.encode("utf-8")).tag.endswith("svg")
    assert "emigrated" in svg and "stayed" in svg
    assert svg == figures.figure_svg(result, "shares")  # same result, same bytes
    with pytest.raises(UsageError, match="'pie'"):
        figures.figure_svg(result, "pie")


def test_documents_without_a_group_value_form_their_own_group():
    groups = dict(GROUPS, s2="")
    with pytest.warns(TrustcodeWarning, match="1 document"):
        res = compare(make_tables(groups=groups), by="group")
    assert res.groups == ("(no group)", "emigrated", "stayed")
    assert cell(res.by_group, "group", "distrust", "(no group)", "n_passages") == 2


def test_codebook_gives_leaf_codes_and_labels():
    from trustcode.types import Code, Codebook

    book = Codebook(
        name="test",
        codes=(
            Code(id="relations", label="Relations"),
            Code(id="support", label="Mutual support", parent="relations"),
            Code(id="distrust", label="Distrust", parent="relations"),
        ),
    )
    res = compare(make_tables(), by="group", codes=book)
    assert res.codes == ("support", "distrust")  # the parent codes no passage
    assert res.label("distrust") == "Distrust"
    assert cell(res.by_group, "group", "distrust", "stayed", "passages") == 2
