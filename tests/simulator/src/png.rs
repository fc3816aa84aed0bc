//! The image behind a session's `qr_code` URL: a real QR code of its payment link, so a phone
//! pointed at a till's screen during a demo opens the simulator's payment page. QR encoding is
//! `qrcodegen`'s, PNG encoding the `png` crate's.

use qrcodegen::{QrCode, QrCodeEcc};

/// Light modules around the symbol, as the QR standard asks.
const QUIET: usize = 4;
/// Pixels per module.
const SCALE: usize = 6;

/// An 8-bit greyscale PNG of `text` as a QR code (error correction M); `None` if it does not
/// fit in one.
pub fn qr_png(text: &str) -> Option<Vec<u8>> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let side = (qr.size() as usize + 2 * QUIET) * SCALE;
    let mut pixels = Vec::with_capacity(side * side);
    for py in 0..side {
        for px in 0..side {
            let (x, y) = (
                (px / SCALE) as i32 - QUIET as i32,
                (py / SCALE) as i32 - QUIET as i32,
            );
            pixels.push(if qr.get_module(x, y) { 0 } else { 255 });
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(&pixels).ok()?;
    writer.finish().ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_a_png_sized_by_the_code() {
        let png = qr_png("http://127.0.0.1:1/pay/abc").unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let info = decoder.read_info().unwrap().info().clone();
        // Version 2 (25 modules) plus the quiet zone, scaled.
        assert_eq!(info.width as usize, (25 + 2 * QUIET) * SCALE);
        assert_eq!(info.width, info.height);
    }
}
