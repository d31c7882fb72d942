"""Tests of trustcode.agreement: reference implementations, hand arithmetic, invariants."""

from __future__ import annotations

import json
import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from trustcode.agreement import agree, alpha_from_counts, fleiss_from_counts
from trustcode.errors import InputError, TrustcodeWarning, UsageError
from trustcode.types import CODING_COLUMNS, PASSAGE_COLUMNS, sha256_text

SENTENCES = [
    "Volunteers answered the hotline at night.",
    "Адвокаты приезжали в отдел полиции.",
    "Some donors asked who ran the fund.",
    "Люди в эмиграции собирали посылки.",
    "The chat grew slowly over a year.",
    "Никто не знал, кому можно верить.",
]


def corpus(n_docs: int = 2, per_doc: int = 5):
    """Documents of ``per_doc`` passages (blank-line separated), with their passages table."""
    docs, passages = [], []
    for d in range(n_docs):
        doc_id = f"doc{d}"
        texts = [SENTENCES[(d + i) % len(SENTENCES)] for i in range(per_doc)]
        start = 0
        for i, text in enumerate(texts):
            passages.append((doc_id, f"{doc_id}#{i}", i, start, start + len(text), text))
            start += len(text) + 2
        full = "\n\n".join(texts)
        docs.append((doc_id, f"{doc_id}.txt", doc_id, "en", len(full), sha256_text(full)))
    documents = pd.DataFrame(
        docs, columns=["doc_id", "source", "title", "language", "n_chars", "sha256"]
    )
    passage_frame = pd.DataFrame(passages, columns=list(PASSAGE_COLUMNS))
    return documents, passage_frame


def coding(
    decisions: dict[str, list[int]], coder: str | None, n_docs: int = 2, per_doc: int = 5
) -> dict[str, pd.DataFrame]:
    """One coder's tables: ``decisions[code][i]`` says if passage i (over all docs) is coded."""
    documents, passages = corpus(n_docs, per_doc)
    rows = []
    for code, flags in decisions.items():
        for i, flag in enumerate(flags):
            if flag:
                p = passages.iloc[i]
                rows.append(
                    (
                        p["doc_id"],
                        p["passage_id"],
                        p["start"],
                        p["end"],
                        code,
                        "human",
                        np.nan,
                        "",
                        coder or "",
                    )
                )
    codings = pd.DataFrame(
        rows,
        columns=list(CODING_COLUMNS),
    )
    return {"documents": documents, "passages": passages, "codings": codings}


def per_code(result, code: str) -> pd.Series:
    return result.per_code.set_index("code").loc[code]


A = {"p": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], "q": [0, 1, 0, 1, 0, 1, 1, 0, 0, 1]}
B = {"p": [1, 1, 1, 0, 0, 1, 0, 0, 0, 0], "q": [0, 1, 0, 0, 0, 1, 1, 1, 0, 1]}


# --- reference implementations and hand arithmetic -------------------------------------------


def test_hand_computed_two_coders():
    res = agree([coding(A, "ann"), coding(B, "boris")], bootstrap=0)
    p = per_code(res, "p")
    # Code p over 10 passages: both yes on 0, 1, 2; both no on 4, 6, 7, 8, 9; split on 3 and 5.
    # percent agreement = 8 / 10.
    assert p["percent_agreement"] == pytest.approx(0.8)
    # Cohen: each coder says yes 4 times, so chance = .4 * .4 + .6 * .6 = .52;
    # kappa = (.8 - .52) / (1 - .52) = .28 / .48.
    assert p["cohen_kappa"] == pytest.approx(0.28 / 0.48)
    # Fleiss: pooled yes share 8/20 = .4, chance .52 again; a unit agreed on has P_i = 1, a
    # split unit (1 + 1 - 2) / (2 * 1) = 0, so P = 8/10 and kappa = .28 / .48 as well.
    assert p["fleiss_kappa"] == pytest.approx(0.28 / 0.48)
    # Krippendorff: 20 values, 8 yes and 12 no; each split unit adds 1 * 1 / (2 - 1) to each
    # off-diagonal coincidence, so o(yes, no) = 2; alpha = 1 - (20 - 1) * 2 / (8 * 12) = 1 - 38/96.
    assert p["krippendorff_alpha"] == pytest.approx(1 - 38 / 96)
    assert p["n_units"] == 10
    assert math.isnan(p["alpha_ci_low"])  # bootstrap=0: no interval


def test_per_code_statistics_equal_the_references():
    rng = np.random.default_rng(7)
    a = {c: list(rng.integers(0, 2, 30)) for c in ("p", "q", "r")}
    b = {c: [x if rng.random() < 0.8 else 1 - x for x in a[c]] for c in a}
    res = agree([coding(a, "a", 3, 10), coding(b, "b", 3, 10)], bootstrap=0)
    for code in a:
        x, y = np.array(a[code]), np.array(b[code])
        row = per_code(res, code)
        assert row["cohen_kappa"] == pytest.approx(cohen_kappa_score(x, y))
        assert row["krippendorff_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=[x, y], level_of_measurement="nominal")
        )
        table = np.column_stack([x + y, 2 - x - y])
        assert row["fleiss_kappa"] == pytest.approx(fleiss_kappa(table))
        assert row["percent_agreement"] == pytest.approx(np.mean(x == y))
    # Overall pools every (passage, code) decision.
    x = np.concatenate([a[c] for c in a])
    y = np.concatenate([b[c] for c in a])
    overall = res.overall.iloc[0]
    assert overall["n_units"] == 30 and overall["n_decisions"] == 90
    assert overall["cohen_kappa"] == pytest.approx(cohen_kappa_score(x, y))
    assert overall["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=[x, y], level_of_measurement="nominal")
    )


def test_three_coders_fleiss_and_alpha():
    c = {"p": [1, 1, 0, 0, 1, 0, 1, 0, 0, 1]}
    res = agree([coding(A, "a"), coding(B, "b"), coding(c, "c")], codes=["p"], bootstrap=0)
    data = np.array([A["p"], B["p"], c["p"]])
    row = per_code(res, "p")
    assert math.isnan(row["cohen_kappa"])  # Cohen's kappa is for two coders
    m = data.sum(axis=0)
    assert row["fleiss_kappa"] == pytest.approx(fleiss_kappa(np.column_stack([m, 3 - m])))
    assert row["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    )
    assert res.coders == ("a", "b", "c")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.integers(0, 1), min_size=3, max_size=3), min_size=2, max_size=25))
def test_pattern_formulas_equal_the_references(rows):
    data = np.array(rows).T  # coders x units
    m = data.sum(axis=0)
    counts = np.bincount(m, minlength=4)
    if m.min() == m.max() and m[0] in (0, 3):
        assert math.isnan(alpha_from_counts(counts))
        return
    assert alpha_from_counts(counts) == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    )
    assert fleiss_from_counts(counts) == pytest.approx(fleiss_kappa(np.column_stack([m, 3 - m])))


# --- invariants ------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:agree. coder:trustcode.errors.TrustcodeWarning")
@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 1), min_size=10, max_size=10),
    st.lists(st.integers(0, 1), min_size=10, max_size=10),
)
def test_a_coding_agrees_perfectly_with_itself(p, q):
    x = coding({"p": p, "q": q}, "same")
    res = agree([x, x], codes=["p", "q"], bootstrap=20)
    assert (res.per_code["percent_agreement"] == 1.0).all()
    for code, flags in (("p", p), ("q", q)):
        row = per_code(res, code)
        if 0 < sum(flags) < len(flags):
            assert row["krippendorff_alpha"] == pytest.approx(1.0)
            assert row["cohen_kappa"] == pytest.approx(1.0)
            assert row["alpha_ci_low"] == pytest.approx(1.0)
        else:
            assert math.isnan(row["krippendorff_alpha"]) and "no variation" in row["note"]
    assert res.disagreements.empty


@pytest.mark.parametrize("unit", ["passage", "document", "character"])
def test_swapping_coders_changes_nothing(unit):
    ab = agree([coding(A, "ann"), coding(B, "boris")], unit=unit, bootstrap=200)
    ba = agree([coding(B, "boris"), coding(A, "ann")], unit=unit, bootstrap=200)
    pd.testing.assert_frame_equal(ab.per_code, ba.per_code)
    pd.testing.assert_frame_equal(ab.overall, ba.overall)
    assert len(ab.disagreements) == len(ba.disagreements) > 0


def test_bootstrap_interval_is_reproducible_and_holds_alpha():
    one = agree([coding(A, "ann"), coding(B, "boris")], bootstrap=300, random_state=3)
    two = agree([coding(A, "ann"), coding(B, "boris")], bootstrap=300, random_state=3)
    pd.testing.assert_frame_equal(one.per_code, two.per_code)
    for frame in (one.per_code, one.overall):
        assert (frame["alpha_ci_low"] <= frame["krippendorff_alpha"]).all()
        assert (frame["krippendorff_alpha"] <= frame["alpha_ci_high"]).all()
        assert (frame["alpha_ci_low"] < frame["alpha_ci_high"]).all()


# --- coders who coded nothing, coded_only ----------------------------------------------------


def test_a_coder_who_coded_nothing_gives_a_defined_result():
    # An empty codings table carries no coder name, so the coder is named by position.
    with pytest.warns(TrustcodeWarning, match="'coder2' coded nothing"):
        res = agree([coding(A, "ann"), coding({}, "silent")], codes=["p", "q", "never"])
    assert res.coders == ("ann", "coder2")
    p = per_code(res, "p")
    assert p["cohen_kappa"] == pytest.approx(0.0)  # one coder constant: no better than chance
    assert p["percent_agreement"] == pytest.approx(0.6)
    assert "never applied by coder2" in p["note"]
    never = per_code(res, "never")
    assert never["percent_agreement"] == 1.0
    for column in ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "alpha_ci_low"):
        assert math.isnan(never[column])
    assert never["note"] == "no variation: every unit uncoded by every coder"


def test_nobody_coded_anything():
    with pytest.warns(TrustcodeWarning):
        res = agree([coding({}, None), coding({}, None)], codes=["p"])
    assert res.coders == ("coder1", "coder2")
    assert math.isnan(res.overall["krippendorff_alpha"].iloc[0])
    assert res.overall["note"].iloc[0].startswith("no variation")


def test_coded_only_drops_units_nobody_coded():
    full = agree([coding(A, "ann"), coding(B, "boris")], codes=["p"], bootstrap=0)
    only = agree([coding(A, "ann"), coding(B, "boris")], codes=["p"], coded_only=True, bootstrap=0)
    # Code p is given by someone to passages 0, 1, 2, 3, 5: 5 of 10.
    assert full.per_code["n_units"].iloc[0] == 10
    assert only.per_code["n_units"].iloc[0] == 5
    assert per_code(only, "p")["percent_agreement"] == pytest.approx(3 / 5)


# --- units -----------------------------------------------------------------------------------


def test_other_segmentation_aligned_by_overlap():
    first = coding({"p": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]}, "paragraphs")
    passages = first["passages"]
    p0, p1, p2 = (passages.iloc[i] for i in range(3))
    # The second coder cut the text differently: a span over 60% of passage 0, a span over 40%
    # of passage 1, and one span across passage 2 and into passage 3.
    len0, len1 = p0["end"] - p0["start"], p1["end"] - p1["start"]
    spans = [
        ("p", p0["start"], p0["start"] + math.ceil(0.6 * len0)),
        ("p", p1["start"], p1["start"] + int(0.4 * len1)),
        ("p", p2["start"], passages.iloc[3]["start"] + 3),
    ]
    other = pd.DataFrame(
        [("doc0", "", s, e, c, "human", np.nan, "", "sentences") for c, s, e in spans],
        columns=first["codings"].columns,
    )
    second = {"documents": first["documents"], "codings": other}
    res = agree([first, second], bootstrap=0)
    d = res.disagreements.set_index("unit")
    # passage 0: both; passage 1: 40% < 50%, not coded; passage 2: covered, so coded by the
    # second coder only; passage 3: 3 characters, not coded.
    assert list(d.index) == ["doc0#2"]
    assert d.loc["doc0#2", "sentences"] == "p" and d.loc["doc0#2", "paragraphs"] == ""
    assert d.loc["doc0#2", "text"] == p2["text"]
    assert per_code(res, "p")["percent_agreement"] == pytest.approx(9 / 10)


def test_document_unit():
    res = agree(
        [coding(A, "ann"), coding({"p": [0] * 5 + [1] + [0] * 4}, "boris")],
        unit="document",
        bootstrap=0,
    )
    # doc0 = passages 0-4, doc1 = 5-9. ann: p in doc0 only, q in both; boris: p in doc1 only.
    assert per_code(res, "p")["n_units"] == 2
    assert per_code(res, "p")["percent_agreement"] == 0.0
    d = res.disagreements.set_index("unit")
    assert d.loc["doc0", "ann"] == "p; q" and d.loc["doc0", "boris"] == ""
    assert d.loc["doc0", "codes"] == "p; q"


def test_character_unit_equals_references_on_every_character():
    a, b = coding(A, "ann"), coding(B, "boris")
    # Shift one of boris's spans so that runs do not fall on passage bounds.
    b["codings"].loc[0, "end"] -= 7
    res = agree([a, b], unit="character", bootstrap=0)
    lengths = a["documents"].set_index("doc_id")["n_chars"]
    for code in ("p", "q"):
        vectors = []
        for tables in (a, b):
            flags = []
            for doc, n in lengths.items():
                marks = np.zeros(n, dtype=int)
                rows = tables["codings"]
                for _, r in rows[(rows["doc_id"] == doc) & (rows["code"] == code)].iterrows():
                    marks[r["start"] : r["end"]] = 1
                flags.append(marks)
            vectors.append(np.concatenate(flags))
        x, y = vectors
        row = per_code(res, code)
        assert row["n_units"] == lengths.sum()
        assert row["percent_agreement"] == pytest.approx(np.mean(x == y))
        assert row["cohen_kappa"] == pytest.approx(cohen_kappa_score(x, y))
        assert row["krippendorff_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=[x, y], level_of_measurement="nominal")
        )
        assert row["fleiss_kappa"] == pytest.approx(
            fleiss_kappa(np.column_stack([x + y, 2 - x - y]))
        )
    d = res.disagreements
    assert (d["end"] > d["start"]).all()
    first = d.iloc[0]
    text = "\n\n".join(a["passages"].loc[a["passages"]["doc_id"] == first["doc_id"], "text"])
    assert first["text"] == text[first["start"] : first["end"]]


def test_coded_only_on_characters_counts_coded_characters():
    res = agree(
        [coding(A, "ann"), coding(B, "boris")], unit="character", coded_only=True, bootstrap=0
    )
    passages = coding(A, "ann")["passages"]
    lengths = (passages["end"] - passages["start"]).to_numpy()
    coded = [i for i in range(10) if any(x[i] for x in (*A.values(), *B.values()))]
    assert per_code(res, "p")["n_units"] == lengths[coded].sum()


def test_one_input_with_two_coders_is_split():
    a, b = coding(A, "ann"), coding(B, "boris")
    joint = dict(a, codings=pd.concat([a["codings"], b["codings"]], ignore_index=True))
    res = agree([joint], bootstrap=0)
    assert res.coders == ("ann", "boris")
    pd.testing.assert_frame_equal(res.per_code, agree([a, b], bootstrap=0).per_code)


def test_to_dict_is_json_ready():
    data = json.loads(json.dumps(agree([coding(A, "a"), coding(B, "b")], bootstrap=10).to_dict()))
    assert data["coders"] == ["a", "b"] and len(data["per_code"]) == 2


# --- bad inputs ------------------------------------------------------------------------------


def test_codings_of_different_documents_name_them():
    a = coding(A, "ann")
    b = coding(B, "boris", n_docs=3)
    b["codings"] = b["codings"].iloc[0:0]
    with pytest.raises(InputError, match="coder 'ann' lacks doc2"):
        agree([a, b])


def test_bad_unit_and_single_coder_are_usage_errors():
    with pytest.raises(UsageError, match="'sentence'"):
        agree([coding(A, "a"), coding(B, "b")], unit="sentence")
    with pytest.raises(UsageError, match="at least two codings"):
        agree([coding(A, "a")])


def test_missing_offsets_are_an_input_error():
    b = coding(B, "b")
    b["codings"] = b["codings"].drop(columns="start")
    with pytest.raises(InputError, match=r"input 2 lacks column\(s\) \['start'\]"):
        agree([coding(A, "a"), b])


def test_character_length_falls_back_to_the_passages():
    a, b = coding(A, "ann"), coding(B, "boris")
    with_lengths = agree([a, b], unit="character", bootstrap=0)
    for tables in (a, b):
        tables["documents"] = tables["documents"].drop(columns="n_chars")
    without = agree([a, b], unit="character", bootstrap=0)
    # The last passage ends where the text ends, so the passages give the same lengths.
    assert without.per_code["n_units"].iloc[0] == a["passages"].groupby("doc_id")["end"].max().sum()
    pd.testing.assert_frame_equal(with_lengths.per_code, without.per_code)


# --- the same texts -------------------------------------------------------------------------


def _other_text(tables: dict[str, pd.DataFrame], doc_id: str) -> dict[str, pd.DataFrame]:
    """The tables of a coding made on another version of ``doc_id``: the same offsets and codes,
    other words in its passages, no sha256 (as gold read from passages has none)."""
    passages = tables["passages"].copy()
    rows = passages["doc_id"] == doc_id
    passages.loc[rows, "text"] = [t.upper()[::-1] for t in passages.loc[rows, "text"]]
    documents = tables["documents"].assign(sha256=None)
    return dict(tables, passages=passages, documents=documents)


def test_codings_of_other_texts_at_the_same_offsets_are_refused():
    a = coding(A, "gold")
    b = _other_text(coding(B, "trustcode"), "doc1")
    with pytest.raises(InputError) as info:
        agree([a, b])
    message = str(info.value)
    assert "refer to different texts" in message
    first = a["passages"].set_index("passage_id").loc["doc1#0", "text"]
    assert f"doc1: at character 0 coding 1 (coder 'gold') reads {first[:30]!r}" in message.replace(
        "…", ""
    )
    assert "coding 2 (coder 'trustcode') reads '" in message
    assert "doc0" not in message  # its text is the same on both sides
    assert "given in documents=[...]" in message and info.value.params == ("documents",)


def test_codings_with_other_hashes_name_both_lengths():
    a, b = coding(A, "ann"), coding(B, "boris")
    b["documents"] = b["documents"].assign(
        sha256=["f" * 64, b["documents"]["sha256"].iloc[1]], n_chars=[16838, 200]
    )
    with pytest.raises(
        InputError,
        match=r"doc0: coding 1 \(coder 'ann'\) has a text of "
        r"\d+ characters \(sha256 [0-9a-f]{12}\), coding 2 \(coder 'boris'\) has a "
        r"text of 16,838 characters \(sha256 ffffffffffff\)",
    ):
        agree([a, b])


def test_missing_documents_and_other_texts_are_named_together():
    a = coding(A, "ann")
    b = _other_text(coding(B, "boris", n_docs=3), "doc0")
    with pytest.raises(InputError) as info:
        agree([a, b])
    assert "coder 'ann' lacks doc2" in str(info.value)
    assert "doc0: at character 0" in str(info.value)


def test_the_same_text_cut_differently_agrees():
    a = coding(A, "paragraphs")
    passages = a["passages"]
    # the second coder's passages: each paragraph cut in two, without the text between them
    halves = []
    for row in passages.itertuples():
        middle = row.start + len(row.text) // 2
        halves += [
            (
                row.doc_id,
                f"{row.passage_id}a",
                0,
                row.start,
                middle,
                row.text[: middle - row.start],
            ),
            (
                row.doc_id,
                f"{row.passage_id}b",
                0,
                middle + 1,
                row.end,
                row.text[middle - row.start + 1 :],
            ),
        ]
    other = pd.DataFrame(halves, columns=passages.columns)
    b = dict(coding(A, "sentences"), passages=other, documents=a["documents"].assign(sha256=None))
    assert agree([a, b], bootstrap=0).overall["percent_agreement"].iloc[0] == 1.0


def test_control_characters_a_workbook_replaced_still_match():
    a = coding(A, "gold")
    passages = a["passages"].copy()
    first = passages.index[0]
    passages.loc[first, "text"] = "\x13" + passages.loc[first, "text"][1:]
    # xlsx cannot hold U+0013: a coding read back from a workbook has U+FFFD in its place
    b = coding(B, "trustcode")
    b["passages"].loc[first, "text"] = "\ufffd" + passages.loc[first, "text"][1:]
    a["passages"] = passages
    result = agree([a, dict(b, documents=b["documents"].assign(sha256=None))], bootstrap=0)
    assert result.overall["n_units"].iloc[0] == 10  # refused before this change
