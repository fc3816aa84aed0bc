//! QR codes rendered by `kpos_qr_render` decode, with a third-party decoder (zbarimg from
//! Debian's zbar-tools; SVG rasterised with rsvg-convert from librsvg2-bin), to exactly the text
//! that went in, in every format.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::kpos_bytes_free;
use klarna_pos::ffi::qr::*;

const SHORT: &str = "https://pay.example/s/4f0c";
const NON_ASCII: &str = "Kaffe & kanelbulle – 35 kr ☕ Åäö Ørestad Größe 日本語 🇸🇪";

/// A payment link with a long query: 700 bytes.
fn long_text() -> String {
    let mut s = String::from("https://pay.example/instore/sessions/0b1c2d3e?");
    let mut i = 0;
    while s.len() < 700 {
        s.push_str(&format!("p{i}=v{}&", i * 7919 % 1000));
        i += 1;
    }
    s.truncate(700);
    s
}

fn payloads() -> Vec<String> {
    let long = long_text();
    assert!(long.len() >= 600);
    vec![SHORT.to_string(), long, NON_ASCII.to_string()]
}

/// A directory for one test's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kpos-qr-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The bytes of `kpos_qr_render`, copied, or the failure code.
fn render(text: &str, format: u32) -> Result<Vec<u8>, u32> {
    let t = cstring(text);
    let mut out = std::ptr::null_mut();
    let mut len = 0usize;
    let code = unsafe { kpos_qr_render(t.as_ptr(), format, &mut out, &mut len) };
    if code != KPOS_OK {
        return Err(code);
    }
    let bytes = unsafe { std::slice::from_raw_parts(out, len) }.to_vec();
    assert_eq!(unsafe { *out.add(len) }, 0, "a NUL follows the bytes");
    unsafe { kpos_bytes_free(out, len) };
    Ok(bytes)
}

/// What zbarimg reads from an image file: the raw bytes of the one symbol found.
fn zbar(image: &Path) -> String {
    let out = Command::new(tool("zbarimg", "zbar-tools"))
        .args(["--quiet", "--raw", "-Sbinary"])
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zbarimg found no QR code in {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("zbarimg's output is the UTF-8 text")
}

/// Writes a black-and-white bitmap (`dark[y][x]`) as a PNG, `scale` pixels per cell.
fn write_png(path: &Path, dark: &[Vec<bool>], scale: usize) {
    let (h, w) = (dark.len() * scale, dark[0].len() * scale);
    let mut pixels = Vec::with_capacity(w * h);
    for row in dark {
        let line: Vec<u8> = row
            .iter()
            .flat_map(|&d| std::iter::repeat_n(if d { 0 } else { 255 }, scale))
            .collect();
        for _ in 0..scale {
            pixels.extend_from_slice(&line);
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(file, w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
}

/// Half-block text back to modules: each character is one module wide and two tall.
fn text_to_modules(text: &str, blocks_are_dark: bool) -> Vec<Vec<bool>> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let (mut upper, mut lower) = (Vec::new(), Vec::new());
        for c in line.chars() {
            let (u, l) = match c {
                '\u{2588}' => (true, true),
                '\u{2580}' => (true, false),
                '\u{2584}' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?}"),
            };
            upper.push(u == blocks_are_dark);
            lower.push(l == blocks_are_dark);
        }
        rows.push(upper);
        rows.push(lower);
    }
    rows
}

/// `GS v 0` raster back to dots (1 = printed).
fn raster_to_dots(cmd: &[u8]) -> Vec<Vec<bool>> {
    assert_eq!(
        &cmd[..4],
        &[0x1D, 0x76, 0x30, 0x00],
        "GS v 0, normal density"
    );
    let stride = u16::from_le_bytes([cmd[4], cmd[5]]) as usize;
    let rows = u16::from_le_bytes([cmd[6], cmd[7]]) as usize;
    let data = &cmd[8..];
    assert_eq!(
        data.len(),
        stride * rows,
        "the image is all the command holds"
    );
    (0..rows)
        .map(|y| {
            (0..stride * 8)
                .map(|x| data[y * stride + x / 8] & (0x80 >> (x % 8)) != 0)
                .collect()
        })
        .collect()
}

/// The functions of a `GS ( k` command sequence: (cn, fn, parameters).
fn gs_k_functions(mut cmd: &[u8]) -> Vec<(u8, u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !cmd.is_empty() {
        assert_eq!(&cmd[..3], &[0x1D, 0x28, 0x6B], "GS ( k");
        let n = u16::from_le_bytes([cmd[3], cmd[4]]) as usize;
        let body = &cmd[5..5 + n];
        out.push((body[0], body[1], body[2..].to_vec()));
        cmd = &cmd[5 + n..];
    }
    out
}

#[test]
fn png_decodes_to_the_exact_text() {
    let dir = Scratch::new();
    for text in payloads() {
        let bytes = render(&text, KPOS_QR_PNG).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let path = dir.file("qr.png");
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(zbar(&path), text, "{} bytes", text.len());
    }
}

#[test]
fn svg_rasterised_by_rsvg_decodes_to_the_exact_text() {
    let dir = Scratch::new();
    let rsvg = tool("rsvg-convert", "librsvg2-bin");
    for text in payloads() {
        let bytes = render(&text, KPOS_QR_SVG).unwrap();
        assert!(std::str::from_utf8(&bytes).unwrap().contains("<svg"));
        let (svg, png) = (dir.file("qr.svg"), dir.file("qr.png"));
        std::fs::write(&svg, bytes).unwrap();
        let status = Command::new(&rsvg)
            .arg("-o")
            .arg(&png)
            .arg(&svg)
            .status()
            .unwrap();
        assert!(status.success(), "rsvg-convert failed");
        assert_eq!(zbar(&png), text, "{} bytes", text.len());
    }
}

#[test]
fn terminal_text_decodes_to_the_exact_text_in_both_polarities() {
    let dir = Scratch::new();
    for text in payloads() {
        for (format, blocks_are_dark) in [(KPOS_QR_TEXT, false), (KPOS_QR_TEXT_INVERSE, true)] {
            let out = String::from_utf8(render(&text, format).unwrap()).unwrap();
            let path = dir.file("text.png");
            write_png(&path, &text_to_modules(&out, blocks_are_dark), 4);
            assert_eq!(zbar(&path), text, "format {format}");
        }
    }
}

#[test]
fn escpos_raster_decodes_to_the_exact_text() {
    let dir = Scratch::new();
    for text in payloads() {
        let cmd = render(&text, KPOS_QR_ESCPOS).unwrap();
        let dots = raster_to_dots(&cmd);
        assert!(dots[0].len() <= 384, "fits a 58 mm printer");
        let path = dir.file("raster.png");
        write_png(&path, &dots, 1);
        assert_eq!(zbar(&path), text, "{} bytes", text.len());
    }
}

#[test]
fn escpos_native_stores_exactly_the_text_with_model_2_and_level_m() {
    for text in payloads() {
        let cmd = render(&text, KPOS_QR_ESCPOS_NATIVE).unwrap();
        let functions = gs_k_functions(&cmd);
        let codes: Vec<(u8, u8)> = functions.iter().map(|(cn, f, _)| (*cn, *f)).collect();
        // 165 model, 167 module size, 169 error correction, 180 store, 181 print.
        assert_eq!(
            codes,
            [(49, 65), (49, 67), (49, 69), (49, 80), (49, 81)],
            "{} bytes",
            text.len()
        );
        assert_eq!(functions[0].2, [50, 0], "model 2");
        assert!((1..=16).contains(&functions[1].2[0]), "module size");
        assert_eq!(functions[2].2, [49], "error correction M");
        assert_eq!(functions[3].2[0], 48);
        assert_eq!(&functions[3].2[1..], text.as_bytes(), "stored data");
        assert_eq!(functions[4].2, [48]);
    }
}

#[test]
fn an_unknown_format_is_an_invalid_argument() {
    assert_eq!(render(SHORT, 0), Err(KPOS_E_INVALID_ARGUMENT));
    assert_eq!(render(SHORT, 77), Err(KPOS_E_INVALID_ARGUMENT));
}

#[test]
fn text_too_long_for_a_qr_code_is_a_bad_request_that_says_so() {
    assert_eq!(
        render(&"a".repeat(2332), KPOS_QR_PNG),
        Err(KPOS_E_BAD_REQUEST)
    );
    let message = last_error()["message"].as_str().unwrap().to_string();
    assert!(message.contains("too long"), "{message}");
    assert!(message.contains("2332 bytes"), "{message}");
    assert!(render(&"a".repeat(2331), KPOS_QR_PNG).is_ok());
}

#[test]
fn null_arguments_are_refused_and_freeing_null_or_twice_is_harmless() {
    let mut out = std::ptr::null_mut();
    let mut len = 0usize;
    let code = unsafe { kpos_qr_render(std::ptr::null(), KPOS_QR_PNG, &mut out, &mut len) };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    let t = cstring(SHORT);
    let code = unsafe { kpos_qr_render(t.as_ptr(), KPOS_QR_PNG, std::ptr::null_mut(), &mut len) };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    unsafe { kpos_bytes_free(std::ptr::null_mut(), 0) };
    let code = unsafe { kpos_qr_render(t.as_ptr(), KPOS_QR_TEXT, &mut out, &mut len) };
    assert_eq!(code, KPOS_OK);
    unsafe { kpos_bytes_free(out, len) };
    unsafe { kpos_bytes_free(out, len) };
}

#[test]
fn the_simulators_qr_image_scans_to_the_payment_link() {
    let dir = Scratch::new();
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    s.poll().unwrap();
    let (qr_url, link) = (s.qr_url().unwrap(), s.payment_link().unwrap());
    let image = ureq::get(&qr_url)
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    let path = dir.file("sim.png");
    std::fs::write(&path, image).unwrap();
    assert_eq!(zbar(&path), link);
}
