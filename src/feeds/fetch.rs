//! Fetching one feed document: HTTP(S) with limits and conditional GET, or a
//! local `file://` path.
//!
//! Owns the HTTP clients, the size and time limits, the concurrency bounds
//! (overall and per host) and the address policy for feeds that chat users
//! add. It does not own retries, backoff or feed health: a failed fetch is
//! one [`FetchError`], and the scheduler decides what to do next.
//!
//! Two kinds of callers ask for feeds, see [`Trust`]. The operator's config
//! may name any address and local files. A chat user may only name public
//! http(s) addresses, and that is enforced at every step where an address can
//! sneak in: the URL typed in chat ([`check_feed_url`]), every redirect hop
//! (the redirect policy), and every DNS answer (a resolver that drops
//! private addresses, so DNS rebinding cannot reach `127.0.0.1` either).
//!
//! Proxies: the clients never use the system proxy (`HTTP_PROXY` and
//! friends). A proxy resolves host names itself, which would let a chat
//! user's feed reach the proxy's private network past our DNS filter, and a
//! stray `HTTP_PROXY` would also capture the loopback calls of the test
//! suite (DESIGN.md §6). Deployments that need an egress proxy need a
//! config key of their own, applied to the operator client only.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::{Host, Url};

/// The `User-Agent` of every request, so that publishers can see who polls them.
pub const USER_AGENT: &str = concat!(
    "wirewatch/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/wirewatch/wirewatch)"
);

/// How many redirects a fetch follows before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Feed formats first, then anything: some publishers serve feeds as
/// `text/html` or `text/plain`, and `/test <article URL>` fetches HTML pages.
const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                      application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, \
                      application/json;q=0.8, */*;q=0.5";

/// Connecting should be quick even when the whole request may take longer.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Limits and bounds for fetching feeds.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Time allowed for the whole request, body included (not the wait for a permit).
    pub timeout: Duration,
    /// Largest body accepted, counted while streaming (after decompression)
    /// and for `file://`; a larger `Content-Length` fails before reading.
    pub max_body_bytes: u64,
    /// Fetches in flight at once, over all hosts.
    pub max_concurrent: usize,
    /// Fetches in flight at once to one host (name and port).
    pub max_per_host: usize,
    /// Lets [`Trust::Chat`] feeds reach loopback, private and link-local
    /// addresses (tests and closed networks).
    pub allow_private_addresses: bool,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            timeout: Duration::from_secs(20),
            max_body_bytes: 10 * 1024 * 1024,
            max_concurrent: 16,
            max_per_host: 2,
            allow_private_addresses: false,
        }
    }
}

/// Who asked for the feed, which decides what it may reach.
///
/// `Operator`: the config file; any address, and `file://` URLs.
/// `Chat`: `/feed add` from a chat user; http(s) only, and public addresses
/// only unless [`FetchSettings::allow_private_addresses`] is set, checked on
/// the URL, on every redirect hop and on every DNS answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The operator's own configuration.
    Operator,
    /// A user in a chat.
    Chat,
}

/// What a server told us about the version we hold, sent back on the next
/// poll so that an unchanged feed costs a 304 and no parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validators {
    /// The `ETag` header (for `file://`: a hash of the content).
    pub etag: Option<String>,
    /// The `Last-Modified` header (for `file://`: the file's mtime).
    pub last_modified: Option<String>,
}

/// The result of a successful fetch.
#[derive(Debug)]
pub enum FetchOutcome {
    /// The document has not changed since the validators were issued.
    NotModified,
    /// A new or changed document.
    Fetched(FetchedBody),
}

/// A fetched document, as raw bytes: decoding is the parser's job.
#[derive(Debug)]
pub struct FetchedBody {
    /// The body, decompressed, at most `max_body_bytes` long.
    pub bytes: Bytes,
    /// The `charset` parameter of `Content-Type`, as the server wrote it.
    pub charset: Option<String>,
    /// Validators to send with the next fetch of this feed.
    pub validators: Validators,
    /// The URL after redirects, against which relative links resolve.
    pub final_url: Url,
}

/// Why a fetch failed, in words fit for a chat user.
///
/// The text never contains the URL: feed URLs may carry API keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The text is not a URL at all.
    #[error("not a valid URL: {0}")]
    InvalidUrl(String),
    /// A scheme other than http(s) (or `file` for the operator).
    #[error("unsupported URL scheme \"{0}\"")]
    UnsupportedScheme(String),
    /// An address that the caller's [`Trust`] may not reach.
    #[error("address {0} is private or loopback and is not allowed")]
    PrivateAddress(IpAddr),
    /// A host name that only leads to addresses the caller may not reach.
    #[error("host {host} resolves to {ip}, which is private or loopback and is not allowed")]
    PrivateHost {
        /// The name that was looked up.
        host: String,
        /// The first refused address of the answer.
        ip: IpAddr,
    },
    /// The whole request took longer than [`FetchSettings::timeout`].
    #[error("timed out after {}", describe_duration(.0))]
    TimedOut(Duration),
    /// The body is larger than [`FetchSettings::max_body_bytes`].
    #[error("body larger than the {0}-byte limit")]
    TooLarge(u64),
    /// The server answered with an error or an unexpected status.
    #[error("server answered {}", describe_status(*.0))]
    Status(StatusCode),
    /// The redirect chain was longer than [`MAX_REDIRECTS`].
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// A redirect led back to a URL already visited.
    #[error("redirect loop")]
    RedirectLoop,
    /// No connection could be made (DNS, refused, TLS, connect timeout).
    #[error("could not connect: {0}")]
    Connect(String),
    /// The connection broke or the body could not be decoded.
    #[error("transfer failed: {0}")]
    Transfer(String),
    /// A `file://` URL names a file that does not exist.
    #[error("file not found: {}", .0.display())]
    FileNotFound(std::path::PathBuf),
    /// A `file://` URL names something that cannot be read.
    #[error("could not read file {}: {reason}", path.display())]
    FileRead {
        /// The local path.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// [`FetchSettings`] that cannot work, or a client that cannot be built.
    #[error("fetcher not usable: {0}")]
    Setup(String),
}

/// Fetches feeds within the limits of its [`FetchSettings`]; cheap to clone,
/// and clones share the clients and the concurrency bounds.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    settings: FetchSettings,
    // One client per trust level, because the DNS resolver and redirect
    // policy are fixed when a client is built.
    operator: reqwest::Client,
    chat: reqwest::Client,
    overall: Semaphore,
    // Created on demand and removed when idle, so that the map does not
    // grow with every host ever fetched.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Builds the clients; fails on settings that could never fetch anything.
    pub fn new(settings: FetchSettings) -> Result<Fetcher, FetchError> {
        if settings.timeout.is_zero() {
            return Err(FetchError::Setup("the timeout must be above zero".into()));
        }
        if settings.max_concurrent == 0 || settings.max_per_host == 0 {
            return Err(FetchError::Setup(
                "max_concurrent and max_per_host must be at least 1".into(),
            ));
        }
        let operator = build_client(&settings, Trust::Operator)?;
        let chat = build_client(&settings, Trust::Chat)?;
        let overall = Semaphore::new(settings.max_concurrent.min(Semaphore::MAX_PERMITS));
        Ok(Fetcher {
            inner: Arc::new(Inner {
                settings,
                operator,
                chat,
                overall,
                hosts: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The settings this fetcher was built with.
    pub fn settings(&self) -> &FetchSettings {
        &self.inner.settings
    }

    /// Fetches `url`, sending `validators` as `If-None-Match` /
    /// `If-Modified-Since`; a 304 returns [`FetchOutcome::NotModified`]
    /// without reading a body.
    ///
    /// Waits first for a per-host and then for an overall permit (in that
    /// order, so that a queue for one busy host does not hold overall slots);
    /// the timeout starts once both are held. `file://` URLs (operator only)
    /// are read under the same size cap and timeout.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        trust: Trust,
    ) -> Result<FetchOutcome, FetchError> {
        let settings = &self.inner.settings;
        check_url(url, trust, settings.allow_private_addresses)?;
        let _host_permit = if url.scheme() == "file" {
            None
        } else {
            Some(self.acquire_host(url).await?)
        };
        let _overall_permit = self
            .inner
            .overall
            .acquire()
            .await
            .map_err(|_| FetchError::Setup("the fetcher was shut down".into()))?;

        let work = async {
            if url.scheme() == "file" {
                read_file(url, validators, settings.max_body_bytes).await
            } else {
                self.fetch_http(url, validators, trust).await
            }
        };
        let result = match tokio::time::timeout(settings.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::TimedOut(settings.timeout)),
        };
        match &result {
            Ok(FetchOutcome::NotModified) => {
                tracing::debug!(host = url.host_str(), "feed not modified");
            }
            Ok(FetchOutcome::Fetched(body)) => {
                tracing::debug!(
                    host = url.host_str(),
                    bytes = body.bytes.len(),
                    "feed fetched"
                );
            }
            Err(error) => tracing::debug!(host = url.host_str(), %error, "feed fetch failed"),
        }
        result
    }

    async fn acquire_host(&self, url: &Url) -> Result<HostPermit<'_>, FetchError> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        let semaphore = {
            let mut hosts = self
                .inner
                .hosts
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            hosts
                .entry(key.clone())
                .or_insert_with(|| {
                    Arc::new(Semaphore::new(
                        self.inner.settings.max_per_host.min(Semaphore::MAX_PERMITS),
                    ))
                })
                .clone()
        };
        // The guard exists before the wait, so that a fetch cancelled while
        // queueing still removes an idle entry.
        let mut guard = HostPermit {
            hosts: &self.inner.hosts,
            key,
            semaphore,
            permit: None,
        };
        let permit = guard
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| FetchError::Setup("the fetcher was shut down".into()))?;
        guard.permit = Some(permit);
        Ok(guard)
    }

    async fn fetch_http(
        &self,
        url: &Url,
        validators: &Validators,
        trust: Trust,
    ) -> Result<FetchOutcome, FetchError> {
        let settings = &self.inner.settings;
        let client = match trust {
            Trust::Operator => &self.inner.operator,
            Trust::Chat => &self.inner.chat,
        };
        let mut request = client.get(url.clone());
        // A stored validator that is not a valid header value (it came from a
        // server once) is dropped rather than failing every future poll.
        if let Some(etag) = validators.etag.as_deref().and_then(header_value) {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = validators.last_modified.as_deref().and_then(header_value) {
            request = request.header(header::IF_MODIFIED_SINCE, date);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| from_reqwest(e, settings.timeout))?;

        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status));
        }
        let limit = settings.max_body_bytes;
        let announced = response.content_length();
        if announced.is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge(limit));
        }

        let charset = charset_of(response.headers());
        let new_validators = Validators {
            etag: header_string(response.headers(), header::ETAG),
            last_modified: header_string(response.headers(), header::LAST_MODIFIED),
        };
        let final_url = response.url().clone();

        // Cap the up-front allocation: Content-Length is the server's claim.
        let capacity = announced.unwrap_or(0).min(limit).min(1 << 20);
        let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| from_reqwest(e, settings.timeout))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                // Dropping the response here closes the connection: the
                // rest of the body is never read.
                return Err(FetchError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(FetchedBody {
            bytes: body.freeze(),
            charset,
            validators: new_validators,
            final_url,
        }))
    }
}

/// A per-host permit that also removes the host's semaphore once idle.
struct HostPermit<'a> {
    hosts: &'a Mutex<HashMap<String, Arc<Semaphore>>>,
    key: String,
    semaphore: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for HostPermit<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        // Clones are only taken under this lock, and every waiter or permit
        // holds one, so two references (the map's and ours) mean idle.
        if Arc::strong_count(&self.semaphore) == 2 {
            hosts.remove(&self.key);
        }
    }
}

/// Checks a URL a chat user (or the config) wants to add, without any
/// network access: scheme, host, and an IP-literal host against the address
/// policy. Host names are checked again on every DNS answer when fetching.
pub fn check_feed_url(
    raw: &str,
    trust: Trust,
    allow_private_addresses: bool,
) -> Result<Url, FetchError> {
    let url = Url::parse(raw.trim()).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
    check_url(&url, trust, allow_private_addresses)?;
    Ok(url)
}

/// The checks of [`check_feed_url`] on a parsed URL; run on every fetch too,
/// since stored URLs may predate a config change.
fn check_url(url: &Url, trust: Trust, allow_private: bool) -> Result<(), FetchError> {
    match (url.scheme(), trust) {
        ("http" | "https", _) => check_http_target(url, trust, allow_private),
        ("file", Trust::Operator) => url
            .to_file_path()
            .map(drop)
            .map_err(|()| FetchError::InvalidUrl("file URL does not name a local path".into())),
        (scheme, _) => Err(FetchError::UnsupportedScheme(scheme.to_owned())),
    }
}

/// Checks an http(s) URL, the first one or a redirect hop, against the
/// address policy of `trust`.
fn check_http_target(url: &Url, trust: Trust, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::UnsupportedScheme(url.scheme().to_owned()));
    }
    let host = url
        .host()
        .ok_or_else(|| FetchError::InvalidUrl("the URL has no host".into()))?;
    if trust == Trust::Operator || allow_private {
        return Ok(());
    }
    let ip = match host {
        Host::Ipv4(ip) => IpAddr::V4(ip),
        Host::Ipv6(ip) => IpAddr::V6(ip),
        Host::Domain(name) => {
            // `localhost` never needs DNS to be loopback (RFC 6761), and
            // some resolvers answer it without consulting /etc/hosts.
            let name = name.trim_end_matches('.');
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(FetchError::PrivateAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            }
            return Ok(());
        }
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(FetchError::PrivateAddress(ip))
    }
}

/// Whether `ip` is a globally reachable unicast address. Anything else
/// (loopback, private, link-local, CGNAT, documentation, multicast,
/// reserved, and IPv6 forms that embed such an IPv4 address) is refused for
/// chat feeds.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network"; 0.0.0.0 reaches the local host on Linux
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF assignments, TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // NAT64 and 6to4 addresses lead to the IPv4 address inside them.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    // Only 2000::/3 is global unicast; inside it, refuse the special blocks:
    // 2001::/23 (IETF assignments, Teredo), 2001:db8::/32 and 3fff::/20
    // (documentation).
    let global = s[0] & 0xe000 == 0x2000;
    let special =
        (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8)) || (s[0] == 0x3fff && s[1] < 0x1000);
    global && !special
}

fn build_client(settings: &FetchSettings, trust: Trust) -> Result<reqwest::Client, FetchError> {
    let guarded = trust == Trust::Chat && !settings.allow_private_addresses;
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(USER_AGENT)
        .default_headers(headers)
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .redirect(redirect_policy(trust, settings.allow_private_addresses))
        // The previous URL may carry a key meant for the first host only.
        .referer(false)
        .no_proxy()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(MAX_CONNECT_TIMEOUT));
    if guarded {
        builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
    }
    builder
        .build()
        .map_err(|e| FetchError::Setup(root_cause(&e)))
}

/// At most [`MAX_REDIRECTS`] hops, no loops, http(s) only, and for chat
/// feeds no IP-literal hop to a private address (names are left to the
/// resolver, which sees every hop's DNS answer).
fn redirect_policy(trust: Trust, allow_private: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` starts with the original URL, which is not a redirect.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(FetchError::TooManyRedirects(MAX_REDIRECTS));
        }
        if attempt.previous().contains(attempt.url()) {
            return attempt.error(FetchError::RedirectLoop);
        }
        match check_http_target(attempt.url(), trust, allow_private) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// Resolves names like the system does, then drops every non-public
/// address, so that a chat feed's host cannot point at our own network.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let answers: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let refused = answers
                .iter()
                .map(SocketAddr::ip)
                .find(|ip| !is_public(*ip));
            let public: Vec<SocketAddr> = answers
                .into_iter()
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if public.is_empty() {
                let error: Box<dyn StdError + Send + Sync> = match refused {
                    Some(ip) => Box::new(FetchError::PrivateHost { host, ip }),
                    None => format!("no addresses found for {host}").into(),
                };
                return Err(error);
            }
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// Turns a reqwest error into our words, without the URL it carries.
fn from_reqwest(error: reqwest::Error, timeout: Duration) -> FetchError {
    let error = error.without_url();
    // Our own refusals (redirect policy, resolver) travel inside the chain.
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(ours) = current.downcast_ref::<FetchError>() {
            return ours.clone();
        }
        cause = current.source();
    }
    if error.is_timeout() {
        FetchError::TimedOut(timeout)
    } else if error.is_connect() {
        FetchError::Connect(root_cause(&error))
    } else {
        FetchError::Transfer(root_cause(&error))
    }
}

/// The innermost message, which is the one that says what happened
/// ("Connection refused", "invalid peer certificate: …").
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

async fn read_file(
    url: &Url,
    validators: &Validators,
    limit: u64,
) -> Result<FetchOutcome, FetchError> {
    let path = url
        .to_file_path()
        .map_err(|()| FetchError::InvalidUrl("file URL does not name a local path".into()))?;
    let file_error = |e: std::io::Error| file_error(&path, e);
    let file = tokio::fs::File::open(&path).await.map_err(file_error)?;
    let metadata = file.metadata().await.map_err(file_error)?;
    if metadata.is_dir() {
        return Err(FetchError::FileRead {
            path,
            reason: "it is a directory".into(),
        });
    }
    if metadata.len() > limit {
        return Err(FetchError::TooLarge(limit));
    }
    // Read one byte past the limit: the size may have changed since
    // `metadata`, and devices and pipes report no size at all.
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .map_err(file_error)?;
    if bytes.len() as u64 > limit {
        return Err(FetchError::TooLarge(limit));
    }
    // A content hash rather than the mtime: two writes within the mtime's
    // granularity must not look unchanged.
    let etag = content_etag(&bytes);
    if validators.etag.as_deref() == Some(etag.as_str()) {
        return Ok(FetchOutcome::NotModified);
    }
    let last_modified = metadata.modified().ok().map(|time| {
        chrono::DateTime::<chrono::Utc>::from(time)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    });
    Ok(FetchOutcome::Fetched(FetchedBody {
        bytes: Bytes::from(bytes),
        charset: None,
        validators: Validators {
            etag: Some(etag),
            last_modified,
        },
        final_url: url.clone(),
    }))
}

fn file_error(path: &Path, error: std::io::Error) -> FetchError {
    if error.kind() == std::io::ErrorKind::NotFound {
        FetchError::FileNotFound(path.to_owned())
    } else {
        FetchError::FileRead {
            path: path.to_owned(),
            reason: error.to_string(),
        }
    }
}

fn content_etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"sha256-{hex}\"")
}

fn header_value(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The `charset` parameter of `Content-Type`, unquoted.
fn charset_of(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    content_type
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
}

fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// "20 s", "1.5 s", "300 ms": how a person would say the limit.
fn describe_duration(duration: &Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis.is_multiple_of(1000) {
        format!("{} s", millis / 1000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test IP parses")
    }

    #[test]
    fn non_public_addresses_are_refused() {
        for text in [
            "0.0.0.0",
            "10.0.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            "2001::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(text)), "{text} must not count as public");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "151.101.0.81",
            "2606:4700:4700::1111",
            "2a00:1450:4009::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::",
        ] {
            assert!(is_public(ip(text)), "{text} must count as public");
        }
    }

    #[test]
    fn chat_redirect_hops_to_private_literals_are_refused() {
        let hop = Url::parse("http://10.0.0.1/feed").expect("valid");
        assert_eq!(
            check_http_target(&hop, Trust::Chat, false),
            Err(FetchError::PrivateAddress(ip("10.0.0.1")))
        );
        assert_eq!(check_http_target(&hop, Trust::Chat, true), Ok(()));
        assert_eq!(check_http_target(&hop, Trust::Operator, false), Ok(()));
        let file = Url::parse("file:///etc/passwd").expect("valid");
        assert_eq!(
            check_http_target(&file, Trust::Operator, true),
            Err(FetchError::UnsupportedScheme("file".into()))
        );
    }

    #[test]
    fn localhost_names_are_refused_for_chat_without_dns() {
        for raw in [
            "http://localhost/",
            "http://LOCALHOST./x",
            "http://a.b.localhost:8080/",
        ] {
            assert!(
                matches!(
                    check_feed_url(raw, Trust::Chat, false),
                    Err(FetchError::PrivateAddress(_))
                ),
                "{raw}"
            );
        }
        assert!(check_feed_url("http://localhost.example.com/", Trust::Chat, false).is_ok());
    }

    #[test]
    fn obfuscated_ipv4_literals_are_normalised_before_the_check() {
        // The URL parser reads these as 127.0.0.1, and so must the check.
        for raw in ["http://2130706433/", "http://0x7f.1/", "http://127.1/"] {
            assert_eq!(
                check_feed_url(raw, Trust::Chat, false),
                Err(FetchError::PrivateAddress(ip("127.0.0.1"))),
                "{raw}"
            );
        }
    }

    #[test]
    fn charset_is_read_from_content_type() {
        let cases = [
            (
                "application/rss+xml; charset=ISO-8859-1",
                Some("ISO-8859-1"),
            ),
            ("text/xml;Charset=\"utf-8\"", Some("utf-8")),
            (
                "text/xml; format=flowed; charset=windows-1251",
                Some("windows-1251"),
            ),
            ("application/xml", None),
            ("text/xml; charset=", None),
        ];
        for (content_type, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            assert_eq!(charset_of(&headers).as_deref(), expected, "{content_type}");
        }
    }

    #[test]
    fn messages_read_plainly() {
        assert_eq!(
            FetchError::TimedOut(Duration::from_secs(20)).to_string(),
            "timed out after 20 s"
        );
        assert_eq!(
            FetchError::TimedOut(Duration::from_millis(300)).to_string(),
            "timed out after 300 ms"
        );
        assert_eq!(
            FetchError::TimedOut(Duration::from_millis(1500)).to_string(),
            "timed out after 1.5 s"
        );
        assert_eq!(
            FetchError::Status(StatusCode::INTERNAL_SERVER_ERROR).to_string(),
            "server answered 500 Internal Server Error"
        );
        assert_eq!(
            FetchError::Status(StatusCode::from_u16(599).expect("valid")).to_string(),
            "server answered 599"
        );
        assert_eq!(
            FetchError::TooLarge(10_485_760).to_string(),
            "body larger than the 10485760-byte limit"
        );
        assert_eq!(
            FetchError::PrivateAddress(ip("127.0.0.1")).to_string(),
            "address 127.0.0.1 is private or loopback and is not allowed"
        );
        assert_eq!(
            FetchError::UnsupportedScheme("ftp".into()).to_string(),
            "unsupported URL scheme \"ftp\""
        );
    }

    /// A loopback server that answers every request with a 302 to
    /// `http://{host}:{its port}/feed`; returns its own URL.
    async fn redirecting_server(host: &'static str) -> Url {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("local address").port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 302 Found\r\nLocation: http://{host}:{port}/feed\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = socket.write_all(response.as_bytes()).await;
            }
        });
        Url::parse(&format!("http://127.0.0.1:{port}/feed")).expect("valid URL")
    }

    /// The chat client with the address policy on, bypassing the URL check
    /// as a public first hop would.
    async fn fetch_as_chat(url: &Url) -> Result<FetchOutcome, FetchError> {
        let fetcher = Fetcher::new(FetchSettings {
            timeout: Duration::from_secs(5),
            ..FetchSettings::default()
        })
        .expect("fetcher builds");
        fetcher
            .fetch_http(url, &Validators::default(), Trust::Chat)
            .await
    }

    #[tokio::test]
    async fn chat_redirects_to_private_addresses_are_not_followed() {
        // Were a hop followed, it would hit a closed loopback port and fail
        // with a connect error instead.
        let cases = [
            ("127.0.0.2", ip("127.0.0.2")),
            ("[::1]", ip("::1")),
            ("localhost", ip("127.0.0.1")),
        ];
        for (host, refused) in cases {
            let url = redirecting_server(host).await;
            let error = fetch_as_chat(&url).await.expect_err("redirect refused");
            assert_eq!(error, FetchError::PrivateAddress(refused));
        }
    }

    #[tokio::test]
    async fn idle_hosts_are_forgotten() {
        // The server redirects to its own URL: one request, then a loop error.
        let url = redirecting_server("127.0.0.1").await;
        let fetcher = Fetcher::new(FetchSettings::default()).expect("fetcher builds");
        let result = fetcher
            .fetch(&url, &Validators::default(), Trust::Operator)
            .await;
        assert_eq!(result.err(), Some(FetchError::RedirectLoop));
        let hosts = fetcher.inner.hosts.lock().expect("not poisoned");
        assert!(hosts.is_empty(), "{:?}", hosts.keys().collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn the_chat_resolver_drops_private_answers() {
        // `localhost` resolves from /etc/hosts, without the network; the
        // static name check is skipped here, as for a name rebound to
        // 127.0.0.1 by its DNS server.
        let url = Url::parse("http://localhost:9/feed").expect("valid URL");
        match fetch_as_chat(&url).await {
            Err(FetchError::PrivateHost { host, ip }) => {
                assert_eq!(host, "localhost");
                assert!(ip.is_loopback(), "{ip}");
            }
            other => panic!("expected PrivateHost, got {other:?}"),
        }
    }

    #[test]
    fn user_agent_names_the_version() {
        assert!(USER_AGENT.starts_with(concat!("wirewatch/", env!("CARGO_PKG_VERSION"), " (+")));
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let zero_host = FetchSettings {
            max_per_host: 0,
            ..FetchSettings::default()
        };
        assert!(matches!(Fetcher::new(zero_host), Err(FetchError::Setup(_))));
        let zero_time = FetchSettings {
            timeout: Duration::ZERO,
            ..FetchSettings::default()
        };
        assert!(matches!(Fetcher::new(zero_time), Err(FetchError::Setup(_))));
    }
}
