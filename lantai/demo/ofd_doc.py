"""One sealed OFD 正本 from a layout: parts, the organ's electronic seal over them, the ZIP."""

from __future__ import annotations

from datetime import UTC, datetime

from lantai.demo import ofd
from lantai.demo.ofd_sign import Signer, StampPlace, sign_parts
from lantai.demo.page import Layout


def render_ofd(layout: Layout, *, doc_id: str, signed_at: datetime, signer: Signer | None) -> bytes:
    parts, page_ids = ofd.build_parts(layout, doc_id=doc_id, created=signed_at)
    if signer is not None:
        index, stamp = next(((i, p.stamp) for i, p in enumerate(layout.pages) if p.stamp is not None), (0, None))
        place = (StampPlace(page_ids[index], stamp.x, stamp.y, stamp.width) if stamp is not None
                 else StampPlace(page_ids[-1], 130, 200, 42))
        moment = signed_at if signed_at.tzinfo else signed_at.replace(tzinfo=UTC)
        parts = sign_parts(parts, signer, place, moment)
    return ofd.write_zip(parts, signed_at)
