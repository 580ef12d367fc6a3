"""Planning a year of 公文: who issues what, when, under which 发文字号, with which handling.

Planning runs in the parent process and is cheap; rendering (PDF, OFD, attachments) runs in the
workers. Each document draws from its own ``random.Random(f"{seed}:{index}")`` so the output is
the same for a seed whatever the number of worker processes. 发文字号 serials are assigned after
all documents are dated, per organ and 代字, in date order — exactly how a registry numbers them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from lantai.demo import district as d
from lantai.demo import phrases as ph

DOC_TYPES = ("决议", "决定", "命令（令）", "公报", "公告", "通告", "意见", "通知", "通报", "报告", "请示", "批复",
             "议案", "函", "纪要")
WEIGHTS = {"通知": 30, "函": 12, "报告": 10, "请示": 10, "批复": 6, "意见": 6, "通报": 6, "纪要": 5, "决定": 4,
           "公告": 3, "通告": 3, "公报": 1, "议案": 1, "决议": 1, "命令（令）": 1}
UPWARD = {"请示", "报告", "议案"}
PUBLIC_ONLY = {"公告", "通告", "公报", "命令（令）"}
PERMANENT = {"命令（令）", "决议", "决定", "公报", "议案", "意见"}
HANDLING_STEPS = ("拟稿", "核稿", "签发", "印发", "办结")


@dataclass(frozen=True)
class AttachmentPlan:
    number: int
    title: str
    kind: str  # xlsx | docx | jpeg

    @property
    def path(self) -> str:
        return f"附件/附件{self.number}.{self.kind}"


@dataclass(frozen=True)
class HandlingEvent:
    action: str  # 拟稿 / 核稿 / 签发 / 印发 / 办结
    person: d.Person
    organ: str
    at: datetime
    description: str


@dataclass
class DocumentPlan:
    """Everything needed to render one 公文 and its SIP, fixed before any file is written."""

    index: int
    seed: int
    record_code: str
    organ: d.Organ
    doc_type: str
    subject: str
    title: str
    principal: str
    cc: tuple[str, ...]
    security: str  # 公开 / 内部 / 秘密 / 机密
    secrecy_period: str
    urgency: str  # 特急 / 加急 / 平急
    issued: date  # 成文日期
    body: list[str]
    attachments: list[AttachmentPlan]
    note: str
    retention: str
    prefix: str
    serial: int = 0
    copy_number: str = ""
    events: list[HandlingEvent] = field(default_factory=list)

    @property
    def year(self) -> int:
        return self.issued.year

    @property
    def document_number(self) -> str:
        return f"{self.prefix}〔{self.issued.year}〕{self.serial}号"

    @property
    def upward(self) -> bool:
        return self.doc_type in UPWARD

    @property
    def signer(self) -> str:
        return self.organ.leader.name if self.upward else ""

    @property
    def printed(self) -> date:
        return next(e.at.date() for e in self.events if e.action == "印发")

    @property
    def rng(self) -> random.Random:
        return random.Random(f"{self.seed}:{self.index}:render")


def plan_year(year: int, items: int, seed: int) -> list[DocumentPlan]:
    """Plan ``items`` documents dated in ``year``; the first fifteen cover every 文种 once."""
    order = list(DOC_TYPES)
    random.Random(f"{seed}:types").shuffle(order)
    plans = []
    for index in range(items):
        rng = random.Random(f"{seed}:{index}")
        doc_type = order[index] if index < len(order) else _weighted(rng, WEIGHTS)
        plans.append(_plan_one(rng, year, seed, index, doc_type))
    return _number(plans)


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _issuer(rng: random.Random, doc_type: str) -> d.Organ:
    by = d.ORGANS_BY_CODE
    fixed = {"决议": "QHZF", "命令（令）": "QHZF", "议案": "QHZF", "公报": "QHTJJ", "纪要": "QHBGS"}
    if doc_type in fixed:
        return by[fixed[doc_type]]
    if doc_type in ("决定", "批复"):
        return rng.choice((by["QHZF"], by["QHBGS"]))
    if doc_type in ("公告", "通告"):
        return rng.choice((by["QHZF"], by["QHBGS"], by["QHYJJ"]))
    if doc_type in ("请示", "报告"):
        return rng.choice([o for o in d.ORGANS if o.code != "QHBGS"])
    return rng.choices(d.ORGANS, weights=[o.weight for o in d.ORGANS])[0]


def _working_day(rng: random.Random, year: int) -> date:
    day = date(year, 1, 1) + timedelta(days=rng.randrange(10, 355))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _plan_one(rng: random.Random, year: int, seed: int, index: int, doc_type: str) -> DocumentPlan:
    organ = _issuer(rng, doc_type)
    issued = _working_day(rng, year)
    fill = _fill(rng, year, organ)
    subject = rng.choice(ph.TOPICS[rng.choice(organ.domains)]).format(**fill)
    fill["subject"] = subject
    title, subject = _title(rng, organ, doc_type, subject, fill)
    fill["subject"] = subject
    security, period = _security(rng, doc_type)
    plan = DocumentPlan(
        index=index, seed=seed, record_code=f"{d.FONDS_CODE}-WS-{year}-{index + 1:05d}", organ=organ,
        doc_type=doc_type, subject=subject, title=title, principal=_principal(rng, organ, doc_type),
        cc=_cc(rng, organ, doc_type), security=security, secrecy_period=period,
        urgency=rng.choices(("平急", "加急", "特急"), weights=(80, 14, 6))[0], issued=issued,
        body=_body(rng, doc_type, fill), attachments=_attachments(rng, doc_type, fill),
        note=_note(rng, organ, doc_type, security), retention=_retention(rng, doc_type),
        prefix=_prefix(organ, doc_type),
    )
    if security in ("秘密", "机密"):
        plan.copy_number = f"{rng.randrange(1, 120):06d}"
    plan.events = _events(rng, plan)
    return plan


def _fill(rng: random.Random, year: int, organ: d.Organ) -> dict[str, object]:
    return {
        "year": year, "n": rng.randrange(2, 9), "n2": rng.randrange(10, 90), "organ": organ.name,
        "month": rng.randrange(2, 12), "day": rng.randrange(1, 28), "amount": rng.randrange(1200, 98000),
        "pct": round(rng.uniform(1.5, 12.5), 1), "dept": rng.choice(d.ORGANS[2:]).name,
        "amount2": round(rng.uniform(20, 90), 2), "amount3": round(rng.uniform(120, 480), 1),
        "pct2": round(rng.uniform(0.5, 9.0), 1), "pct3": round(rng.uniform(3.0, 4.5), 1),
        "pct4": round(rng.uniform(55, 78), 1), "pct5": round(rng.uniform(2, 8), 1),
        "people": round(rng.uniform(40, 95), 2), "rate": round(rng.uniform(86, 100), 1),
    }


def _title(rng: random.Random, organ: d.Organ, doc_type: str, subject: str,
           fill: dict[str, object]) -> tuple[str, str]:
    """发文机关 + 事由 + 文种 (GB/T 9704 7.3.1); returns (title, 事由)."""
    pick = {"决定": ph.DECISIONS, "决议": ph.RESOLUTIONS, "公告": ph.ANNOUNCEMENTS, "通告": ph.NOTICES_PUBLIC,
            "通报": ph.BULLETINS, "议案": ph.PROPOSALS, "请示": ph.REQUESTS, "函": ph.LETTERS}
    if doc_type in pick:
        subject = rng.choice(pick[doc_type]).format(**fill)
    if doc_type == "命令（令）":
        rule = rng.choice(ph.ORDERS)
        return f"{organ.name}关于公布《{rule}》的令", rule
    if doc_type == "公报":
        return f"{organ.name}关于{fill['year']}年国民经济和社会发展的统计公报", f"{fill['year']}年国民经济和社会发展"
    if doc_type == "纪要":
        return f"{organ.name}关于第{fill['n']}次区政府常务会议的纪要", subject
    if doc_type == "批复":
        request = rng.choice(ph.REQUESTS).format(**fill)
        return f"{organ.name}关于{fill['dept']}{request}的批复", request
    if doc_type == "意见":
        return f"{organ.name}关于{subject}的实施意见", subject
    return f"{organ.name}关于{subject}的{doc_type}", subject


def _principal(rng: random.Random, organ: d.Organ, doc_type: str) -> str:
    if doc_type in ("公告", "通告", "公报", "命令（令）", "纪要", "决议"):
        return ""
    if doc_type == "议案":
        return d.PEOPLES_CONGRESS
    if doc_type in ("请示", "报告"):
        return d.CITY_GOVERNMENT if organ.code == "QHZF" else d.GOVERNMENT.name
    if doc_type in ("函", "批复"):
        return rng.choice([o.name for o in d.ORGANS[2:] if o.code != organ.code])
    if organ.code in d.DEPARTMENT_RECIPIENTS:
        return d.DEPARTMENT_RECIPIENTS[organ.code]
    return rng.choice(d.DOWNWARD_RECIPIENTS)


def _cc(rng: random.Random, organ: d.Organ, doc_type: str) -> tuple[str, ...]:
    chosen = rng.sample(d.CC_POOL, rng.randrange(1, 4))
    if organ.code not in ("QHZF", "QHBGS") and doc_type not in UPWARD:
        chosen.append(d.OFFICE.name)
    return tuple(chosen)


def _security(rng: random.Random, doc_type: str) -> tuple[str, str]:
    if doc_type in PUBLIC_ONLY:
        return "公开", ""
    level = rng.choices(("公开", "内部", "秘密", "机密"), weights=(70, 18, 8, 4))[0]
    period = {"秘密": rng.choice(("1年", "5年", "10年")), "机密": rng.choice(("10年", "20年"))}.get(level, "")
    return level, period


def _body(rng: random.Random, doc_type: str, fill: dict[str, object]) -> list[str]:
    """Paragraphs: opening, numbered sections of stock sentences, closing formula."""
    paragraphs = [rng.choice(ph.OPENINGS[doc_type]).format(**fill)]
    if doc_type == "公报":
        paragraphs += [line.format(**fill) for line in ph.STATISTICS_LINES]
    elif doc_type == "纪要":
        for heading, line in zip(ph.SECTION_HEADINGS["纪要"], rng.sample(ph.MEETING_LINES, 4), strict=False):
            paragraphs.append(heading + line.format(**fill))
        paragraphs.append("出席：陈国华、刘建平、周文斌。列席：区政府各部门主要负责同志。")
    elif doc_type in ("批复", "命令（令）"):
        paragraphs.append(rng.choice(ph.SENTENCES).format(**fill))
    else:
        headings = ph.SECTION_HEADINGS.get(doc_type, ph.SECTION_HEADINGS["default"])
        for heading in headings[: rng.randrange(2, len(headings) + 1)]:
            paragraphs.append(heading)
            bank = ph.PROBLEMS if "问题" in heading else ph.SENTENCES
            paragraphs.append("".join(s.format(**fill) for s in rng.sample(bank, rng.randrange(2, 4))))
    closing = ph.CLOSINGS[doc_type]
    return paragraphs + ([closing] if closing else [])


def _attachments(rng: random.Random, doc_type: str, fill: dict[str, object]) -> list[AttachmentPlan]:
    if doc_type in ("命令（令）", "公报", "纪要", "批复") or rng.random() > 0.45:
        return []
    kinds = rng.sample(("xlsx", "docx", "jpeg"), rng.randrange(1, 3))
    return [AttachmentPlan(i, rng.choice(ph.ATTACHMENT_TITLES[kind]).format(**fill), kind)
            for i, kind in enumerate(kinds, start=1)]


def _note(rng: random.Random, organ: d.Organ, doc_type: str, security: str) -> str:
    if doc_type == "请示":
        clerk = organ.clerks[0]
        return f"（联系人：{clerk.name}；联系电话：{rng.randrange(60000000, 69999999)}）"
    if doc_type in PUBLIC_ONLY or security != "公开":
        return "" if security == "公开" else "（此件不公开）"
    return "（此件公开发布）"


def _retention(rng: random.Random, doc_type: str) -> str:
    if doc_type in PERMANENT:
        return "永久"
    return rng.choices(("永久", "30年", "10年"), weights=(15, 55, 30))[0]


def _prefix(organ: d.Organ, doc_type: str) -> str:
    if doc_type == "函":
        return organ.letter_prefix
    if doc_type == "纪要":
        return "青政纪"
    if doc_type == "命令（令）":
        return "青政令"
    return organ.prefix


def _events(rng: random.Random, plan: DocumentPlan) -> list[HandlingEvent]:
    """拟稿 → 核稿 → 签发 → 印发 → 办结, strictly increasing in time, 签发 on the 成文日期."""
    organ = plan.organ
    def at(day: date, first: int, last: int) -> datetime:
        return datetime.combine(day, time(rng.randrange(first, last), rng.randrange(0, 60)))

    signed = at(plan.issued, 14, 18)
    drafted = at(plan.issued - timedelta(days=rng.randrange(3, 9)), 9, 12)
    reviewed = at(drafted.date() + timedelta(days=rng.randrange(1, (signed - drafted).days)), 9, 18)
    printed = at(plan.issued + timedelta(days=1), 9, 12)
    closed = at(printed.date() + timedelta(days=rng.randrange(1, 12)), 10, 18)
    clerk, printer = organ.clerks
    return [
        HandlingEvent("拟稿", clerk, organ.name, drafted, f"起草《{plan.title}》"),
        HandlingEvent("核稿", organ.deputy, organ.name, reviewed, "核稿：文字规范，同意报签。"),
        HandlingEvent("签发", organ.leader, organ.name, signed, "签发：同意印发。"),
        HandlingEvent("印发", printer, organ.name, printed, "校对无误，用印印发。"),
        HandlingEvent("办结", clerk, organ.name, closed, "已分送完毕，办结归档。"),
    ]


def _number(plans: list[DocumentPlan]) -> list[DocumentPlan]:
    """Assign 发文字号 serials per 代字 in 成文日期 order (ties by index, so it is deterministic)."""
    serials: dict[str, int] = defaultdict(int)
    for plan in sorted(plans, key=lambda p: (p.prefix, p.issued, p.index)):
        serials[plan.prefix] += 1
        plan.serial = serials[plan.prefix]
    return plans


__all__ = ["DOC_TYPES", "HANDLING_STEPS", "AttachmentPlan", "DocumentPlan", "HandlingEvent", "plan_year"]
