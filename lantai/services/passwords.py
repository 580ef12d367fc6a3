"""The password policy (GB/T 22239 level 3): length, character classes, no common passwords, optional age.

Kept apart from :mod:`lantai.services.users` because the same rules serve the API, the web forms,
the CLI and ``lantai init``; the list of common passwords ships in ``lantai/domain/data``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from importlib import resources

from lantai.errors import BadInput

MIN_LENGTH = 10
MAX_LENGTH = 256
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"})
_TRAILING = re.compile(r"[\W\d_]+$")
_LEADING = re.compile(r"^[\W\d_]+")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower case (read once per process)."""
    text = resources.files("lantai.domain").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _variants(password: str) -> set[str]:
    """The password as an attacker's dictionary would try it: lower case, digits/symbols around cut, leet undone."""
    lower = password.lower()
    core = _LEADING.sub("", _TRAILING.sub("", lower))
    return {lower, core, lower.translate(_LEET), core.translate(_LEET),
            _LEADING.sub("", _TRAILING.sub("", lower.translate(_LEET)))} - {""}


def is_common(password: str) -> bool:
    return bool(_variants(password) & common_passwords())


def problems(username: str, password: str) -> list[str]:
    """Why a password is refused (empty when it is acceptable), in Chinese for the form."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"密码长度至少 {MIN_LENGTH} 位")
    if len(password) > MAX_LENGTH:
        found.append(f"密码长度不能超过 {MAX_LENGTH} 位")
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    if sum(classes) < 3:
        found.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        found.append("密码不能包含用户名")
    if is_common(password):
        found.append("密码过于常见，容易被猜中")
    return found


def check(username: str, password: str) -> None:
    """Refuse a password that breaks the policy, listing every reason."""
    found = problems(username, password)
    if found:
        raise BadInput("密码不符合要求：" + "；".join(found), "password does not meet the policy", problems=found)


def expired(changed_at: dt.datetime | None, max_age_days: int, now: dt.datetime) -> bool:
    """Whether a password is older than the configured maximum age (0 = no maximum)."""
    if max_age_days <= 0 or changed_at is None:
        return False
    changed = changed_at if changed_at.tzinfo else changed_at.replace(tzinfo=dt.UTC)
    return now - changed > dt.timedelta(days=max_age_days)
