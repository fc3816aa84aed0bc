"""QR codes drawn locally (``kpos_qr_render``), for tills that cannot show Klarna's QR image."""

from __future__ import annotations

import ctypes
import enum
from typing import Union

from ._native import lib, take_bytes, to_c
from .errors import InvalidArgument, check


class QrFormat(enum.IntEnum):
    """``KPOS_QR_*``: what :func:`render_qr` produces."""

    SVG = 1
    """SVG document (UTF-8), 8 user units per module, black on white."""
    PNG = 2
    """PNG image, 1-bit grayscale, 8 pixels per module, black on white."""
    TEXT = 3
    """UTF-8 half blocks, two module rows per line; the characters draw the light modules (for
    the usual light-on-dark terminal)."""
    ESCPOS = 4
    """ESC/POS raster bit image (``GS v 0``), at most 384 dots wide (58 and 80 mm printers)."""
    ESCPOS_NATIVE = 5
    """ESC/POS ``GS ( k`` commands: the printer draws the code itself (it must support them)."""
    TEXT_INVERSE = 6
    """As ``TEXT``, with the characters drawing the dark modules (dark-on-light displays)."""


def _format_number(format: Union[str, int]) -> int:
    if isinstance(format, str):
        try:
            return int(QrFormat[format.upper()])
        except KeyError:
            raise InvalidArgument(
                "unknown QR format {!r} (one of: {})".format(
                    format, ", ".join(f.name.lower() for f in QrFormat)
                ),
                field="format",
            ) from None
    if isinstance(format, bool) or not isinstance(format, int) or not 0 <= format <= 0xFFFFFFFF:
        raise InvalidArgument("unknown QR format {!r}".format(format), field="format")
    # Any other number goes to the library, which refuses an unknown one.
    return int(format)


def render_qr(text: Union[str, bytes], format: Union[str, int] = "svg") -> bytes:
    """Draws ``text`` (e.g. ``session.payment_link``) as a QR code with error correction level M
    and a quiet zone of 4 modules. No network traffic.

    ``format`` is ``"svg"``, ``"png"``, ``"text"``, ``"text_inverse"``, ``"escpos"``,
    ``"escpos_native"`` or a :class:`QrFormat`. Returns the image, document or printer commands
    as bytes (SVG and the text formats are UTF-8: ``.decode()`` them). Raises
    :class:`BadRequest` for an empty text or one too long for a QR code (more than 2331
    bytes) and :class:`InvalidArgument` for an unknown format or a text with a NUL character.
    """
    number = _format_number(format)
    raw = to_c(text)
    if b"\0" in raw:
        raise InvalidArgument("text contains a NUL character", field="text")
    out = ctypes.c_void_p()
    length = ctypes.c_size_t()
    check(lib.kpos_qr_render(raw, number, ctypes.byref(out), ctypes.byref(length)))
    return take_bytes(out, length.value)
