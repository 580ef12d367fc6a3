#!/usr/bin/env python3
"""Example OA-side client: submit finished 公文 to Lantai's REST API and wait for the verdict.

Uses only the standard library, so it runs on any OA server with Python 3.9+. Each item is a SIP
zip (元数据.xml + its files, see the README's "SIP format"); a batch is a zip of item
directories plus 归档登记表.csv. The Idempotency-Key makes a retry after a network failure safe:
Lantai answers a repeated key with the first result instead of ingesting twice.

    export LANTAI_URL=https://archive.example.gov.cn LANTAI_TOKEN=...   # token of the OA service account
    python submit_client.py item Z109-WS-2025-00001.zip
    python submit_client.py batch 2025第1批.zip
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

FINAL = {"accepted", "duplicate", "rejected", "conflict", "complete", "partial"}


def _multipart(field: str, path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{path.name}"\r\n'
            "Content-Type: application/zip\r\n\r\n").encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _request(method: str, url: str, token: str, body: bytes | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Authorization": f"Bearer {token}", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:  # Lantai's error body: {"code", "message", "message_en", ...}
        error = json.load(exc)
        raise SystemExit(f"HTTP {exc.code}: {error.get('message')} ({error.get('message_en')})") from None


def submit(kind: str, package: Path, base: str, token: str) -> dict:
    body, content_type = _multipart("package", package)
    # The same file always gets the same key (from its bytes, not the multipart body, whose
    # boundary is random), so re-running this script after a failure is safe.
    key = f"{kind}-{_sha256(package)[:32]}"
    endpoint = "/api/v1/submissions" if kind == "item" else "/api/v1/batches"
    result = _request("POST", base + endpoint, token, body, {"Content-Type": content_type, "Idempotency-Key": key})
    while result["status"] not in FINAL:
        time.sleep(2)
        result = _request("GET", f"{base}/api/v1/submissions/{result['id']}", token)
    return result


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in {"item", "batch"}:
        print(__doc__)
        return 2
    result = submit(sys.argv[1], Path(sys.argv[2]), os.environ["LANTAI_URL"].rstrip("/"), os.environ["LANTAI_TOKEN"])
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["status"] in {"accepted", "duplicate", "complete"} else 1


if __name__ == "__main__":
    raise SystemExit(main())
