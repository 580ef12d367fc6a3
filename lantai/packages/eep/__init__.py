"""DA/T 48-2009 电子文件封装包 (EEP): streaming writer, reader, verifier and extractor.

Public API::

    build_eep(sip_dir, output, signer)                  -> Path      (原始型)
    build_modified_eep(previous, sip_dir, output, signer) -> Path    (修改型)
    verify_eep(path, keystore)                          -> list[Finding]
    extract_eep(path, target, keystore)                 -> ExtractResult (raises ValidationFailed)
    read_history(path)                                  -> list[Layer]
"""

from lantai.packages.eep.extract import ExtractResult, Layer, extract_eep, read_history
from lantai.packages.eep.modified import build_modified_eep
from lantai.packages.eep.verify import verify_eep
from lantai.packages.eep.writer import Signer, build_eep

__all__ = [
    "ExtractResult",
    "Layer",
    "Signer",
    "build_eep",
    "build_modified_eep",
    "extract_eep",
    "read_history",
    "verify_eep",
]
