"""电子签名 (M57–M64). DA/T 48 keeps signatures in the package's 电子签名块, outside 文件实体,
so this model is separate from :class:`RecordEntity`; the EEP writer and verifier use it."""

# ruff: noqa: RUF009  -- the field helpers in .fields return dataclasses.field(...) objects

from __future__ import annotations

from dataclasses import dataclass

from lantai.domain.metadata.fields import children, leaf, leaves, unmapped


@dataclass
class CertificateBlock:
    """证书块: the signer's certificate chain and where to find it."""

    certificates: list[str] = leaves("证书")  # M62, base64
    certificate_reference: str | None = leaf("证书引证")  # M63, anyURI


@dataclass
class ElectronicSignature:
    """电子签名 (M57)."""

    signature_identifier: str | None = leaf("签名标识符")  # xs:ID, e.g. 修改0-签名1
    signature_rules: str | None = leaf("签名规则")  # M58
    signature_time: str | None = leaf("签名时间")  # M59
    signer: str | None = leaf("签名人")  # M60
    signature: str | None = leaf("签名结果")  # M61, base64
    certificate_blocks: list[CertificateBlock] = children("证书块", CertificateBlock)
    signature_algorithm_identifier: str | None = leaf("签名算法标识")  # M64, OID
    parse_notes: list[tuple[str, str]] = unmapped()
