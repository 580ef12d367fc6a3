"""The zh-CN catalogue of labels for the codes Lantai stores: what people read instead of them.

Code, audit journal, OCFL inventories and the API keep stable English codes (``item.viewed``,
``D30``, ``rule:Y-04``); the web pages, the audit exports and the printed reports show these
labels. One table per kind of code, and one function per table that never fails: an unknown
code comes back as it is, so a new code shows up (and the English-word crawl test catches it)
instead of breaking a page. Pure data, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

AUDIT_ACTIONS: dict[str, str] = {
    "access.csrf_failed": "表单校验失败（拒绝）",
    "access.denials_suppressed": "拒绝记录已合并",
    "access.denied": "越权访问（拒绝）",
    "access.not_found": "访问不存在或不可见的对象",
    "access.unauthenticated": "未登录访问（拒绝）",
    "appraisal.approved": "鉴定意见批准", "appraisal.decided": "鉴定决定", "appraisal.destroyed": "鉴定销毁",
    "appraisal.executed": "执行鉴定意见", "appraisal.opened": "发起鉴定", "appraisal.submitted": "提交鉴定意见",
    "backup.accounts_restored": "恢复账号", "backup.created": "创建备份", "backup.restored": "从备份恢复",
    "backup.verified": "校验备份", "carrier.exported": "导出离线载体", "carrier.registered": "登记离线载体",
    "carrier.verified": "校验离线载体", "check.confirmed": "人工确认检测结果", "destruction.register_exported": "导出销毁清册",
    "destruction.resumed": "继续销毁", "export.search": "导出检索结果", "hold.lifted": "解除冻结", "hold.placed": "冻结",
    "job.done": "后台任务完成", "job.failed": "后台任务失败", "job.queued": "后台任务排队", "job.requeued": "后台任务重新排队",
    "preservation.damaged": "发现副本损坏", "preservation.repaired": "修复副本", "recovery.orphans": "清理遗留文件",
    "replica.registered": "登记副本", "search.reindexed": "重建检索索引", "worker.started": "工作进程启动",
    "worker.stopped": "工作进程停止",
    "archive.init": "初始化档案库",
    "arrange.applied": "整理方案生效",
    "arrange.assigned": "编定档号",
    "arrange.renumbered": "重新编号",
    "arrange.filed": "归档（件号固定）",
    "arrange.corrected": "档号更正生效",
    "arrange.correction_recorded": "登记档号更正",
    "arrange.filed_year": "年度归档",
    "audit.checkpoint_exported": "导出审计检查点",
    "audit.exported": "导出审计链",
    "audit.journal_gap": "审计日志缺口",
    "audit.legacy_adopted": "接管旧版审计日志",
    "audit.read": "查阅审计链",
    "audit.tail_quarantined": "隔离审计日志残尾",
    "audit.verified": "校验审计链",
    "bag.exported": "导出 BagIt 包",
    "batch.rejected": "批次拒收",
    "catalogue.exported": "导出归档文件目录",
    "catalogue.note_exported": "导出备考表",
    "catalogue.rebuilt": "重建目录数据库",
    "change.rolled_back": "变更回滚",
    "check.run": "执行检测",
    "eep.built": "生成封装包",
    "export.catalogue": "导出目录",
    "export.package": "导出数据包",
    "fixity.verified": "固定性校验",
    "ingest.accepted": "接收归档",
    "ingest.conflict": "接收冲突",
    "ingest.duplicate": "重复提交",
    "ingest.rejected": "拒收",
    "ingest.rolled_back": "接收回滚",
    "item.classified": "变更密级",
    "item.corrected": "著录更正",
    "item.downloaded": "下载",
    "item.edited": "修改著录（整理）",
    "item.previewed": "预览",
    "item.stamped_copy": "生成盖章副本",
    "item.viewed": "查看条目",
    "login.failed": "登录失败",
    "login.success": "登录成功",
    "login.throttled": "登录受限",
    "logout": "退出登录",
    "reference.saved": "保存参考数据",
    "retention.overridden": "改定保管期限",
    "search": "检索",
    "statistics.exported": "导出统计",
    "submission.processed": "处理提交",
    "submission.recheck": "重新检测提交",
    "submission.resubmitted": "重新提交更正后的包",
    "token.created": "签发令牌",
    "token.revoked": "吊销令牌",
    "transfer.exported": "生成移交包",
    "transfer.marked": "标记已移交",
    "transfer.receipt_rejected": "移交回执无效",
    "transfer.register_exported": "导出移交与接收登记表",
    "transfer.receipt_verified": "移交回执验证通过",
    "transfer.received": "接收移交",
    "use.decided": "利用审批",
    "use.granted": "授予利用",
    "use.register_exported": "导出利用登记簿",
    "use.requested": "利用申请",
    "use.revoked": "撤销利用",
    "user.approved": "批准账号",
    "user.clearance": "变更密级权限",
    "user.created": "创建用户",
    "user.password_changed": "修改密码",
    "user.password_reset": "重置密码",
    "user.unlocked": "解锁账号",
    "user.updated": "修改用户",
}

DETAIL_KEYS: dict[str, str] = {
    "action": "操作类型", "actor": "操作人", "archival_code": "档号", "batch_id": "批次", "bytes": "字节数",
    "changed": "变更件数", "client": "客户端地址", "engine": "检索方式", "entries": "记录数", "files": "文件数",
    "findings": "检测发现", "from": "原值", "to": "新值", "items": "件数", "method": "利用方式", "ok": "结果",
    "page": "页码", "path": "文件", "previous": "原档号", "reason": "理由", "reference_version": "参考数据版本",
    "retention_source": "保管期限依据", "source": "来源", "total": "总数", "version": "版本", "via": "途径",
    "watermark": "水印", "query": "检索词", "q": "检索词", "level": "密级", "organisation": "机构(问题)",
    "retention": "保管期限", "category": "类别号", "fields": "修改项", "status": "状态", "format": "格式",
    "year": "年度", "fonds": "全宗", "username": "用户名", "roles": "角色", "clearance": "密级权限",
    "name": "名称", "scopes": "权限范围", "request_id": "申请号", "grant_id": "授权号", "purpose": "目的",
    "approve": "同意", "target": "对象", "title": "题名", "record_id": "电子文件号", "count": "数量",
    "actual_bytes": "实际字节数", "actual_items": "实际件数", "declared_bytes": "登记字节数", "declared_items": "登记件数",
    "archive_name": "档案馆名称", "code": "代码", "message": "说明", "pending_roles": "待批准角色", "service": "服务账号",
    "corrections": "更正记录", "file": "文件", "rows": "行数", "seq": "序号",
    "stamp": "归档章", "copy_of": "副本来源", "limit": "上限", "effect": "利用效果",
    "root": "存储根", "elements": "更正元素", "metadata_elements": "不同的元数据元素",
    "token_id": "令牌编号", "days": "有效天数", "display_name": "姓名", "active": "启用",
    "service_approved_by": "服务账号批准人", "manifest_sm3": "清单 SM3", "directory": "目录", "virus_scan": "病毒扫描",
    "scanned": "已扫描", "infected": "感染", "unscanned": "未扫描", "fixity_files": "固定性校验文件数",
    "packages_verified": "已校验包数", "filters": "筛选条件", "transfer_id": "移交编号", "fonds_code": "全宗号",
    "retention_period": "保管期限", "grant": "授权", "until": "有效期至", "methods": "利用方式", "decision": "决定",
    "stage": "检测环节", "profile": "检测方案", "report_sm3": "报告 SM3", "location": "位置", "passed": "通过",
    "failed": "未通过", "verdicts": "结论", "run_id": "检测编号", "operator": "检测人",
    "sort": "排序", "security_classification": "密级", "document_type": "文种",
    "queue": "队列", "priority": "优先级", "attempt": "第几次尝试", "roots": "存储位置", "replica": "副本", "job_id": "任务编号", "attempts": "尝试次数", "error": "错误",
    "change": "变更编号", "ocfl_version": "版本", "recovered": "恢复补记", "client_ip": "客户端地址",
    "sm3": "SM3 摘要", "note": "说明", "document": "文档", "sha512": "SHA-512 摘要", "status_code": "状态码",
    "date_from": "起始日期", "date_to": "截止日期", "kind": "类型",
    "applied": "已执行件数", "held": "冻结件数", "destroy": "待销毁件数", "renumbered": "档号更正件数",
    "complete": "已完成", "errors": "错误", "comment": "意见", "committee": "鉴定小组", "decisions": "鉴定意见",
    "proposed": "提议件数", "record_ids": "电子文件号", "register_record_id": "销毁清册档号", "round": "轮次",
    "value": "新值", "waiting_period_skipped": "跳过等待期", "campaign": "鉴定任务", "approvers": "批准人",
    "reasons": "原因", "resumed": "续完件数", "waiting": "暂缓件", "destroyed": "已销毁件数",
    "completed": "已补完提交", "rolled_back": "已回滚提交", "changes": "已补完变更", "changes_rolled_back": "已回滚变更",
    "destructions": "已补完销毁",
    "unit_name": "单位名称", "archived_at": "归档时间", "years": "年度", "checked": "逐件检测", "direction": "方向",
    "counts": "件数统计", "conclusion": "结论", "receipt": "回执",
}

CHANGES: dict[str, str] = {"assigned": "编定", "renumbered": "重新编号", "filed": "归档", "corrected": "更正", "": "未变"}
ARRANGEMENT_STATES: dict[str, str] = {"draft": "已整理（未归档）", "filed": "已归档"}
SCOPES: dict[str, str] = {"read": "读取", "submit": "提交归档", "write": "业务操作", "audit": "审计", "admin": "系统管理"}
CHECK_STAGES: dict[str, str] = {"gd": "归档", "yj": "移交", "bc": "保存", "jc": "接收"}
VERDICTS: dict[str, str] = {"passed": "通过", "failed": "未通过", "warning": "有警告", "unscanned": "未扫描"}
SUBMISSION_STATUS: dict[str, str] = {"accepted": "已接收", "duplicate": "重复（未改动）", "rejected": "拒收", "conflict": "冲突",
                                     "processing": "处理中", "complete": "批次完成", "partial": "部分接收",
                                     "pending": "等待处理", "failed": "失败"}
SORTS: dict[str, str] = {"relevance": "相关度", "-date": "日期（新→旧）", "date": "日期（旧→新）", "archival_code": "档号"}
VALUES: dict[str, str] = {**SUBMISSION_STATUS, **SORTS, "default": "默认方案", "interactive": "交互队列", "bulk": "批量队列", "item": "单件", "batch": "批次", "demo": "演示程序", "session": "网页会话", "token": "接口令牌", "full_text": "全文检索", "True": "是", "False": "否",
                          "chain": "审计链", "out": "移交", "in": "接收", "statistics": "馆藏统计", "annual": "年报", "cli": "命令行", "system": "系统", "api": "接口",
                          "passed": "通过", "auto": "自动识别", "record_id": "电子文件号", "document_number": "文号"}


MIGRATION_REASONS: dict[str, str] = {
    "timeout": "超时被终止", "crashed": "转换程序异常退出", "no_output": "未生成输出文件", "unreadable": "源文件无法读取",
    "no_tool": "未安装转换工具", "not_pdfa": "结果不是有效的 PDF/A", "commit": "写入档案失败", "failed": "转换失败"}


def audit_action(code: str) -> str:
    return AUDIT_ACTIONS.get(code, code)


def migration_reason(code: str) -> str:
    """Why a format migration failed, in words (the reason codes of :mod:`lantai.formats.convert`)."""
    return MIGRATION_REASONS.get(code, "转换失败")


def detail_key(key: str) -> str:
    return DETAIL_KEYS.get(key, key)


def retention_basis(source: str) -> str:
    """Why an item got its 保管期限: the submitted metadata, a rule of the 保管期限表, or the archivist."""
    if source == "metadata":
        return "报送元数据"
    if source == "archivist":
        return "档案管理员确定"
    if source.startswith("rule:"):
        rule = source.split(":", 1)[1]
        return "保管期限表默认值" if rule == "default" else f"保管期限表 {rule}"
    return source


LONG_TEXT = 300  # a whole document kept in the chain (参考数据) is not shown on one line


def detail_value(value: Any) -> str:
    """A detail value as one readable line (lists joined, booleans and known codes in Chinese)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return ""
    if isinstance(value, list):
        return "；".join(detail_value(v) for v in value)
    if isinstance(value, dict):
        message = value.get("message")
        if isinstance(message, str):
            return message
        return "，".join(f"{detail_key(k)}：{detail_value(v)}" for k, v in value.items())
    text = str(value)
    if len(text) > LONG_TEXT:
        return f"（{len(text)} 字符的文本，见导出的审计链）"
    return VALUES.get(text, AUDIT_ACTIONS.get(text, text))


def readable_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An audit entry's details as (label, value) pairs, in the order they were written."""
    return [(detail_key(k), _special(k, v) or detail_value(v)) for k, v in (details or {}).items()
            if v not in (None, "", [], {})]


def _special(key: str, value: Any) -> str:
    """Details whose values are codes of their own kind: 保管期限依据, token scopes."""
    if key == "retention_source" and isinstance(value, str):
        return retention_basis(value)
    if key == "stage" and isinstance(value, str):
        return CHECK_STAGES.get(value, value)
    if key == "verdicts" and isinstance(value, dict):
        return "；".join(f"{k}：{VERDICTS.get(str(v), v)}" for k, v in value.items())
    if key == "scopes":
        names = value.split(",") if isinstance(value, str) else list(value)
        return "、".join(SCOPES.get(n.strip(), n.strip()) for n in names)
    return ""


PROPERTIES: dict[str, str] = {"authenticity": "真实性", "integrity": "完整性", "usability": "可用性", "security": "安全性"}


def check_code(code: str) -> str:
    """A DA/T 70 check as people cite it: ``gd 4-1c`` → ``归档 4-1c`` (stage in Chinese, item number
    kept); a property (``usability``) by its Chinese name."""
    if code in PROPERTIES:
        return PROPERTIES[code]
    stage, _sep, rest = (code or "").partition(" ")
    return f"{CHECK_STAGES[stage]} {rest}".strip() if stage in CHECK_STAGES else code


def finding_code(code: str) -> str:
    """A finding's registry code as the check people cite: ``gd-2-3a`` → ``归档 2-3a``; codes of ingest's
    own refusals (``package``, ``record_id_missing``) name no DA/T 70 check and give ``""``."""
    stage, sep, rest = (code or "").partition("-")
    return check_code(f"{stage} {rest}") if sep and stage in CHECK_STAGES and rest[:1].isdigit() else ""


def finding_message(message: str, element: str = "") -> str:
    """A finding's message as the page shows it beside its check and file: without the ``[gd 3-3c]``
    prefix, without the file name repeated in front, and with server paths cut to the file name."""
    text = re.sub(r"^\[[a-z]{2} [0-9a-z-]+\]\s*", "", message or "")
    if element and text.startswith(element):
        text = text[len(element):].lstrip(":：").strip()
    return re.sub(r"(?<![\w.])/(?:[^\s/:：，,“”]+/)+([^\s/:：，,“”]+)", r"\1", text)


def scope_label(scope: str) -> str:
    return SCOPES.get(scope, scope)


def target_label(target: str) -> str:
    """An audit entry's object: record ids and user names as they are, a few fixed words in Chinese."""
    return VALUES.get(target, target)


def version_note(message: str) -> str:
    """An OCFL version message as people read it; versions written by earlier releases said
    ``接收归档 (ingest)`` and ``整理: assigned 档号 …`` (the store keeps what was written)."""
    if message == "接收归档 (ingest)":
        return "接收归档"
    if message.startswith("整理: "):
        change, _sep, rest = message[4:].partition(" ")
        return f"整理：{CHANGES.get(change, change)}{rest}"
    return message
