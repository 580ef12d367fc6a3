"""DA/T 48 EEP end to end: SIP → EEP → SIP byte for byte, tampering of every part, 修改型 chains."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from lantai.crypto import certs, keystore, sm2
from lantai.errors import ValidationFailed
from lantai.packages.eep import Signer, build_eep, build_modified_eep, extract_eep, read_history, verify_eep
from lantai.packages.eep.names import NS

FILES = {
    "正文.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 40,
    "附件/附件1 预算表.xlsx": b"PK\x03\x04" + b"\x00\xff<&>" * 333,
    "附件/空白页.txt": b"",
}


def _metadata(record_id: str, title: str, files: dict[str, bytes]) -> bytes:
    encodings = "".join(
        f'\n      <编码 编码ID="E{i}"><电子属性><格式信息>格式名称:{name.rsplit(".", 1)[-1].upper()}</格式信息>'
        f"<计算机文件名>{name}</计算机文件名><计算机文件大小>{len(data)}</计算机文件大小></电子属性>"
        f'<编码描述>本封装包中"编码数据"元素存储的是计算机文件二进制流的Base64编码</编码描述>'
        f"<反编码关键字>{name.rsplit('.', 1)[-1]}</反编码关键字></编码>"
        for i, (name, data) in enumerate(files.items(), start=1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<文件实体 xmlns="{NS}">
  <聚合层次>文件</聚合层次>
  <来源><全宗名称>某市人民政府办公室</全宗名称><立档单位名称>某市人民政府办公室</立档单位名称></来源>
  <电子文件号>{record_id}</电子文件号>
  <档号>Z001-WS·2025-Y-0007<全宗号>Z001</全宗号><年度>2025</年度><保管期限>永久</保管期限><室编件号>7</室编件号></档号>
  <内容描述><题名>{title}</题名><责任者>某市人民政府办公室</责任者><日期>2025-06-01</日期><密级>公开</密级></内容描述>
  <形式特征><文件组合类型>组合文件</文件组合类型></形式特征>
  <存储位置><脱机载体编号>GP-001</脱机载体编号></存储位置>
  <权限管理><控制标识>开放</控制标识></权限管理>
  <文件数据><文档><文档标识符>修改0-文档1</文档标识符><文档数据 文档数据ID="DD1">{encodings}
    </文档数据></文档></文件数据>
</文件实体>
""".encode()


PROCESS = f"""<?xml version="1.0" encoding="UTF-8"?>
<过程信息 xmlns="{NS}">
<业务实体块><业务实体><业务标识符>B1</业务标识符><机构人员标识符>P1</机构人员标识符><文件标识符>X</文件标识符><业务状态>历史行为</业务状态><业务行为>签发</业务行为><行为时间>2025-06-01T10:00:00</行为时间></业务实体></业务实体块>
<机构人员实体块><机构人员实体><机构人员标识符>P1</机构人员标识符><机构人员名称>李明</机构人员名称></机构人员实体></机构人员实体块>
</过程信息>
""".encode()


def write_sip(directory: Path, files: dict[str, bytes] = FILES, title: str = "关于A&B项目的批复") -> Path:
    directory.mkdir(parents=True)
    (directory / "元数据.xml").write_bytes(_metadata("Z001-2025-0007", title.replace("&", "&amp;"), files))
    (directory / "过程信息.xml").write_bytes(PROCESS)
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    lines = [f"{hashlib.new('sm3', data).hexdigest()}  {name}" for name, data in files.items()]
    (directory / "manifest-sm3.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> keystore.Keystore:
    return keystore.init_keystore(tmp_path_factory.mktemp("home") / "keys", "某市档案馆")


@pytest.fixture(scope="module")
def package(store: keystore.Keystore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("eep")
    return build_eep(write_sip(base / "sip"), base / "item.eep", Signer.from_keystore(store))


def codes(findings: list) -> set[str]:
    return {f.code for f in findings}


# --- sound packages --------------------------------------------------------------------------------


def test_sip_eep_sip_round_trip_is_byte_identical(
    package: Path, store: keystore.Keystore, tmp_path: Path
) -> None:
    assert verify_eep(package, store) == []
    result = extract_eep(package, tmp_path / "back", store)
    assert sorted(result.files) == sorted(FILES)
    assert tree_bytes(tmp_path / "back") == tree_bytes(package.parent / "sip")


def test_package_follows_da_t_48_shape(package: Path) -> None:
    root = etree.parse(str(package)).getroot()
    names = lambda el: [etree.QName(c).localname for c in el]  # noqa: E731
    assert root.tag == f"{{{NS}}}电子文件封装包"
    assert names(root) == ["封装包格式描述", "版本", "被签名对象", "电子签名块", "锁定签名"]
    signed = root[2]
    assert signed.get("eep版本") == "2009" and root[1].text == "2009"
    assert names(signed) == ["封装包类型", "封装包类型描述", "封装包创建时间", "封装包创建单位", "封装内容"]
    assert names(signed[4]) == ["文件实体块", "业务实体块", "机构人员实体块"]
    encoding = root.find(f".//{{{NS}}}编码")
    assert names(encoding) == ["电子属性", "编码描述", "反编码关键字", "编码数据"]
    assert root.find(f".//{{{NS}}}签名标识符").text == "修改0-签名1"
    assert root.find(f".//{{{NS}}}被锁定签名标识符").text == "修改0-签名1"
    assert root.find(f".//{{{NS}}}签名算法标识").text == sm2.OID_SM2_WITH_SM3


def test_signature_reproducible_with_libxml2_c14n(package: Path, store: keystore.Keystore) -> None:
    """An independent verifier (lxml's exclusive C14N over the whole tree) checks our signature."""
    root = etree.parse(str(package)).getroot()
    canonical = etree.tostring(root.find(f"{{{NS}}}被签名对象"), method="c14n", exclusive=True)
    value = base64.b64decode(root.find(f"{{{NS}}}电子签名块//{{{NS}}}签名结果").text)
    digest = hashlib.new("sm3", canonical).digest()
    assert sm2.verify(store.signing_key().public_key, digest, value)
    lock = root.find(f"{{{NS}}}锁定签名/{{{NS}}}签名结果").text
    locked = etree.tostring(root.find(f"{{{NS}}}电子签名块/{{{NS}}}电子签名"), method="c14n", exclusive=True)
    assert sm2.verify(
        store.signing_key().public_key, hashlib.new("sm3", locked).digest(), base64.b64decode(lock)
    )


def test_untrusted_signer_is_reported(package: Path, tmp_path: Path) -> None:
    other = keystore.init_keystore(tmp_path / "other-keys", "另一档案馆")
    assert codes(verify_eep(package, other)) == {"cert-untrusted"}
    assert verify_eep(package, None) == []  # signature alone is sound


# --- tampering -------------------------------------------------------------------------------------


def _tampered(package: Path, tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = package.read_bytes()
    changed = edit(data)
    assert changed != data
    target = tmp_path / "tampered.eep"
    target.write_bytes(changed)
    return target


def _first_data(data: bytes) -> tuple[int, int]:
    match = re.search('编码数据ID="修改0-编码数据1">([^<]+)</'.encode(), data)
    assert match
    return match.start(1), match.end(1)


def _flip_title(data: bytes) -> bytes:
    return data.replace("A&amp;B项目".encode(), "A&amp;C项目".encode(), 1)


def _flip_base64(data: bytes) -> bytes:
    start, _ = _first_data(data)
    char = data[start + 10 : start + 11]
    return data[: start + 10] + (b"B" if char != b"B" else b"C") + data[start + 11 :]


def _truncate_base64(data: bytes) -> bytes:
    _, end = _first_data(data)
    return data[: end - 3] + data[end:]


def _swap_certificate(data: bytes) -> bytes:
    ca = certs.create_local_ca("冒名CA", "冒名")
    forged = base64.b64encode(certs.issue_certificate(ca, "冒名签名", sm2.generate_keypair())).decode()
    return re.sub("<证书>[^<]+</证书>".encode(), f"<证书>{forged}</证书>".encode(), data, count=1)


def _wrong_namespace(data: bytes) -> bytes:
    return data.replace(NS.encode(), b"http://www.saac.gov.cn/standards/ERM/other", 1)


def _duplicate_id(data: bytes) -> bytes:
    return data.replace('编码ID="E2"'.encode(), '编码ID="E1"'.encode(), 1)


def _dangling_lock(data: bytes) -> bytes:
    return data.replace("修改0-签名1</被锁定签名标识符>".encode(), "修改0-签名9</被锁定签名标识符>".encode())


def _alter_signature_time(data: bytes) -> bytes:
    return re.sub("<签名时间>2".encode(), "<签名时间>1".encode(), data, count=1)


def _drop_lock(data: bytes) -> bytes:
    return re.sub("<锁定签名>.*</锁定签名>".encode(), b"", data, flags=re.S)


def _wrap_base64(data: bytes) -> bytes:
    """RFC 2045 line breaks (CRLF) change the signed bytes but not the decoded file."""
    start, end = _first_data(data)
    text = data[start:end]
    wrapped = b"\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    return data[:start] + wrapped + data[end:]


def _doctype(data: bytes) -> bytes:
    return data.replace(b"?>\n", b'?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n', 1)


def _not_well_formed(data: bytes) -> bytes:
    return data.replace("</封装包创建单位>".encode(), b"", 1)


@pytest.mark.parametrize(
    "edit, expected",
    [
        (_flip_title, {"eep-signature"}),
        (_flip_base64, {"eep-signature"}),
        (_truncate_base64, {"eep-base64", "eep-signature"}),
        (_swap_certificate, {"eep-signature"}),
        (_wrong_namespace, {"eep-namespace"}),
        (_duplicate_id, {"eep-id-duplicate", "eep-signature"}),
        (_dangling_lock, {"eep-idref", "eep-lock"}),
        (_alter_signature_time, {"eep-signature"}),
        (_drop_lock, {"eep-signature-missing"}),
        (_wrap_base64, {"eep-signature"}),
        (_doctype, {"eep-xml-unsafe"}),
        (_not_well_formed, {"eep-xml"}),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_tampering_is_detected_and_named(
    package: Path,
    store: keystore.Keystore,
    tmp_path: Path,
    edit,
    expected: set[str],  # type: ignore[no-untyped-def]
) -> None:
    findings = verify_eep(_tampered(package, tmp_path, edit), store)
    assert expected <= codes(findings), findings
    assert all(f.message for f in findings)


def test_extract_refuses_tampered_package_and_leaves_nothing(
    package: Path, store: keystore.Keystore, tmp_path: Path
) -> None:
    bad = _tampered(package, tmp_path, _flip_base64)
    with pytest.raises(ValidationFailed) as info:
        extract_eep(bad, tmp_path / "out", store)
    assert "eep-signature" in codes(info.value.details["findings"])
    assert list((tmp_path / "out").iterdir()) == []


def test_truncated_size_is_named(package: Path, store: keystore.Keystore, tmp_path: Path) -> None:
    """Drop a whole base64 quantum: decodes cleanly but the size no longer matches."""

    def drop_quantum(data: bytes) -> bytes:
        _, end = _first_data(data)
        return data[: end - 8] + data[end - 4 :]

    assert {"eep-size", "eep-signature"} <= codes(
        verify_eep(_tampered(package, tmp_path, drop_quantum), store)
    )


# --- 修改型 -------------------------------------------------------------------------------------------


def test_modified_package_over_original(package: Path, store: keystore.Keystore, tmp_path: Path) -> None:
    revised_files = {**FILES, "附件/附件1 预算表.xlsx": b"PK\x03\x04 revised"}
    sip = write_sip(tmp_path / "v2", revised_files, title="关于A&B项目的批复（更正）")
    signer = Signer.from_keystore(store)
    modified = build_modified_eep(package, sip, tmp_path / "v2.eep", signer, store)
    assert verify_eep(modified, store) == []

    root = etree.parse(str(modified)).getroot()
    data = root.findall(f".//{{{NS}}}修订内容//{{{NS}}}编码数据")
    references = [d.get("引用编码数据ID") for d in data]
    assert references.count(None) == 1  # only the changed attachment is embedded again
    assert "修改0-编码数据1" in references
    assert root.find(f".//{{{NS}}}修改标识符").text == "修改1"

    history = read_history(modified)
    assert [(layer.revision, layer.package_type) for layer in history] == [(0, "原始型"), (1, "修改型")]
    assert history[0].to_dict()["title"] == "关于A&B项目的批复"
    assert history[1].to_dict()["title"] == "关于A&B项目的批复（更正）"
    assert history[1].signatures[0]["签名标识符"] == "修改1-签名1"

    extract_eep(modified, tmp_path / "back", store)
    back = tree_bytes(tmp_path / "back")
    assert {name: back[name] for name in revised_files} == revised_files

    second = build_modified_eep(modified, sip, tmp_path / "v3.eep", signer, store)
    assert verify_eep(second, store) == []
    assert [layer.revision for layer in read_history(second)] == [0, 1, 2]


def test_tampered_original_layer_breaks_its_signature(
    package: Path, store: keystore.Keystore, tmp_path: Path
) -> None:
    sip = write_sip(tmp_path / "v2", title="更正")
    modified = build_modified_eep(package, sip, tmp_path / "v2.eep", Signer.from_keystore(store), store)
    bad = _tampered(modified, tmp_path, _flip_title)  # the original's title lives in 原封装包 only
    findings = verify_eep(bad, store)
    assert any(f.code == "eep-signature" and "原封装包" in f.element for f in findings)


def test_modified_refuses_a_broken_previous_package(
    package: Path, store: keystore.Keystore, tmp_path: Path
) -> None:
    bad = _tampered(package, tmp_path, _flip_title)
    with pytest.raises(ValidationFailed):
        build_modified_eep(
            bad, write_sip(tmp_path / "v2"), tmp_path / "v2.eep", Signer.from_keystore(store), store
        )


# --- CLI --------------------------------------------------------------------------------------------


def test_cli_build_verify_extract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lantai.cli.eep import eep_app
    from lantai.cli.keys import keys_app

    monkeypatch.setenv("LANTAI_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    assert runner.invoke(keys_app, ["init"]).exit_code == 0
    sip = write_sip(tmp_path / "sip")
    assert runner.invoke(eep_app, ["build", str(sip), "-o", str(tmp_path / "a.eep")]).exit_code == 0
    result = runner.invoke(eep_app, ["verify", str(tmp_path / "a.eep"), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["valid"] is True
    bad = _tampered(tmp_path / "a.eep", tmp_path, _flip_title)
    result = runner.invoke(eep_app, ["verify", str(bad), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["findings"][0]["code"] == "eep-signature"
    assert (
        runner.invoke(eep_app, ["extract", str(tmp_path / "a.eep"), "-o", str(tmp_path / "out")]).exit_code
        == 0
    )
    assert tree_bytes(tmp_path / "out") == tree_bytes(sip)
    assert (
        runner.invoke(eep_app, ["build", str(tmp_path / "missing"), "-o", str(tmp_path / "b.eep")]).exit_code
        == 2
    )


def test_streaming_canonicaliser_matches_libxml2() -> None:
    from lantai.packages.eep.canonical import canonical_bytes

    document = (
        f'<r xmlns="{NS}"><被签名对象 z="1" a="t&#9;ab&#10;&quot;&lt;" 引用编码数据ID="x" 编码数据ID="y">'
        f'a &amp; b &lt; c &gt; d&#13;e<空/><o xmlns="urn:other"><p>x</p></o>\n  <q></q></被签名对象></r>'
    )
    element = etree.fromstring(document.encode())[0]
    assert canonical_bytes(element) == etree.tostring(element, method="c14n", exclusive=True)


def test_record_block_with_relations_round_trips(store: keystore.Keystore, tmp_path: Path) -> None:
    sip = write_sip(tmp_path / "sip")
    metadata = (sip / "元数据.xml").read_text(encoding="utf-8")
    body = metadata.split("\n", 1)[1].replace(f' xmlns="{NS}"', "").rstrip("\n")
    relation = "<文件实体关系><文件标识符>Z001-2025-0007</文件标识符><被关联文件标识符>Z001-2025-0001</被关联文件标识符><关系类型>批复</关系类型></文件实体关系>"
    block = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<文件实体块 xmlns="{NS}">{body}{relation}</文件实体块>\n'
    )
    (sip / "元数据.xml").write_text(block, encoding="utf-8")
    package = build_eep(sip, tmp_path / "a.eep", Signer.from_keystore(store))
    assert verify_eep(package, store) == []
    extract_eep(package, tmp_path / "back", store)
    assert tree_bytes(tmp_path / "back") == tree_bytes(sip)
    assert read_history(package)[0].entity().relations[0].relation_type == "批复"


def test_unknown_element_in_record_is_a_structure_finding(store: keystore.Keystore, tmp_path: Path) -> None:
    sip = write_sip(tmp_path / "sip")
    metadata = (
        (sip / "元数据.xml")
        .read_bytes()
        .replace("<聚合层次>".encode(), "<自创元素>x</自创元素><聚合层次>".encode())
    )
    (sip / "元数据.xml").write_bytes(metadata)
    package = build_eep(sip, tmp_path / "a.eep", Signer.from_keystore(store))
    assert "eep-record" in codes(verify_eep(package, store))
