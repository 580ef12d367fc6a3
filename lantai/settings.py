"""Typed settings: ``LANTAI_*`` environment variables override ``<home>/lantai.toml``, which
overrides the defaults declared here. Each setting is declared once, with its help text, so the
CLI, the API and the README are fed from one place.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_HOME = "./lantai-data"


class Settings(BaseSettings):
    """Every user-visible setting of Lantai."""

    model_config = SettingsConfigDict(env_prefix="LANTAI_", extra="ignore")

    home: Path = Field(Path(DEFAULT_HOME), description="Archive directory (catalogue, store, staging, keys).")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the catalogue; default SQLite at <home>/catalog.sqlite3. "
        "Example: postgresql+psycopg://user@host/lantai",
    )
    archive_name: str = Field("兰台示范档案馆", description="Name of this archive (档案馆名称), used in packages and reports.")
    workers: int = Field(2, description="Worker processes for ingest hashing and fixity verification.")
    max_item_bytes: int = Field(
        64 * 1024**3, description="Largest uncompressed size accepted for one submitted item (zip-bomb bound)."
    )
    max_zip_entries: int = Field(10_000, description="Most entries accepted in one submitted zip.")
    max_zip_ratio: int = Field(200, description="Largest compression ratio accepted for one zip entry.")
    max_metadata_bytes: int = Field(
        256 * 1024**2, description="Largest 元数据.xml accepted (inline base64 data counts toward it)."
    )
    fsync: bool = Field(True, description="fsync files and directories on commit (turn off only for throwaway tests).")
    clamd_socket: str | None = Field(None, description="Path of the clamd local socket for virus scanning.")
    ingest_profile: str = Field(
        "default",
        description="DA/T 70 check profile ingest runs (gd stage); items that fail are rejected. "
        "'off' disables it — only for tests of the ingest mechanics.",
    )
    search_count_window: int = Field(
        5000, ge=1,
        description="Most matches one search counts, computes facets over and ranks from (the newest ones); "
        "a broader query reports its total as 'at least N' (≥ N 件), which keeps very broad words fast.",
    )
    trusted_proxies: str | None = Field(
        None,
        description="Reverse proxies (IP addresses or CIDRs, comma-separated) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; from anyone else these headers are ignored.",
    )
    secure_cookies: bool = Field(
        False, description="Mark session cookies Secure even on plain HTTP (they always are when the request is HTTPS, "
        "directly or via a trusted proxy)."
    )
    password_max_age_days: int = Field(
        0, ge=0, le=3650,
        description="Days after which a password must be changed at the next login (GB/T 22239 level 3); 0 = never.",
    )
    login_max_failures_per_account: int = Field(
        5, ge=1, description="Failed logins per account within 15 minutes before the account is throttled."
    )
    login_max_failures_per_client: int = Field(
        20, ge=1, description="Failed logins per client address within 15 minutes before the client is throttled."
    )

    use_two_step_levels: str = Field(
        "秘密,机密,绝密",
        description="密级 (comma-separated) whose 利用申请 need a second approval by the 安全保密管理员 after the "
        "档案管理员's; an item of unknown 密级 always needs it.",
    )
    broker_url: str | None = Field(
        None,
        description="Message broker for background jobs run by `lantai worker` (Dramatiq): redis://host:6379/0 "
        "or amqp://user:password@host:5672/. Unset: jobs run in the process that starts them.",
    )

    job_lease_seconds: int = Field(
        30, ge=3, le=3600,
        description="A running job whose worker has not reported for this long is taken to be dead and run "
        "again (workers report every third of it).",
    )

    @field_validator("broker_url", mode="after")
    @classmethod
    def _check_broker(cls, value: str | None) -> str | None:
        """Only Redis and RabbitMQ; a typo must not silently fall back to in-process work."""
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("broker_url must start with redis://, rediss://, amqp:// or amqps://")
        return value or None

    public_open_page: bool = Field(
        False, description="Serve the read-only page /open without login: search and view of 开放 items only "
        "(控制标识 开放 and 密级 公开)."
    )

    appraisal_opening_age: int = Field(
        25, ge=1, le=100,
        description="Years after its 年度 at which an item is due for 开放鉴定 (2020 Archives Law §27: 25).",
    )
    appraisal_opening_ages: str | None = Field(
        None,
        description="Shorter opening ages per 类别号 for economic, scientific and cultural records, e.g. KJ=10,JJ=15.",
    )
    appraisal_committee: str | None = Field(
        None,
        description="Who may approve which appraisal kind, e.g. 到期=zhang,li;密级=wang,zhao; a kind not named may be "
        "approved by any account holding appraisal.approve.",
    )
    appraisal_min_approvers: int = Field(
        2, ge=2, le=20, description="Fewest approvers (other than the proposer) an appraisal campaign is submitted to."
    )
    destruction_wait_days: int = Field(
        30, ge=0, le=3650,
        description="Days between phase 1 of a destruction (approved, items 待销毁, 销毁清册 made) and phase 2 "
        "(content deleted by a second person).",
    )

    @field_validator("appraisal_opening_ages", "appraisal_committee", mode="after")
    @classmethod
    def _check_appraisal(cls, value: str | None, info: Any) -> str | None:
        """Refuse a malformed opening-age or committee list rather than ignoring part of it."""
        from lantai.domain import appraisal

        try:
            if info.field_name == "appraisal_opening_ages":
                appraisal.parse_opening_ages(value or "")
            else:
                appraisal.parse_committee(value or "")
        except appraisal.AppraisalRuleError as exc:
            raise ValueError(exc.message_en) from None
        return value

    @field_validator("use_two_step_levels", mode="after")
    @classmethod
    def _check_levels(cls, value: str) -> str:
        """Only known 密级 names; a typo would silently drop the second approval."""
        from lantai.domain.roles import CLEARANCE_RANK

        levels = [p.strip() for p in value.split(",") if p.strip()]
        unknown = [level for level in levels if level not in CLEARANCE_RANK]
        if unknown:
            raise ValueError(f"unknown 密级 in use_two_step_levels: {', '.join(unknown)}")
        return ",".join(levels)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _check_proxies(cls, value: Any) -> Any:
        """``LANTAI_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1`` (a TOML list works too); bad CIDRs are refused."""
        import ipaddress

        items = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value or [])
        items = [p for p in items if p]
        for item in items:
            ipaddress.ip_network(item, strict=False)
        return ",".join(items) or None

    @property
    def trusted_proxy_networks(self) -> tuple[str, ...]:
        """The trusted proxies one by one (empty: no proxy is trusted)."""
        return tuple(p for p in (self.trusted_proxies or "").split(",") if p)

    audit_checkpoint_dir: Path | None = Field(
        None,
        description="Second location for signed audit-chain checkpoints (SM2, the archive key); default "
        "<home>/audit/checkpoints. Put it on another disk or a write-once mount so the chain cannot be "
        "cut or re-chained unnoticed.",
    )
    audit_checkpoint_every: int = Field(
        1000, ge=1, description="Write a signed audit checkpoint at least every this many entries."
    )
    audit_checkpoint_seconds: int = Field(
        300, ge=1,
        description="Write a signed audit checkpoint when this many seconds have passed since the last one "
        "and entries were added.",
    )
    audit_denials_per_minute: int = Field(
        20, ge=1,
        description="Most denials (401, 403, CSRF failures, 404 probes) journalled per client and action in a "
        "minute; the rest are counted in one summary entry.",
    )

    primary_root_name: str = Field(
        "primary", pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Name of the primary storage root (<home>/store), as replication, fixity and the dashboard show it.",
    )
    replica_roots: dict[str, str] = Field(
        {},
        description="Replica storage roots, name → URL (file:///path or s3://bucket/prefix); every committed "
        "version is copied to each. In lantai.toml a [replica_roots] table; `lantai replicas add` writes it.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of the S3-compatible storage of s3:// roots (e.g. http://127.0.0.1:7480); "
        "default AWS."
    )
    s3_access_key: str | None = Field(None, description="Access key for s3:// roots.")
    s3_secret_key: str | None = Field(None, description="Secret key for s3:// roots.")
    s3_region: str = Field("us-east-1", description="Region name sent to the S3-compatible storage.")
    s3_object_lock_days: int = Field(
        3650, ge=0,
        description="Retention (days) of every object written to an s3:// root whose bucket has object lock, in "
        "COMPLIANCE mode (nobody can delete it before then); 0 = write without retention.",
    )
    replication_retry_max_seconds: int = Field(
        3600, ge=1, description="Longest wait between retries of a copy to an unreachable replica root "
        "(the back-off doubles from 30 s up to this)."
    )
    fixity_cycle_days: int = Field(
        90, ge=1,
        description="Days in which scheduled fixity (`lantai fixity run`, e.g. nightly) covers every object on "
        "every root; a run without bounds checks the overdue objects plus its share of the cycle.",
    )

    @field_validator("replica_roots", mode="after")
    @classmethod
    def _check_roots(cls, roots: dict[str, str]) -> dict[str, str]:
        """Names are short identifiers and URLs parse; a typo must not become a silent root."""
        import re

        from lantai.errors import BadInput
        from lantai.storage.backends import parse_root_url

        for name, url in roots.items():
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
                raise ValueError(f"bad replica root name {name!r} (letters, digits, _ and -)")
            try:
                parse_root_url(url)
            except BadInput as exc:
                raise ValueError(exc.message_en) from None
        return roots

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        """Resolve once, here, so nothing downstream ever sees a relative path.

        clamd refuses relative paths in its configuration, and worker processes, LibreOffice and
        the URLs printed to users would each interpret one against their own working directory.
        """
        return _absolute(home)

    @field_validator("audit_checkpoint_dir", mode="after")
    @classmethod
    def _absolute_checkpoints(cls, directory: Path | None) -> Path | None:
        return _absolute(directory) if directory else directory

    @field_validator("clamd_socket", mode="after")
    @classmethod
    def _absolute_socket(cls, socket: str | None) -> str | None:
        return str(_absolute(Path(socket))) if socket else socket

    @property
    def s3_options(self) -> Any:
        """Connection and retention settings of s3:// roots, as :mod:`lantai.storage.backends` takes them."""
        from lantai.storage.backends import S3Options

        return S3Options(self.s3_endpoint_url, self.s3_access_key, self.s3_secret_key, self.s3_region,
                         self.s3_object_lock_days)

    @property
    def store_root(self) -> Path:
        return self.home / "store"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def audit_journal(self) -> Path:
        return self.home / "audit" / "chain.jsonl"

    @property
    def audit_checkpoints(self) -> Path:
        return self.audit_checkpoint_dir or self.home / "audit" / "checkpoints"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def catalogue_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'catalog.sqlite3'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        home = init_settings().get("home") or env_settings().get("home") or DEFAULT_HOME
        return (init_settings, env_settings, _TomlSource(settings_cls, Path(home)))


def _absolute(path: Path) -> Path:
    """An absolute, normalised path without resolving symbolic links the operator chose to use."""
    return Path(os.path.abspath(path.expanduser()))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``lantai.toml`` from the archive home actually in use (``home=``, LANTAI_HOME or the default)."""

    def __init__(self, settings_cls: type[BaseSettings], home: Path) -> None:
        super().__init__(settings_cls)
        self.home = home

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(self.home).expanduser() / "lantai.toml"
        if not path.is_file():
            return {}
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        return {k: v for k, v in data.items() if k in Settings.model_fields}


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
