//! Reads the function declarations of `include/klarna_pos.h`: name, argument count and what
//! precedes the return type (KPOS_API, KPOS_MUST_USE). The header is generated, so a small
//! reader is enough: comments and preprocessor lines are dropped, declarations end at `;`.

/// One function the header declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub name: String,
    pub args: usize,
    /// Everything before the name, whitespace collapsed (`KPOS_API KPOS_MUST_USE kpos_result`).
    pub head: String,
}

/// The header text without comments and preprocessor lines.
fn code_only(header: &str) -> String {
    let mut out = String::new();
    let mut rest = header;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("comment closed") + start + 2;
        rest = &rest[end..];
    }
    out.push_str(rest);
    let mut code = String::new();
    let mut continued = false;
    for line in out.lines() {
        let directive = continued || line.trim_start().starts_with('#');
        continued = directive && line.ends_with('\\');
        if !directive {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

/// Every function declaration of `header`, in order.
pub fn functions(header: &str) -> Vec<Declaration> {
    let code = code_only(header);
    code.split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| s.contains('(') && !s.starts_with("typedef") && !s.contains('{'))
        .map(|decl| {
            let open = decl.find('(').unwrap();
            let close = decl.rfind(')').unwrap();
            let before = decl[..open].trim_end();
            let name_start = before
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let params = decl[open + 1..close].trim();
            let args = if params.is_empty() || params == "void" {
                0
            } else {
                params.split(',').count()
            };
            Declaration {
                name: before[name_start..].to_string(),
                args,
                head: before[..name_start].trim().to_string(),
            }
        })
        .collect()
}
