"""How well and how fast trustcode reads PDFs printed by a real browser; see benchmarks/README.md.

    python benchmarks/pdf_reading/run.py              # needs `chromium` and ../shared
    python benchmarks/pdf_reading/run.py --keep /tmp/pdfs

Each text of ``../shared/corpus-sources/`` is cut into its paragraphs (as trustcode's
``paragraph`` unit cuts a text file), written as one HTML ``<p>`` each and printed to PDF by
headless Chromium, with the browser's date, title, address and page-number stamps. The PDF is
read back and every source paragraph is looked for among the read paragraphs (white space
aside, each read paragraph matching at most once): the share found is the first figure. Then
all the sources' paragraphs, repeated, are printed into one PDF of at least 200 pages and the
time to read it is the second. Nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from trustcode.io.readers import read_document
from trustcode.segment import segment
from trustcode.types import Document

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT.parent / "shared" / "corpus-sources"
_SPACE = re.compile(r"\s+")


def paragraphs(text: str) -> list[str]:
    passages = segment(Document(doc_id="source", text=text), "paragraph")
    return [_SPACE.sub(" ", p.text).strip() for p in passages]


def print_pdf(paras: list[str], pdf: Path, profile: Path) -> None:
    page = pdf.with_suffix(".html")
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
    page.write_text(
        f"<!doctype html><html><head><meta charset=utf-8><title>{pdf.stem}</title>"
        f"</head><body>{body}</body></html>",
        encoding="utf-8",
    )
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="a folder to keep the HTML and PDF files in")
    args = parser.parse_args()
    if shutil.which("chromium") is None or not SOURCES.is_dir():
        print("needs `chromium` on PATH and ../shared/corpus-sources", file=sys.stderr)
        return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="trustcode-pdf-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        found = total = 0
        every: list[str] = []
        for source in sorted(SOURCES.glob("*.txt")):
            wanted = paragraphs(source.read_text(encoding="utf-8"))
            every.extend(wanted)
            pdf = folder / f"{source.stem}.pdf"
            print_pdf(wanted, pdf, folder / "profile")
            [document] = read_document(pdf)
            read = Counter(_SPACE.sub(" ", p).strip() for p in document.text.split("\n\n"))
            hits = 0
            for paragraph in wanted:
                if read[paragraph] > 0:
                    read[paragraph] -= 1
                    hits += 1
            found, total = found + hits, total + len(wanted)
            print(f"{source.name}: {hits}/{len(wanted)} paragraphs identical")
        print(f"all sources: {found}/{total} = {found / total:.1%} of paragraphs identical")

        big = folder / "two_hundred_pages.pdf"
        print_pdf(every * 3, big, folder / "profile")
        import pypdfium2

        n_pages = len(pypdfium2.PdfDocument(str(big)))
        started = time.perf_counter()
        [document] = read_document(big)
        seconds = time.perf_counter() - started
        print(f"{n_pages} pages, {len(document.text):,} characters read in {seconds:.1f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
