"""Reference data for arrangement (fonds, categories, 档号 rules, 保管期限表): saved versions.

Every saved version is a row of ``reference_versions`` *and* a ``reference.saved`` entry of the
audit chain that carries the whole TOML document. The journal is the durable copy (written
first, SM3-chained, never cleared): ``lantai rebuild`` restores the table from it, so a lost
catalogue loses no version an arrangement was made under. The journal rather than an OCFL
object, because every walker of the store (rebuild, checks, search) treats each object as an item.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import ArrangementLock, ReferenceVersion
from lantai.catalog.models import utcnow
from lantai.crypto.digests import sm3_hex
from lantai.domain.archival_code import CodeError
from lantai.domain.composition import CompositionError
from lantai.domain.reference import (
    ReferenceData,
    ReferenceDataError,
    dump_reference,
    fonds_exchange_document,
    merge_fonds_exchange,
    parse_reference,
    reference_to_dict,
)
from lantai.domain.retention import ScheduleError
from lantai.errors import BadInput, Conflict

if TYPE_CHECKING:
    from lantai.services.archive import Archive

DOMAIN_ERRORS = (CodeError, ReferenceDataError, ScheduleError, CompositionError)
SAVED = "reference.saved"
_LOCK_KEY = "reference-data"


def translate(exc: Exception) -> BadInput:
    """Domain rule errors → the caller-facing BadInput (exit 2, HTTP 400)."""
    return BadInput(exc.message_zh, exc.message_en, **exc.details)  # type: ignore[attr-defined]


def insert_ignore(session: Session, model: type) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model).on_conflict_do_nothing()


def lock(session: Session, key: str) -> None:
    """Must be the transaction's first statement: it takes the write lock on both backends."""
    session.execute(insert_ignore(session, ArrangementLock).values(key=key, touched_at=utcnow()))
    session.execute(update(ArrangementLock).where(ArrangementLock.key == key).values(touched_at=utcnow()))


def default_reference_text() -> str:
    return resources.files("lantai.domain").joinpath("data/reference.toml").read_text(encoding="utf-8")


def parse(text: str) -> ReferenceData:
    try:
        return parse_reference(text)
    except ReferenceDataError as exc:
        raise translate(exc) from exc


def current_reference(archive: Archive) -> tuple[ReferenceData, int]:
    """The newest saved reference data; the shipped default is saved as the first version on first use."""
    with archive.sessions() as session:
        row = session.scalar(select(ReferenceVersion).order_by(ReferenceVersion.version.desc()).limit(1))
        if row is not None:
            return parse(row.document), row.version
    text = default_reference_text()
    with archive.session() as session:
        _save(archive, session, 1, text, "system", "默认参考数据")
    return parse(text), 1


def code_names(archive: Archive) -> dict[str, dict[str, str]]:
    """Names people read for the codes the catalogue keeps: 全宗号 → 全宗名称, 机构(问题)代码 → 名称
    (an alias used in submitted metadata maps to the name too), per catalogue column."""
    reference, _version = current_reference(archive)
    organisations: dict[str, str] = {}
    for fonds in reference.fonds.values():
        for o in fonds.organisations:
            for key in (o.code, *o.aliases):
                organisations.setdefault(key, o.name)
    return {"fonds_code": {f.code: f.name for f in reference.fonds.values()}, "organisation": organisations,
            "category": {c.code: c.name for c in reference.categories.values()}}


def _save(archive: Archive, session: Session, version: int, text: str, actor: str, note: str) -> bool:
    """Insert one version (ignored if it exists) and journal it in the same unit of work."""
    digest = sm3_hex(text.encode("utf-8"))
    values = {"version": version, "document": text, "sm3": digest, "note": note, "actor": actor, "created_at": utcnow()}
    # RETURNING, not rowcount: on PostgreSQL (SQLAlchemy 2.1, psycopg 3) the rowcount of an INSERT …
    # ON CONFLICT DO NOTHING reads -1, so every process starting at once journalled version 1 again
    inserted = session.execute(insert_ignore(session, ReferenceVersion).values(**values)
                               .returning(ReferenceVersion.version)).scalar()
    if inserted is None:
        return False  # another process saved this version first
    archive.audit.append(actor, SAVED, f"v{version}", {"version": version, "note": note, "sm3": digest, "document": text},
                         session=session)
    return True


def save_reference(archive: Archive, text: str, *, actor: str, note: str = "") -> int:
    """Check and save a new version of the reference data; returns its version number."""
    data = parse(text)
    current_reference(archive)
    with archive.session() as session:
        lock(session, _LOCK_KEY)  # two saves at once get consecutive numbers, never the same one
        version = (session.scalar(select(func.max(ReferenceVersion.version))) or 0) + 1
        document = dump_reference(ReferenceData(version, data.note, data.categories, data.code_rules, data.schedules, data.fonds))
        _save(archive, session, version, document, actor, note)
    return version


MAX_DOCUMENT = 512 * 1024  # bytes of one reference-data TOML document
MAX_NOTE = 256  # characters of a version's note


def reference_snapshot(archive: Archive) -> dict[str, Any]:
    """The current version, its TOML, its structure and the version history (page and API alike)."""
    data, version = current_reference(archive)
    return {"version": version, "data": data, "document": dump_reference(data), "content": reference_to_dict(data),
            "versions": reference_versions(archive)}


def save_reference_edit(archive: Archive, actor: str, document: str, note: str, base_version: int | None) -> int:
    """Save ``document`` as a new version, refusing an edit made on a version that is no longer current."""
    _data, current = current_reference(archive)
    if base_version is not None and base_version != current:
        raise Conflict(f"参考数据已被他人修改（您编辑的是第 {base_version} 版，当前为第 {current} 版），请重新载入后再改",
                       f"reference data changed: edited v{base_version}, current v{current}",
                       base_version=base_version, current_version=current)
    return save_reference(archive, document, actor=actor, note=note)


def export_fonds(archive: Archive, codes: list[str] | None = None) -> dict[str, Any]:
    """The exchange document (参考数据.json) for the given fonds, or all, from the current version."""
    reference, _version = current_reference(archive)
    try:
        return fonds_exchange_document(reference, codes)
    except ReferenceDataError as exc:
        raise translate(exc) from exc


def import_fonds(archive: Archive, document: Any, *, actor: str) -> dict[str, Any]:
    """Add or replace the document's fonds as a new reference-data version (journalled like any save)."""
    reference, _version = current_reference(archive)
    try:
        merged, codes = merge_fonds_exchange(reference, document)
    except ReferenceDataError as exc:
        raise translate(exc) from exc
    version = save_reference(archive, dump_reference(merged), actor=actor, note=f"导入全宗 {', '.join(codes)}")
    return {"version": version, "fonds": codes}


def reference_versions(archive: Archive) -> list[dict[str, Any]]:
    current_reference(archive)
    with archive.sessions() as session:
        rows = session.scalars(select(ReferenceVersion).order_by(ReferenceVersion.version))
        return [{"version": r.version, "note": r.note, "actor": r.actor, "sm3": r.sm3, "created_at": r.created_at.isoformat()}
                for r in rows]


def restore_reference_versions(archive: Archive) -> dict[str, int]:
    """Rebuild: versions found in the journal but not in the table are inserted; versions only in
    the table (saved before the journal carried documents) are journalled now."""
    journalled = _journalled_versions(archive)
    with archive.session() as session:
        present = {r.version: r for r in session.scalars(select(ReferenceVersion))}
        restored = [v for v in journalled.values() if v["version"] not in present]
        if restored:
            session.execute(insert_ignore(session, ReferenceVersion), restored)
        missing = [r for v, r in sorted(present.items()) if v not in journalled]
        archive.audit.append_many([(r.actor, SAVED, f"v{r.version}", {"version": r.version, "note": r.note, "sm3": r.sm3,
                                                                      "document": r.document, "journalled_late": True})
                                   for r in missing], session=session)
    return {"restored": len(restored), "journalled": len(missing)}


def _journalled_versions(archive: Archive) -> dict[int, dict[str, Any]]:
    import datetime as dt

    found: dict[int, dict[str, Any]] = {}
    for record in archive.audit.iter_journal():
        if isinstance(record, Exception) or record.action != SAVED or "document" not in record.details:
            continue
        details = record.details
        if sm3_hex(details["document"].encode("utf-8")) != details.get("sm3"):
            continue
        found.setdefault(int(details["version"]), {
            "version": int(details["version"]), "document": details["document"], "sm3": details["sm3"],
            "note": details.get("note", ""), "actor": record.actor,
            "created_at": dt.datetime.fromisoformat(record.time.replace("Z", "+00:00"))})
    return found
