from __future__ import annotations

from types import SimpleNamespace

import pytest

from ..documents import samples
from ..documents.conftest import upload

PDF_WORD = "transbordo"


@pytest.fixture
def published_world(item_world, as_user, publish) -> SimpleNamespace:
    """`item_world` plus a published PDF and memo, and a memo awaiting review; the
    shared memo of `item_world` stays private."""
    world = item_world
    coordinator = as_user(world.coordinator)
    document = upload(
        coordinator,
        world.ws_id,
        samples.pdf(f"Estudio de {PDF_WORD} en el puerto de Cartagena"),
        "Estudio_Cartagena.pdf",
        title="Estudio de tiempos portuarios",
        language="es",
    )
    assert document.status_code == 201, document.get_json()
    world.document_id = document.get_json()["id"]
    memo = coordinator.post(
        f"/workspaces/{world.ws_id}/memos",
        {"title": "Conclusiones de la reunión", "body": "**Acordado**: ventanilla única."},
    )
    world.published_memo_id = memo.get_json()["id"]
    pending = coordinator.post(
        f"/workspaces/{world.ws_id}/memos", {"title": "Propuesta en revisión", "body": "Texto"}
    )
    world.pending_id = pending.get_json()["id"]
    publish(world, world.document_id)
    publish(world, world.published_memo_id)
    submitted = coordinator.post(f"/items/{world.pending_id}/publication", {"action": "submit"})
    assert submitted.status_code == 200
    world.pending_version = submitted.get_json()["requests"][0]["item_version"]
    return world
