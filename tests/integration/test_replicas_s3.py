"""Replicas on real S3 (Ceph RGW, started by tests/s3/start_ceph_rgw.sh): versions are copied to an
object-lock bucket in COMPLIANCE mode and a delete of a locked version is refused; scheduled fixity
repairs a copy missing on S3 and the primary from S3; an unreachable gateway and a refused request
(wrong secret) fail cleanly and keep the queue."""

from __future__ import annotations

import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lantai.services import changes, replicas
from lantai.services.archive import Archive, init_archive
from lantai.services.fixity import run_scheduled
from lantai.services.ingest import ingest_paths
from lantai.settings import Settings
from lantai.storage.backends import S3Backend
from lantai.storage.replica import OcflRoot
from tests.ocfl_validation import validate_store
from tests.sipfactory import specs, write_batch

pytestmark = pytest.mark.s3
BODY = "v1/content/content/正文.pdf"


def _s3_settings(settings: Settings, gateway: dict[str, str], **extra: object) -> Settings:
    settings.s3_endpoint_url = gateway["LANTAI_TEST_S3_ENDPOINT"]
    settings.s3_access_key = gateway["LANTAI_TEST_S3_ACCESS_KEY"]
    settings.s3_secret_key = gateway["LANTAI_TEST_S3_SECRET_KEY"]
    settings.s3_object_lock_days = 1
    for key, value in extra.items():
        setattr(settings, key, value)
    return settings


@pytest.fixture
def s3_archive(settings: Settings, s3_gateway: dict[str, str]) -> Archive:
    archive = init_archive(_s3_settings(settings, s3_gateway))
    try:
        yield archive
    finally:
        archive.close()


def _client(gateway: dict[str, str]):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=gateway["LANTAI_TEST_S3_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=gateway["LANTAI_TEST_S3_ACCESS_KEY"],
                        aws_secret_access_key=gateway["LANTAI_TEST_S3_SECRET_KEY"],
                        config=Config(s3={"addressing_style": "path"}))


def _bucket() -> str:
    return f"lantai-{uuid.uuid4().hex[:16]}"


def test_versions_reach_a_locked_bucket_and_a_locked_version_cannot_be_deleted(
        s3_archive: Archive, s3_gateway: dict[str, str], tmp_path: Path) -> None:
    assert ingest_paths(s3_archive, [write_batch(tmp_path / "in", specs(2))]).ok
    ids = sorted(s3_archive.store.iter_object_ids())
    bucket = _bucket()
    added = replicas.add_root(s3_archive, "rgw", f"s3://{bucket}/lantai/archive")
    assert added["object_lock"] and added["queued"] == 2
    report = replicas.sync(s3_archive)
    assert report.ok and report.copied == 2, report.to_dict()
    root = OcflRoot("rgw", S3Backend(bucket, "lantai/archive", s3_archive.settings.s3_options))
    for object_id in ids:
        assert root.inventory_bytes(object_id) == (s3_archive.store.object_path(object_id) / "inventory.json").read_bytes()

    change = changes.ItemChange(ids[0], "system", "transfer.marked", "移交", files={"lantai/transfer.json": b"{}"})
    assert changes.commit_change(s3_archive, change).version == 2
    assert replicas.sync(s3_archive).copied == 1 and root.head(ids[0]) == 2

    client = _client(s3_gateway)
    key = f"lantai/archive/{root.key(ids[1], BODY)}"
    head = client.head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as refused:
        client.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert client.head_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])["ContentLength"] > 0

    # The bucket, downloaded, is a valid OCFL storage root on its own.
    local = tmp_path / "download"
    for stored in root.backend.keys():
        target = local / stored
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(root.backend.read(stored))
    assert validate_store(local) == []


def test_fixity_repairs_s3_from_the_primary_and_the_primary_from_s3(
        s3_archive: Archive, s3_gateway: dict[str, str], tmp_path: Path) -> None:
    assert ingest_paths(s3_archive, [write_batch(tmp_path / "in", specs(2))]).ok
    ids = sorted(s3_archive.store.iter_object_ids())
    bucket = _bucket()
    replicas.add_root(s3_archive, "rgw", f"s3://{bucket}/p")
    replicas.sync(s3_archive)
    root = OcflRoot("rgw", S3Backend(bucket, "p", s3_archive.settings.s3_options))
    # A delete without a version id is allowed under object lock: it hides the object behind a
    # delete marker, which is how a copy goes "missing" on S3.
    _client(s3_gateway).delete_object(Bucket=bucket, Key=f"p/{root.key(ids[0], BODY)}")
    primary_copy = s3_archive.store.object_path(ids[1]) / BODY
    good = primary_copy.read_bytes()
    primary_copy.write_bytes(b"bit rot")
    report = run_scheduled(s3_archive, max_bytes=10**12)
    assert report.ok, report.to_dict()
    assert {(r["root"], r["object"], r["problem"]) for r in report.repaired} == {
        ("rgw", ids[0], "missing"), ("primary", ids[1], "digest_mismatch")}
    assert primary_copy.read_bytes() == good
    assert root.check_content(ids[0], next(c for c in _contents(root, ids[0]) if c.content_path == BODY)).ok


def _contents(root: OcflRoot, object_id: str) -> list:
    from lantai.storage.replica import content_files

    return content_files(root.inventory(object_id) or {})


def test_an_unreachable_gateway_and_a_refused_request_keep_the_queue(
        settings: Settings, s3_gateway: dict[str, str], tmp_path: Path) -> None:
    bucket = _bucket()
    _client(s3_gateway).create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    settings = _s3_settings(settings, s3_gateway, replica_roots={"rgw": f"s3://{bucket}/q"},
                            s3_endpoint_url="http://127.0.0.1:9")  # nothing listens on the discard port
    with init_archive(settings) as archive:
        assert ingest_paths(archive, [write_batch(tmp_path / "in", specs(1))]).ok
        report = replicas.sync(archive)
        assert report.unavailable == ["rgw"] and report.pending == 1
        archive.settings.s3_endpoint_url = s3_gateway["LANTAI_TEST_S3_ENDPOINT"]
        archive.settings.s3_secret_key = "wrong"
        report = replicas.sync(archive)
        assert report.failed and report.pending == 1
        assert "SignatureDoesNotMatch" in report.failed[0]["error"]["message_en"] or report.failed[0]["error"]["code"]
        archive.settings.s3_secret_key = s3_gateway["LANTAI_TEST_S3_SECRET_KEY"]
        report = replicas.sync(archive)
        assert report.ok and report.copied == 1
