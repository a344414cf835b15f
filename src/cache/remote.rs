//! The remote store: a server speaking the Turborepo remote cache HTTP API
//! (`GET`/`PUT /v8/artifacts/:hash?teamId=TEAM`, `Authorization: Bearer TOKEN`), such as
//! the self-hosted `turborepo-remote-cache`. Artifacts are signed as turbo signs them:
//! `x-artifact-tag` is the base64 HMAC-SHA256, keyed by `CARGO_TEK_CACHE_SIGNATURE_KEY`,
//! of the hash, the team id and the body. With a key, a read artifact whose tag is
//! missing or wrong is a miss, with a warning: a store anyone could write to must not
//! decide what passed.
//!
//! The scheduler asks from its own thread; these calls wait for the answer on the
//! runtime (`block_in_place`), with a timeout, so a slow server slows a lookup, never
//! hangs the run.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use sha2::Sha256;

/// The variable holding the bearer token.
pub(crate) const TOKEN_VAR: &str = "CARGO_TEK_CACHE_TOKEN";
/// The variable holding the signing key.
pub(crate) const KEY_VAR: &str = "CARGO_TEK_CACHE_SIGNATURE_KEY";

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest artifact read: a task's logs, bounded so a hostile server cannot fill
/// the memory.
const MAX_ARTIFACT: usize = 256 * 1024 * 1024;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// How to reach the remote store.
#[derive(Clone)]
pub(crate) struct Remote {
    /// The URL as given, without a trailing `/`.
    pub(crate) url: String,
    token: Option<String>,
    team: String,
    key: Option<Vec<u8>>,
    /// Whether passes are written to it (pull requests only read, see action.yml).
    pub(crate) write: bool,
    client: Client<Https, Full<Bytes>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token or the key.
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("team", &self.team)
            .field("signed", &self.key.is_some())
            .field("write", &self.write)
            .finish()
    }
}

/// What the remote store said to a read.
#[derive(Debug)]
pub(crate) enum Read {
    Found(Vec<u8>),
    Missing,
    /// Not to be trusted, or the server failed: a miss, and why.
    Refused(String),
}

/// The remote store's settings.
pub(crate) struct Settings {
    pub(crate) url: String,
    pub(crate) token: Option<String>,
    pub(crate) team: String,
    pub(crate) key: Option<String>,
    pub(crate) write: bool,
}

impl Remote {
    pub(crate) fn new(settings: Settings) -> Result<Self, String> {
        let url = settings.url.trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("--cache-url {url}: an http:// or https:// URL"));
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no TLS root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        Ok(Self {
            url,
            token: settings.token.filter(|t| !t.is_empty()),
            team: settings.team,
            key: settings
                .key
                .filter(|k| !k.is_empty())
                .map(String::into_bytes),
            write: settings.write,
            client,
        })
    }

    fn uri(&self, hash: &str) -> String {
        let team: String =
            percent_encoding::utf8_percent_encode(&self.team, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        format!("{}/v8/artifacts/{hash}?teamId={team}", self.url)
    }

    fn request(&self, method: hyper::Method, hash: &str) -> http::request::Builder {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(self.uri(hash))
            .header(
                "user-agent",
                concat!("cargo-tek/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder
    }

    /// The artifact stored under `hash`, verified.
    pub(crate) fn get(&self, hash: &str) -> Read {
        let request = match self.request(hyper::Method::GET, hash).body(Full::default()) {
            Ok(r) => r,
            Err(e) => return Read::Refused(e.to_string()),
        };
        let answer = block_on(async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let tag = response
                .headers()
                .get("x-artifact-tag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = http_body_util::Limited::new(response.into_body(), MAX_ARTIFACT)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, tag, body))
        });
        let (status, tag, body) = match answer {
            Ok(answer) => answer,
            Err(why) => return Read::Refused(format!("{}: {why}", self.url)),
        };
        match status.as_u16() {
            200 => {}
            404 => return Read::Missing,
            code => return Read::Refused(format!("{} answered {code}", self.url)),
        }
        if let Some(key) = &self.key {
            match tag {
                None => {
                    return Read::Refused(format!(
                        "the artifact {hash} is unsigned, and {KEY_VAR} asks for signed ones"
                    ))
                }
                Some(tag) if !verify(key, hash, &self.team, &body, &tag) => {
                    return Read::Refused(format!(
                        "the signature of the artifact {hash} does not verify with {KEY_VAR}"
                    ))
                }
                Some(_) => {}
            }
        }
        Read::Found(body.to_vec())
    }

    /// Stores `body` under `hash`, signed when there is a key.
    pub(crate) fn put(&self, hash: &str, body: Vec<u8>) -> Result<(), String> {
        let mut builder = self
            .request(hyper::Method::PUT, hash)
            .header("content-type", "application/octet-stream");
        if let Some(key) = &self.key {
            builder = builder.header("x-artifact-tag", tag(key, hash, &self.team, &body));
        }
        let request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let status = block_on(async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(response.status())
        })?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "{} answered {} to the upload",
                self.url,
                status.as_u16()
            ))
        }
    }
}

/// Runs `future` to its end from synchronous code on a runtime worker, within
/// [`TIMEOUT`].
fn block_on<T>(future: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    let timed = async {
        tokio::time::timeout(TIMEOUT, future)
            .await
            .unwrap_or_else(|_| Err(format!("no answer in {}s", TIMEOUT.as_secs())))
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => tokio::task::block_in_place(|| handle.block_on(timed)),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(timed),
    }
}

fn mac(key: &[u8], hash: &str, team: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(hash.as_bytes());
    mac.update(team.as_bytes());
    mac.update(body);
    mac
}

/// The `x-artifact-tag` of `body`.
fn tag(key: &[u8], hash: &str, team: &str, body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(key, hash, team, body).finalize().into_bytes())
}

/// Whether `tag` is `body`'s, compared in constant time.
fn verify(key: &[u8], hash: &str, team: &str, body: &[u8], tag: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(tag.trim()) else {
        return false;
    };
    mac(key, hash, team, body).verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_binds_the_key_the_hash_the_team_and_the_body() {
        let t = tag(b"k", "h", "team", b"body");
        assert!(verify(b"k", "h", "team", b"body", &t));
        assert!(!verify(b"other", "h", "team", b"body", &t));
        assert!(!verify(b"k", "h2", "team", b"body", &t));
        assert!(!verify(b"k", "h", "team2", b"body", &t));
        assert!(!verify(b"k", "h", "team", b"bodY", &t));
        assert!(!verify(b"k", "h", "team", b"body", "not base64!"));
    }
}
