//! A QR-looking placeholder image as a valid PNG, built by hand (stored deflate blocks,
//! CRC-32, Adler-32) so that the simulator needs no image dependency. It is not a
//! scannable QR code: clients only need a real PNG at the URL the status payload gives.

const MODULES: usize = 25;
const QUIET: usize = 4;
const SCALE: usize = 4;

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// zlib stream made of uncompressed ("stored") deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Dark modules: three finder patterns plus a pattern derived from `seed`, so that each
/// session gets its own picture.
fn modules(seed: &str) -> Vec<Vec<bool>> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut grid = vec![vec![false; MODULES]; MODULES];
    for (y, row) in grid.iter_mut().enumerate() {
        for (x, cell) in row.iter_mut().enumerate() {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            *cell = h & 1 == 1 || (x == 6 || y == 6) && (x + y) % 2 == 0;
        }
    }
    for (ox, oy) in [(0, 0), (MODULES - 7, 0), (0, MODULES - 7)] {
        // A light separator around each finder pattern, then the 7x7 pattern itself.
        for row in grid
            .iter_mut()
            .take((oy + 8).min(MODULES))
            .skip(oy.saturating_sub(1))
        {
            for cell in row
                .iter_mut()
                .take((ox + 8).min(MODULES))
                .skip(ox.saturating_sub(1))
            {
                *cell = false;
            }
        }
        for y in 0..7 {
            for x in 0..7 {
                let edge = x == 0 || x == 6 || y == 0 || y == 6;
                let core = (2..=4).contains(&x) && (2..=4).contains(&y);
                grid[oy + y][ox + x] = edge || core;
            }
        }
    }
    grid
}

/// An 8-bit greyscale PNG of the placeholder code.
pub fn qr_placeholder(seed: &str) -> Vec<u8> {
    let grid = modules(seed);
    let side = (MODULES + 2 * QUIET) * SCALE;
    let mut raw = Vec::with_capacity(side * (side + 1));
    for py in 0..side {
        raw.push(0); // filter type: none
        for px in 0..side {
            let (mx, my) = (
                (px / SCALE).wrapping_sub(QUIET),
                (py / SCALE).wrapping_sub(QUIET),
            );
            let dark = mx < MODULES && my < MODULES && grid[my][mx];
            raw.push(if dark { 0 } else { 255 });
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&(side as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // depth 8, greyscale, deflate, filter 0, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    /// Walks the chunks, checks every CRC, then inflates the stored blocks and checks
    /// the image size and the Adler-32.
    #[test]
    fn png_is_well_formed() {
        let png = qr_placeholder("abc");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut i = 8;
        let mut idat = Vec::new();
        let mut kinds = Vec::new();
        while i < png.len() {
            let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
            let body = &png[i + 4..i + 8 + len];
            let crc = u32::from_be_bytes(png[i + 8 + len..i + 12 + len].try_into().unwrap());
            assert_eq!(crc32(body), crc);
            kinds.push(String::from_utf8(body[..4].to_vec()).unwrap());
            if &body[..4] == b"IDAT" {
                idat.extend_from_slice(&body[4..]);
            }
            i += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        let mut raw = Vec::new();
        let mut p = 2;
        loop {
            let last = idat[p] & 1 == 1;
            let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]) as usize;
            assert_eq!(
                !u16::from_le_bytes([idat[p + 3], idat[p + 4]]) as usize,
                len
            );
            raw.extend_from_slice(&idat[p + 5..p + 5 + len]);
            p += 5 + len;
            if last {
                break;
            }
        }
        assert_eq!(
            u32::from_be_bytes(idat[p..p + 4].try_into().unwrap()),
            adler32(&raw)
        );
        let side = (MODULES + 2 * QUIET) * SCALE;
        assert_eq!(raw.len(), side * (side + 1));
        assert_ne!(qr_placeholder("abc"), qr_placeholder("abd"));
    }
}
