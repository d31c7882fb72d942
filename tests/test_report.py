"""Tests of trustcode.report: the structure of the HTML, atomic writing, and a real browser."""

from __future__ import annotations

import base64
import fcntl
import json
import math
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import lxml.html
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustcode.errors import InputError, OutputError, TrustcodeWarning, UsageError
from trustcode.report import build_report, write_report
from trustcode.report.data import passage_blocks
from trustcode.types import CODING_COLUMNS, PASSAGE_COLUMNS, Code, Codebook, sha256_text

BOOK = Codebook(
    name="Ties across the border (test)",
    version="0.3",
    description="A small codebook written for these tests.",
    codes=(
        Code(
            "ties",
            "Ties between those who left and those who stayed",
            definition="Ways people keep or rebuild contact.",
            colour="#4477aa",
        ),
        Code(
            "solidarity",
            "Solidarity",
            definition="Standing together.",
            parent="ties",
            include="Joint actions; shared statements.",
            exclude="A group merely named.",
            colour="#117733",
        ),
        Code(
            "mutual_aid",
            "Mutual aid",
            definition="Practical help across the border.",
            parent="ties",
            include="Parcels, letters, legal help.",
            exclude="State help.",
            colour="#332288",
        ),
        Code(
            "barriers", "Barriers", definition="What stands in the way of trust.", colour="#999933"
        ),
        Code(
            "distrust",
            "Distrust & <suspicion>",
            definition="Doubts about motives.",
            parent="barriers",
            colour="#cc6677",
        ),
        Code(
            "fear",
            "Fear of repression",
            definition="Fear of arrest or fines.",
            parent="barriers",
            colour="#ddcc77",
        ),
        Code(
            "media",
            "Independent media",
            definition="Reading or sharing independent news.",
            colour="#88ccee",
        ),
    ),
    sha256="b" * 64,
)
LEAVES = [c.id for c in BOOK.leaf_codes]
COLOURS = {c.id: c.colour for c in BOOK.codes}
SCRIPT_TEXT = 'A reader pasted <script>alert("x")</script> & "quotes" into the form.'

# doc_id, title, language, group, passages: (text, [(code, source, score, evidence)])
CORPUS: list[tuple[str, str, str, str, list[tuple[str, list[tuple[str, str, float, str]]]]]] = [
    (
        "berlin",
        "Notes from a Berlin meeting",
        "en",
        "left",
        [
            (
                "We stood together with the volunteers who stayed and sent a parcel every month.",
                [
                    (
                        "solidarity",
                        "rule",
                        math.nan,
                        'solidarity.phrases-1: "stood together" [3-17]',
                    ),
                    (
                        "mutual_aid",
                        "rule+classifier",
                        0.91,
                        'mutual_aid.phrases-1: "parcel" [62-68]; '
                        "classifier 0.91: 'parcel', 'sent'",
                    ),
                ],
            ),
            ("The evening ended with tea.", []),
            (
                "Some people at home were suspicious of anyone who had left.",
                [("distrust", "classifier", 0.64, "classifier 0.64: 'suspicious', 'left'")],
            ),
            (SCRIPT_TEXT, []),
        ],
    ),
    (
        "kazan",
        "Письмо из Казани",
        "ru",
        "stayed",
        [
            (
                "Мы боимся ареста, но всё равно пишем письма политзаключённым.",
                [
                    ("fear", "rule", math.nan, 'fear.lemmas-1: "боимся" [3-9]'),
                    ("mutual_aid", "rule", math.nan, 'mutual_aid.lemmas-1: "письма" [42-48]'),
                ],
            ),
            (
                "Рассылку независимых новостей читают в нашем чате.",
                [("media", "classifier", 0.77, "classifier 0.77: 'рассылку', 'новостей'")],
            ),
            ("Вечером пошёл дождь.", []),
        ],
    ),
    (
        "tbilisi",
        "Tbilisi diary",
        "en",
        "left",
        [
            (
                "Our newsletter reached readers on both sides.",
                [
                    ("media", "rule", math.nan, 'media.phrases-1: "newsletter" [4-14]'),
                    ("solidarity", "classifier", 0.58, "classifier 0.58: 'both', 'sides'"),
                ],
            ),
        ],
    ),
]


def make_tables(corpus: list[Any] = CORPUS, coder: str = "trustcode") -> dict[str, pd.DataFrame]:
    """Tables as the pipeline writes them: passages joined by blank lines in each document."""
    docs, passages, codings = [], [], []
    for doc_id, title, lang, group, items in corpus:
        text = "\n\n".join(t for t, _ in items)
        at = 0
        for index, (ptext, codes) in enumerate(items):
            pid = f"{doc_id}#{index}"
            passages.append((doc_id, pid, index, at, at + len(ptext), ptext))
            for code, source, score, evidence in codes:
                codings.append(
                    (doc_id, pid, at, at + len(ptext), code, source, score, evidence, coder)
                )
            at += len(ptext) + 2
        docs.append(
            {
                "doc_id": doc_id,
                "source": f"{doc_id}.txt",
                "title": title,
                "language": lang,
                "n_chars": len(text),
                "sha256": sha256_text(text),
                "group": group,
            }
        )
    return {
        "documents": pd.DataFrame(docs),
        "passages": pd.DataFrame(passages, columns=list(PASSAGE_COLUMNS)),
        "codings": pd.DataFrame(
            codings,
            columns=list(CODING_COLUMNS),
        ),
    }


PROVENANCE = {
    "trustcode_version": "0.1.0",
    "codebook_name": BOOK.name,
    "codebook_sha256": BOOK.sha256,
    "model": "default (shipped)",
    "model_sha256": "c" * 64,
    "unit": "paragraph",
    "created": "2026-11-29T12:00:00+00:00",
    "options": {"jobs": 1},
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return make_tables()


@pytest.fixture(scope="module")
def page(tables: dict[str, pd.DataFrame]) -> str:
    return build_report(tables, codebook=BOOK, provenance=PROVENANCE, by="group")


@pytest.fixture(scope="module")
def tree(page: str) -> Any:
    return lxml.html.document_fromstring(page)


def passage_div(tree: Any, pid: str) -> Any:
    found = [
        d
        for d in tree.xpath('//div[contains(@class, "passage")]')
        if pid in d.get("data-passages", "").split()
    ]
    assert len(found) == 1, f"{pid}: {len(found)} blocks"
    return found[0]


def external_references(page: str) -> list[str]:
    """Every URL in the page that would reach another host: src/href attributes and CSS url()."""
    tree = lxml.html.document_fromstring(page)
    found = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name.split("}")[-1] in {"src", "href", "srcset", "action", "poster", "data"}:
                if value.strip().lower().startswith(("http:", "https:", "//", "ftp:")):
                    found.append(value)
    css = " ".join(tree.xpath("//style/text()") + tree.xpath("//@style"))
    for part in css.split("url(")[1:]:
        target = part.split(")")[0].strip("'\" ")
        if not target.startswith(("#", "data:")):
            found.append(target)
    if "@import" in css:
        found.append("@import")
    return found


# --- structure ----------------------------------------------------------------------------------


def test_page_has_sections_in_a_heading_hierarchy(tree: Any) -> None:
    assert len(tree.xpath("//h1")) == 1
    sections = [s.get("id") for s in tree.xpath("//main/section")]
    assert sections == [
        "overview",
        "codebook",
        "documents",
        "frequencies",
        "groups",
        "cooccurrence",
    ]
    levels = [int(h.tag[1]) for h in tree.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert levels[0] == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    assert tree.xpath("//html/@lang") == ["en"]
    for table in tree.xpath("//table"):
        assert table.xpath(".//th"), "every table has header cells"


def test_every_code_appears_with_its_colour_and_parents_group_children(tree: Any) -> None:
    bodies = tree.xpath('//section[@id="codebook"]//tbody')
    assert len(bodies) == 3  # ties, barriers, media
    for code in BOOK.codes:
        rows = tree.xpath(f'//section[@id="codebook"]//tr[@data-code="{code.id}"]')
        assert len(rows) == 1, code.id
        row = rows[0]
        assert f"--c:{code.colour}" in row.xpath('.//span[@class="swatch"]/@style')[0]
        assert code.colour in row.text_content()
        assert code.label in row.text_content()
        assert code.definition in row.text_content()
        if code.parent:
            tbody = row.getparent()
            ids = [r.get("data-code") for r in tbody.xpath("./tr")]
            assert ids[0] == code.parent and code.id in ids
            assert "parent" in tbody.xpath("./tr")[0].get("class")
    solidarity = tree.xpath('//tr[@data-code="solidarity"]')[0].text_content()
    assert "Joint actions; shared statements." in solidarity
    assert "A group merely named." in solidarity


def test_every_coded_passage_is_highlighted_with_its_codes(tree: Any, tables: Any) -> None:
    expected = tables["codings"].groupby("passage_id")["code"].apply(set).to_dict()
    for pid in tables["passages"]["passage_id"]:
        div = passage_div(tree, pid)
        codes = expected.get(pid, set())
        assert set(div.get("data-codes").split()) == codes
        if not codes:
            assert "coded" not in div.get("class").split()
            assert not div.xpath('.//li[contains(@class, "chip")]')
            continue
        assert "coded" in div.get("class").split()
        chips = div.xpath('.//li[contains(@class, "chip")]')
        assert {c.get("data-code") for c in chips} == codes
        for chip in chips:
            code = BOOK.code(chip.get("data-code"))
            assert chip.text_content() == code.label  # the label, not only the colour
            assert f"--c:{code.colour}" in chip.get("style")
        bands = div.xpath('./div[@class="bands"]/span/@style')
        assert sorted(bands) == sorted(f"--c:{COLOURS[c]}" for c in codes)


def test_evidence_and_scores_are_on_each_passage(tree: Any, tables: Any) -> None:
    for row in tables["codings"].itertuples():
        div = passage_div(tree, row.passage_id)
        evidence = div.xpath('.//details[@class="evidence"]')[0].text_content()
        assert row.evidence in evidence
        assert row.source in evidence
        chip = div.xpath(f'.//li[@data-code="{row.code}"]')[0]
        assert row.evidence in chip.get("title")
        if not math.isnan(row.score):
            assert f"score {row.score:.2f}" in evidence
            assert f"score {row.score:.2f}" in chip.get("title")


def test_passage_text_is_escaped(page: str, tree: Any) -> None:
    assert '<script>alert("x")' not in page
    assert len(tree.xpath("//script")) == 1  # the report's own, inline
    assert not tree.xpath("//script/@src")
    div = passage_div(tree, "berlin#3")
    assert div.xpath('./div[@class="text"]')[0].text_content() == SCRIPT_TEXT
    # A label with markup characters is shown as text too.
    assert "Distrust & <suspicion>" in tree.xpath('//tr[@data-code="distrust"]')[0].text_content()


def test_no_reference_leaves_the_file(page: str, tree: Any) -> None:
    assert external_references(page) == []
    assert len(tree.xpath("//svg")) == 3  # heat map, shares, co-occurrence: inline
    assert "<!DOCTYPE svg" not in page
    csp = tree.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    assert csp and "default-src 'none'" in csp[0]
    ids = tree.xpath("//@id")
    assert len(ids) == len(set(ids)), "figures must not share element ids"


def test_external_reference_check_can_fail(page: str) -> None:
    injected = page.replace("</main>", '<img src="https://example.org/x.png"></main>')
    assert external_references(injected) == ["https://example.org/x.png"]
    styled = page.replace("</style>", "body{background:url(http://example.org/b.png)}</style>", 1)
    assert external_references(styled) == ["http://example.org/b.png"]


def test_documents_are_collapsible_first_open(tree: Any, tables: Any) -> None:
    details = tree.xpath('//section[@class="document"]/details')
    assert [d.getparent().get("data-doc") for d in details] == ["berlin", "kazan", "tbilisi"]
    assert [d.get("open") is not None for d in details] == [True, False, False]
    assert tree.xpath('//section[@data-doc="kazan"]//div[@class="doc-text"]/@lang') == ["ru"]
    summary = tree.xpath('//section[@data-doc="kazan"]//summary')[0].text_content()
    assert "Письмо из Казани" in summary and "3 passages, 2 coded" in summary


def test_overview_counts_and_provenance(tree: Any, tables: Any) -> None:
    stats = {
        dt.text_content(): dt.getnext().text_content()
        for dt in tree.xpath('//section[@id="overview"]//dt')
    }
    assert stats["Documents"] == "3"
    assert stats["Passages"] == str(len(tables["passages"]))
    coded = tables["codings"]["passage_id"].nunique()
    assert stats["Coded passages"].startswith(f"{coded} (")
    assert stats["Codings"] == str(len(tables["codings"]))
    sources = {
        tr.xpath("./th")[0].text_content(): tr.xpath("./td")[0].text_content()
        for tr in tree.xpath('//section[@id="overview"]//table[not(@class="kv")]//tbody/tr')
    }
    assert sources == {s: str(n) for s, n in tables["codings"]["source"].value_counts().items()}
    prov = {
        tr.xpath("./th")[0].text_content(): tr.xpath("./td")[0].text_content()
        for tr in tree.xpath('//table[@class="kv"]//tr')
    }
    assert prov["Codebook SHA-256"] == BOOK.sha256
    assert prov["Model"] == "default (shipped)"
    assert prov["Unit"] == "paragraph"
    assert prov["Created"] == PROVENANCE["created"]
    assert prov["trustcode version"] == "0.1.0"
    assert json.loads(prov["Options"]) == {"jobs": 1}


def test_frequencies_count_passages_per_code(tree: Any, tables: Any) -> None:
    rows = tree.xpath('//section[@id="frequencies"]//tbody/tr')
    got = {r.xpath("./td/code")[0].text: int(r.xpath("./td")[1].text_content()) for r in rows}
    want = tables["codings"].groupby("code")["passage_id"].nunique()
    assert got == {c: int(want.get(c, 0)) for c in LEAVES}


def test_group_comparison_table_and_chart(tree: Any, tables: Any) -> None:
    section = tree.xpath('//section[@id="groups"]')[0]
    headers = [th.text_content() for th in section.xpath(".//thead//th")]
    n_left = sum(1 for p in tables["passages"]["doc_id"] if p in {"berlin", "tbilisi"})
    assert headers[1] == f"left (n = {n_left})" and headers[2].startswith("stayed (n = 3)")
    assert "p adjusted (holm)" in headers
    media = [r for r in section.xpath(".//tbody/tr") if "Independent media" in r.text_content()]
    # media: 1 of 5 passages in "left", 1 of 3 in "stayed"
    cells = media[0].xpath("./td")
    assert cells[0].text_content().startswith("20.0% (1)")
    assert cells[1].text_content().startswith("33.3% (1)")
    assert section.xpath(".//svg[@role='img']")


def test_cooccurrence_counts_passages_with_both_codes(tree: Any, tables: Any) -> None:
    sets = tables["codings"].groupby("passage_id")["code"].apply(set)
    table = tree.xpath('//section[@id="cooccurrence"]//table')[0]
    header = [th.text_content() for th in table.xpath(".//thead//th")][1:]
    assert header == LEAVES
    for tr, a in zip(table.xpath(".//tbody/tr"), LEAVES, strict=True):
        for td, b in zip(tr.xpath("./td"), LEAVES, strict=True):
            both = sum(1 for s in sets if a in s and b in s)
            assert int(td.text_content().split()[0]) == both, (a, b)


def test_without_by_there_is_no_group_section(tables: Any) -> None:
    tree = lxml.html.document_fromstring(build_report(tables, codebook=BOOK))
    assert not tree.xpath('//section[@id="groups"]')
    assert len(tree.xpath("//svg")) == 2
    note = tree.xpath('//section[@id="overview"]//p[@class="note"]')[0].text_content()
    assert "No provenance" in note


def test_agreement_with_gold(tables: Any) -> None:
    gold = make_tables(coder="anna")
    codings = gold["codings"]
    gold["codings"] = codings[codings["code"] != "distrust"].assign(source="human")
    page = build_report(tables, codebook=BOOK, gold=gold)
    tree = lxml.html.document_fromstring(page)
    section = tree.xpath('//section[@id="agreement"]')[0]
    assert "anna, trustcode" in section.text_content()
    per_code = section.xpath(".//table")[1].xpath(".//tbody/tr")
    assert [r.xpath("./th")[0].text_content() for r in per_code] == [
        BOOK.code(c).label for c in LEAVES
    ]
    perfect = {
        r.xpath("./th")[0].text_content(): r.xpath("./td")[0].text_content() for r in per_code
    }
    assert perfect["Solidarity"] == "100.0%"
    assert perfect["Distrust & <suspicion>"] != "100.0%"
    disputes = section.xpath(".//table")[2].xpath(".//tbody/tr")
    assert [r.xpath("./th")[0].text_content() for r in disputes] == ["berlin#2"]


def test_same_inputs_same_bytes(tables: Any, page: str) -> None:
    assert build_report(tables, codebook=BOOK, provenance=PROVENANCE, by="group") == page


def test_nothing_coded_still_reports(tables: Any) -> None:
    empty = {**tables, "codings": tables["codings"].iloc[0:0]}
    tree = lxml.html.document_fromstring(build_report(empty, codebook=BOOK))
    assert "No passage was coded" in tree.xpath('//section[@id="frequencies"]')[0].text_content()
    assert not tree.xpath('//div[contains(@class, "coded")]')
    assert len(tree.xpath('//div[contains(@class, "passage")]')) == len(tables["passages"])


def test_unknown_code_is_grey_and_warned(tables: Any) -> None:
    extra = tables["codings"].iloc[[0]].assign(code="hope")
    odd = {**tables, "codings": pd.concat([tables["codings"], extra], ignore_index=True)}
    with pytest.warns(TrustcodeWarning, match="hope"):
        tree = lxml.html.document_fromstring(build_report(odd, codebook=BOOK))
    chip = passage_div(tree, "berlin#0").xpath('.//li[@data-code="hope"]')[0]
    assert chip.text_content() == "hope" and "#999999" in chip.get("style")


def test_codebook_mismatch_is_warned(tables: Any) -> None:
    with pytest.warns(TrustcodeWarning, match="SHA-256"):
        page = build_report(
            tables, codebook=BOOK, provenance={**PROVENANCE, "codebook_sha256": "a" * 64}
        )
    assert "labels and colours may not match" in page


def test_overlapping_windows_show_text_once() -> None:
    text = "One. Two. Three. Four."
    spans = [(0, 9), (5, 16), (10, 22)]  # three windows of two sentences, stride one
    passages = pd.DataFrame(
        [("w", f"w#{i}", i, s, e, text[s:e]) for i, (s, e) in enumerate(spans)],
        columns=list(PASSAGE_COLUMNS),
    )
    codings = pd.DataFrame(
        [
            ("w", "w#0", 0, 9, "fear", "rule", math.nan, "", "trustcode"),
            ("w", "w#2", 10, 22, "media", "rule", math.nan, "", "trustcode"),
        ],
        columns=list(CODING_COLUMNS),
    )
    tables = {
        "documents": pd.DataFrame({"doc_id": ["w"]}),
        "passages": passages,
        "codings": codings,
    }
    tree = lxml.html.document_fromstring(build_report(tables, codebook=BOOK))
    blocks = tree.xpath('//div[contains(@class, "passage")]')
    texts = [b.xpath('./div[@class="text"]')[0].text_content() for b in blocks]
    assert "".join(texts) == text
    assert [b.get("data-codes") for b in blocks] == ["fear", "fear", "", "media", "media"]
    assert [b.get("data-passages") for b in blocks] == ["w#0", "w#0 w#1", "w#1", "w#1 w#2", "w#2"]


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(min_size=1, max_size=60),
    cuts=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=6),
)
def test_blocks_cover_each_passage_exactly(text: str, cuts: list[tuple[int, int]]) -> None:
    spans = sorted({(min(a, b) % (len(text) + 1), max(a, b) % (len(text) + 1)) for a, b in cuts})
    spans = [(s, e) for s, e in spans if s < e]
    frame = pd.DataFrame(
        [(f"d#{i}", s, e, text[s:e]) for i, (s, e) in enumerate(spans)],
        columns=["passage_id", "start", "end", "text"],
    )
    blocks = passage_blocks(frame)
    at = 0
    rebuilt: dict[str, str] = {pid: "" for pid in frame["passage_id"]}
    for block in blocks:
        for pid in block.passage_ids:
            rebuilt[pid] += block.text
        at += len(block.text)
    assert rebuilt == dict(zip(frame["passage_id"], frame["text"], strict=True))
    covered = set().union(*(set(range(s, e)) for s, e in spans)) if spans else set()
    assert at == len(covered)


@settings(max_examples=20, deadline=None)
@given(
    paragraphs=st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=4)
)
def test_any_text_round_trips_through_the_page(paragraphs: list[str]) -> None:
    tables = make_tables([("doc", "t", "en", "g", [(p, []) for p in paragraphs])])
    tree = lxml.html.document_fromstring(build_report(tables, codebook=BOOK))
    texts = tree.xpath('//div[contains(@class, "passage")]/div[@class="text"]')
    # HTML parsers turn CR into LF; the report shows control characters as U+FFFD
    clean = [
        "".join(
            ch if ch in "\n\t" or not (ord(ch) < 32 or ord(ch) == 127) else "\ufffd"
            for ch in p.replace("\r\n", "\n").replace("\r", "\n")
        )
        for p in paragraphs
    ]
    assert [t.text_content() for t in texts] == clean


# --- bad input ----------------------------------------------------------------------------------


def test_missing_table_or_column_says_which(tables: Any) -> None:
    with pytest.raises(InputError, match="no 'passages' table"):
        build_report(
            {"documents": tables["documents"], "codings": tables["codings"]}, codebook=BOOK
        )
    with pytest.raises(InputError, match=r"passages table lacks column\(s\) \['start'\]"):
        build_report(
            {**tables, "passages": tables["passages"].drop(columns="start")}, codebook=BOOK
        )


def test_offsets_that_do_not_fit_the_text_are_an_error(tables: Any) -> None:
    passages = tables["passages"].copy()
    passages.loc[1, "end"] += 3
    with pytest.raises(InputError, match=r"passage 'berlin#1' \(row 3.*end - start == len"):
        build_report({**tables, "passages": passages}, codebook=BOOK)


def test_by_must_be_a_documents_column(tables: Any) -> None:
    with pytest.raises(UsageError, match="by='country' is not a column.*group"):
        build_report(tables, codebook=BOOK, by="country")


# --- writing ------------------------------------------------------------------------------------


def test_write_report_is_atomic_and_needs_force(tables: Any, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    assert write_report(tables, target, codebook=BOOK) == target
    first = target.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>") and "berlin#0" in first
    target.write_text("kept", encoding="utf-8")
    with pytest.raises(OutputError, match="exists; pass force=True to overwrite it"):
        write_report(tables, target, codebook=BOOK)
    assert target.read_text(encoding="utf-8") == "kept"
    write_report(tables, target, codebook=BOOK, force=True, title="Second")
    assert "<title>Second</title>" in target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_write_report_refuses_bad_targets(tables: Any, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        write_report(tables, tmp_path / "missing" / "r.html", codebook=BOOK)
    with pytest.raises(OutputError, match="is a folder"):
        write_report(tables, tmp_path, codebook=BOOK, force=True)
    with pytest.raises(UsageError):
        write_report(tables, tmp_path / "r.html", codebook=BOOK, by="nope")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_temporary_file(
    tables: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(src: str, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    # a library error (one line in the CLI), not the OSError itself
    with pytest.raises(OutputError, match=r"cannot write .*r\.html: disk full\. Nothing was"):
        write_report(tables, tmp_path / "r.html", codebook=BOOK)
    assert list(tmp_path.iterdir()) == []


# --- a real browser -----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no `chromium` binary on PATH (apt-get install chromium); CI has it"
)
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (no socket, no port).

    ``--remote-debugging-pipe`` makes Chromium read NUL-terminated JSON messages on fd 3 and
    write them on fd 4. Host resolution is mapped to nothing, so a request that slipped through
    could not reach anyone; the Network domain still reports the attempt.
    """

    def __init__(self, profile: Path) -> None:
        to_chrome, self._out = os.pipe()
        self._in, from_chrome = os.pipe()
        # Move the child's ends above 9 so dup2 onto 3 and 4 cannot clobber them.
        keep = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome, from_chrome)]
        os.close(to_chrome)
        os.close(from_chrome)

        def wire() -> None:  # in the child, before exec: fds 3 and 4, and nothing else of ours
            os.dup2(keep[0], 3)
            os.dup2(keep[1], 4)
            os.closerange(5, os.sysconf("SC_OPEN_MAX"))

        self.stderr = profile / "stderr.txt"
        with open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(
                [
                    str(CHROMIUM),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--mute-audio",
                    "--disable-dev-shm-usage",
                    f"--user-data-dir={profile}",
                    "--host-resolver-rules=MAP * ~NOTFOUND",
                    "--remote-debugging-pipe",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                preexec_fn=wire,
                close_fds=False,
            )
        for fd in keep:
            os.close(fd)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: bool = True,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        wanted = self._next
        reply = self.wait(lambda m: m.get("id") == wanted, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait(self, match: Any, timeout: float = 30.0) -> dict[str, Any]:
        """Read messages until one matches; every other message is kept in ``events``."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if match(message):
                    return message
                self.events.append(message)
            ready, _, _ = select.select([self._in], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"chromium did not answer; stderr: {self._stderr()}")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise EOFError(f"chromium closed the pipe; stderr: {self._stderr()}")
            self._buffer += chunk

    def drain(self, seconds: float) -> None:
        try:
            self.wait(lambda m: False, seconds)
        except TimeoutError:
            pass

    def _stderr(self) -> str:
        return self.stderr.read_text(errors="replace")[-2000:]

    def open(self, url: str, width: int = 1280, height: int = 900) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.call(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.call("Page.navigate", {"url": url})
        self.wait(lambda m: m.get("method") == "Page.loadEventFired")
        self.drain(0.5)  # late console messages and requests

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, max_height: int = 8000) -> bytes:
        metrics = self.call("Page.getLayoutMetrics")
        height = min(math.ceil(metrics["cssContentSize"]["height"]), max_height)
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1},
            },
        )
        return base64.b64decode(shot["data"])

    def problems(self) -> tuple[list[str], list[str]]:
        """(console errors, requests that would leave the machine) seen so far."""
        errors, requests = [], []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(
                    " ".join(
                        str(a.get("value", a.get("description", "")))
                        for a in params.get("args", [])
                    )
                )
            elif method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(LOCAL_SCHEMES):
                    requests.append(url)
        return errors, requests

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False, timeout=10)
        except (EOFError, TimeoutError, RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        os.close(self._in)
        os.close(self._out)


def render(page: str, tmp_path: Path, checks: str | None = None) -> dict[str, Any]:
    """Open ``page`` from a file in Chromium; report problems, a screenshot and ``checks``."""
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    profile = tmp_path / "profile"
    profile.mkdir()
    browser = Browser(profile)
    try:
        browser.open(path.resolve().as_uri())
        facts = browser.evaluate(checks) if checks else None
        png = browser.screenshot()
        errors, requests = browser.problems()
    finally:
        browser.close()
    return {"errors": errors, "requests": requests, "png": png, "facts": facts}


FACTS = """(() => {
  const visible = e => e.checkVisibility() && e.getBoundingClientRect().height > 0;
  const evidence = [...document.querySelectorAll("details.evidence li")];
  const docs = [...document.querySelectorAll("details.doc")];
  const chip = document.querySelector(".passage.coded .chip");
  return {
    title: document.title,
    svgs: [...document.querySelectorAll("figure svg")].map(s => s.getBoundingClientRect().width),
    passages: document.querySelectorAll(".passage").length,
    evidenceVisible: evidence.filter(visible).length,
    evidenceTotal: evidence.length,
    docsOpen: docs.filter(d => d.open).length,
    chipBorder: chip ? getComputedStyle(chip).borderLeftColor : "",
    buttonsShown: !document.querySelector(".js-only").hidden,
  };
})()"""


@needs_chromium
def test_report_renders_in_chromium_without_errors_or_requests(
    page: str, tables: Any, tmp_path: Path
) -> None:
    seen = render(page, tmp_path, FACTS)
    assert seen["errors"] == []
    assert seen["requests"] == []
    facts = seen["facts"]
    assert facts["title"] == f"Coding report: {BOOK.name}"
    assert len(facts["svgs"]) == 3 and all(w > 100 for w in facts["svgs"])
    assert facts["passages"] == len(tables["passages"])
    assert facts["docsOpen"] == 1
    assert facts["evidenceTotal"] == len(tables["codings"])
    # Only the first document is open, so only its evidence could show, and it is folded.
    assert facts["evidenceVisible"] == 0
    assert facts["chipBorder"] == "rgb(17, 119, 51)"  # solidarity's #117733 on berlin#0
    assert facts["buttonsShown"] is True
    png = seen["png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    (tmp_path / "report.png").write_bytes(png)
    try:  # one copy where people can look at it; not part of what the test checks
        Path("/tmp/trustcode-report.png").write_bytes(png)
    except OSError:
        pass


@needs_chromium
def test_print_shows_every_document_and_all_evidence(
    page: str, tables: Any, tmp_path: Path
) -> None:
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    (tmp_path / "profile").mkdir()
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(path.resolve().as_uri())
        browser.call("Emulation.setEmulatedMedia", {"media": "print"})
        facts = browser.evaluate(FACTS)
        pdf = browser.call("Page.printToPDF", {"printBackground": True})
        errors, requests = browser.problems()
    finally:
        browser.close()
    assert facts["evidenceVisible"] == len(tables["codings"])
    assert errors == [] and requests == []
    assert base64.b64decode(pdf["data"]).startswith(b"%PDF")


@needs_chromium
def test_browser_check_catches_an_external_image(page: str, tmp_path: Path) -> None:
    injected = page.replace("</main>", '<img src="https://example.org/x.png" alt=""></main>')
    seen = render(injected, tmp_path)
    assert seen["requests"] == ["https://example.org/x.png"]
    # The page's Content-Security-Policy refuses it too, which the console reports.
    assert any("example.org" in e for e in seen["errors"])


@needs_chromium
def test_browser_check_catches_requests_without_the_policy(tmp_path: Path) -> None:
    bare = (
        "<!DOCTYPE html><html lang='en'><head><title>t</title>"
        "<style>body{background:url(https://example.org/b.png)}</style></head>"
        "<body><p>x</p><script>console.error('broken')</script></body></html>"
    )
    seen = render(bare, tmp_path)
    assert seen["requests"] == ["https://example.org/b.png"]
    assert "broken" in seen["errors"]


def test_numbers_used_in_tests_are_what_the_tables_say(tables: Any) -> None:
    # The group test above relies on these sizes; keep them honest if CORPUS changes.
    docs = tables["passages"].groupby("doc_id").size()
    assert docs.to_dict() == {"berlin": 4, "kazan": 3, "tbilisi": 1}
    assert np.isnan(tables["codings"]["score"]).sum() == 4


def test_report_of_a_real_run_read_back_from_disk(tmp_path: Path) -> None:
    """The whole way: code texts with the shipped codebook, write, read back, report."""
    from trustcode.codebook import load_codebook
    from trustcode.io.tables import read_tables
    from trustcode.pipeline import code_corpus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "letters.txt").write_text(
        "Volunteers wrote letters to political prisoners every week.\n\n"
        "The weather was grey all month.\n",
        encoding="utf-8",
    )
    (corpus / "chat.txt").write_text(
        "Активисты создали защищённый чат, чтобы говорить без страха.\n\n"
        "Потом все пошли пить чай.\n",
        encoding="utf-8",
    )
    book = load_codebook()
    code_corpus(corpus, codebook=book, model=None, output=tmp_path / "coded.xlsx")
    tables, provenance = read_tables(tmp_path / "coded.xlsx")
    assert len(tables["codings"]), "the shipped codebook should code the letters passage"
    target = write_report(tables, tmp_path / "report.html", codebook=book, provenance=provenance)
    tree = lxml.html.parse(str(target)).getroot()
    for pid, codes in tables["codings"].groupby("passage_id")["code"]:
        assert set(passage_div(tree, pid).get("data-codes").split()) == set(codes)
    prov = {
        tr.xpath("./th")[0].text_content(): tr.xpath("./td")[0].text_content()
        for tr in tree.xpath('//table[@class="kv"]//tr')
    }
    assert prov["Unit"] == "paragraph" and prov["Codebook SHA-256"] == book.sha256
    assert external_references(target.read_text(encoding="utf-8")) == []
