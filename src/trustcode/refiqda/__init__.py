"""REFI-QDA interchange: coded tables <-> ``.qdpx`` projects, codebooks <-> ``.qdc`` files.

REFI-QDA (QDA-XML 1.0) is the exchange format of QDA programs (ATLAS.ti, MAXQDA, NVivo,
QualCoder, ...). :func:`export_qdpx` writes a run's codings as a project those programs open;
:func:`import_qdpx` reads a project coded by people into the codings table that ``train``,
``evaluate``, ``agree`` and ``compare`` read; :func:`export_qdc` / :func:`import_qdc` exchange
codebooks, and :func:`import_qdc` also takes the code tree out of a ``.qdpx`` project.

Export:

- users: ``trustcode rules`` and ``trustcode classifier`` (a ``rule+classifier`` coding is
  written for both), each human coder by the name in the ``coder`` column, and ``trustcode``
  who created the project and its sources;
- codes nested under their parents, with colours; a code's description holds its definition,
  ``Include:`` and ``Exclude:`` paragraphs and a last ``trustcode id: <id>`` line, which
  :func:`import_qdc` reads back so that ids survive the round trip;
- each document a UTF-8 text file (LF, no BOM) ``sources/<guid>.txt`` in the zip;
- one ``PlainTextSelection`` per coded span *and user*: QualCoder takes a coding's owner from its
  selection, and drops a code given twice to one selection, so rules, classifier and each coder
  get selections of their own. Positions count code points, the end is exclusive;
- GUIDs are UUID 5 of a fixed namespace and a stable key (document id, code id, span, user), so
  the same input gives the same GUIDs; with the same time the same bytes.

Import is lenient with what real projects contain (any ``.qde`` name, ``Sources/`` or
``sources/``, a BOM, CRLF line ends, missing dates, inline ``PlainTextContent``, selections that
do not follow paragraphs) and strict about safety: entries that leave the archive folder, zip
bombs, and XML with a DTD or entities are refused; nothing is extracted to disk.

**Positions and line ends on import.** Positions refer to the source text as stored, without a
leading BOM. trustcode normalizes the text (CRLF and lone CR become LF) and maps every position
onto the normalized text: a position moves back by the number of CRLF pairs that start before
it. The passages table's offsets refer to the normalized text, as everywhere in trustcode.

The modules:

- :mod:`.common`: namespaces, user names, stable GUIDs and small helpers both directions share;
- :mod:`.archive`: reading untrusted files safely (zip checks, size limits, XML without DTDs);
- :mod:`.codebooks`: codebooks <-> ``.qdc`` files (:func:`export_qdc`, :func:`import_qdc`, which
  reads a project's codebook too) and the ``Code`` tree projects share;
- :mod:`.texts`: each document's full text for export (:func:`document_texts`);
- :mod:`.writer`: coded tables -> a ``.qdpx`` project (:func:`export_qdpx`);
- :mod:`.reader`: a ``.qdpx`` project -> tables, texts and codebook (:func:`read_qdpx`,
  :func:`import_qdpx`).

>>> RULES_USER, CLASSIFIER_USER
('trustcode rules', 'trustcode classifier')
"""

from __future__ import annotations

from ..dictionaries import write_codebook_yaml
from .codebooks import export_qdc, import_qdc
from .common import CLASSIFIER_USER, RULES_USER
from .reader import QdpxProject, import_qdpx, read_qdpx
from .texts import document_texts
from .writer import export_qdpx

__all__ = [
    "CLASSIFIER_USER",
    "RULES_USER",
    "QdpxProject",
    "document_texts",
    "export_qdc",
    "export_qdpx",
    "import_qdc",
    "import_qdpx",
    "read_qdpx",
    "write_codebook_yaml",
]
