//! `KLARNA_POS_CONFIG`: the path of a JSON configuration file read by `kpos_client_new(NULL, ..)`
//! (the same keys as the JSON a till passes), under the environment's `KLARNA_*` variables.
//! Every error names the file, and the key when one is at fault.

use std::path::{Path, PathBuf};

use serde_json::Value;
use zeroize::Zeroizing;

use super::config::Config;
use super::error::{Error, Result};

/// The variable naming the configuration file.
pub const VARIABLE: &str = "KLARNA_POS_CONFIG";

/// The file `KLARNA_POS_CONFIG` names; `None` when it is unset or empty.
pub fn path_from_env() -> Result<Option<PathBuf>> {
    match std::env::var_os(VARIABLE) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => Ok(Some(PathBuf::from(v))),
    }
}

/// Reads the file, lays the environment's variables over it and parses the result.
pub fn load(path: &Path) -> Result<Config> {
    let in_file = |mut e: Error| {
        e.message = format!("{} {}: {}", VARIABLE, path.display(), e.message);
        e
    };
    // The file may hold the password and the webhook secret: its text is wiped after parsing.
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| Error::invalid_argument(format!("cannot read it: {}", e)))
            .map_err(in_file)?,
    );
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Error::invalid_argument(format!("not valid JSON: {}", e)))
        .map_err(in_file)?;
    let Value::Object(map) = value else {
        return Err(in_file(Error::invalid_argument("must hold a JSON object")));
    };
    Config::from_env_over(map, true).map_err(in_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_key() {
        let dir = std::env::temp_dir().join(format!("kpos-config-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("till.json");
        std::fs::write(
            &file,
            r#"{"api_url":"https://a.example","username":"u","timeout":5}"#,
        )
        .unwrap();
        let e = load(&file).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("timeout"));
        assert!(
            e.message.contains(&file.display().to_string()),
            "{}",
            e.message
        );
        assert!(e.message.contains(VARIABLE), "{}", e.message);
        std::fs::write(&file, "{").unwrap();
        let e = load(&file).unwrap_err();
        assert!(e.message.contains("not valid JSON"), "{}", e.message);
        let e = load(&dir.join("missing.json")).unwrap_err();
        assert!(e.message.contains("missing.json"), "{}", e.message);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
