"""Process security (4-3) during ingest: is the audit chain intact?

Verifying the whole chain for every item would cost O(n²) over a batch, so each process keeps
where it got to (byte offset, last sequence number, last hash) and verifies only what was
appended since; a journal that shrank or whose verified prefix changed is verified again from
the start. ``lantai audit verify`` remains the full check, including the catalogue copy.

Where it got to is shared by every thread of the process (a ``lantai worker`` runs several jobs at
once, a web process several requests), so it is read and advanced under one lock: two threads
reading the same new line from one shared position took the second copy for a break in the chain
(an entry out of sequence) and rejected a sound item for DA/T 70 4-3.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.checks.archive_facts import ChainStatus
from lantai.services.audit import entry_hash

GENESIS = "0" * 64


@dataclass
class _State:
    offset: int = 0
    seq: int = 0
    last_hash: str = GENESIS
    entries: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    targets: set[str] = field(default_factory=set)


_states: dict[str, _State] = {}
_lock = threading.Lock()  # guards _states and the advance of each state (see the module docstring)


def verify_incremental(journal: Path) -> ChainStatus:
    """The chain's status, verifying only what was appended since this process last looked."""

    with _lock:
        key = str(journal)
        state = _states.get(key) or _State()
        try:
            size = os.path.getsize(journal)
        except OSError:
            return ChainStatus(True, 0, None, [])
        if size < state.offset or state.problems:
            state = _State()
        with open(journal, "rb") as fh:
            fh.seek(state.offset)
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # a line being written; verify it next time
                state.offset += len(line)
                if line.strip() and not state.problems:
                    _verify_line(state, line, entry_hash)
        _states[key] = state
        bad = state.problems[0]["seq"] if state.problems else None
        return ChainStatus(not state.problems, state.entries, bad, list(state.problems))


def _verify_line(state: _State, line: bytes, entry_hash: Any) -> None:
    try:
        data = json.loads(line)
        seq, prev, digest = int(data["seq"]), data["prev_hash"], data["hash"]
        recomputed = entry_hash(seq, data["time"], data["actor"], data["action"], data["target"],
                                data.get("details", {}), prev)
    except (ValueError, KeyError, TypeError):
        state.problems.append({"seq": state.seq + 1, "message": f"第 {state.seq + 1} 条审计记录无法解析"})
        return
    if seq != state.seq + 1 or prev != state.last_hash or recomputed != digest:
        state.problems.append({"seq": seq, "message": f"第 {seq} 条审计记录与链不符（被改动、删除或重排）"})
        return
    state.seq, state.last_hash, state.entries = seq, digest, state.entries + 1
