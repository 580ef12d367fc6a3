"""The zh-CN catalogue of labels for the codes Lantai stores: what people read instead of them.

Code, audit journal, OCFL inventories and the API keep stable English codes (``item.viewed``,
``D30``, ``rule:Y-04``); the web pages, the audit exports and the printed reports show these
labels. One table per kind of code, and one function per table that never fails: an unknown
code comes back as it is, so a new code shows up (and the English-word crawl test catches it)
instead of breaking a page. Pure data, no I/O.
"""

from __future__ import annotations

from typing import Any

AUDIT_ACTIONS: dict[str, str] = {
    "access.csrf_failed": "表单校验失败（拒绝）",
    "access.denials_suppressed": "拒绝记录已合并",
    "access.denied": "越权访问（拒绝）",
    "access.not_found": "访问不存在或不可见的对象",
    "access.unauthenticated": "未登录访问（拒绝）",
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
    "token.created": "签发令牌",
    "token.revoked": "吊销令牌",
    "transfer.exported": "生成移交包",
    "transfer.marked": "标记已移交",
    "transfer.receipt_rejected": "移交回执无效",
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
    "change": "变更编号", "ocfl_version": "版本", "recovered": "恢复补记", "client_ip": "客户端地址",
    "sm3": "SM3 摘要", "note": "说明", "document": "文档", "sha512": "SHA-512 摘要", "status_code": "状态码",
    "date_from": "起始日期", "date_to": "截止日期", "kind": "类型",
}

CHANGES: dict[str, str] = {"assigned": "编定", "renumbered": "重新编号", "filed": "归档", "corrected": "更正", "": "未变"}
ARRANGEMENT_STATES: dict[str, str] = {"draft": "已整理（未归档）", "filed": "已归档"}
VALUES: dict[str, str] = {"session": "网页会话", "token": "接口令牌", "full_text": "全文检索", "True": "是", "False": "否",
                          "chain": "审计链", "cli": "命令行", "system": "系统", "api": "接口"}


def audit_action(code: str) -> str:
    return AUDIT_ACTIONS.get(code, code)


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
    return VALUES.get(text, AUDIT_ACTIONS.get(text, text))


def readable_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An audit entry's details as (label, value) pairs, in the order they were written."""
    return [(detail_key(k), retention_basis(v) if k == "retention_source" and isinstance(v, str) else detail_value(v))
            for k, v in (details or {}).items() if v not in (None, "", [], {})]


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
