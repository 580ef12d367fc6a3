"""OFD pages preview as watermarked PNG through the API, and only for readers cleared for the item."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.demo.generate import generate
from tests.api.conftest import World

OFD = "content/正本.ofd"


@pytest.fixture(scope="module")
def ofd_items(world: World) -> dict[str, str]:
    """Generated 公文 ingested as the fixtures do (default profile, real clamd): 密级 → record id."""
    from lantai.services.ingest import BatchContext, commit_item, prepare_item

    batch = world.tmp / "ofd-batch"
    generate(batch, year=2025, items=8, seed=4, workers=1)
    context = BatchContext(submitted_by="seed")
    for item in sorted(p for p in batch.iterdir() if (p / "元数据.xml").is_file()):
        outcome = commit_item(world.archive, prepare_item(world.archive.settings, item, context), context)
        assert outcome.status == "accepted", outcome.to_dict()
    with world.archive.sessions() as session:
        rows = session.execute(select(Item.security_classification, Item.record_id)
                               .where(Item.title.is_not(None))).all()
    levels: dict[str, str] = {}
    for level, record_id in rows:
        if record_id.startswith("Z101"):  # the generated fonds, not the fixture's Z109 items
            levels.setdefault(level, record_id)
    return levels


def test_ofd_page_previews_as_a_watermarked_png(world: World, ofd_items: dict[str, str]) -> None:
    record_id = ofd_items["公开"]
    response = world.client("reader").get(f"/api/v1/items/{record_id}/pages/1", params={"path": OFD})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (794, 1123)  # A4 at 96 dpi
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and sum(n for n, c in colours if c != (255, 255, 255)) > 5000
    assert any(r > 180 and g < 90 and b < 90 for r, g, b in image.getdata())  # the red 版头
    beyond = world.client("reader").get(f"/api/v1/items/{record_id}/pages/99", params={"path": OFD})
    assert beyond.status_code == 404


def test_an_under_cleared_reader_gets_404(world: World, ofd_items: dict[str, str]) -> None:
    secret = ofd_items.get("秘密") or ofd_items.get("机密")
    assert secret, ofd_items
    url = f"/api/v1/items/{secret}/pages/1"
    assert world.client("reader").get(url, params={"path": OFD}).status_code == 404  # reader: 内部
    assert world.client("archivist").get(url, params={"path": OFD}).status_code == 200  # archivist: 机密
