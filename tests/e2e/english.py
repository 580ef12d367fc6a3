"""The English-word crawl: which ASCII-only words a page shows that are no identifier, code or name.

People read Chinese (DESIGN.md, principle 10). Page text may still carry data — 档号 and record ids,
file names, user names, hashes, numbers — and a few fixed technical names (PDF, OFD, SM3, DA/T …).
Everything else ASCII is an English word that slipped through the message catalogue.
"""

from __future__ import annotations

import re

ALLOWED = {
    # formats, standards and algorithms named as such
    "PDF", "OFD", "XLSX", "CSV", "JSON", "Lines", "XML", "DOCX", "TXT", "PNG", "JPEG", "TIFF", "ZIP", "BagIt", "EEP",
    "OCFL", "SM2", "SM3", "SHA", "MIME", "DA", "GB", "T", "ClamAV", "clamd", "OA", "API", "ID", "CA", "A", "B", "C",
    "Base64", "Prometheus", "URL", "TOML", "HTTP", "HTTPS", "pdf", "ofd", "docx", "xml", "zip", "txt", "json", "xlsx",
    # DA/T 70 stage codes, cited as the standard writes them (归档 gd 环节)
    "gd", "yj", "bc",
    # codes of the reference data and roles' demo user names
    "WS", "Y", "D", "Z", "BGS", "ZZB", "CZK", "FGK", "ZRZYK",
    "sysadmin", "secadmin", "auditor", "archivist", "clerk", "reader",
}
TOKEN = re.compile(r"(?<![A-Za-z0-9_./:+-])[A-Za-z][A-Za-z0-9_./:+-]*")  # whole words: "3-3c" is no "c"
QUOTED = re.compile(r"“[^”]*”")
HEX = re.compile(r"[0-9a-f]{4,}")


def english_words(text: str, extra: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    """ASCII words of ``text`` outside the allow-list; words with a digit, a dot or a dash are data."""
    found = set()
    text = QUOTED.sub(" ", text)  # values quoted from the records (“WPS Office 12”) are data
    for token in TOKEN.findall(text):
        if "/" in token or HEX.fullmatch(token):
            continue  # paths (content/正文.pdf) and hash prefixes
        word = token.strip(".:-+_")
        if not word or any(ch.isdigit() for ch in word) or "." in word or "-" in word or "/" in word or "_" in word:
            continue  # ids, 档号, file names, versions, hashes, MIME types
        if word in ALLOWED or word in extra or (word.isupper() and len(word) <= 6):
            continue  # upper-case codes (机构 and 门类 codes, format names)
        found.add(word)
    return found
