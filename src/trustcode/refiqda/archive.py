"""Reading untrusted REFI-QDA files safely: size limits, zip checks, XML without DTDs.

An archive is checked before anything is unpacked: entries that leave the archive folder
("zip slip"), entries compressed more than :data:`MAX_RATIO`:1 and archives that unpack past
:data:`MAX_TOTAL_BYTES` are refused, as is XML that declares a DTD or entities. Nothing is
extracted to disk.

>>> MAX_RATIO
100
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from ..errors import InputError, listing
from .common import local

#: Import limits: total uncompressed size of the archive, and the compression ratio an entry
#: larger than RATIO_MIN_BYTES may have. Real projects are text and media, far below both.
MAX_TOTAL_BYTES = 500 * 2**20
MAX_RATIO = 100
RATIO_MIN_BYTES = 2**20


# --- XML without DTDs, files of a sensible size -------------------------------------------------


def parse_xml(data: bytes, where: str) -> Element:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return safe_et.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InputError(
            f"{where}: refusing this XML: it declares a DTD or entities "
            f"({type(exc).__name__}), which can expand to gigabytes or read files from this "
            "computer. REFI-QDA files need neither; export the file again from its program, or "
            "remove the <!DOCTYPE ...> block."
        ) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InputError(
            f"{where}:{line}:{column}: not well-formed XML ({exc}); export the file again "
            "from its program."
        ) from None


def read_file_bytes(file: Path, what: str) -> bytes:
    try:
        size = file.stat().st_size
        if size > MAX_TOTAL_BYTES:
            raise InputError(
                f"{file}: {size} bytes is larger than a {what} can sensibly be "
                f"({MAX_TOTAL_BYTES} bytes); check that this is the right file."
            )
        return file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{file}: no such file; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a folder; pass the {what} file itself.") from None
    except OSError as exc:
        raise InputError(f"{file}: cannot read the {what} ({exc.strerror}).") from None


# --- reading a .qdpx safely ---------------------------------------------------------------------


def open_archive(file: Path, max_bytes: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(file)
    except FileNotFoundError:
        raise InputError(f"{file}: no such file; check the path.") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a folder; pass the .qdpx project file.") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            f"{file}: not a REFI-QDA project ({exc}); a .qdpx file is a zip archive, export the "
            "project again from its program."
        ) from None
    try:
        _check_archive(archive, file, max_bytes)
    except InputError:
        archive.close()
        raise
    return archive


def _check_archive(archive: zipfile.ZipFile, file: Path, max_bytes: int) -> None:
    total = 0
    for info in archive.infolist():
        name = info.filename
        parts = re.split(r"[\\/]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise InputError(
                f"{file}: refusing the archive: its entry {name!r} points outside the project "
                "(an absolute path or '..'), the trick of 'zip slip' attacks. Ask the sender to "
                "export the project again."
            )
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise InputError(
                f"{file}: refusing the archive: its entry {name!r} unpacks {info.compress_size} "
                f"bytes into {info.file_size} (more than {MAX_RATIO}:1), the mark of a zip bomb."
            )
        total += info.file_size
        if total > max_bytes:
            raise InputError(
                f"{file}: refusing the archive: it unpacks to more than {max_bytes} bytes. If "
                "the project really is that large, pass a larger max_bytes."
            )


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: Path) -> bytes:
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise InputError(
            f"{file}: cannot read {info.filename!r} from the archive ({exc})."
        ) from None
    if len(data) > info.file_size:  # the header understated the size: do not trust the rest
        raise InputError(
            f"{file}: refusing the archive: {info.filename!r} holds more than its header says."
        )
    return data


def _project_member(archive: zipfile.ZipFile, file: Path) -> zipfile.ZipInfo:
    candidates = [
        i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".qde")
    ]
    preferred = [i for i in candidates if i.filename.lower() == "project.qde"]
    if preferred:
        return preferred[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(
            f"{file}: the archive holds no .qde project file; is it a REFI-QDA project (.qdpx)?"
        )
    raise InputError(
        f"{file}: the archive holds several .qde files "
        f"({listing([i.filename for i in candidates])}) and none is project.qde; keep one."
    )


def project_root(archive: zipfile.ZipFile, file: Path) -> Element:
    """The checked archive's project file (``.qde``), parsed without DTDs: its ``<Project>``."""
    qde = _project_member(archive, file)
    root = parse_xml(read_member(archive, qde, file), f"{file}:{qde.filename}")
    if local(root.tag) != "Project":
        raise InputError(
            f"{file}:{qde.filename}: expected a REFI-QDA project (root element <Project>), "
            f"found <{local(root.tag)}>."
        )
    return root
