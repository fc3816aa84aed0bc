//! The order, configuration and resume files of the bad-input corpus (tests/data/corpus)
//! through the C ABI from Rust: each case's code, a non-empty message and the named field.
//! tests/c/corpus.c runs the whole corpus (with the NULL, handle and enum cases) from C, also
//! under the sanitizers and valgrind.

mod common;

use common::*;
use klarna_pos::core::Code;
use serde_json::json;

/// Decodes the data files' C escapes (\xNN \n \r \t \\) into bytes.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let e = b[i + 1];
            i += 2;
            match e {
                b'x' if i + 2 <= b.len() => {
                    out.push(u8::from_str_radix(&s[i..i + 2], 16).unwrap());
                    i += 2;
                }
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                other => out.push(other),
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// A data file's text field with its generator run (see tests/data/corpus/README.md).
fn materialize(field: &str, url: &str) -> Vec<u8> {
    let field = field.replace("${URL}", url);
    if let Some(spec) = field.strip_prefix("@repeat ") {
        let p: Vec<&str> = spec.splitn(4, '|').collect();
        let mut out = unescape(p[0]);
        out.extend(unescape(p[1]).repeat(p[2].parse().unwrap()));
        out.extend(unescape(p[3]));
        out
    } else if let Some(spec) = field.strip_prefix("@nest ") {
        let p: Vec<&str> = spec.splitn(6, '|').collect();
        let n: usize = p[2].parse().unwrap();
        let mut out = unescape(p[0]);
        out.extend(unescape(p[1]).repeat(n));
        out.extend(unescape(p[3]));
        out.extend(unescape(p[4]).repeat(n));
        out.extend(unescape(p[5]));
        out
    } else if let Some(n) = field.strip_prefix("@lines ") {
        let n: usize = n.parse().unwrap();
        let line = json!({"name": "x", "quantity": 1, "unit_price": 100, "tax_rate": 0,
                          "total_amount": 100, "total_tax_amount": 0});
        json!({"purchase_country": "SE", "purchase_currency": "SEK", "order_amount": n * 100,
               "order_tax_amount": 0, "order_lines": vec![line; n]})
        .to_string()
        .into_bytes()
    } else {
        unescape(&field)
    }
}

fn cases(file: &str) -> Vec<Vec<String>> {
    read(&format!("tests/data/corpus/{file}"))
        .split('\n')
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn code_named(name: &str) -> u32 {
    *Code::ALL
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("unknown code {name}")) as u32
}

/// Checks one answer; returns a description of what is wrong, if anything.
fn judge(name: &str, got: Result<(), Failure>, code: &str, field: &str) -> Option<String> {
    let Err(f) = got else {
        return Some(format!("{name}: accepted, want {code}"));
    };
    if f.code != code_named(code) {
        return Some(format!("{name}: got {}, want {code}", f.detail));
    }
    if f.detail["message"].as_str().unwrap_or_default().is_empty() {
        return Some(format!("{name}: empty message"));
    }
    if field != "-" && f.detail["field"] != field {
        return Some(format!(
            "{name}: field {} instead of {field}",
            f.detail["field"]
        ));
    }
    None
}

/// Calls a C function with a byte string (invalid UTF-8 included) made NUL-terminated.
fn c_text(bytes: &[u8]) -> std::ffi::CString {
    std::ffi::CString::new(bytes.to_vec()).expect("corpus inputs hold no NUL")
}

fn order_answer(client: &Client, order: &[u8]) -> Result<(), Failure> {
    let text = c_text(order);
    let mut out = std::ptr::null_mut();
    let code =
        unsafe { klarna_pos::ffi::session::kpos_session_create(client.0, text.as_ptr(), &mut out) };
    let session = Session(out);
    if code == 0 {
        return Ok(());
    }
    drop(session);
    Err(Failure {
        code,
        detail: last_error(),
    })
}

#[test]
fn every_order_of_the_corpus_gets_its_code_message_and_field() {
    // Every case is refused before any traffic, so no simulator is needed.
    let client = Client::new(
        &json!({"api_url": "http://127.0.0.1:9", "username": USER, "password": PASSWORD})
            .to_string(),
    )
    .unwrap();
    let cases = cases("orders.txt");
    assert!(cases.len() >= 100, "only {} order cases", cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let order = materialize(&c[3], "");
            judge(&c[2], order_answer(&client, &order), &c[0], &c[1])
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_configuration_of_the_corpus_gets_its_code_message_and_field() {
    let cases = cases("configs.txt");
    assert!(cases.len() >= 50, "only {} config cases", cases.len());
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let config = c_text(&materialize(&c[3], "http://127.0.0.1:9"));
            let mut out = std::ptr::null_mut();
            let code =
                unsafe { klarna_pos::ffi::client::kpos_client_new(config.as_ptr(), &mut out) };
            let answer = if code == 0 {
                drop(Client(out));
                Ok(())
            } else {
                Err(Failure {
                    code,
                    detail: last_error(),
                })
            };
            judge(&c[2], answer, &c[0], &c[1])
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_resume_of_the_corpus_gets_its_code_and_message() {
    let client = Client::new(
        &json!({"api_url": "http://127.0.0.1:9", "username": USER, "password": PASSWORD})
            .to_string(),
    )
    .unwrap();
    let wrong: Vec<String> = cases("resume.txt")
        .iter()
        .filter_map(|c| {
            let url = "http://127.0.0.1:9";
            let (id, result_url) = (
                c_text(&materialize(&c[2], url)),
                c_text(&materialize(&c[3], url)),
            );
            let mut out = std::ptr::null_mut();
            let code = unsafe {
                klarna_pos::ffi::session::kpos_session_resume(
                    client.0,
                    id.as_ptr(),
                    result_url.as_ptr(),
                    &mut out,
                )
            };
            drop(Session(out));
            let answer = if code == 0 {
                Ok(())
            } else {
                Err(Failure {
                    code,
                    detail: last_error(),
                })
            };
            judge(&c[1], answer, &c[0], "-")
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
