"""The archive's key store as the interfaces use it: open it, or create it when the archive is made."""

from __future__ import annotations

from lantai.crypto.keystore import Keystore, init_keystore, open_keystore
from lantai.errors import NotFound
from lantai.settings import Settings

__all__ = ["Keystore", "init_keys", "keystore"]


def init_keys(settings: Settings) -> Keystore:
    """Create (or complete) the SM2 keys, local CA and signing certificate; running it again changes nothing."""
    return init_keystore(settings.keys_dir, settings.archive_name)


def keystore(settings: Settings, *, required: bool = True) -> Keystore | None:
    """The archive's key store; None when it was never created and the caller can do without."""
    try:
        return open_keystore(settings.keys_dir, settings.archive_name)
    except NotFound:
        if required:
            raise
        return None
