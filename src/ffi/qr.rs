//! `kpos_qr_render`: QR codes for displays and printers that cannot fetch an image.

use std::ffi::c_char;

use super::{boundary, bytes_out, kpos_result, require_non_null, str_arg, write_out};
use crate::core::qr::{self, Format};
use crate::core::Error;

/// SVG document (UTF-8), 8 user units per module, black on white.
pub const KPOS_QR_SVG: u32 = 1;
/// PNG image, 1-bit grayscale, 8 pixels per module, black on white.
pub const KPOS_QR_PNG: u32 = 2;
/// UTF-8 text of half-block characters (U+2580, U+2584, U+2588 and spaces), two module rows per
/// line, each line ending in `\n`. The characters draw the light modules, so the code reads
/// correctly on the usual light-on-dark terminal.
pub const KPOS_QR_TEXT: u32 = 3;
/// ESC/POS raster bit image (`GS v 0`), at most 384 dots wide (fits 58 mm and 80 mm printers),
/// quiet zone included. Send it as it is, after your own alignment commands.
pub const KPOS_QR_ESCPOS: u32 = 4;
/// ESC/POS printer-native QR commands (`GS ( k`: model 2, module size, error correction M, store,
/// print): the printer draws the code itself, keeping its own quiet zone. Needs a printer that
/// supports `GS ( k`; otherwise use `KPOS_QR_ESCPOS`.
pub const KPOS_QR_ESCPOS_NATIVE: u32 = 5;
/// As `KPOS_QR_TEXT`, but the characters draw the dark modules: for dark-on-light character
/// displays.
pub const KPOS_QR_TEXT_INVERSE: u32 = 6;

fn format_arg(format: u32) -> Result<Format, Error> {
    Ok(match format {
        KPOS_QR_SVG => Format::Svg,
        KPOS_QR_PNG => Format::Png,
        KPOS_QR_TEXT => Format::Text,
        KPOS_QR_ESCPOS => Format::EscPosRaster,
        KPOS_QR_ESCPOS_NATIVE => Format::EscPosNative,
        KPOS_QR_TEXT_INVERSE => Format::TextInverse,
        other => {
            return Err(Error::invalid_argument(format!(
                "format {} is not one of KPOS_QR_SVG..KPOS_QR_TEXT_INVERSE",
                other
            )))
        }
    })
}

/// Draws `text` (UTF-8, e.g. `kpos_session_payment_link`) as a QR code with error correction
/// level M and a quiet zone of 4 modules, in `format` (`KPOS_QR_*`). No network traffic.
///
/// On success writes the bytes to `*out` and their number to `*len`; release them with
/// `kpos_bytes_free(*out, *len)`. A NUL byte follows the last byte (not counted in `*len`), so
/// the SVG and text formats can be used as C strings. Returns `KPOS_OK`;
/// `KPOS_E_INVALID_ARGUMENT` (NULL, invalid UTF-8, unknown `format`); `KPOS_E_BAD_REQUEST` (empty
/// text, or too long for a QR code: more than 2331 bytes; the last error says so).
///
/// # Safety
/// `text` must be NULL or NUL-terminated; `out` and `len` must be valid for writes.
#[no_mangle]
#[must_use]
pub unsafe extern "C" fn kpos_qr_render(
    text: *const c_char,
    format: u32,
    out: *mut *mut u8,
    len: *mut usize,
) -> kpos_result {
    boundary(|| {
        require_non_null!(out, "out");
        require_non_null!(len, "len");
        let text = str_arg(text, "text")?;
        let format = format_arg(format)?;
        let bytes = qr::render(text, format)?;
        let (ptr, n) = bytes_out(bytes);
        write_out(out, ptr);
        write_out(len, n);
        Ok(())
    })
}
