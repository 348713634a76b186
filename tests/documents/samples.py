"""Small real files of the formats the portal extracts text from (made by
`portal.demo_files`, as the demonstration's documents are), and two it refuses."""

from __future__ import annotations

import io
import zipfile

from portal.demo_files import docx, odt, pdf, xlsx

__all__ = ["docx", "exe", "odt", "pdf", "xlsx", "zip_bomb_docx"]


def zip_bomb_docx() -> bytes:
    """A DOCX-looking archive whose one member expands 1000-fold."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Override PartName="/word/document.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr("word/document.xml", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


def exe() -> bytes:
    """The start of a Windows program (MZ header with a PE signature)."""
    header = bytearray(b"MZ" + b"\0" * 62)
    header[0x3C:0x40] = (64).to_bytes(4, "little")
    return bytes(header) + b"PE\0\0" + b"\0" * 200
