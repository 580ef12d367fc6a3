"""Item composition (组件, DA/T 22-2015 §6.3): which separately submitted documents form one 件,
and in which order they sit inside it.

Documents join an item by an explicit relation (``related_to``: the id of the document they
belong to) or by sharing a 文件编号. Where a fonds allows it, a 复文 joins the 来文 it answers
(``reply_to``), and then the reply comes first. Inside a 公文: 处理单/发文稿纸 first; 正文 before
附件; 正本 before 定稿 and the revision drafts; 转发文 before 被转发文; 原件 before 复制件; Chinese
before other languages. Pure functions: the caller supplies the documents, this module only groups
and orders them, and reports what it could not place rather than guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Role → rank inside one 公文. Values are Chinese because they come from the submitting systems.
ROLE_RANK = {
    "公文处理单": 0, "文件处理单": 0, "发文稿纸": 0,
    "正本": 1, "正文": 1, "转发文": 1, "原件": 1,
    "附件": 2,
    "定稿": 3,
    "修改稿": 4,
    "被转发文": 5,
    "复制件": 6,
    "翻译本": 7,
}
MAIN_ROLES = frozenset(r for r, rank in ROLE_RANK.items() if rank == 1)
LANGUAGE_RANK = {"": 0, "中文": 0, "汉文": 0, "汉语": 0, "少数民族文字": 1}
FOREIGN_LANGUAGE_RANK = 2


class CompositionError(ValueError):
    """Documents that cannot be composed (unknown role, relation to a missing document)."""

    def __init__(self, message_zh: str, message_en: str, **details: Any) -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en, self.details = message_zh, message_en, details


@dataclass(frozen=True)
class Document:
    """One submitted document (文档) with what composition needs to know about it."""

    id: str
    role: str
    document_number: str = ""  # 文件编号 (发文字号)
    related_to: str = ""  # explicit relation: id of the document this one belongs to
    reply_to: str = ""  # for a 复文: id or 文件编号 of the 来文 it answers
    language: str = ""
    sequence: int = 0  # 附件序号, 修改稿次序 …
    title: str = ""
    date: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLE_RANK:
            raise CompositionError(f"未知的文档角色 {self.role!r}（文档 {self.id}）", f"unknown document role {self.role!r} ({self.id})",
                                   document=self.id, role=self.role)


@dataclass(frozen=True)
class ComposedItem:
    """One 件: its documents in archival order; ``main`` is the 正本 (or 转发文/原件)."""

    documents: tuple[Document, ...]
    main: Document | None

    @property
    def document_number(self) -> str:
        return self.main.document_number if self.main else ""

    def to_dict(self) -> dict[str, Any]:
        return {"main": self.main.id if self.main else None, "document_number": self.document_number,
                "documents": [{"id": d.id, "role": d.role, "order": i} for i, d in enumerate(self.documents, start=1)]}


@dataclass
class Composition:
    items: list[ComposedItem] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)


def language_rank(language: str) -> int:
    return LANGUAGE_RANK.get(language.strip(), FOREIGN_LANGUAGE_RANK)


def document_key(doc: Document) -> tuple[int, int, int, str]:
    """Sort key of a document inside one 公文 (STANDARDS §6.3)."""
    return ROLE_RANK[doc.role], language_rank(doc.language), doc.sequence, doc.id


class _Groups:
    """Union–find over document ids."""

    def __init__(self, ids: list[str]) -> None:
        self.parent = {i: i for i in ids}

    def find(self, i: str) -> str:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for i in self.parent:
            out.setdefault(self.find(i), []).append(i)
        return out


def _normal_number(number: str) -> str:
    return re.sub(r"\s+", "", number).replace("[", "〔").replace("]", "〕")


def group_documents(documents: list[Document]) -> tuple[list[list[Document]], list[dict[str, str]]]:
    """Group documents into 公文 by explicit relation, then by 文件编号."""
    by_id = {d.id: d for d in documents}
    if len(by_id) != len(documents):
        raise CompositionError("文档标识重复", "duplicate document ids")
    groups, problems = _Groups(list(by_id)), []
    first_with_number: dict[str, str] = {}
    for doc in documents:
        if doc.related_to:
            if doc.related_to not in by_id:
                problems.append({"document": doc.id, "problem": "missing_relation",
                                 "message": f"文档 {doc.id} 关联的文档 {doc.related_to} 不存在"})
            else:
                groups.join(doc.id, doc.related_to)
        if doc.document_number:
            key = _normal_number(doc.document_number)
            groups.join(doc.id, first_with_number.setdefault(key, doc.id))
    sets = [[by_id[i] for i in ids] for ids in groups.members().values()]
    return sets, problems


def _merge_replies(sets: list[list[Document]]) -> list[list[list[Document]]]:
    """Join each 复文 set with the 来文 set it answers; the reply part comes first."""
    index: dict[str, int] = {}
    for n, docs in enumerate(sets):
        for d in docs:
            index[d.id] = n
            if d.document_number:
                index.setdefault(_normal_number(d.document_number), n)
    parts: dict[int, list[int]] = {n: [n] for n in range(len(sets))}
    for n, docs in enumerate(sets):
        target = next((index.get(_normal_number(d.reply_to), index.get(d.reply_to)) for d in docs if d.reply_to), None)
        if target is not None and target != n and n in parts and target in parts:
            parts[n] = parts[n] + parts.pop(target)
    return [[sets[i] for i in chain] for chain in parts.values()]


def _several_originals(chain: list[list[Document]]) -> bool:
    for part in chain:
        languages = [language_rank(d.language) for d in part if d.role == "正本"]
        if len(languages) != len(set(languages)):
            return True
    return False


def compose(documents: list[Document], *, join_incoming_reply: bool = False) -> Composition:
    """Form items from documents and order each one. Problems are reported, never guessed away."""
    sets, problems = group_documents(documents)
    chains = _merge_replies(sets) if join_incoming_reply else [[s] for s in sets]
    result = Composition(problems=problems)
    for chain in chains:
        ordered = [d for part in chain for d in sorted(part, key=document_key)]
        mains = [d for d in ordered if d.role in MAIN_ROLES]
        if not mains:
            result.problems.append({"document": ordered[0].id, "problem": "no_main",
                                    "message": f"文档 {', '.join(d.id for d in ordered)} 没有正本，无法单独成件"})
        elif _several_originals(chain):
            result.problems.append({"document": mains[0].id, "problem": "several_originals",
                                    "message": f"文件编号 {mains[0].document_number} 有多个同语种正本"})
        result.items.append(ComposedItem(tuple(ordered), mains[0] if mains else None))
    result.items.sort(key=lambda item: (item.main.date if item.main else "", item.documents[0].id))
    return result
