"""The text-extraction child process: `python extract_worker.py KIND PATH MAX_CHARS MAX_PAGES`.

Run by `portal.documents.extract` as a script (not as a module of the
package, so it imports nothing of the app). It caps its own address space
and CPU time first, checks archives for zip bombs, extracts at most
MAX_PAGES pages and MAX_CHARS characters, and prints one JSON object:
`{"text": "...", "error": null}` or `{"text": "", "error": "why"}`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import zipfile

MEMORY_LIMIT = int(os.environ.get("PORTAL_EXTRACT_MEMORY_MB", "512")) * 1024 * 1024
CPU_SECONDS = int(os.environ.get("PORTAL_EXTRACT_CPU_SECONDS", "20"))

# Archives (DOCX, XLSX, ODT, ODS): refuse before opening what would blow up.
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_TOTAL = 300 * 1024 * 1024
ZIP_MAX_RATIO = 150


class Refused(Exception):
    """A reason to store the file without text."""


def limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def check_zip(path: str) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise Refused("the file is not a valid archive") from None
    with archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_MEMBERS:
            raise Refused("the archive has too many members")
        total = 0
        for member in members:
            total += member.file_size
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > ZIP_MAX_RATIO and member.file_size > 1024 * 1024:
                raise Refused("the archive looks like a zip bomb (compression ratio)")
        if total > ZIP_MAX_TOTAL:
            raise Refused("the archive expands to too much data")


class Collector:
    def __init__(self, max_chars: int) -> None:
        self.parts: list[str] = []
        self.count = 0
        self.max_chars = max_chars

    @property
    def full(self) -> bool:
        return self.count >= self.max_chars

    def add(self, text: str | None) -> None:
        if not text or self.full:
            return
        text = text[: self.max_chars - self.count]
        self.parts.append(text)
        self.count += len(text)

    def text(self) -> str:
        return "\n".join(self.parts).strip()


def pdf(path: str, out: Collector, max_pages: int) -> None:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        try:
            if not reader.decrypt(""):
                raise Refused("the PDF is encrypted")
        except Refused:
            raise
        except Exception:
            raise Refused("the PDF is encrypted") from None
    for number, page in enumerate(reader.pages):
        if number >= max_pages or out.full:
            break
        out.add(page.extract_text())


def docx(path: str, out: Collector, max_pages: int) -> None:
    import docx as python_docx

    check_zip(path)
    document = python_docx.Document(path)
    for paragraph in document.paragraphs:
        if out.full:
            return
        out.add(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            if out.full:
                return
            out.add(" ".join(cell.text for cell in row.cells))


def xlsx(path: str, out: Collector, max_pages: int) -> None:
    import openpyxl

    check_zip(path)
    # A file object: openpyxl refuses paths without an .xlsx extension (our blob keys).
    handle = open(path, "rb")  # noqa: SIM115 - closed below
    workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            out.add(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                if out.full:
                    return
                out.add(" ".join(str(v) for v in row if v is not None))
    finally:
        workbook.close()
        handle.close()


def odf(path: str, out: Collector, max_pages: int) -> None:
    from odf import teletype
    from odf import text as odf_text
    from odf.opendocument import load

    check_zip(path)
    document = load(path)
    for element in document.getElementsByType(odf_text.H) + document.getElementsByType(odf_text.P):
        if out.full:
            return
        out.add(teletype.extractText(element))


def html(path: str, out: Collector, max_pages: int) -> None:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        skip = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag in {"script", "style", "template"}:
                self.skip += 1

        def handle_endtag(self, tag: str) -> None:
            if tag in {"script", "style", "template"} and self.skip:
                self.skip -= 1

        def handle_data(self, data: str) -> None:
            if not self.skip and data.strip():
                out.add(data.strip())

    parser = Text(convert_charrefs=True)
    with open(path, encoding="utf-8", errors="replace") as handle:
        while not out.full and (chunk := handle.read(65536)):
            parser.feed(chunk)
    parser.close()


def plain(path: str, out: Collector, max_pages: int) -> None:
    with open(path, encoding="utf-8", errors="replace") as handle:
        out.add(handle.read(out.max_chars))


EXTRACTORS = {
    "pdf": pdf,
    "docx": docx,
    "xlsx": xlsx,
    "odf": odf,
    "html": html,
    "text": plain,
}


def main(argv: list[str]) -> int:
    kind, path, max_chars, max_pages = argv[1], argv[2], int(argv[3]), int(argv[4])
    limit_resources()
    out = Collector(max_chars)
    error = None
    try:
        EXTRACTORS[kind](path, out, max_pages)
    except Refused as refused:
        error = str(refused)
    except MemoryError:
        error = "text extraction ran out of memory"
    except Exception as failure:
        error = f"the file could not be read ({type(failure).__name__})"
    result = {"text": "" if error else out.text(), "error": error}
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
