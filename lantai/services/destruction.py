"""Two-phase destruction (销毁), reachable only from an approved, executed 到期鉴定 campaign.

**Phase 1** (when the campaign is executed, :mod:`lantai.services.appraisal_execute`): each item
decided 销毁 gets a version carrying the 待销毁 mark — withdrawn from every list, search and grant
by the one visibility predicate — and :func:`write_register` makes the 销毁清册 (PDF and XLSX, with
鉴定人, 批准人 and 监销人 lines) under ``reports/appraisal/<campaign>/``; its SM3 goes into the
campaign row and the audit chain.

**Phase 2** (:func:`destroy`, ``lantai destroy``): after ``destruction_wait_days``, by a person who
neither proposed nor executed the campaign. First the 销毁清册 PDF (its SM3 checked against phase
1) is archived as a permanent item of its own, so nothing is deleted without a permanent record.
Then, item by item:

1. an intent ``staging/intents-destroy/<campaign>-<hash>.json`` names the item and its tombstone —
   every content path of every version to be deleted, with SHA-512, SM3 and size;
2. the tombstone version (``lantai/destruction.json``, the 销毁 event, no content in its state) is
   committed through the one change path, which reindexes the item (its catalogue entry stays,
   marked 已销毁, without body text) and journals ``item.destroyed`` with the deleted digests;
3. the bytes are deleted by :meth:`lantai.storage.ocfl.OcflStore.destroy_content`, the one
   storage-level deletion (replicas hook in there);
4. the campaign item becomes 已销毁 and the intent is cleared.

A crash anywhere leaves the intent; :func:`resume_intents` (start-up recovery, and every run of
``lantai destroy``) repeats the steps — each is idempotent — so an item is never left half-deleted
without saying so: until its intent clears, ``lantai verify`` reports the content a tombstone
names but the disk still holds. An item placed under a hold after phase 1 waits, 待销毁, with the
reason shown, until the hold is lifted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.appraisal import AppraisalApproval, AppraisalCampaign, AppraisalItem
from lantai.crypto.digests import digest_file
from lantai.domain import metadata as md
from lantai.domain.appraisal import ItemState, Kind, Status
from lantai.domain.clock import beijing_now, in_beijing
from lantai.domain.permissions import Permission
from lantai.domain.retention import retention_label
from lantai.errors import Conflict, IntegrityError, LantaiError, NotFound, PermissionDenied, StorageError
from lantai.formats.pdf import inspect_pdf
from lantai.packages import destruction_register as writer
from lantai.packages.destruction_register import RegisterHeading
from lantai.services import authz, holds, intents
from lantai.services.appraisal import READERS, get_campaign, load, mark_states
from lantai.services.appraisal_changes import TombstoneChange, canonical_json, destroyed_path
from lantai.services.appraisal_execute import _approvers
from lantai.services.catalogue import DESTRUCTION_PATH, DISPOSITION_PATH
from lantai.services.changes import commit_change
from lantai.services.ingest import ingest_paths
from lantai.services.replicas import replica_roots
from lantai.services.users import Principal, aware, now
from lantai.services.visibility import highest

if TYPE_CHECKING:
    from lantai.services.archive import Archive

INTENTS = intents.DESTROY_INTENTS
REGISTER_NAME = "销毁清册"


# --- phase 1: the 销毁清册 ----------------------------------------------------------------------------
def register_dir(archive: Archive, campaign_id: int) -> Path:
    return archive.home / "reports" / "appraisal" / f"campaign-{campaign_id}"


def _label(retention: str) -> str:
    try:
        return retention_label(retention)
    except ValueError:
        return retention


def register_rows(archive: Archive, campaign_id: int) -> list[list[Any]]:
    """序号, 档号, 题名, 文号, 日期, 页数, 保管期限, 鉴定意见, 备注 of every item decided 销毁 and withdrawn."""
    with archive.sessions() as session:
        rows = session.scalars(select(AppraisalItem).where(
            AppraisalItem.campaign_id == campaign_id, AppraisalItem.decision == "销毁",
            AppraisalItem.state.in_((ItemState.PENDING_DESTRUCTION.value, ItemState.DESTROYED.value)))
            .order_by(AppraisalItem.archival_code, AppraisalItem.record_id)).all()
        return [[n, r.archival_code or r.record_id, r.title, r.document_number, r.date,
                 "" if r.page_count is None else r.page_count, _label(r.retention), f"销毁：{r.reason}",
                 f"电子文件号 {r.record_id}"] for n, r in enumerate(rows, 1)]


def _heading(archive: Archive, campaign: AppraisalCampaign, approvers: tuple[str, ...]) -> Any:

    executed = in_beijing(campaign.executed_at).strftime("%Y-%m-%d") if campaign.executed_at else ""
    return RegisterHeading(archive.settings.archive_name, campaign.id, campaign.fonds_code, campaign.year,
                           campaign.proposer, "、".join(approvers), executed_at=executed)


def write_register(archive: Archive, campaign_id: int) -> dict[str, Any]:
    """Write the campaign's 销毁清册 (PDF, XLSX); its SM3 is kept with the campaign and journalled."""

    with archive.sessions() as session:
        campaign = session.get(AppraisalCampaign, campaign_id)
        approvers = _approvers(session, campaign_id)
        session.expunge_all()
    rows, heading = register_rows(archive, campaign_id), _heading(archive, campaign, approvers)
    folder = register_dir(archive, campaign_id)
    writer.write_pdf(rows, heading, folder / f"{REGISTER_NAME}.pdf")
    writer.write_xlsx(rows, heading, folder / f"{REGISTER_NAME}.xlsx")
    digests, _size = digest_file(folder / f"{REGISTER_NAME}.pdf", ("sm3",))
    with archive.session() as session:
        row = session.get(AppraisalCampaign, campaign_id)
        row.register_path = str((folder / f"{REGISTER_NAME}.pdf").relative_to(archive.home))
        row.register_sm3 = digests["sm3"]
    archive.audit.append(campaign.executed_by or "system", "destruction.register", f"campaign:{campaign_id}",
                         {"items": len(rows), "sm3": digests["sm3"], "pdf": row.register_path,
                          "record_ids": [r[-1].removeprefix("电子文件号 ") for r in rows]})
    return {"items": len(rows), "sm3": digests["sm3"], "pdf": row.register_path}


def register_file(archive: Archive, principal: Principal, campaign_id: int, fmt: str) -> Path:
    """The 销毁清册 of a campaign as written in phase 1 (``pdf`` or ``xlsx``); audited as an export."""

    authz.require_any(principal, *READERS)
    with archive.sessions() as session:
        campaign = load(session, campaign_id)
        if campaign.kind != Kind.EXPIRY.value or not campaign.register_path:
            raise NotFound(f"鉴定任务 {campaign_id} 没有销毁清册", f"campaign {campaign_id} has no destruction register")
    target = register_dir(archive, campaign_id) / f"{REGISTER_NAME}.{'xlsx' if fmt == 'xlsx' else 'pdf'}"
    if not target.is_file():
        raise NotFound(f"鉴定任务 {campaign_id} 的销毁清册文件缺失", "the destruction register file is missing")
    archive.audit.append(principal.username, "destruction.register_exported", f"campaign:{campaign_id}",
                         {"format": target.suffix.lstrip("."), "via": principal.via})
    return target


# --- phase 2 -----------------------------------------------------------------------------------------
def _check_phase2(archive: Archive, principal: Principal, campaign: AppraisalCampaign, immediately: bool) -> None:
    authz.require(principal, Permission.DESTROY)
    if campaign.kind != Kind.EXPIRY.value:
        raise Conflict("只有到期鉴定可以销毁档案", "only a 到期 campaign can destroy items")
    if campaign.status not in (Status.EXECUTED.value, Status.DESTROYED.value):
        raise Conflict(f"鉴定任务 {campaign.id} 尚未批准并执行（当前为 {campaign.status}），不能销毁",
                       "the campaign is not approved and executed", status=campaign.status)
    if not campaign.register_path:
        raise Conflict(f"鉴定任务 {campaign.id} 没有鉴定为销毁的档案", "the campaign destroys nothing")
    if principal.username in (campaign.proposer, campaign.executed_by):
        raise PermissionDenied("销毁须由鉴定提出人和执行人以外的第二人（监销人）进行",
                               "phase 2 must be run by someone other than the proposer and the executor")
    ready = aware(campaign.executed_at) + dt.timedelta(days=archive.settings.destruction_wait_days)
    if not immediately and now() < ready:
        raise Conflict(f"销毁等待期未满：{in_beijing(ready).strftime('%Y-%m-%d %H:%M')} 之后方可销毁",
                       "the waiting period has not passed", not_before=ready.isoformat())


def destroy(archive: Archive, principal: Principal, campaign_id: int, *, immediately: bool = False,
            progress: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None
            ) -> dict[str, Any]:
    """Phase 2 (see the module docstring); ``immediately`` skips the waiting period (tests only)."""

    with archive.sessions() as session:
        campaign = load(session, campaign_id)
        _check_phase2(archive, principal, campaign, immediately)
        session.expunge(campaign)
    resume_intents(archive)
    register_id = archive_register(archive, principal, campaign)
    outcome = _destroy_items(archive, principal, campaign, register_id, progress, on_total)
    with archive.session() as session:
        row = session.get(AppraisalCampaign, campaign_id)
        if not outcome["waiting"] and not outcome["failed"]:
            row.status, row.destroyed_at, row.destroyed_by = Status.DESTROYED.value, now(), principal.username
        status = row.status
    archive.audit.append(principal.username, "appraisal.destroyed", f"campaign:{campaign_id}",
                         {**outcome, "register_record_id": register_id, "register_sm3": campaign.register_sm3,
                          "status": status, "waiting_period_skipped": immediately, "via": principal.via})
    return {**get_campaign(archive, principal, campaign_id), "destruction": outcome}


def _destroy_items(archive: Archive, principal: Principal, campaign: AppraisalCampaign, register_id: str,
                   progress: Callable[[int], None] | None, on_total: Callable[[int], None] | None) -> dict[str, Any]:
    with archive.sessions() as session:
        rows = session.scalars(select(AppraisalItem.record_id).where(
            AppraisalItem.campaign_id == campaign.id,
            AppraisalItem.state == ItemState.PENDING_DESTRUCTION.value).order_by(AppraisalItem.record_id)).all()
        held = holds.held_record_ids(session, rows)
    if on_total:
        on_total(len(rows))
    outcome: dict[str, Any] = {"destroyed": 0, "waiting": [], "failed": []}
    for record_id in rows:
        if record_id in held:
            _note(archive, campaign.id, record_id, ItemState.PENDING_DESTRUCTION, "冻结中：暂缓销毁，解除冻结后再执行")
            outcome["waiting"].append(record_id)
        else:
            try:
                destroy_item(archive, principal.username, campaign.id, record_id, register_id, campaign.register_sm3)
                outcome["destroyed"] += 1
            except LantaiError as exc:
                _note(archive, campaign.id, record_id, ItemState.PENDING_DESTRUCTION, exc.message_zh)
                outcome["failed"].append({"record_id": record_id, **exc.to_dict()})
        if progress:
            progress(1)
    return outcome


def _note(archive: Archive, campaign_id: int, record_id: str, state: ItemState, error: str) -> None:

    with archive.session() as session:
        mark_states(session, campaign_id, {record_id: (state.value, error)})


def tombstone_for(archive: Archive, actor: str, campaign_id: int, record_id: str, register_id: str,
                  register_sm3: str, when: str) -> dict[str, Any]:
    """What the final version records: every content file of every version to delete, with digests."""
    store = archive.store
    inventory = store.read_inventory(record_id)
    kept = {sha for sha, paths in inventory["versions"][inventory["head"]]["state"].items()
            if any(not destroyed_path(p) for p in paths)}
    sm3 = {p: d for d, paths in inventory.get("fixity", {}).get("sm3", {}).items() for p in paths}
    doomed: dict[str, set[str]] = {}
    for version in inventory["versions"].values():
        for sha, paths in version["state"].items():
            if sha not in kept:
                doomed.setdefault(sha, set()).update(p for p in paths if destroyed_path(p))
    removed = []
    for sha, logicals in sorted(doomed.items()):
        for content_path in inventory["manifest"].get(sha, []):
            if logicals:
                path = store.content_path(record_id, content_path)
                size = path.stat().st_size if path.is_file() else None
                removed.append({"content_path": content_path, "logical_paths": sorted(logicals), "sha512": sha,
                                "sm3": sm3.get(content_path, ""), "size": size})
    disposition = _disposition(archive, record_id)
    return {"record_id": record_id, "state": "已销毁", "campaign": campaign_id, "destroyed_by": actor,
            "destroyed_at": when, "decision": disposition,
            "register": {"record_id": register_id, "sm3": register_sm3, "title": REGISTER_NAME},
            "removed": sorted(removed, key=lambda r: r["content_path"])}


def _disposition(archive: Archive, record_id: str) -> dict[str, Any]:

    try:
        return json.loads(archive.store.read_bytes(record_id, DISPOSITION_PATH))
    except (LantaiError, ValueError):
        return {}


def intent_path(archive: Archive, campaign_id: int, record_id: str) -> Path:
    name = hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:24]
    return archive.settings.staging_dir / INTENTS / f"{campaign_id}-{name}.json"


def destroy_item(archive: Archive, actor: str, campaign_id: int, record_id: str, register_id: str,
                 register_sm3: str) -> None:
    """Destroy one 待销毁 item: intent, tombstone version, deletion of the bytes, 已销毁 (idempotent)."""
    path = intent_path(archive, campaign_id, record_id)
    if not path.exists():
        when = beijing_now().isoformat()
        tombstone = tombstone_for(archive, actor, campaign_id, record_id, register_id, register_sm3, when)
        owned = intents.write_record(archive, path.parent, {"campaign": campaign_id, "record_id": record_id,
                                                             "actor": actor, "when": when, "tombstone": tombstone},
                                      name=path.name)
    else:
        owned = intents.claim(path)
        if owned is None:  # a live process is destroying this item right now
            raise Conflict(f"{record_id} 正在由另一进程销毁", f"{record_id} is being destroyed by another process")
    _complete(archive, owned)


def resume_intent(archive: Archive, owned: intents.Intent) -> str:
    """Finish one destruction whose intent this process holds (its writer died); returns the
    item's record id. The intent is cleared only on success (recovery's sweeps call this)."""
    record_id = str(owned.read().get("record_id", ""))
    _complete(archive, owned)
    return record_id


def _complete(archive: Archive, owned: intents.Intent) -> None:
    """Finish one destruction whose intent this process holds; the intent is cleared only on success."""
    try:
        _finish(archive, owned.read())
    except BaseException:
        owned.release()
        raise
    owned.clear()


def _finish(archive: Archive, intent: dict[str, Any]) -> None:
    record_id, tombstone = intent["record_id"], intent["tombstone"]
    data = canonical_json(tombstone)
    store = archive.store
    head_has = _head_tombstone(archive, record_id)
    if head_has is None:
        removed = tombstone["removed"]
        change = TombstoneChange(record_id, intent["actor"], "item.destroyed", f"销毁（鉴定任务 {intent['campaign']}）",
                                 details={"campaign": intent["campaign"], "register": tombstone["register"],
                                          "removed": [{k: r[k] for k in ("content_path", "sm3", "size")} for r in removed],
                                          "files": len(removed), "bytes": sum(r["size"] or 0 for r in removed)},
                                 tombstone=data, campaign_id=intent["campaign"], when=intent["when"],
                                 register_record_id=tombstone["register"]["record_id"])
        commit_change(archive, change, kind="destroy")
    elif head_has != data:
        raise IntegrityError(f"{record_id} 的销毁记录与中断前的意图不一致", f"tombstone of {record_id} differs from its intent")
    paths = [r["content_path"] for r in tombstone["removed"]]
    with store.object_lock(record_id):
        store.destroy_content(record_id, paths)
    _destroy_on_replicas(archive, record_id, paths)
    _note(archive, intent["campaign"], record_id, ItemState.DESTROYED, "")


def _destroy_on_replicas(archive: Archive, record_id: str, paths: list[str]) -> None:
    """The same bytes off every replica root, so no copy survives silently. A root that cannot be
    reached, or whose object lock retention still holds the bytes, raises: the item's intent stays,
    it is reported as waiting with the reason, and the next ``lantai destroy`` or start-up resumes it."""
    for root in replica_roots(archive.settings).values():
        deleted = root.destroy_content(record_id, paths)
        if deleted:
            archive.audit.append("system", "preservation.destroyed", record_id, {"root": root.name, "files": len(deleted)})


def _head_tombstone(archive: Archive, record_id: str) -> bytes | None:
    try:
        return archive.store.read_bytes(record_id, DESTRUCTION_PATH)
    except LantaiError:
        return None


def resume_intents(archive: Archive) -> dict[str, Any]:
    """Finish every destruction a crash interrupted (start-up recovery and each ``lantai destroy``)."""
    directory = archive.settings.staging_dir / INTENTS
    done: dict[str, Any] = {"resumed": [], "failed": []}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        owned = intents.claim(path)
        if owned is None:  # its writer lives (or it was just cleared)
            continue
        try:
            _complete(archive, owned)
            done["resumed"].append(path.name)
        except (LantaiError, OSError, ValueError, KeyError) as exc:
            done["failed"].append({"intent": path.name, "error": str(exc)})
    if done["resumed"]:
        archive.audit.append("system", "destruction.resumed", "", done)
    return done


# --- the 销毁清册 as a permanent item --------------------------------------------------------------------
def _register_process(archive: Archive, campaign: AppraisalCampaign, record_id: str) -> Any:
    """The register's own handling record: drafted by the proposer (拟稿), reviewed by each member of
    the 鉴定小组 (审核), issued by the executor (签发) — the acts DA/T 70 asks every record to show."""

    with archive.sessions() as session:
        approvals = session.execute(select(AppraisalApproval.approver, AppraisalApproval.at)
                                    .where(AppraisalApproval.campaign_id == campaign.id,
                                           AppraisalApproval.approve.is_(True)).order_by(AppraisalApproval.id)).all()
    acts = [("拟稿", campaign.proposer, campaign.created_at), *(("审核", a, at) for a, at in approvals),
            ("签发", campaign.executed_by, campaign.executed_at)]
    process = md.ProcessRecord()
    for n, (activity, person, moment) in enumerate(acts, 1):
        agent = f"人员-{person}"
        if not any(a.agent_identifier == agent for a in process.agents):
            process.agents.append(md.AgentEntity(agent_identifier=agent, agent_type="个人", agent_name=person))
        process.business_entities.append(md.BusinessEntity(
            business_identifier=f"B{n}", agent_identifier=agent, record_identifier=record_id,
            business_status="历史行为", business_activity=activity,
            action_time=in_beijing(moment).strftime("%Y-%m-%dT%H:%M:%S") if moment else None))
    return process


def register_record_id(campaign: AppraisalCampaign) -> str:
    return f"XHQC-{campaign.fonds_code or 'ALL'}-{campaign.year}-{campaign.id:05d}"


def archive_register(archive: Archive, principal: Principal, campaign: AppraisalCampaign) -> str:
    """Ingest the phase-1 销毁清册 PDF (SM3 checked) as its own permanent item; returns its record id."""
    record_id = register_record_id(campaign)
    if archive.store.exists(record_id):
        return record_id
    pdf = archive.home / campaign.register_path
    if not campaign.register_path or not pdf.is_file():
        raise StorageError("销毁清册文件缺失，不能销毁", "the destruction register is missing; nothing is destroyed")
    digests, size = digest_file(pdf, ("sm3",))
    if digests["sm3"] != campaign.register_sm3:
        raise IntegrityError("销毁清册与批准时不一致（SM3 不符），不能销毁",
                             "the destruction register changed since phase 1 (SM3 mismatch)")
    outcome = _ingest_register(archive, principal, campaign, record_id, pdf, size)
    if not outcome.ok:
        raise StorageError(f"销毁清册未能归档：{outcome.message}", f"the register was not archived: {outcome.message}",
                           findings=[f.to_dict() for f in outcome.findings][:20])
    with archive.session() as session:
        session.get(AppraisalCampaign, campaign.id).register_record_id = record_id
    return record_id


def _ingest_register(archive: Archive, principal: Principal, campaign: AppraisalCampaign, record_id: str,
                     pdf: Path, size: int) -> Any:

    with archive.sessions() as session:
        levels = session.scalars(select(AppraisalItem.security_classification).distinct()
                                 .where(AppraisalItem.campaign_id == campaign.id)).all()
    today = beijing_now().date().isoformat()
    record = md.minimal_record(
        record_id, f"{campaign.fonds_code or '各全宗'}{campaign.year}年度到期档案销毁清册（鉴定任务 {campaign.id}）",
        [(f"{REGISTER_NAME}.pdf", size)], date=today, retention_period="永久", security_classification=highest(levels),
        fonds_constituting_unit_name=archive.settings.archive_name, fonds_identifier=campaign.fonds_code or None,
        total_number_of_pages=str(inspect_pdf(pdf).page_count), document_type="清册")
    folder = archive.settings.staging_dir / f"register-{campaign.id}" / record_id
    shutil.rmtree(folder.parent, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        (folder / "元数据.xml").write_bytes(md.record_to_xml(record))
        (folder / "过程信息.xml").write_bytes(md.process_to_xml(_register_process(archive, campaign, record_id)))
        shutil.copyfile(pdf, folder / f"{REGISTER_NAME}.pdf")
        report = ingest_paths(archive, [folder], actor=principal.username)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    return report.items[0]
