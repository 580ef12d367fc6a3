"""The 业务实体 (M80–M84) and 机构人员实体 (M76–M79) blocks of DA/T 48: who did what, when.

Lantai keeps them in ``过程信息.xml`` (root ``过程信息``) beside the item's 元数据.xml, because
the SIP carries the record entity alone in 元数据.xml while DA/T 48 puts the three blocks side
by side in the EEP.
"""

# ruff: noqa: RUF009  -- the field helpers in .fields return dataclasses.field(...) objects

from __future__ import annotations

from dataclasses import dataclass

from lantai.domain.metadata.fields import children, leaf, unmapped
from lantai.domain.metadata.record import EntityRelation


@dataclass
class BusinessEntity:
    """业务实体: one act in the life of the record (拟稿, 审核, 签发, 归档 …)."""

    business_identifier: str | None = leaf("业务标识符")
    agent_identifier: str | None = leaf("机构人员标识符")
    record_identifier: str | None = leaf("文件标识符")
    business_status: str | None = leaf("业务状态")  # M80
    business_activity: str | None = leaf("业务行为")  # M81
    action_time: str | None = leaf("行为时间")  # M82
    action_mandate: str | None = leaf("行为依据")  # M83
    action_description: str | None = leaf("行为描述")  # M84


@dataclass
class AgentEntity:
    """机构人员实体: a unit, an internal department or a person."""

    agent_identifier: str | None = leaf("机构人员标识符")
    agent_type: str | None = leaf("机构人员类型")  # M76
    agent_name: str | None = leaf("机构人员名称")  # M77
    organization_code: str | None = leaf("组织机构代码")  # M78
    position_name: str | None = leaf("个人职位")  # M79


@dataclass
class AgentRelation(EntityRelation):
    """机构人员实体关系: e.g. a person belongs to a department."""

    entity_identifier: str | None = leaf("机构人员标识符")
    related_entity_identifier: str | None = leaf("被关联机构人员标识符")


@dataclass
class ProcessRecord:
    """过程信息: 业务实体块 followed by 机构人员实体块."""

    business_entities: list[BusinessEntity] = children("业务实体", BusinessEntity, wrapper="业务实体块")
    agents: list[AgentEntity] = children("机构人员实体", AgentEntity, wrapper="机构人员实体块")
    agent_relations: list[AgentRelation] = children("机构人员实体关系", AgentRelation, wrapper="机构人员实体块")
    parse_notes: list[tuple[str, str]] = unmapped()
