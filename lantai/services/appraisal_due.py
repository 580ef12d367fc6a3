"""What is due for appraisal (到期, 开放, 密级) by the end of a year, as SQL over the catalogue.

The rules are :mod:`lantai.domain.appraisal`'s; here they become one query per kind that a
catalogue of millions answers with its indexes: the distinct stored 保管期限 values (or 密级 ×
保密期限 pairs, or 类别号 opening ages) are few, so each becomes one ``value = … AND 年度 <= bound``
term. Items already appraised for the same kind are left out — unless that appraisal extended
their retention (延长), which makes them due again when the new period ends, or whose destruction a
hold stopped (冻结中), proposed again once it is lifted — and so are items no
longer in custody (transferred, 待销毁, destroyed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from lantai.catalog.appraisal import AppraisalCampaign, AppraisalItem
from lantai.catalog.models import Item
from lantai.domain import appraisal as rules
from lantai.domain.appraisal import Decision, ItemState, Kind, Status
from lantai.settings import Settings

IN_CUSTODY = "archived"
FINISHED = (Status.EXECUTED.value, Status.DESTROYED.value)


def _expiry(session: Session, year: int) -> ColumnElement[bool]:
    values = [v for v in session.scalars(select(Item.retention).distinct()) if v]
    cutoffs = rules.expiry_cutoffs(values, year)
    return or_(false(), *(and_(Item.retention == value, Item.year <= bound) for value, bound in cutoffs.items()))


def _opening(session: Session, year: int, settings: Settings) -> ColumnElement[bool]:
    ages = rules.parse_opening_ages(settings.appraisal_opening_ages or "")
    default = settings.appraisal_opening_age
    by_category = [and_(Item.category == category, Item.year <= year - age) for category, age in ages.items()]
    others = and_(Item.category.notin_(list(ages)) if ages else Item.id.isnot(None), Item.year <= year - default)
    return and_(Item.control_identifier != "开放", or_(others, *by_category))


def _secrecy(session: Session, year: int) -> ColumnElement[bool]:
    pairs = session.execute(select(Item.security_classification, Item.secrecy_period).distinct()
                            .where(Item.security_classification.in_(rules.CLASSIFIED))).all()
    terms = []
    for level, period in pairs:
        years = rules.secrecy_years(level, period or "")
        if years is not None:
            terms.append(and_(Item.security_classification == level, Item.secrecy_period == (period or ""),
                              Item.year <= year - years))
    return or_(false(), *terms)


def _not_yet_appraised(kind: Kind) -> ColumnElement[bool]:
    earlier = (select(AppraisalItem.id).join(AppraisalCampaign, AppraisalCampaign.id == AppraisalItem.campaign_id)
               .where(AppraisalItem.record_id == Item.record_id, AppraisalCampaign.kind == kind.value,
                      AppraisalItem.state != ItemState.HELD.value,
                      or_(AppraisalItem.decision != Decision.EXTEND.value, AppraisalCampaign.status.notin_(FINISHED))))
    return ~exists(earlier)


def due_condition(session: Session, settings: Settings, kind: Kind, year: int, fonds: str = "") -> ColumnElement[bool]:
    """SQL condition on ``Item``: due for ``kind`` by the end of ``year`` and not yet appraised."""
    if kind is Kind.EXPIRY:
        rule = _expiry(session, year)
    elif kind is Kind.OPENING:
        rule = _opening(session, year, settings)
    else:
        rule = _secrecy(session, year)
    condition = and_(Item.status == IN_CUSTODY, Item.year.isnot(None), rule, _not_yet_appraised(kind))
    return and_(condition, Item.fonds_code == fonds) if fonds else condition


def due_counts(session: Session, settings: Settings, year: int, fonds: str = "") -> list[dict[str, Any]]:
    """Per kind, 全宗 and 年度: how many items are due by the end of ``year`` (the reminders)."""
    rows: list[dict[str, Any]] = []
    for kind in Kind:
        query = (select(Item.fonds_code, Item.year, func.count(Item.id))
                 .where(due_condition(session, settings, kind, year, fonds))
                 .group_by(Item.fonds_code, Item.year).order_by(Item.fonds_code, Item.year))
        rows += [{"kind": kind.value, "label": rules.KIND_LABELS[kind], "fonds_code": f, "year": y, "count": n}
                 for f, y, n in session.execute(query).all()]
    return rows
