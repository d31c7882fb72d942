"""Fixtures shared by every test module."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

# urllib3 (imported by spaCy) probes for IPv6 by creating a socket when first imported; import it
# here, before pytest-socket blocks sockets for each test, so that probe does not count as a test
# opening a socket. It makes no connection.
import urllib3  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS_SOURCES = SHARED / "corpus-sources"
ARTICLE = REPO / "corpus" / "fridman_trust_building_across_borders_en.txt"
CODEBOOK = REPO / "codebook.yaml"


@pytest.fixture(autouse=True, scope="session")
def _rules_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Compiled rules are cached in a folder of the test session's, never the user's."""
    import os

    os.environ["TRUSTCODE_CACHE_DIR"] = str(tmp_path_factory.mktemp("rules-cache"))


@pytest.fixture
def repo_dir() -> Path:
    return REPO


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` beside the checkout; tests that need it skip with the reason when absent."""
    if not CORPUS_SOURCES.is_dir():
        pytest.skip("../shared/corpus-sources is not beside this checkout (CI provides it)")
    return SHARED


@pytest.fixture
def corpus_sources(shared_dir: Path) -> Path:
    return shared_dir / "corpus-sources"


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip archive at ``path`` holding ``members`` (name -> bytes), as hand-made projects are."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def minimal_pdf(lines: list[str], title: str | None = None, pages: int = 1) -> bytes:
    """A minimal PDF: Helvetica text objects and a correct cross-reference table; its ``pages``
    all show the one page object, so a small file can hold a great many pages."""
    ops = ["BT", "/F1 12 Tf", "72 720 Td"]
    for i, line in enumerate(lines):
        if i:
            ops.append("0 -16 Td")
        ops.append(f"({line}) Tj")
    ops.append("ET")
    content = "\n".join(ops).encode("latin-1") if lines else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join([b"3 0 R"] * pages), pages),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    if title is not None:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = b" /Info %d 0 R" % len(objects) if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)
