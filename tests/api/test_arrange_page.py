"""整理 page: proposed retention and 档号 for unarranged items, confirmed in bulk."""

from __future__ import annotations

import re

from sqlalchemy import select

from lantai.catalog.models import Item
from tests.api.conftest import PUBLIC_ID, SECRET_ID, World
from tests.api.test_web import _login


def test_inbox_hides_items_above_the_viewers_clearance(world: World) -> None:
    from lantai.services.arrange_inbox import proposals

    listed = {p["record_id"] for p in proposals(world.archive, clearance="公开")}
    assert PUBLIC_ID in listed and SECRET_ID not in listed
    assert SECRET_ID in {p["record_id"] for p in proposals(world.archive, clearance="机密")}


def test_inbox_proposes_codes_and_confirming_assigns_them(world: World) -> None:
    client, _ = _login(world, "archivist")
    page = client.get("/arrange")
    assert page.status_code == 200
    assert PUBLIC_ID in page.text
    assert re.search(r"Z109-WS·2025-Y-BGS-\d{4}", page.text), page.text[-2000:]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post("/arrange/confirm", data={"record_ids": [PUBLIC_ID], "csrf_token": csrf})
    assert done.status_code == 200, done.text[-1500:]
    assert "已整理 Z109·2025" in done.text
    with world.archive.sessions() as session:
        codes = dict(session.execute(select(Item.record_id, Item.archival_code)).all())
    assert re.fullmatch(r"Z109-WS·2025-Y-BGS-\d{4}", codes[PUBLIC_ID])
    assert codes[SECRET_ID]  # the whole scope is arranged together
    assert "没有待整理的条目" in client.get("/arrange").text


def test_confirm_needs_csrf_and_the_arrange_permission(world: World) -> None:
    client, _ = _login(world, "archivist")
    assert client.post("/arrange/confirm", data={"record_ids": [PUBLIC_ID]}).status_code in (400, 403)
    reader, _ = _login(world, "reader")
    assert reader.get("/arrange").status_code == 403
