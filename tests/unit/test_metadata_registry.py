"""The element registry is complete and agrees with the model, the domains and the messages."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from lantai.domain import metadata as md
from lantai.domain.metadata.messages import MESSAGES
from lantai.domain.metadata.walk import walk
from tests.unit.test_metadata_xml import full_process, full_record, full_signature

ROOTS = {md.Root.RECORD: full_record, md.Root.PROCESS: full_process, md.Root.SIGNATURE: full_signature}
STARRED = {"立档单位名称", "年度", "保管期限", "题名", "日期", "密级", "脱机载体编号"}


def test_registry_covers_m1_to_m88_exactly_once() -> None:
    numbers = [e.number for e in md.ELEMENTS]
    assert sorted(numbers) == list(range(1, 89))
    assert len(numbers) == len(set(numbers)) == 88
    # DA/T 48-only elements have no number; M85–M88 reappear once more in 机构人员实体关系.
    assert sorted(e.number for e in md.EEP_ELEMENTS if e.number) == [85, 86, 87, 88]
    assert all(e.path.startswith("agent_relations[]") for e in md.EEP_ELEMENTS if e.number)
    assert set(md.ELEMENTS_BY_NUMBER) == set(range(1, 89))


def test_every_entry_is_fully_described() -> None:
    for e in (*md.ELEMENTS, *md.EEP_ELEMENTS):
        assert re.fullmatch(r"[\u4e00-\u9fff（）()A-Za-z]+", e.name_zh), e
        assert re.fullmatch(r"[a-z][A-Za-z]+", e.name_en), e
        assert e.obligation in md.Obligation and e.data_type in md.DataType
        assert e.domain is None or e.domain in md.DOMAINS, e
        if e.obligation == md.Obligation.OPTIONAL:
            assert not e.required, e
        if e.data_type not in (md.DataType.CONTAINER, md.DataType.BASE64):
            assert e.max_length, e


def test_the_starred_set_is_mandatory() -> None:
    starred = {e.name_zh for e in md.ELEMENTS if e.starred}
    assert starred == STARRED
    assert all(md.ELEMENTS_BY_NUMBER[n].required for n in (1, 6, 7, 11, 12, 22, 32, 33, 38, 41, 48, 49, 67))


def test_paths_are_unique() -> None:
    keys = [(e.root, e.path) for e in (*md.ELEMENTS, *md.EEP_ELEMENTS) if e.path is not None]
    assert len(keys) == len(set(keys))


def test_only_volume_level_items_count_has_no_place_in_dat48() -> None:
    assert [e.number for e in md.ELEMENTS if e.path is None] == [42]


@pytest.mark.parametrize("root", list(md.Root))
def test_registry_and_model_agree_in_both_directions(root: md.Root) -> None:
    walked = {n.path for n in walk(ROOTS[root]())}
    for n in walk(ROOTS[root]()):
        if not n.is_list and not dataclasses.is_dataclass(n.value):
            assert (root, n.path) in md.SPECS_BY_PATH, f"model element without registry entry: {n.where}"
    registered = {e.path for e in (*md.ELEMENTS, *md.EEP_ELEMENTS) if e.root == root and e.path}
    assert registered <= walked, f"registry paths the model does not have: {registered - walked}"


def test_finding_codes_used_by_the_checks_have_messages() -> None:
    from lantai.domain.metadata import checks, validation

    source = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (checks, validation))
    used = set(re.findall(r'"([a-z_]+)", \{', source)) | set(re.findall(r'make_finding\("([a-z_]+)"', source))
    assert used, "no codes found"
    assert used <= set(MESSAGES), used - set(MESSAGES)
    for message in MESSAGES.values():
        assert message.zh and message.en


@pytest.mark.parametrize("key", sorted(md.DOMAINS))
def test_domains_have_unique_values(key: str) -> None:
    values = md.DOMAINS[key].allowed
    assert values and len(values) == len(set(values))


def test_domains_cover_the_standard_lists() -> None:
    d = md.DOMAINS
    assert {"永久", "长期", "短期", "30年", "10年", "定期30年", "定期10年", "Y", "D30", "D10", "001", "002", "003"} <= set(
        d["retention_period"].allowed)
    assert {"纪要", "会议纪要", "命令（令）", "决议", "公报", "指示", "条例", "规定"} <= set(d["document_type"].allowed)
    assert set(d["security_classification"].allowed) == {"公开", "内部", "限制", "秘密", "机密", "绝密"}
    assert "1.2.156.10197.1.501" in d["signature_algorithm_identifier"]
    closed = {k for k, v in d.items() if not v.open}
    assert closed == {"aggregation_level", "security_classification", "document_aggregation_type",
                      "scanning_color_model", "agent_type", "business_status", "document_role"}
