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

from collections import Counter
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


def _expiry(session: Session, year: int) -> list[ColumnElement[bool]]:
    values = [v for v in session.scalars(select(Item.retention).distinct()) if v]
    cutoffs = rules.expiry_cutoffs(values, year)
    return [and_(Item.retention == value, Item.year <= bound) for value, bound in cutoffs.items()]


def _opening(session: Session, year: int, settings: Settings) -> list[ColumnElement[bool]]:
    ages = rules.parse_opening_ages(settings.appraisal_opening_ages or "")
    default = settings.appraisal_opening_age
    by_category = [and_(Item.category == category, Item.year <= year - age) for category, age in ages.items()]
    others = and_(Item.category.notin_(list(ages)) if ages else Item.id.isnot(None), Item.year <= year - default)
    # "not 开放" as the few stored 控制标识 values other than 开放: ranges of ix_items_opening, not a scan
    closed = [v for v in session.scalars(select(Item.control_identifier).distinct()) if v != "开放"]
    return [and_(Item.control_identifier == value, or_(others, *by_category)) for value in closed]


def _secrecy(session: Session, year: int) -> list[ColumnElement[bool]]:
    pairs = session.execute(select(Item.security_classification, Item.secrecy_period).distinct()
                            .where(Item.security_classification.in_(rules.CLASSIFIED))).all()
    terms = []
    for level, period in pairs:
        years = rules.secrecy_years(level, period or "")
        if years is not None:
            terms.append(and_(Item.security_classification == level, Item.secrecy_period == (period or ""),
                              Item.year <= year - years))
    return terms


def _not_yet_appraised(kind: Kind) -> ColumnElement[bool]:
    earlier = (select(AppraisalItem.id).join(AppraisalCampaign, AppraisalCampaign.id == AppraisalItem.campaign_id)
               .where(AppraisalItem.record_id == Item.record_id, AppraisalCampaign.kind == kind.value,
                      AppraisalItem.state != ItemState.HELD.value,
                      or_(AppraisalItem.decision != Decision.EXTEND.value, AppraisalCampaign.status.notin_(FINISHED))))
    return ~exists(earlier)


def due_terms(session: Session, settings: Settings, kind: Kind, year: int, fonds: str = "") -> list[ColumnElement[bool]]:
    """Disjoint SQL conditions on ``Item`` whose union is what is due for ``kind`` by the end of
    ``year`` and not yet appraised — one per stored value (保管期限, 控制标识, 密级 × 保密期限), each an
    index range (``ix_items_due``, ``ix_items_opening``), so neither the proposal nor the counts
    depend on the planner seeing through an OR of them over a catalogue of millions."""
    if kind is Kind.EXPIRY:
        terms = _expiry(session, year)
    elif kind is Kind.OPENING:
        terms = _opening(session, year, settings)
    else:
        terms = _secrecy(session, year)
    scope = [Item.fonds_code == fonds] if fonds else []
    return [and_(Item.status == IN_CUSTODY, term, Item.year.isnot(None), *scope, _not_yet_appraised(kind))
            for term in terms]


def due_condition(session: Session, settings: Settings, kind: Kind, year: int, fonds: str = "") -> ColumnElement[bool]:
    """SQL condition on ``Item``: due for ``kind`` by the end of ``year`` and not yet appraised."""
    return or_(false(), *due_terms(session, settings, kind, year, fonds))


def due_counts(session: Session, settings: Settings, year: int, fonds: str = "") -> list[dict[str, Any]]:
    """Per kind, 全宗 and 年度: how many items are due by the end of ``year`` (the reminders)."""
    rows: list[dict[str, Any]] = []
    for kind in Kind:
        counts: Counter[tuple[str, int]] = Counter()
        for term in due_terms(session, settings, kind, year, fonds):
            query = select(Item.fonds_code, Item.year, func.count()).where(term).group_by(Item.fonds_code, Item.year)
            counts.update({(f, y): n for f, y, n in session.execute(query).all()})
        rows += [{"kind": kind.value, "label": rules.KIND_LABELS[kind], "fonds_code": f, "year": y, "count": n}
                 for (f, y), n in sorted(counts.items())]
    return rows
