"""Destruction on a write-once S3 replica (real Ceph RGW, started by tests/s3/start_ceph_rgw.sh): while
COMPLIANCE object-lock retention holds an item's versions, phase 2 cannot delete them — the item
waits with the reason on the CLI and the dashboard, its intent kept — and once retention expires the
next ``lantai destroy`` resumes it and leaves no version of its content on the bucket."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lantai.services import appraisal, appraisal_reminders, destruction, replicas
from lantai.services.archive import open_archive
from lantai.services.catalogue import DESTRUCTION_PATH
from lantai.settings import Settings
from lantai.storage.backends import S3Backend
from lantai.storage.replica import OcflRoot, content_files
from tests.conftest import cli_env
from tests.integration.appraisal_world import seed
from tests.integration.test_appraisal_flow import DESTROY, _approved_expiry

pytestmark = pytest.mark.s3
RETENTION_SECONDS = 120  # long enough for the first attempt on a loaded machine (load 25: up to ~60 s), short enough to wait for


def _client(gateway: dict[str, str]):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=gateway["LANTAI_TEST_S3_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=gateway["LANTAI_TEST_S3_ACCESS_KEY"],
                        aws_secret_access_key=gateway["LANTAI_TEST_S3_SECRET_KEY"],
                        config=Config(s3={"addressing_style": "path"}))


def _lantai(settings: Settings, gateway: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(settings), "LANTAI_CLAMD_SOCKET": os.environ.get("LANTAI_CLAMD_SOCKET", ""),
           "LANTAI_S3_ENDPOINT_URL": gateway["LANTAI_TEST_S3_ENDPOINT"],
           "LANTAI_S3_ACCESS_KEY": gateway["LANTAI_TEST_S3_ACCESS_KEY"],
           "LANTAI_S3_SECRET_KEY": gateway["LANTAI_TEST_S3_SECRET_KEY"], "LANTAI_S3_OBJECT_LOCK_DAYS": "0",
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def _versions(client, bucket: str, key: str) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    listed = client.list_object_versions(Bucket=bucket, Prefix=key)
    return [v for kind in ("Versions", "DeleteMarkers") for v in listed.get(kind, []) if v["Key"] == key]


def test_a_locked_s3_replica_holds_the_destruction_until_retention_expires(
        archive, settings: Settings, s3_gateway: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name, value in (("s3_endpoint_url", "LANTAI_TEST_S3_ENDPOINT"), ("s3_access_key", "LANTAI_TEST_S3_ACCESS_KEY"),
                        ("s3_secret_key", "LANTAI_TEST_S3_SECRET_KEY")):
        setattr(archive.settings, name, s3_gateway[value])
    # Lantai writes COMPLIANCE retention in whole days; the test sets seconds on the very versions instead.
    archive.settings.s3_object_lock_days = 0
    world = seed(archive, tmp_path)
    bucket, client = f"lantai-{uuid.uuid4().hex[:16]}", _client(s3_gateway)
    replicas.add_root(archive, "rgw", f"s3://{bucket}/lantai")  # the bucket is made with object lock enabled
    cid = _approved_expiry(world)
    appraisal.execute(archive, world.as_user("zhang"), cid)  # phase 1: 待销毁, a new version
    assert replicas.sync(archive).ok
    root = OcflRoot("rgw", S3Backend(bucket, "lantai", archive.settings.s3_options))
    paths = [c.content_path for c in content_files(root.inventory(DESTROY))]
    keys = [f"lantai/{root.key(DESTROY, p)}" for p in paths if p.split("/", 2)[-1].startswith("content/")]
    assert keys and all(_versions(client, bucket, k) for k in keys)

    # COMPLIANCE retention on every stored version of the item's content, as a write-once root keeps it
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=RETENTION_SECONDS)
    for key in keys:
        for version in _versions(client, bucket, key):
            client.put_object_retention(Bucket=bucket, Key=key, VersionId=version["VersionId"],
                                        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
    with pytest.raises(ClientError) as refused:  # the gateway really refuses, even to the owner
        client.delete_object(Bucket=bucket, Key=keys[0], VersionId=_versions(client, bucket, keys[0])[0]["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    archive.close()

    first = _lantai(settings, s3_gateway, "destroy", str(cid), "--now", "--actor", "zhao")
    assert dt.datetime.now(dt.UTC) < until, "the first attempt ran past the retention; raise RETENTION_SECONDS"
    assert first.returncode == 1, first.stdout + first.stderr
    assert "暂缓销毁" in first.stdout and DESTROY in first.stdout and "对象锁定保留期未满" in first.stdout
    assert all(_versions(client, bucket, k) for k in keys)  # every version still there
    with open_archive(settings) as reopened:
        tombstone = json.loads(reopened.store.read_bytes(DESTROY, DESTRUCTION_PATH))  # the final version is in
        assert not reopened.store.content_path(DESTROY, tombstone["removed"][0]["content_path"]).exists()
        waiting = appraisal_reminders.dashboard(reopened, world.as_user("zhao"))["waiting"]
        assert [(w["campaign_id"], w["record_id"]) for w in waiting] == [(cid, DESTROY)]
        assert "对象锁定保留期未满" in waiting[0]["reason"]
        assert destruction.intent_path(reopened, cid, DESTROY).exists()  # the destruction is owed, not forgotten
        campaign = appraisal.get_campaign(reopened, world.as_user("zhao"), cid)
        assert campaign["status"] == "已执行"
        reopened.audit.append("test", "test.marker", "", {})  # the journal goes on meanwhile

    time.sleep(max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds()) + 2)
    second = _lantai(settings, s3_gateway, "destroy", str(cid), "--now", "--actor", "zhao", "--json")
    assert second.returncode == 0, second.stdout + second.stderr
    done = json.loads(second.stdout)
    # start-up recovery of the command (or its own resume) finishes the kept intent
    assert done["status"] == "已销毁" and done["states"] == {"已执行": 2, "已销毁": 1}
    assert not done["destruction"]["waiting"] and not done["destruction"]["failed"]
    assert not any(_versions(client, bucket, k) for k in keys)  # no version, no delete marker left
    with open_archive(settings) as reopened:
        assert appraisal_reminders.dashboard(reopened, world.as_user("zhao"))["waiting"] == []
        assert not destruction.intent_path(reopened, cid, DESTROY).exists()
        journal = [e for e in reopened.audit.iter_journal() if not isinstance(e, Exception)]
        assert any(e.action == "preservation.destroyed" and e.target == DESTROY and e.details["root"] == "rgw"
                   for e in journal)
        assert any(e.action == "destruction.resumed" for e in journal)
        assert reopened.audit.verify().ok
