"""The fictional 青禾区 (Qinghe district): its issuing organs, their people and their addressees.

Everything the generator invents about *who* writes a 公文 lives here, so the phrase banks stay
about *what* is written. The district is fictional on purpose: demo data must never be mistaken
for the records of a real government.
"""

from __future__ import annotations

from dataclasses import dataclass

from lantai.domain.reference import Fonds, Organisation

DISTRICT = "青禾区"
CITY = "云州市"
FONDS_UNIT = "青禾区人民政府办公室"  # 立档单位: the office keeps the district government's fonds
FONDS_CODE = "Z101"
ARCHIVES = "青禾区档案馆"


@dataclass(frozen=True)
class Person:
    name: str
    position: str


@dataclass(frozen=True)
class Organ:
    """An issuing organ (发文机关) with its 发文字号 prefixes and the people who handle its 公文."""

    code: str  # short ASCII code used in file names and certificate subjects
    name: str
    masthead: str  # 发文机关标志
    prefix: str  # 发文机关代字, e.g. 青政办发
    letter_prefix: str  # 函 uses its own 代字, e.g. 青政办函
    leader: Person  # 签发人
    deputy: Person  # 核稿
    clerks: tuple[Person, ...]  # 拟稿 / 印发
    domains: tuple[str, ...]  # topic domains (keys of phrases.TOPICS)
    weight: int = 1


def _p(name: str, position: str) -> Person:
    return Person(name, position)


ORGANS: tuple[Organ, ...] = (
    Organ("QHZF", "青禾区人民政府", "青禾区人民政府文件", "青政发", "青政函",
          _p("陈国华", "区长"), _p("刘建平", "副区长"), (_p("王晓燕", "秘书"), _p("赵磊", "秘书")),
          ("综合", "经济", "民生", "安全"), 3),
    Organ("QHBGS", "青禾区人民政府办公室", "青禾区人民政府办公室文件", "青政办发", "青政办函",
          _p("周文斌", "办公室主任"), _p("孙丽", "办公室副主任"), (_p("李娜", "科员"), _p("张伟", "科员")),
          ("综合", "政务", "安全", "民生"), 4),
    Organ("QHFGW", "青禾区发展和改革委员会", "青禾区发展和改革委员会文件", "青发改发", "青发改函",
          _p("郑海涛", "主任"), _p("何静", "副主任"), (_p("马超", "科员"), _p("林雪", "科员")),
          ("经济", "项目"), 2),
    Organ("QHCZJ", "青禾区财政局", "青禾区财政局文件", "青财发", "青财函",
          _p("吴志刚", "局长"), _p("黄蓉", "副局长"), (_p("杨帆", "科员"), _p("徐敏", "科员")),
          ("财政", "经济"), 2),
    Organ("QHJYJ", "青禾区教育局", "青禾区教育局文件", "青教发", "青教函",
          _p("冯立群", "局长"), _p("谢芳", "副局长"), (_p("韩冰", "科员"), _p("唐静", "科员")),
          ("教育", "安全"), 2),
    Organ("QHWJW", "青禾区卫生健康委员会", "青禾区卫生健康委员会文件", "青卫健发", "青卫健函",
          _p("曹明", "主任"), _p("彭丽华", "副主任"), (_p("邓杰", "科员"), _p("萧雨", "科员")),
          ("卫生", "民生"), 2),
    Organ("QHYJJ", "青禾区应急管理局", "青禾区应急管理局文件", "青应急发", "青应急函",
          _p("袁振东", "局长"), _p("蒋红", "副局长"), (_p("沈浩", "科员"), _p("陆佳", "科员")),
          ("安全",), 1),
    Organ("QHTJJ", "青禾区统计局", "青禾区统计局文件", "青统发", "青统函",
          _p("钟华", "局长"), _p("姚瑶", "副局长"), (_p("田野", "科员"), _p("范琳", "科员")),
          ("统计", "经济"), 1),
)

ORGANS_BY_CODE = {organ.code: organ for organ in ORGANS}
GOVERNMENT = ORGANS_BY_CODE["QHZF"]
OFFICE = ORGANS_BY_CODE["QHBGS"]

CITY_GOVERNMENT = f"{CITY}人民政府"
PEOPLES_CONGRESS = f"{DISTRICT}人民代表大会常务委员会"

DOWNWARD_RECIPIENTS = (
    "各街道办事处，区政府各部门，各直属机构",
    "各街道办事处，区政府有关部门",
    "各镇人民政府、街道办事处，区直各单位",
)
DEPARTMENT_RECIPIENTS = {
    "QHJYJ": "各中小学校、幼儿园，各街道教育办公室",
    "QHWJW": "各医疗卫生机构，各街道社区卫生服务中心",
    "QHYJJ": "各街道办事处，区安委会各成员单位，各重点企业",
    "QHTJJ": "各街道办事处，区政府各部门",
    "QHFGW": "区政府各部门，各街道办事处",
    "QHCZJ": "区级各预算单位，各街道财政所",
}
CC_POOL = (
    "区委办公室", "区人大常委会办公室", "区政协办公室", "区纪委监委", "区委组织部",
    "区法院", "区检察院", f"{CITY}人民政府办公室", "区档案馆", "区融媒体中心",
)


def fonds() -> Fonds:
    """The district government's 全宗 as reference data: its issuing organs are the 机构(问题)."""
    return Fonds(code=FONDS_CODE, name=f"{DISTRICT}人民政府", unit=FONDS_UNIT,
                 scheme=("year", "organisation", "retention"), schedule="district-ws",
                 ordering=("date", "document_number"), join_incoming_reply=False,
                 code_rules=(("*", "DA/T 22-2015"),),
                 organisations=tuple(Organisation(organ.code, organ.name) for organ in ORGANS))
