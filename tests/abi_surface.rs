//! The ABI surface: every function `include/klarna_pos.h` declares is exported by the shared
//! library, and nothing else is (`nm -D --defined-only`); the Python declarations
//! (`bindings/python/klarna_pos/_native.py`) and the .NET declarations
//! (`bindings/dotnet/src/Native.cs`) and the Java declarations (`interface Api` of
//! `bindings/java/src/main/java/klarnapos/Ffi.java`) declare each with the header's number of
//! arguments; the C++
//! header (`include/klarna_pos.hpp`) calls each. A function a binding leaves out on purpose is
//! listed in ABSENT with the reason. A failure names every function missing or wrong.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::c_header;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Functions a binding does not wrap, on purpose: (binding, function, reason). A name starting
/// with `*` stands for every function ending in the rest (`*_w`: the whole `_w` layer).
const ABSENT: &[(&str, &str, &str)] = &[
    (
        "C++",
        "kpos_set_log_callback",
        "logging is process-wide: C++ callers install a C callback directly (documented in the header)",
    ),
    ("Python", "*_w", WIDE_LAYER),
    (".NET", "*_w", WIDE_LAYER),
    ("C++", "*_w", WIDE_LAYER),
    ("Java", "*_w", WIDE_LAYER),
];

/// Why no binding declares the `_w` functions.
const WIDE_LAYER: &str = "the _w layer (stdcall, UTF-16, caller's buffers) is for tills that \
    cannot call cdecl or pass UTF-8 (VB6, PowerBuilder); the bindings marshal UTF-8 themselves \
    and call the originals";

/// Whether an ABSENT entry's name covers `function`.
fn covers(pattern: &str, function: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => function.ends_with(suffix),
        None => pattern == function,
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap()
}

/// name -> argument count, from the committed header.
fn header_functions() -> BTreeMap<String, usize> {
    let functions: BTreeMap<String, usize> = c_header::functions(&read("include/klarna_pos.h"))
        .into_iter()
        .map(|d| (d.name, d.args))
        .collect();
    assert!(
        functions.len() > 40,
        "only {} functions read",
        functions.len()
    );
    functions
}

/// The text between the `(` at `open` and its matching `)`.
fn parenthesized(text: &str, open: usize) -> &str {
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses after offset {open}");
}

/// Top-level comma-separated items (nested parentheses kept together), trailing comma allowed.
fn items(list: &str) -> Vec<String> {
    let (mut out, mut depth, mut current) = (Vec::new(), 0, String::new());
    for c in list.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current).trim().to_string());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// name -> argument count of every `_declare("name", restype, *argtypes)` in _native.py.
fn python_declarations() -> BTreeMap<String, usize> {
    let text = read("bindings/python/klarna_pos/_native.py");
    text.match_indices("_declare(")
        .filter(|(i, _)| !text[..*i].ends_with("def "))
        .map(|(i, m)| {
            let args = items(parenthesized(&text, i + m.len() - 1));
            (args[0].trim_matches('"').to_string(), args.len() - 2)
        })
        .collect()
}

/// name -> parameter count of every `static extern ... kpos_x(...)` in Native.cs.
fn dotnet_declarations() -> BTreeMap<String, usize> {
    let text = read("bindings/dotnet/src/Native.cs");
    text.match_indices("static extern ")
        .map(|(i, _)| {
            let open = i + text[i..].find('(').unwrap();
            let name = text[..open].rsplit(' ').next().unwrap().to_string();
            (name, items(parenthesized(&text, open)).len())
        })
        .collect()
}

/// name -> parameter count of every `T kpos_x(...);` in the `interface Api` of Ffi.java (the
/// JNA declarations; calls elsewhere in the file are not declarations).
fn java_declarations() -> BTreeMap<String, usize> {
    let text = read("bindings/java/src/main/java/klarnapos/Ffi.java");
    let start = text
        .find("interface Api extends Library {")
        .expect("Ffi.java declares interface Api");
    let open = start + text[start..].find('{').unwrap();
    let mut depth = 0;
    let mut end = open;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = open + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let body = &text[open..end];
    body.match_indices(" kpos_")
        .filter_map(|(i, _)| {
            let at = i + 1;
            let paren = at + body[at..].find('(')?;
            let name = &body[at..paren];
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            let params = parenthesized(body, paren);
            let after = &body[paren + params.len() + 2..];
            after
                .trim_start()
                .starts_with(';')
                .then(|| (name.to_string(), items(params).len()))
        })
        .collect()
}

/// Every `kpos_` function the C++ header calls.
fn cpp_calls() -> BTreeMap<String, usize> {
    let text = read("include/klarna_pos.hpp");
    let mut calls = BTreeMap::new();
    for (i, _) in text.match_indices("kpos_") {
        let rest = &text[i..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if rest[end..].starts_with('(') {
            *calls.entry(rest[..end].to_string()).or_insert(0) += 1;
        }
    }
    calls
}

/// The `kpos_` functions the shared library defines in its dynamic symbol table.
fn exported() -> Vec<String> {
    let library = common::library_dir().join("libklarna_pos.so");
    let out = Command::new(common::tool("nm", "binutils"))
        .args(["-D", "--defined-only"])
        .arg(&library)
        .output()
        .expect("nm runs");
    assert!(out.status.success(), "nm -D {}", library.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            (kind == "T" && name.starts_with("kpos_")).then(|| name.to_string())
        })
        .collect()
}

/// The problems of one binding: header functions it lacks (unless in ABSENT), declarations with
/// another argument count, declarations of functions the header does not have.
fn compare(
    binding: &str,
    header: &BTreeMap<String, usize>,
    declared: &BTreeMap<String, usize>,
    count_args: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, args) in header {
        let absent = ABSENT
            .iter()
            .any(|(b, n, _)| *b == binding && covers(n, name));
        match declared.get(name) {
            None if !absent => problems.push(format!(
                "{binding}: {name} is not declared (declare it, or list it in ABSENT with a reason)"
            )),
            Some(_) if absent => problems.push(format!(
                "{binding}: {name} is declared but listed in ABSENT: remove it from ABSENT"
            )),
            Some(n) if count_args && n != args => problems.push(format!(
                "{binding}: {name} takes {args} arguments in the header but {n} here"
            )),
            _ => {}
        }
    }
    for name in declared.keys().filter(|n| !header.contains_key(*n)) {
        problems.push(format!("{binding}: {name} is not in the header"));
    }
    problems
}

#[test]
fn the_library_exports_exactly_the_headers_functions() {
    let header = header_functions();
    let exported = exported();
    let mut problems = Vec::new();
    for name in header.keys().filter(|n| !exported.contains(n)) {
        problems.push(format!(
            "library: {name} is declared in the header but not exported"
        ));
    }
    for name in exported.iter().filter(|n| !header.contains_key(*n)) {
        problems.push(format!("library: {name} is exported but not in the header"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn python_declares_every_function_with_its_arguments() {
    let problems = compare("Python", &header_functions(), &python_declarations(), true);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn dotnet_declares_every_function_with_its_arguments() {
    let problems = compare(".NET", &header_functions(), &dotnet_declarations(), true);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn java_declares_every_function_with_its_arguments() {
    let declared = java_declarations();
    assert!(
        declared.len() > 40,
        "only {} Java declarations read",
        declared.len()
    );
    let problems = compare("Java", &header_functions(), &declared, true);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The C++ header is compiled against the C header (tests/c_programs.rs), so its argument counts
/// are the compiler's to check; here every function must be called.
#[test]
fn the_cpp_header_calls_every_function() {
    let problems = compare("C++", &header_functions(), &cpp_calls(), false);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn absent_entries_name_real_functions_and_give_reasons() {
    let header = header_functions();
    for (binding, name, reason) in ABSENT {
        assert!(
            header.keys().any(|f| covers(name, f)),
            "ABSENT names {name}, not in the header"
        );
        assert!(reason.len() > 20, "{binding} {name}: give the reason");
    }
}

/// The `_w` functions a VB6 module or a PowerBuilder object declares: name -> argument count,
/// read from each line holding `marker` (`Lib "klarna_pos.dll"`, `LIBRARY "klarna_pos.dll"`).
/// The arguments are the text between the first `(` after the name and its `)`.
fn wide_declarations(text: &str, marker: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    for line in text.lines().filter(|l| l.contains(marker)) {
        let Some(start) = line.find("kpos_") else {
            continue;
        };
        let name: String = line[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = &line[start + name.len()..];
        // VB6: `Lib "klarna_pos.dll" (args)`; PowerBuilder: `name(args) LIBRARY ...`.
        let open = after.find('(').expect("an argument list");
        let close = open + after[open..].find(')').expect("a closed argument list");
        let args = after[open + 1..close].trim();
        let count = if args.is_empty() {
            0
        } else {
            args.split(',').count()
        };
        found.insert(name, count);
    }
    found
}

/// VB6 and PowerBuilder call stdcall functions, which pop their own arguments: a declaration with
/// the wrong number of arguments fails at run time on the till (VB6 error 49 "Bad DLL calling
/// convention"), and both IDEs want CRLF line ends (VB6 reads a module with bare LF line ends as
/// one line). So the two examples declare every `_w` function with the header's argument count,
/// and every line ends in CRLF.
#[test]
fn the_vb6_and_powerbuilder_examples_declare_the_wide_layer_in_crlf_files() {
    let wide: BTreeMap<String, usize> = header_functions()
        .into_iter()
        .filter(|(name, _)| name.ends_with("_w"))
        .collect();
    assert!(wide.len() >= 19, "only {} _w functions read", wide.len());
    for (path, marker) in [
        ("examples/vb6/KlarnaPos.bas", "Lib \"klarna_pos.dll\""),
        (
            "examples/powerbuilder/n_klarna_pos.sru",
            "LIBRARY \"klarna_pos.dll\"",
        ),
    ] {
        let text = read(path);
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "{path}: a line ends without CR"
        );
        let declared = wide_declarations(&text, marker);
        let mut problems = Vec::new();
        for (name, args) in &wide {
            match declared.get(name) {
                None => problems.push(format!("{name} is not declared")),
                Some(n) if n != args => problems.push(format!(
                    "{name} declared with {n} arguments, the header has {args}"
                )),
                Some(_) => {}
            }
        }
        assert!(problems.is_empty(), "{path}:\n{}", problems.join("\n"));
    }
}
