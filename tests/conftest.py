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
