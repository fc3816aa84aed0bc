//! Webhook delivery: Klarna POSTs the status payload to the session's
//! `distribution.callback_urls.status_update` on every change. One worker thread delivers
//! the queued payloads in order (3 s timeout, up to 3 retries with backoff), over `http://` or
//! `https://` (trusting Mozilla's roots plus the certificates of `--webhook-ca`).

use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::state::Sim;
use crate::util;

const TIMEOUT: Duration = Duration::from_secs(3);
const BACKOFF_MS: [u64; 3] = [500, 1000, 2000];

pub struct Job {
    pub session_id: String,
    /// Index of this delivery in the session's webhook records.
    pub index: usize,
    pub url: String,
    pub body: String,
}

/// The HTTP client of the webhook worker. `extra_roots` are PEM certificates trusted besides
/// Mozilla's roots (a test receiver's own CA).
pub fn agent(extra_roots: Option<&[u8]>) -> Result<ureq::Agent, String> {
    let mut roots: Vec<ureq::tls::Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    if let Some(pem) = extra_roots {
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => roots.push(c),
                Ok(_) => {}
                Err(e) => return Err(format!("unreadable PEM: {e}")),
            }
        }
    }
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&roots))
        .build();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(TIMEOUT))
        // One connection per delivery, as receivers often close after answering.
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .user_agent(format!("klarna-pos-sim/{}", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build();
    Ok(config.into())
}

pub fn spawn_worker(sim: Arc<Sim>, agent: ureq::Agent, jobs: Receiver<Job>) {
    thread::Builder::new()
        .name("webhooks".into())
        .spawn(move || {
            for job in jobs {
                deliver(&sim, &agent, &job);
            }
        })
        .expect("spawning the webhook thread");
}

fn deliver(sim: &Sim, agent: &ureq::Agent, job: &Job) {
    for attempt in 0..=BACKOFF_MS.len() {
        if attempt > 0 {
            thread::sleep(Duration::from_millis(BACKOFF_MS[attempt - 1]));
        }
        let (delivered, text) = match post(agent, &job.url, &job.body) {
            Ok(status) => ((200..300).contains(&status), status.to_string()),
            Err(e) => (false, e),
        };
        // The URL is not logged: its query may carry the integrator's secret.
        eprintln!(
            "webhook {} attempt {}: {}",
            job.session_id,
            attempt + 1,
            text
        );
        if let Some(rec) = sim
            .lock()
            .sessions
            .get_mut(&job.session_id)
            .and_then(|s| s.webhooks.get_mut(job.index))
        {
            rec.attempts = attempt as u32 + 1;
            rec.delivered = delivered;
            rec.last_result = Some(text);
        }
        if delivered {
            return;
        }
    }
}

/// One POST; the answer's status code, or why there was none.
fn post(agent: &ureq::Agent, url: &str, body: &str) -> Result<u16, String> {
    agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Klarna-Correlation-Id", util::uuid_v4())
        .send(body)
        .map(|resp| resp.status().as_u16())
        .map_err(|e| match e {
            // The URL, with its query, is the integrator's secret: never repeat it.
            ureq::Error::BadUri(_) => "not a usable callback URL".to_string(),
            other => other.to_string(),
        })
}
