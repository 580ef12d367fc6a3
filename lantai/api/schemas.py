"""Request and response schemas, one family per resource (``UserCreate``, ``UserPublic`` …)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lantai.domain.search import MAX_RESULT_WINDOW


class ErrorOut(BaseModel):
    code: str = Field(description="机器可读的错误代码")
    message: str = Field(description="中文错误说明")
    message_en: str = Field(description="English message")
    details: Any = None


ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (400, 401, 403, 404, 409, 422, 429)
}


# --- auth and users -------------------------------------------------------------------------------
class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserPublic(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    pending_roles: list[str] = Field(default_factory=list, description="待审批的角色")
    clearance: str
    active: bool
    service: bool = False
    service_approved: bool = False
    must_change_password: bool = False
    created_by: str = ""
    created_at: str | None = None


class Me(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    clearance: str
    permissions: list[str]
    via: str
    csrf_token: str | None = None
    must_change_password: bool = False
    scopes: list[str] | None = Field(None, description="令牌的范围（会话登录时为空）")


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str | None = Field(None, min_length=1, max_length=256,
                                 description="初始密码（首次登录须修改）；服务账号不需要")
    display_name: str = Field("", max_length=128)
    roles: list[str] = Field(default_factory=list, max_length=6,
                             description="申请的角色：待安全保密管理员审批后生效")
    service: bool = Field(False, description="服务账号（如 OA 系统）：只用接口令牌，须经安全保密管理员批准")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")  # roles are PUT /users/{name}/roles (安全保密管理员)
    display_name: str | None = Field(None, max_length=128)
    active: bool | None = None


class RolesIn(BaseModel):
    roles: list[str] = Field(max_length=6, description="业务角色：档案管理员、文书、利用者")


class PasswordReset(BaseModel):
    password: str = Field(min_length=1, max_length=256)


class PasswordChange(BaseModel):
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class ClearanceIn(BaseModel):
    clearance: str = Field(max_length=16, description="公开、内部、限制、秘密、机密、绝密")


class TokenCreate(BaseModel):
    username: str | None = Field(None, min_length=1, max_length=64,
                                 description="省略为本人；他人只能是经批准的服务账号（安全保密管理员签发）")
    name: str = Field("", max_length=128)
    days: int = Field(90, ge=1, le=365, description="有效天数，最长 365 天")
    scopes: list[str] = Field(default_factory=lambda: ["read"], min_length=1, max_length=5,
                              description="范围：read、submit、write、audit、admin")


class TokenPublic(BaseModel):
    id: int
    username: str
    name: str
    prefix: str
    created_by: str
    created_at: str
    expires_at: str | None
    last_used: str | None
    revoked: bool
    scopes: list[str] = Field(default_factory=list)


class TokenCreated(TokenPublic):
    token: str = Field(description="只显示一次的令牌明文")


class Done(BaseModel):
    ok: bool = True


# --- items ----------------------------------------------------------------------------------------
class ItemSummary(BaseModel):
    record_id: str
    title: str
    document_number: str
    author: str
    date: str
    year: int | None
    retention: str
    organisation: str
    fonds_code: str
    archival_code: str
    document_type: str
    security_classification: str
    status: str
    file_count: int
    total_bytes: int
    archived_at: str | None


class ItemPage(BaseModel):
    items: list[ItemSummary]
    total: int
    page: int
    page_size: int
    pages: int


class FileOut(BaseModel):
    logical_path: str
    role: str
    size: int
    sm3: str
    sha512: str
    document_id: str
    format: str
    preview: str | None = None
    principal: bool = Field(False, description="正本（文档主从声明 主文档）的文件")
    rendition: str | None = Field(None, description="格式迁移生成的 PDF/A 版本（利用副本由其生成）")


class VersionOut(BaseModel):
    version: int
    created: str
    message: str
    user: str


class EventOut(BaseModel):
    seq: int
    status: str
    activity: str
    time: str
    agent: str
    description: str


class MetadataGroup(BaseModel):
    group: str
    fields: list[tuple[str, str]]


class CheckReport(BaseModel):
    name: str
    stage: str = ""
    passed: bool
    errors: int
    warnings: int
    findings: list[dict[str, Any]]
    source: str


class FixityStatus(BaseModel):
    time: str
    actor: str
    ok: bool
    problems: list[dict[str, Any]]


class ItemDetail(ItemSummary):
    ocfl_version: int
    page_count: int | None
    category: str
    fonds_unit: str
    item_number: int | None
    batch_id: str | None
    updated_at: str | None
    files: list[FileOut]
    versions: list[VersionOut]
    events: list[EventOut]
    metadata: list[MetadataGroup]
    checks: list[CheckReport]
    fixity: FixityStatus | None
    principal: list[str] = Field(default_factory=list, description="正本的内容文件，预览优先者在前；处理单不在其中")


class FacetValue(BaseModel):
    value: str | int | None
    count: int


class Facets(BaseModel):
    path: list[tuple[str, str, str | int]]
    level: str | None
    label: str | None
    values: list[FacetValue]


class CheckRun(BaseModel):
    record_id: str
    fixity: dict[str, Any]
    dat70: Any = None


class ClassificationIn(BaseModel):
    level: str = Field(max_length=16)
    reason: str = Field(min_length=1, max_length=500)


class ClassificationOut(BaseModel):
    record_id: str
    from_: str = Field(alias="from")
    to: str
    version: int


class CorrectionIn(BaseModel):
    values: dict[str, str] = Field(min_length=1, max_length=30,
                                   description="元素 → 更正后的值，如 {\"题名\": \"…\", \"内容描述/日期\": \"2025-03-18\"}")
    reason: str = Field(min_length=1, max_length=500, description="更正理由")


class CorrectedElement(BaseModel):
    element: str
    from_: str | None = Field(alias="from")
    to: str


class CorrectionOut(BaseModel):
    record_id: str
    version: int
    corrected_by: str
    reason: str
    changed: list[CorrectedElement]


class SearchHit(ItemSummary):
    snippet: str = Field("", description="正文摘录（全文检索时）")
    snippet_highlights: list[list[int]] = Field(default_factory=list, description="摘录中命中词的 [起, 止) 字符位置")
    title_highlights: list[list[int]] = Field(default_factory=list, description="题名中命中词的 [起, 止) 字符位置")


class SearchFacetValue(BaseModel):
    value: str | int
    label: str = Field(description="显示名称（机构、全宗名称，保管期限中文）")
    count: int
    chosen: bool


class SearchFacet(BaseModel):
    field: str = Field(description="筛选参数名：year、document_type、organisation、retention、fonds")
    label: str
    values: list[SearchFacetValue]


class SearchPage(ItemPage):
    items: list[SearchHit]  # type: ignore[assignment]
    query: str
    engine: str = Field(description="full_text 全文索引；identifier 电子文件号或档号；catalogue 索引重建中时的目录字段检索")
    sort: str = "relevance"
    filters: dict[str, Any] = Field(default_factory=dict)
    facets: list[SearchFacet] = Field(default_factory=list)
    total_exact: bool = Field(True, description="false: at least `total` items match (a very broad query stops "
                              "counting at the search_count_window setting); `pages` is then a lower bound too")
    max_page: int = Field(description="the last page that can be asked for at this page_size: only the first "
                          f"{MAX_RESULT_WINDOW:,} results are paged through (a later page is 400 bad_input)")


# --- submissions ----------------------------------------------------------------------------------
class SubmissionOut(BaseModel):
    id: int
    idempotency_key: str
    status: str = Field(description="processing | accepted | duplicate | rejected | conflict | complete | partial")
    record_id: str
    kind: str
    submitted_by: str
    created_at: str | None
    security: str | None = None
    report: dict[str, Any] | None = None
    filename: str = Field("", description="上传时的文件名（报告中以此称呼该包）")
    batch: dict[str, Any] | None = Field(None, description="批次：单位、年度、件数、状态与登记表数字")
    recheck_available: bool = False
    replayed: bool = False
    job_id: str | None = Field(None, description="处理该提交的作业（GET /api/v1/jobs/{job_id} 查看进度）")


class SubmissionPage(BaseModel):
    items: list[SubmissionOut]
    total: int
    page: int
    page_size: int
    pages: int


# --- audit ----------------------------------------------------------------------------------------
class AuditEntryOut(BaseModel):
    seq: int
    time: str
    actor: str
    action: str
    target: str
    title: str | None = Field(None, description="对象条目的题名；高于审计员密级权限时隐藏（电子文件号保留）")
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    total: int
    page: int
    page_size: int


class ChainReportOut(BaseModel):
    ok: bool
    entries: int
    first_bad_seq: int | None
    problems: list[dict[str, Any]]
    missing: list[dict[str, Any]] = []  # ranges a copy lacks: {"where": "journal"|"catalogue", "from", "to"}
    checkpoints: dict[str, Any] = {}  # signed checkpoints: stored, valid, last_seq, last_time, entries_after_last
    notes: list[str] = []
