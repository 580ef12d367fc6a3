"""The shipped reference data is saved once as version 1, however many processes start at once.

Each process that finds no saved version inserts version 1 with ON CONFLICT DO NOTHING and
journals it only if its insert won. On PostgreSQL the rowcount of that insert reads -1, so every
process that started together journalled its own ``reference.saved`` v1 (four entries seen in the
scale-out test's journal).
"""

from __future__ import annotations

from sqlalchemy import func, select

from lantai.catalog.models import AuditEntry
from lantai.services import arrange_reference
from lantai.services.archive import open_archive


def _saved(archive) -> int:  # type: ignore[no-untyped-def]
    with archive.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == arrange_reference.SAVED)) or 0


def test_a_version_saved_by_another_process_is_not_journalled_again(archive, settings) -> None:  # type: ignore[no-untyped-def]
    _data, version = arrange_reference.current_reference(archive)
    assert version == 1 and _saved(archive) == 1
    text = arrange_reference.default_reference_text()
    with open_archive(settings) as other, other.session() as session:  # lost the race to save version 1
        assert arrange_reference._save(other, session, 1, text, "system", "默认参考数据") is False
    assert _saved(archive) == 1
    journalled = [e for e in archive.audit.iter_journal()
                  if not isinstance(e, Exception) and e.action == arrange_reference.SAVED]
    assert len(journalled) == 1
