//! Which certificates a client trusts: the operating system's store, the bundled Mozilla roots,
//! or both (the `trust_store` key), plus the certificates of `ca_file`.
//!
//! On Linux and the BSDs the system store is the distribution's PEM bundle (the first of
//! [`UNIX_BUNDLES`] that exists), or the PEM file `SSL_CERT_FILE` names, or else the PEM files
//! of the directory `SSL_CERT_DIR` names. Elsewhere (Windows: the machine's certificate store; macOS: the keychain) the
//! store is read by `rustls-native-certs`.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use ureq::tls::{Certificate, PemItem, RootCerts};

use super::error::{Error, Result};
use super::log::{log, Level};

/// The `trust_store` configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustStore {
    /// The system's store and the bundled Mozilla roots (the default).
    #[default]
    Both,
    /// Only the system's store.
    System,
    /// Only the bundled Mozilla roots.
    Mozilla,
}

impl TrustStore {
    pub fn parse(value: &str) -> Option<TrustStore> {
        match value {
            "system+mozilla" => Some(TrustStore::Both),
            "system" => Some(TrustStore::System),
            "mozilla" => Some(TrustStore::Mozilla),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TrustStore::Both => "system+mozilla",
            TrustStore::System => "system",
            TrustStore::Mozilla => "mozilla",
        }
    }
}

/// Where Linux distributions and the BSDs keep their CA bundle (Debian/Ubuntu, Fedora/RHEL,
/// openSUSE, Alpine/Arch, FreeBSD).
#[cfg(all(unix, not(target_os = "macos")))]
const UNIX_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
];

/// The roots of a client and a description of where they came from, for logs and the health
/// check.
pub struct Roots {
    pub certs: Vec<Certificate<'static>>,
    pub description: String,
}

/// Collects the roots for `trust_store` and `ca_file`. A `ca_file` that cannot be read, or a
/// store restricted to `system` where none is found, is a configuration error; a system store
/// missing beside the Mozilla roots is only logged.
pub fn roots(store: TrustStore, ca_file: Option<&Path>) -> Result<Roots> {
    let mut certs = Vec::new();
    let mut parts = Vec::new();
    if let Some(path) = ca_file {
        let n = read_ca_file(path, &mut certs)?;
        parts.push(format!("{} from ca_file {}", n, path.display()));
    }
    if store != TrustStore::Mozilla {
        match system_roots() {
            Ok((found, source)) if !found.is_empty() => {
                parts.push(format!(
                    "{} from the system store ({})",
                    found.len(),
                    source
                ));
                certs.extend(found);
            }
            Ok((_, source)) => {
                let msg = format!(
                    "the system certificate store ({}) holds no certificate",
                    source
                );
                if store == TrustStore::System {
                    return Err(Error::bad_config("trust_store", msg));
                }
                log!(Level::Warn, "{}; trusting the bundled Mozilla roots", msg);
            }
            Err(msg) => {
                if store == TrustStore::System {
                    return Err(Error::bad_config("trust_store", msg));
                }
                log!(Level::Warn, "{}; trusting the bundled Mozilla roots", msg);
            }
        }
    }
    if store != TrustStore::System {
        let before = certs.len();
        certs.extend(mozilla_roots());
        parts.push(format!("{} bundled Mozilla roots", certs.len() - before));
    }
    Ok(Roots {
        certs,
        description: parts.join(", "),
    })
}

/// The root store of the last client, with what it was made from.
pub struct Cached {
    made_from: (TrustStore, Option<PathBuf>, [Option<std::ffi::OsString>; 2]),
    roots: RootCerts,
    description: String,
}

/// The root store clients share: made once per process (again only when `trust_store`,
/// `ca_file`, `SSL_CERT_FILE` or `SSL_CERT_DIR` differ), since clients are created often and the
/// system store is large and rarely changes. Held across `fork` by the fork handlers
/// (registered by the C boundary), so a child never finds it locked.
pub static SHARED_ROOTS: LazyLock<Mutex<Option<Cached>>> = LazyLock::new(|| Mutex::new(None));

/// [`roots`] as the store a client's TLS configuration takes, shared between clients made from
/// the same settings; also its description.
pub fn shared_roots(store: TrustStore, ca_file: Option<&Path>) -> Result<(RootCerts, String)> {
    let made_from = (
        store,
        ca_file.map(Path::to_path_buf),
        ["SSL_CERT_FILE", "SSL_CERT_DIR"].map(std::env::var_os),
    );
    let mut cache = SHARED_ROOTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = cache.as_ref().filter(|c| c.made_from == made_from) {
        return Ok((c.roots.clone(), c.description.clone()));
    }
    let found = roots(store, ca_file)?;
    let roots = RootCerts::new_with_certs(&found.certs);
    *cache = Some(Cached {
        made_from,
        roots: roots.clone(),
        description: found.description.clone(),
    });
    Ok((roots, found.description))
}

/// Mozilla's root certificates (the `webpki-root-certs` crate), borrowed from the library's
/// read-only data.
fn mozilla_roots() -> impl Iterator<Item = Certificate<'static>> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()))
}

/// The certificates of `ca_file` (for TLS-inspecting store proxies).
fn read_ca_file(path: &Path, into: &mut Vec<Certificate<'static>>) -> Result<usize> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::bad_config("ca_file", format!("cannot read {}: {}", path.display(), e))
    })?;
    let n = parse_certificates(&pem, into)
        .map_err(|e| Error::bad_config("ca_file", format!("unreadable PEM: {}", e)))?;
    if n == 0 {
        return Err(Error::bad_config("ca_file", "contains no PEM certificate"));
    }
    Ok(n)
}

/// Appends the certificates of a PEM text; other PEM items (keys, CRLs) are skipped.
fn parse_certificates(
    pem: &[u8],
    into: &mut Vec<Certificate<'static>>,
) -> std::result::Result<usize, String> {
    let before = into.len();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(c)) => into.push(c),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(into.len() - before)
}

/// The system store's certificates and where they were read from.
#[cfg(all(unix, not(target_os = "macos")))]
fn system_roots() -> std::result::Result<(Vec<Certificate<'static>>, String), String> {
    let env_path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let mut certs = Vec::new();
    let mut sources = Vec::new();
    let file = env_path("SSL_CERT_FILE");
    // The directory only without a file: it usually holds the bundle's certificates once more,
    // one file each, and reading hundreds of files for every client is slow.
    let dir = if file.is_none() {
        env_path("SSL_CERT_DIR")
    } else {
        None
    };
    if file.is_none() && dir.is_none() {
        let Some(bundle) = UNIX_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) else {
            return Err(format!(
                "no system certificate bundle found (looked for {})",
                UNIX_BUNDLES.join(", ")
            ));
        };
        read_bundle(bundle, &mut certs)?;
        return Ok((certs, bundle.display().to_string()));
    }
    if let Some(file) = file {
        read_bundle(&file, &mut certs)?;
        sources.push(format!("SSL_CERT_FILE {}", file.display()));
    }
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| format!("cannot read SSL_CERT_DIR {}: {}", dir.display(), e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        paths.sort_unstable();
        for path in paths {
            // A directory of hashed links holds other files too: unreadable ones are skipped.
            let _ = read_bundle(&path, &mut certs);
        }
        sources.push(format!("SSL_CERT_DIR {}", dir.display()));
    }
    Ok((certs, sources.join(" and ")))
}

#[cfg(all(unix, not(target_os = "macos")))]
fn read_bundle(
    path: &Path,
    into: &mut Vec<Certificate<'static>>,
) -> std::result::Result<(), String> {
    let pem = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the certificate bundle {}: {}",
            path.display(),
            e
        )
    })?;
    parse_certificates(&pem, into).map(|_| ()).map_err(|e| {
        format!(
            "the certificate bundle {} is not PEM: {}",
            path.display(),
            e
        )
    })
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn system_roots() -> std::result::Result<(Vec<Certificate<'static>>, String), String> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        if let Some(e) = found.errors.first() {
            return Err(format!(
                "the system certificate store cannot be read: {}",
                e
            ));
        }
    }
    let certs = found
        .certs
        .into_iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    Ok((
        certs,
        "the operating system's certificate store".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mozilla_only_needs_no_system_store() {
        let r = roots(TrustStore::Mozilla, None).unwrap();
        assert!(r.certs.len() > 100);
        assert!(r.description.contains("Mozilla"));
        assert!(!r.description.contains("system"));
    }

    #[test]
    fn names_parse_and_print_back() {
        for s in [TrustStore::Both, TrustStore::System, TrustStore::Mozilla] {
            assert_eq!(TrustStore::parse(s.name()), Some(s));
        }
        assert_eq!(TrustStore::parse("os"), None);
    }
}
