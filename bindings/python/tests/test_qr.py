"""klarna_pos.render_qr in every format, decoded back with a third-party decoder (zbarimg; SVG
rasterised by rsvg-convert), and the cashier texts of Status.display_text."""

import shutil
import subprocess

import pytest

import klarna_pos
from klarna_pos import BadRequest, InvalidArgument, QrFormat, Status, render_qr

LINK = "https://pay.klarna.com/eu/p/7d2a4f0e-1c3b-4a5e-9f6d-8b7c6a5e4d3c?q=Kaffeb\u00f6nor"
FORMATS = ["svg", "png", "text", "text_inverse", "escpos", "escpos_native"]


def tool(name: str, package: str) -> str:
    """A program the test needs; the test fails (never skips) when it is missing."""
    path = shutil.which(name)
    assert path, "{} is not installed: install Debian's {} (tests/run installs it)".format(
        name, package
    )
    return path


def zbar(image) -> bytes:
    """The raw bytes of the one QR code zbarimg finds in an image file."""
    done = subprocess.run(
        [tool("zbarimg", "zbar-tools"), "--quiet", "--raw", "-Sbinary", str(image)],
        capture_output=True,
    )
    assert done.returncode == 0, "zbarimg found no QR code: " + done.stderr.decode()
    return done.stdout


@pytest.mark.parametrize("format", FORMATS)
def test_every_format_gives_bytes(format):
    drawn = render_qr(LINK, format)
    assert isinstance(drawn, bytes) and drawn
    assert drawn == render_qr(LINK, QrFormat[format.upper()])
    assert drawn == render_qr(LINK.encode("utf-8"), int(QrFormat[format.upper()]))


def test_svg_is_the_default_format():
    svg = render_qr(LINK)
    assert b"<svg" in svg and svg.rstrip().endswith(b"</svg>")
    assert svg == render_qr(LINK, "svg") == render_qr(LINK, "SVG")


@pytest.mark.parametrize("text", [LINK, "A", "\u00e5\u00e4\u00f6 \u20ac 12,50", "x" * 700])
def test_png_decodes_to_the_exact_text(tmp_path, text):
    png = tmp_path / "qr.png"
    png.write_bytes(render_qr(text, "png"))
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert zbar(png) == text.encode("utf-8")


@pytest.mark.parametrize("text", [LINK, "\u00e5\u00e4\u00f6 \u20ac 12,50"])
def test_svg_decodes_to_the_exact_text(tmp_path, text):
    svg = tmp_path / "qr.svg"
    png = tmp_path / "qr.png"
    svg.write_bytes(render_qr(text, "svg"))
    subprocess.run([tool("rsvg-convert", "librsvg2-bin"), "-o", str(png), str(svg)], check=True)
    assert zbar(png) == text.encode("utf-8")


def test_text_formats_are_utf8_half_blocks():
    for format in ("text", "text_inverse"):
        drawn = render_qr(LINK, format).decode("utf-8")
        lines = drawn.split("\n")
        assert drawn.endswith("\n") and len(set(map(len, lines[:-1]))) == 1
        assert set(drawn) <= set("\u2580\u2584\u2588 \n")
    assert render_qr(LINK, "text") != render_qr(LINK, "text_inverse")


def test_escpos_formats_are_printer_commands():
    assert render_qr(LINK, "escpos").startswith(b"\x1dv0")
    assert b"\x1d(k" in render_qr(LINK, "escpos_native")
    assert LINK.encode("utf-8") in render_qr(LINK, "escpos_native")


def test_unusable_text_or_format_is_refused():
    with pytest.raises(BadRequest):
        render_qr("", "png")
    with pytest.raises(BadRequest) as e:
        render_qr("x" * 2332, "png")
    assert "2331" in e.value.message
    with pytest.raises(InvalidArgument):
        render_qr("a\0b")
    for format in ("jpeg", 0, 7, True, -1):
        with pytest.raises(InvalidArgument):
            render_qr(LINK, format)


def test_display_text_is_the_cashier_text_of_every_status():
    expected = {
        Status.CREATED: "Preparing the Klarna payment...",
        Status.WAITING: "Preparing the Klarna payment...",
        Status.DISTRIBUTED: "Scan the QR code with your phone",
        Status.ACCESSED: "Payment in progress",
        Status.COMPLETED: "Payment is done",
        Status.CANCELED: "Payment is canceled",
        Status.FAILED: "Something went wrong",
        Status.EXPIRED: "The payment has expired",
        Status.UNKNOWN: "Checking the payment status...",
    }
    assert {s: s.display_text for s in Status} == expected
    assert klarna_pos.display_text(Status.ACCESSED) == "Payment in progress"
    assert klarna_pos.display_text(1234) == "Checking the payment status..."
