"""Format conversion tools for migration: LibreOffice headless (office → PDF/A-2b) and images →
PDF/A-2b. Each takes a file in a work directory and leaves its result beside it; the archive's
copy is never handed to a tool.

LibreOffice (DEPENDENCIES.md §10) needs care:

* two ``soffice`` processes on one user profile silently produce nothing, so every concurrent
  worker passes its own ``-env:UserInstallation=file:///…`` (the caller owns the directories);
* a document can make it hang or crash: it runs in a session of its own and the whole process
  group (``oosplash`` and ``soffice.bin``) is killed at the time limit — the caller records a
  failed migration, nothing else happens;
* it names its output after the input's stem, so the input is copied to a plain ASCII name first
  (a hostile file name never reaches its command line).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lantai.errors import ValidationFailed
from lantai.formats.access_pdf import add_image_page
from lantai.formats.pdfa_write import to_pdfa

SOFFICE_NAMES = ("soffice", "libreoffice")
IMAGE_TOOL = "Lantai image-pdfa (Pillow, reportlab, pikepdf)"


class ConversionFailed(ValidationFailed):
    """A tool did not produce a usable file: ``reason`` is timeout | crashed | no_output | unreadable."""

    def __init__(self, message_zh: str, message_en: str | None = None, *, reason: str = "failed",
                 **details: object) -> None:
        super().__init__(message_zh, message_en, reason=reason, **details)
        self.reason = reason


@dataclass(frozen=True)
class Converted:
    path: Path
    seconds: float


def soffice_binary() -> str | None:
    """The LibreOffice launcher on PATH (Debian: ``soffice`` from libreoffice-core-nogui)."""
    return next((found for name in SOFFICE_NAMES if (found := shutil.which(name))), None)


def _require_soffice() -> str:
    binary = soffice_binary()
    if binary is None:
        raise ConversionFailed("未安装 LibreOffice（Debian 软件包 libreoffice-writer-nogui 等），无法转换办公文档",
                               "LibreOffice is not installed (Debian libreoffice-*-nogui)", reason="no_tool")
    return binary


@functools.lru_cache(maxsize=4)
def _version_of(binary: str) -> str:
    try:
        result = subprocess.run([binary, "--version"], capture_output=True, timeout=60, check=False,
                                stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConversionFailed(f"无法读取 LibreOffice 版本: {exc}", f"cannot read the LibreOffice version: {exc}",
                               reason="no_tool") from exc
    words = result.stdout.decode("utf-8", "replace").split()
    return " ".join(words[:2]) if words else "LibreOffice (unknown version)"


def libreoffice_version() -> str:
    """``LibreOffice 7.4.7.2``: recorded with every migration it performs."""
    return _version_of(_require_soffice())


def convert_office(source: Path, profile: Path, parameters: str, timeout: float) -> Converted:
    """Convert ``source`` with ``soffice --convert-to parameters`` into its directory.

    ``profile`` is this worker's own LibreOffice user installation. The process group is killed
    when ``timeout`` seconds pass; a crash, a hang or an empty result raises ConversionFailed.
    """
    binary = _require_soffice()
    workdir = source.parent / "out"
    workdir.mkdir(exist_ok=True)
    profile.mkdir(parents=True, exist_ok=True)
    command = [binary, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--nodefault", "--convert-to", parameters, "--outdir", str(workdir), str(source)]
    env = {**os.environ, "HOME": str(profile), "SAL_USE_VCLPLUGIN": "svp"}
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               cwd=source.parent, env=env, start_new_session=True)
    try:
        _out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise ConversionFailed(f"LibreOffice 超过 {timeout:g} 秒未完成转换，已终止", f"LibreOffice timed out after "
                               f"{timeout:g} s and was killed", reason="timeout", timeout=timeout) from None
    finally:
        _kill_group(process)  # an oosplash that exited may leave soffice.bin behind in its group
    seconds = time.monotonic() - started
    result = workdir / f"{source.stem}.pdf"
    if process.returncode != 0:
        raise ConversionFailed(f"LibreOffice 异常退出（退出码 {process.returncode}）",
                               f"LibreOffice exited with {process.returncode}", reason="crashed",
                               stderr=err.decode("utf-8", "replace")[-500:])
    if not result.is_file() or result.stat().st_size == 0:
        raise ConversionFailed("LibreOffice 未生成输出文件", "LibreOffice produced no output", reason="no_output",
                               stderr=err.decode("utf-8", "replace")[-500:])
    return Converted(result, seconds)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=10)


def image_to_pdfa(source: Path, title: str) -> Converted:
    """Each frame of an image (TIFF may hold several) on a page of its own size, as PDF/A-2b."""
    from PIL import Image, UnidentifiedImageError


    started = time.monotonic()
    target = source.parent / "out" / f"{source.stem}.pdf"
    target.parent.mkdir(exist_ok=True)
    try:
        with Image.open(source) as image:
            data = _image_pages(image)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as exc:
        raise ConversionFailed(f"图像无法读取: {exc}", f"the image cannot be read: {exc}", reason="unreadable") from exc
    target.write_bytes(to_pdfa(data, title, "", producer=IMAGE_TOOL))
    return Converted(target, time.monotonic() - started)


def _image_pages(image: object) -> bytes:
    """A PDF of the image's frames: one lossless RGB image per page and nothing else (no font
    resources, which reportlab would add and PDF/A would want embedded)."""
    import pikepdf
    from PIL import ImageSequence


    pdf = pikepdf.new()
    for frame in ImageSequence.Iterator(image):  # type: ignore[arg-type]
        dpi = frame.info.get("dpi") or (72, 72)
        x_dpi, y_dpi = (float(d) if d and float(d) > 1 else 72.0 for d in dpi[:2])
        add_image_page(pdf, frame, x_dpi, y_dpi)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
