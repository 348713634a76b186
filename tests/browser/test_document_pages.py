"""The document pages in the browser: uploading several files by the picker and by a
drop with a progress bar each, a refusal said on its line, a new version, the
check-out one member holds as another sees it, and each page's accessibility."""

from __future__ import annotations

import base64
from typing import Any

from ..documents import samples
from .conftest import check_accessibility, shoot


def make_document(site: Any, who: str, title: str, content: bytes, filename: str) -> int:
    answer = site.server.api(
        "POST",
        f"/workspaces/{site.data.workspace_id}/documents",
        getattr(site.data.tokens, who),
        files={"file": (filename, content)},
        data={"title": title, "language": "es", "tags": "puertos, pruebas"},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def drop(page: Any, files: list[tuple[str, bytes]]) -> None:
    """What a browser does when files are dragged from the desktop onto the drop zone."""
    page.evaluate(
        """files => {
          const transfer = new DataTransfer();
          for (const [name, data] of files) {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            transfer.items.add(new File([bytes], name));
          }
          const zone = document.querySelector(".drop-zone");
          const options = {dataTransfer: transfer, bubbles: true, cancelable: true};
          for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, options));
          }
        }""",
        [[name, base64.b64encode(data).decode()] for name, data in files],
    )


def progress_values(page: Any) -> list[int]:
    return page.eval_on_selector_all("ul.upload-results progress", "bars => bars.map(b => b.value)")


def test_several_files_by_picker_then_by_drop_each_with_its_progress(signed_in, site):
    page = signed_in("member", f"/groups/{site.data.workspace_id}/documents/new", language="en")
    check_accessibility(page)
    page.set_input_files(
        "#file",
        [
            {"name": "Elegido.txt", "mimeType": "text/plain", "buffer": b"elegido con el selector"},
        ],
    )
    assert page.locator("ul.upload-results li.waiting").count() == 1
    # A drop replaces the picker's choice, as a new choice would.
    drop(
        page,
        [
            ("Plan_de_muelles.pdf", samples.pdf("Plan de muelles del puerto")),
            ("Tarifas_2027.xlsx", samples.xlsx()),
            ("instalar.exe", samples.exe()),
        ],
    )
    assert page.locator("ul.upload-results li.waiting").count() == 3
    assert page.eval_on_selector("#file", "input => input.files.length") == 3
    page.locator("form.upload-form button[type=submit]").click()
    page.locator("ul.upload-results li.failed").wait_for()
    page.wait_for_function("document.querySelectorAll('ul.upload-results li.done').length === 2")
    assert progress_values(page)[:2] == [100, 100]
    links = page.locator("ul.upload-results li.done a")
    assert links.all_inner_texts() == ["Plan_de_muelles.pdf", "Tarifas_2027.xlsx"]
    failed = page.locator("ul.upload-results li.failed").inner_text()
    assert "instalar.exe" in failed and "Files of this type are not accepted." in failed
    announced = page.locator(".upload-announce").inner_text()
    assert "2" in announced and "instalar.exe" in announced
    check_accessibility(page)
    shoot(page, "document-upload")
    links.first.click()
    page.wait_for_url("**/documents/*")
    assert "Plan de muelles del puerto" in page.locator("pre.text-preview").inner_text()


def test_the_upload_form_works_without_javascript(signed_in, site):
    page = signed_in("member", f"/groups/{site.data.workspace_id}/documents/new", javascript=False)
    page.set_input_files(
        "#file",
        [
            {"name": "Sin_js_1.txt", "mimeType": "text/plain", "buffer": b"uno"},
            {"name": "Sin_js_2.txt", "mimeType": "text/plain", "buffer": b"dos"},
        ],
    )
    page.locator("form.upload-form button[type=submit]").click()
    page.wait_for_url(f"**/groups/{site.data.workspace_id}/documents")
    assert "Sin_js_1.txt, Sin_js_2.txt" in page.locator("main .notice").first.inner_text()


def test_the_list(signed_in, site):
    make_document(site, "coordinator", "Lista de comprobación", samples.docx(), "Lista.docx")
    page = signed_in("observer", f"/groups/{site.data.workspace_id}/documents")
    table = page.locator("table.documents")
    assert table.get_by_role("link", name="Lista de comprobación").is_visible()
    assert page.locator(f'a[href$="/groups/{site.data.workspace_id}/documents/new"]').count() == 0
    check_accessibility(page)
    shoot(page, "documents")


def test_a_new_version_with_its_progress(signed_in, site):
    document_id = make_document(site, "member", "Versiones", b"primera", "v1.txt")
    page = signed_in("member", f"/documents/{document_id}")
    page.set_input_files(
        "#file", {"name": "v2.txt", "mimeType": "text/plain", "buffer": "segunda versión".encode()}
    )
    with page.expect_navigation():
        page.locator("form[data-upload-form=version] button[type=submit]").click()
    assert page.locator("table.versions tbody tr").count() == 2
    assert "segunda versión" in page.locator("pre.text-preview").inner_text()


def test_a_check_out_as_another_member_sees_it(signed_in, site):
    content = samples.pdf("Reglamento de muelles\nArtículo 1. Ámbito\nArtículo 2. Turnos")
    document_id = make_document(site, "member", "Reglamento de muelles", content, "Reglamento.pdf")
    path = f"/documents/{document_id}"
    member = signed_in("member", path)
    member.locator("form[action$='/checkout'] button").click()
    member.wait_for_url(f"**{path}")
    assert member.locator("form[action$='/release']").count() == 1

    colleague = signed_in("colleague", path)
    notice = colleague.locator(".checkout .notice.alert")
    assert "Marta Miembro" in notice.inner_text()
    assert colleague.locator("form[data-upload-form=version]").count() == 0
    assert colleague.locator("form[action$='/release'] button").count() == 1  # may break it

    observer = signed_in("observer", path)
    assert "Marta Miembro" in observer.locator(".checkout").inner_text()
    assert observer.locator(".document-page form").count() == 0
    check_accessibility(member)
    shoot(member, "document")


def test_someone_outside_the_group_gets_the_not_found_page(signed_in, site):
    document_id = make_document(site, "member", "Fuera", b"x", "fuera.txt")
    page = signed_in("outsider", f"/documents/{document_id}")
    assert page.locator(".error-page").count() == 1
