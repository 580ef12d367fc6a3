"""Authenticity (真实性, DA/T 70 1-x): fixity information, metadata accuracy, electronic
attributes against the metadata, recorded against actual location, package structure."""

from __future__ import annotations

import re
from typing import Any

from lantai.checks.model import Outcome, found, passed
from lantai.checks.properties.common import encodings, finding_outcomes, metadata_guard
from lantai.checks.registry import check
from lantai.checks.subject import ARCHIVED, SINGLE, Subject
from lantai.storage.ocfl import INVENTORY_FILE

MANIFEST_FILE = {"sm3": "manifest-sm3.txt", "sha256": "manifest-sha256.txt", "sha512": "manifest-sha512.txt"}


# --- 1-1 fixity information ----------------------------------------------------------------------
@check("fixity_valid")
def fixity_valid(subject: Subject) -> list[Outcome]:
    outcomes: list[Outcome] = []
    verified = _manifest_outcomes(subject, outcomes)
    if subject.kind == ARCHIVED:
        verified += _stored_fixity(subject, outcomes)
    for name in subject.content_names():
        verified += _embedded_signatures(subject, name, outcomes)
    if not outcomes and verified == 0:
        outcomes.append(found("1-1d"))
    return outcomes or [passed(verified=verified)]


def _manifest_outcomes(subject: Subject, outcomes: list[Outcome]) -> int:
    for manifest, reason in subject.manifest_errors.items():
        outcomes.append(found("1-1j", manifest=manifest, reason=reason))
    verified = 0
    must_list = [n for n in subject.referenced if n in subject.files] if subject.referenced else subject.content_names()
    for algorithm, entries in subject.manifests.items():
        manifest = MANIFEST_FILE.get(algorithm, algorithm)
        for name, expected in sorted(entries.items()):
            file = subject.files.get(name)
            actual = file.digests.get(algorithm) if file is not None else None
            if file is None:
                outcomes.append(found("1-1b", name, manifest=manifest))
            elif actual is None:
                continue
            elif actual != expected:
                outcomes.append(found("1-1a", name, algorithm=algorithm.upper(),
                                      details={"expected": expected, "actual": actual}))
            else:
                verified += 1
        outcomes += [found("1-1c", n, manifest=manifest) for n in must_list if n not in entries]
    return verified


def _stored_fixity(subject: Subject, outcomes: list[Outcome]) -> int:
    from lantai.crypto.digests import digest_file

    verified = 0
    for name, file in sorted(subject.files.items()):
        try:
            actual = digest_file(file.path, ("sm3",))[0]["sm3"]
        except OSError as exc:
            outcomes.append(found("1-1i", name, algorithm="SM3", details={"error": str(exc)}))
            continue
        if file.sm3 and actual != file.sm3:
            outcomes.append(found("1-1i", name, algorithm="SM3", details={"expected": file.sm3, "actual": actual}))
        else:
            verified += 1
    return verified


def _embedded_signatures(subject: Subject, name: str, outcomes: list[Outcome]) -> int:
    facts = subject.facts(name)
    verified = 0
    if facts.is_ofd and facts.ofd is not None:
        for sig in facts.ofd.signatures:
            details = sig.to_dict()
            for ref in sig.references_failed:
                outcomes.append(found("1-1e", name, signature=sig.id, reference=ref.get("file", ref.get("ref", "?")),
                                      details=details))
            if sig.seal_signature_valid is False:
                outcomes.append(found("1-1f", name, signature=sig.id, reason="签名值验证失败",
                                              reason_en="signature value does not verify", details=details))
            if not sig.references_failed and sig.seal_signature_valid is not False:
                verified += 1
    if facts.is_pdf and facts.pdf is not None:
        for sig in facts.pdf.signatures:
            details = sig.to_dict()
            if sig.status == "valid":
                verified += 1
            else:
                status = "warn" if sig.status == "unverified" else None
                outcomes.append(found("1-1g", name, field=sig.field, status=status, details=details,
                                      signer=sig.signer or "未知", sig_status=sig.status))
            if sig.status == "valid" and not sig.covers_whole_file:
                outcomes.append(found("1-1h", name, field=sig.field, details=details))
    return verified


# --- 1-2 metadata accuracy -----------------------------------------------------------------------
@check("metadata_accurate")
def metadata_accurate(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    outcomes = finding_outcomes(subject, {"1-2a", "1-2b", "1-2c", "1-2d", "1-2e", "1-2i"})
    outcomes += _archival_code(subject)
    return outcomes or [passed()]


def _archival_code(subject: Subject) -> list[Outcome]:
    """档号 against its fonds/category rule from the archive's reference data, else the profile's rule."""
    from lantai.domain.archival_code import CodeError

    text = (subject.record.archival_code.text or "").strip()
    rule_name, rule = _code_rule(subject)
    if not text or rule is None:
        return []
    try:
        rule.parse(text)
    except CodeError as exc:
        return [found("1-2f", value=text, rule=rule_name, detail=exc.message_zh)]
    return []


def _code_rule(subject: Subject) -> tuple[str, Any]:
    from lantai.domain.archival_code import BUILTIN_RULES
    from lantai.errors import LantaiError

    reference = subject.extra.get("reference")
    code = subject.record.archival_code
    fonds, category = (code.fonds_identifier or "").strip(), (code.category_code or "").strip()
    if reference is not None and fonds in reference.fonds:
        try:
            rule = reference.code_rule(reference.get_fonds(fonds), category or "WS")
            return rule.name, rule
        except (LantaiError, ValueError):
            pass  # an unknown category or a broken rule: the profile's rule still applies
    rule_name = str(subject.profile.section("metadata").get("archival_code_rule", "DA/T 22-2015"))
    return rule_name, BUILTIN_RULES.get(rule_name)


# --- 1-3 electronic attributes vs metadata -------------------------------------------------------
@check("content_attributes_match")
def content_attributes_match(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    outcomes: list[Outcome] = []
    checked = 0
    for _doc, _data, encoding, name in encodings(subject):
        if name not in subject.files:
            continue  # 1-4 and 2-3 report missing files
        checked += 1
        outcomes += _attributes(subject, name, encoding)
    outcomes += _page_count(subject)
    return outcomes or [passed(count=checked)]


def _attributes(subject: Subject, name: str, encoding: Any) -> list[Outcome]:
    file, facts = subject.files[name], subject.facts(name)
    outcomes = []
    declared = str(encoding.computer_file_size or "").strip()
    if declared.isdigit() and int(declared) != file.size:
        outcomes.append(found("1-3b", name, declared=int(declared), actual=file.size))
    actual = _describe(facts)
    if facts.format.extension_mismatch:
        outcomes.append(found("1-3a", name, extension=facts.extension, actual=actual))
    info = (encoding.format_information or "").strip()
    if info and facts.format.puid and not format_matches(info, facts):
        outcomes.append(found("1-3c", name, declared=info, actual=actual))
    application = (encoding.document_creating_application or "").strip()
    recorded = facts.creating_application()
    if application and recorded and not application_matches(application, recorded):
        outcomes.append(found("1-3e", name, declared=application, actual=recorded))
    return outcomes


def _describe(facts: Any) -> str:
    f = facts.format
    return f"{f.name or '?'} {f.version or ''} ({f.puid})".replace("  ", " ")


_PUID = re.compile(r"(x-)?fmt/\d+")


def format_matches(info: str, facts: Any) -> bool:
    """格式信息 is free text ("格式名称:PDF, 格式版本:1.7" or "注册ID:fmt/276"): compare what it states."""
    f = facts.format
    puids = [m.group(0) for m in _PUID.finditer(info)]
    if puids:
        return f.puid in puids
    fields = dict(_fields(info))
    mime = fields.get("MIME媒体类型") or fields.get("MIME")
    if mime and facts.mime and mime.lower() != facts.mime:
        return False
    name = (fields.get("格式名称") or (info if not fields else "")).strip().lower()
    if not name:
        return True
    haystack = f"{f.name or ''} {f.mime or ''} {facts.extension} {f.puid}".lower()
    key = name.split("/")[0].split()[0] if name.split() else name
    return key in haystack or (key == "ofd" and facts.is_ofd)


def _fields(info: str) -> list[tuple[str, str]]:
    pairs = []
    for part in re.split(r"[,，;；]", info):
        if ":" in part or "：" in part:
            key, _, value = part.replace("：", ":").partition(":")
            pairs.append((key.strip(), value.strip()))
    return pairs


def application_matches(declared: str, recorded: str) -> bool:
    words = [w for w in re.split(r"[\s/()（）,;]+", declared.lower()) if len(w) > 1 and not w[0].isdigit()]
    return not words or any(w in recorded.lower() for w in words)


def _page_count(subject: Subject) -> list[Outcome]:
    declared = str(subject.record.formal_characteristics.total_number_of_pages or "").strip()
    if not declared.isdigit():
        return []
    main = next((n for d, _dd, _e, n in encodings(subject) if (d.document_role or "主文档") == "主文档"
                 and n in subject.files), None)
    if main is None:
        return []
    actual = subject.facts(main).page_count()
    if actual is None or actual == int(declared):
        return []
    return [found("1-3d", main, declared=int(declared), actual=actual)]


# --- 1-4 recorded vs actual location -------------------------------------------------------------
@check("location_consistent")
def location_consistent(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    outcomes = [found("1-4a", name) for name in sorted(subject.referenced) if name not in subject.files]
    return outcomes or [passed(count=len(subject.referenced))]


# --- 1-5 package ---------------------------------------------------------------------------------
@check("package_authentic")
def package_authentic(subject: Subject) -> list[Outcome]:
    if subject.package_error is not None:
        rule, reason = subject.package_error
        return [found(rule, reason=reason)]
    if subject.kind == SINGLE:
        return metadata_guard(subject) or [passed()]
    outcomes = [found("1-5b", name) for name in subject.illegal_names]
    return outcomes or [passed()]


@check("package_unchanged")
def package_unchanged(subject: Subject) -> list[Outcome]:
    """bc 1-5: the stored object's inventory and every file of every version, as the caller verified them."""
    if subject.kind != ARCHIVED:
        return package_authentic(subject)
    if subject.package_error is not None:
        return package_authentic(subject)
    fixity = subject.extra.get("fixity")
    if fixity is None:
        return [found("1-5d", INVENTORY_FILE, reason="未提供存储对象的固定性校验结果，无法判定",
                      reason_en="no fixity result for the stored object; cannot decide")]
    outcomes = [found("1-5d", p.get("file") or INVENTORY_FILE, reason=p.get("message", p.get("problem", "")),
                      details={k: v for k, v in p.items() if k != "path"}) for p in fixity.problems]
    return outcomes or [passed(files=fixity.files)]
