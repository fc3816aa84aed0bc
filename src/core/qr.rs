//! QR codes drawn by the library, for tills that cannot fetch Klarna's QR image: a vector or
//! bitmap image for a screen, block characters for a character display or terminal, and two
//! ESC/POS forms for receipt printers. The QR encoding itself is `qrcodegen`'s; the PNG (one
//! deflate block with fixed codes) is written here.

use qrcodegen::{DataTooLong, QrCode, QrCodeEcc};

use super::error::{Code, Error, Result};

/// Light modules around the code, as the QR standard requires for reliable scanning.
pub const QUIET_ZONE: usize = 4;
/// Pixels per module in the PNG image.
pub const PNG_SCALE: usize = 8;
/// Printable width of a 58 mm receipt printer in dots; the ESC/POS forms fit it, so they also
/// fit the common 80 mm (576-dot) printers.
pub const PRINTER_DOTS: usize = 384;
/// Dots per module on the printer: large enough for a phone camera, small enough to fit.
const MAX_PRINTER_SCALE: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An SVG document, 8 user units per module.
    Svg,
    /// A 1-bit grayscale PNG, [`PNG_SCALE`] pixels per module.
    Png,
    /// UTF-8 half blocks, two module rows per line; the characters draw the light modules, for
    /// the usual light-on-dark terminal.
    Text,
    /// As [`Format::Text`], but the characters draw the dark modules (dark-on-light displays).
    TextInverse,
    /// ESC/POS raster bit image (`GS v 0`), fitted to [`PRINTER_DOTS`].
    EscPosRaster,
    /// ESC/POS printer-native QR commands (`GS ( k`): the printer draws the code itself.
    EscPosNative,
}

/// Encodes `text` as a QR code with error correction level M (or higher when that fits in the
/// same size) and renders it in `format`, quiet zone included.
pub fn render(text: &str, format: Format) -> Result<Vec<u8>> {
    let qr = encode(text)?;
    Ok(match format {
        Format::Svg => svg(&qr),
        Format::Png => png(&qr),
        Format::Text => half_blocks(&qr, false),
        Format::TextInverse => half_blocks(&qr, true),
        Format::EscPosRaster => escpos_raster(&qr),
        Format::EscPosNative => escpos_native(text, &qr),
    })
}

fn encode(text: &str) -> Result<QrCode> {
    if text.is_empty() {
        return Err(Error::new(Code::BadRequest, "the QR text is empty"));
    }
    QrCode::encode_text(text, QrCodeEcc::Medium).map_err(|_: DataTooLong| {
        Error::new(
            Code::BadRequest,
            format!(
                "the QR text is too long: {} bytes, but a QR code with error correction M holds \
                 at most 2331 bytes of text",
                text.len()
            ),
        )
    })
}

/// Whether the module at (x, y) of the padded square is dark; the quiet zone is light.
fn dark(qr: &QrCode, x: usize, y: usize) -> bool {
    let (x, y) = (x as i32 - QUIET_ZONE as i32, y as i32 - QUIET_ZONE as i32);
    qr.get_module(x, y) // false outside the symbol
}

/// Side of the symbol with its quiet zone, in modules.
fn padded_size(qr: &QrCode) -> usize {
    qr.size() as usize + 2 * QUIET_ZONE
}

fn svg(qr: &QrCode) -> Vec<u8> {
    let n = padded_size(qr);
    let mut path = String::new();
    for y in 0..n {
        for x in 0..n {
            if dark(qr, x, y) {
                path.push_str(&format!("M{x},{y}h1v1h-1z"));
            }
        }
    }
    let px = n * PNG_SCALE;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{px}\" height=\"{px}\" \
         viewBox=\"0 0 {n} {n}\" shape-rendering=\"crispEdges\">\n\
         <rect width=\"{n}\" height=\"{n}\" fill=\"#ffffff\"/>\n\
         <path d=\"{path}\" fill=\"#000000\"/>\n\
         </svg>\n"
    )
    .into_bytes()
}

/// Rows of `scale`-times enlarged modules packed 8 pixels per byte, most significant bit first,
/// with `ink` as the bit value of a dark module.
fn packed_rows(qr: &QrCode, scale: usize, ink: bool) -> (usize, Vec<u8>) {
    let width = padded_size(qr) * scale;
    let stride = width.div_ceil(8);
    let mut data = Vec::with_capacity(stride * width);
    for py in 0..width {
        let mut row = vec![if ink { 0u8 } else { 0xFF }; stride];
        for px in 0..width {
            if dark(qr, px / scale, py / scale) == ink {
                row[px / 8] |= 0x80 >> (px % 8);
            } else {
                row[px / 8] &= !(0x80 >> (px % 8));
            }
        }
        data.extend_from_slice(&row);
    }
    (width, data)
}

fn png(qr: &QrCode) -> Vec<u8> {
    // In a 1-bit grayscale PNG, 1 is white: a dark module is a 0 bit.
    let (width, data) = packed_rows(qr, PNG_SCALE, false);
    let stride = width.div_ceil(8);
    // Scanlines, each with filter type 0 (none) in front.
    let mut raw = Vec::with_capacity((stride + 1) * width);
    for row in data.chunks(stride) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(width as u32).to_be_bytes());
    // Bit depth 1, color type 0 (grayscale), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[1, 0, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &header);
    png_chunk(&mut out, b"IDAT", &zlib(&raw, stride + 1));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG chunk: length, type, data and the CRC-32 of type and data.
fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = !out[start..].iter().fold(!0u32, |c, &b| {
        CRC32[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8)
    });
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The CRC-32 table of PNG and zlib (polynomial 0xEDB88320, reflected).
const CRC32: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// `data` as a zlib stream: one deflate block with the fixed Huffman codes. A QR image repeats
/// itself in two ways, and only those are looked for: a module is a run of equal bytes
/// (distance 1) and each row of modules is `PNG_SCALE` equal scanlines (distance `line`).
fn zlib(data: &[u8], line: usize) -> Vec<u8> {
    let mut w = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    w.put(0b011, 3); // the final block, fixed codes
    let mut i = 0;
    while i < data.len() {
        let longest = |d: usize| {
            if d > i {
                return 0;
            }
            let max = (data.len() - i).min(258);
            (0..max)
                .take_while(|&k| data[i + k] == data[i + k - d])
                .count()
        };
        let (len, dist) = [(longest(line), line), (longest(1), 1)]
            .into_iter()
            .max_by_key(|&(len, _)| len)
            .unwrap_or((0, 1));
        if len >= 3 {
            w.length(len);
            w.distance(dist);
            i += len;
        } else {
            w.literal(data[i] as u32);
            i += 1;
        }
    }
    w.literal(256); // end of block
    let mut out = w.finish();
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + byte as u32) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// A deflate bit stream: values least significant bit first, Huffman codes most significant
/// bit first (RFC 1951, 3.1.1).
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= (value as u64) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    /// A literal byte, the end of the block (256) or a length code (257..=285), fixed codes.
    fn literal(&mut self, symbol: u32) {
        match symbol {
            0..=143 => self.code(0x30 + symbol, 8),
            144..=255 => self.code(0x190 + symbol - 144, 9),
            256..=279 => self.code(symbol - 256, 7),
            _ => self.code(0xC0 + symbol - 280, 8),
        }
    }

    fn length(&mut self, len: usize) {
        const BASE: [u16; 29] = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
            115, 131, 163, 195, 227, 258,
        ];
        let i = BASE.iter().rposition(|&b| b as usize <= len).unwrap_or(0);
        let extra = if i < 8 || i == 28 {
            0
        } else {
            (i as u32 - 4) / 4
        };
        self.literal(257 + i as u32);
        self.put((len - BASE[i] as usize) as u32, extra);
    }

    fn distance(&mut self, dist: usize) {
        // Codes 0..=3 are distances 1..=4; from code 4 on, two codes per doubling.
        let d = dist as u32 - 1;
        let (code, extra) = if d < 4 {
            (d, 0)
        } else {
            let extra = 31 - d.leading_zeros() - 1;
            (2 * extra + 2 + ((d >> extra) & 1), extra)
        };
        self.code(code, 5);
        self.put(d & ((1 << extra) - 1), extra);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

fn half_blocks(qr: &QrCode, ink_is_dark: bool) -> Vec<u8> {
    let n = padded_size(qr);
    let mut out = String::new();
    for y in (0..n).step_by(2) {
        for x in 0..n {
            // A character covers the module at y (upper half) and y + 1 (lower half); the row
            // below the last is quiet zone.
            let drawn = |y: usize| y < n && dark(qr, x, y) == ink_is_dark;
            out.push(match (drawn(y), drawn(y + 1)) {
                (true, true) => '\u{2588}',
                (true, false) => '\u{2580}',
                (false, true) => '\u{2584}',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn printer_scale(qr: &QrCode) -> usize {
    (PRINTER_DOTS / padded_size(qr)).clamp(1, MAX_PRINTER_SCALE)
}

/// `GS v 0 m xL xH yL yH d1...dk`: a raster image, bit 1 printed.
fn escpos_raster(qr: &QrCode) -> Vec<u8> {
    let (width, data) = packed_rows(qr, printer_scale(qr), true);
    let stride = width.div_ceil(8) as u16;
    let rows = width as u16;
    let mut out = vec![0x1D, 0x76, 0x30, 0x00];
    out.extend_from_slice(&stride.to_le_bytes());
    out.extend_from_slice(&rows.to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// `GS ( k` functions 165 (model 2), 167 (module size), 169 (error correction M), 180 (store the
/// data) and 181 (print): the printer encodes and draws the symbol itself.
fn escpos_native(text: &str, qr: &QrCode) -> Vec<u8> {
    let function = |out: &mut Vec<u8>, params: &[u8]| {
        out.extend_from_slice(&[0x1D, 0x28, 0x6B]);
        out.extend_from_slice(&(params.len() as u16).to_le_bytes());
        out.extend_from_slice(params);
    };
    let mut out = Vec::new();
    function(&mut out, &[0x31, 0x41, 0x32, 0x00]);
    function(&mut out, &[0x31, 0x43, printer_scale(qr) as u8]);
    function(&mut out, &[0x31, 0x45, 0x31]);
    let mut store = vec![0x31, 0x50, 0x30];
    store.extend_from_slice(text.as_bytes());
    function(&mut out, &store);
    function(&mut out, &[0x31, 0x51, 0x30]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_long_and_empty_texts_are_bad_requests_that_say_why() {
        let e = render(&"x".repeat(3000), Format::Png).unwrap_err();
        assert_eq!(e.code, Code::BadRequest);
        assert!(e.message.contains("3000 bytes"), "{}", e.message);
        assert_eq!(render("", Format::Svg).unwrap_err().code, Code::BadRequest);
    }

    #[test]
    fn text_has_two_module_rows_per_line_and_a_quiet_zone() {
        let qr = encode("https://pay.example/abc").unwrap();
        let out =
            String::from_utf8(render("https://pay.example/abc", Format::Text).unwrap()).unwrap();
        let n = padded_size(&qr);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), n.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == n));
        // Light modules are drawn: the top quiet-zone rows are full blocks.
        assert!(lines[0].chars().all(|c| c == '\u{2588}'));
    }

    /// The PNG decodes (with the `png` crate) to exactly the modules, at every size of code.
    #[test]
    fn png_decodes_to_the_modules() {
        for text in [
            "https://pay.example/abc",
            &"9".repeat(700),
            &"x".repeat(2331),
        ] {
            let qr = encode(text).unwrap();
            let out = render(text, Format::Png).unwrap();
            let mut reader = png::Decoder::new(std::io::Cursor::new(&out))
                .read_info()
                .unwrap();
            let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
            let frame = reader.next_frame(&mut pixels).unwrap();
            assert_eq!(
                (frame.bit_depth, frame.color_type),
                (png::BitDepth::One, png::ColorType::Grayscale)
            );
            let (width, rows) = packed_rows(&qr, PNG_SCALE, false);
            assert_eq!(
                (frame.width as usize, frame.height as usize),
                (width, width)
            );
            assert_eq!(&pixels[..frame.buffer_size()], &rows[..]);
            // Deflated: far below the raw rows.
            assert!(
                out.len() * 5 < rows.len(),
                "{} bytes for {}",
                out.len(),
                rows.len()
            );
        }
    }

    #[test]
    fn raster_fits_a_58mm_printer() {
        let out = render(&"9".repeat(2000), Format::EscPosRaster).unwrap();
        let stride = u16::from_le_bytes([out[4], out[5]]) as usize;
        let rows = u16::from_le_bytes([out[6], out[7]]) as usize;
        assert!(stride * 8 <= PRINTER_DOTS);
        assert_eq!(out.len(), 8 + stride * rows);
    }
}
