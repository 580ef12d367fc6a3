"""A small archive for appraisal tests: accounts for each part of the process and items of several
years, retention periods and 密级, ingested on the production path (default profile, real clamd)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lantai.domain.roles import Role
from lantai.services import users
from lantai.services.archive import Archive
from lantai.services.ingest import BatchContext, commit_item, prepare_item
from lantai.services.use import acting_as
from lantai.services.users import Principal
from tests.sipfactory import SipSpec, real_pdf, write_item

PASSWORD = "Lantai#Test2025"
ACCOUNTS = {  # username: (roles, clearance)
    "zhang": ([Role.ARCHIVIST], "机密"),  # proposes and executes
    "li": ([Role.ARCHIVIST], "机密"),  # 鉴定小组
    "wang": ([Role.ARCHIVIST], "机密"),  # 鉴定小组
    "zhao": ([Role.ARCHIVIST], "机密"),  # 监销人 (phase 2)
    "secadmin": ([Role.SECADMIN], "绝密"),
    "auditor": ([Role.AUDITOR], "公开"),
    "reader": ([Role.READER], "机密"),
    "clerk": ([Role.CLERK], "内部"),
}
# record id: (年度, 保管期限, 密级, 保密期限, 控制标识)
ITEMS = {
    "Z109-WS-2010-00001": ("2010", "10年", "公开", "", "开放"),  # 到期 by 2025 (2010 + 10)
    "Z109-WS-2012-00002": ("2012", "30年", "公开", "", "开放"),  # not due
    "Z109-WS-2014-00003": ("2014", "10年", "公开", "", "开放"),  # 到期 by 2025 (2024)
    "Z109-WS-2015-00004": ("2015", "永久", "公开", "", "开放"),  # never 到期
    "Z109-WS-2010-00005": ("2010", "10年", "秘密", "10年", "开放"),  # 到期, and 密级 review due (2020)
    "Z109-WS-1998-00006": ("1998", "永久", "公开", "", "控制"),  # 开放鉴定 due (1998 + 25 = 2023)
}


@dataclass
class AppraisalWorld:
    archive: Archive
    tmp: Path

    def as_user(self, username: str) -> Principal:
        return acting_as(self.archive, username)


def _metadata_with(spec_dir: Path, security_period: str, control: str) -> None:
    path = spec_dir / "元数据.xml"
    text = path.read_text(encoding="utf-8")
    if security_period:
        text = text.replace("</密级></内容描述>", f"</密级><保密期限>{security_period}</保密期限></内容描述>")
    text = text.replace("<控制标识>开放</控制标识>", f"<控制标识>{control}</控制标识>")
    path.write_text(text, encoding="utf-8")


def seed(archive: Archive, tmp: Path) -> AppraisalWorld:
    for username, (roles, clearance) in ACCOUNTS.items():
        users.create_user(archive, "cli", username, PASSWORD, display_name=f"测试{username}", roles=roles,
                          clearance=clearance, bootstrap=True)
    for n, (record_id, (year, retention, security, period, control)) in enumerate(ITEMS.items(), 1):
        spec = SipSpec(record_id=record_id, title=f"关于{year}年第{n}项工作的通知", year=year, date=f"{year}-03-18",
                       retention=retention, security=security, document_number=f"X政办发〔{year}〕{n}号",
                       files={"正文.pdf": real_pdf(2048)})
        item = write_item(tmp / "seed", spec)
        _metadata_with(item, period, control)
        context = BatchContext(submitted_by="seed")
        outcome = commit_item(archive, prepare_item(archive.settings, item, context), context)
        assert outcome.status == "accepted", outcome.to_dict()
    return AppraisalWorld(archive, tmp)
