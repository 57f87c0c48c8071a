//! A loopback HTTP server that serves feed documents the way real publishers
//! do (strong ETags, Last-Modified, 304s) and misbehaves on request (errors,
//! slow or huge bodies, gzip, redirects and redirect loops).
//!
//! Tests publish and replace documents at runtime and then look at what the
//! server saw: request counts, the last request's headers, how many
//! responses were in flight at once, and whether a body was sent in full.
//!
//! ```ignore
//! let server = FeedServer::start().await;
//! server.set("/world.xml", RSS, "application/rss+xml");
//! let url = server.url("/world.xml");            // http://127.0.0.1:PORT/world.xml
//! server.fail("/down.xml", 500);                 // 500 until `restore`
//! server.redirect("/old.xml", "/world.xml");     // 302
//! let real = server.serve_dir("/real", "../shared/data/feeds/real")?;
//! assert_eq!(server.requests("/world.xml"), 1);
//! ```
//!
//! Behaviours stick to a path until [`FeedServer::restore`]; [`FeedServer::set`]
//! only replaces the document, so a failing feed keeps failing while its
//! content changes.

// Each test module uses a different part of this API.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

/// With [`FeedServer::slow`], documents trickle out in pieces this big.
pub const SLOW_CHUNK_BYTES: usize = 64;

/// How long [`FeedServer::body_ends`] waits before failing the test.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

const FILLER_CHUNK: usize = 64 * 1024;
static FILLER: [u8; FILLER_CHUNK] = [b'x'; FILLER_CHUNK];

/// How one response body ended, as the server saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyEnd {
    /// Bytes handed to the connection (an upper bound on what the client read).
    pub bytes_sent: u64,
    /// Whether the whole body was sent; `false` means the client went away.
    pub complete: bool,
}

/// The fake feed server; it stops when dropped.
pub struct FeedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    paths: Mutex<HashMap<String, PathState>>,
    // Bumped whenever a body ends, so that tests can wait without sleeping.
    body_ended: watch::Sender<u64>,
}

#[derive(Default)]
struct PathState {
    document: Option<Document>,
    mode: Mode,
    gzip: bool,
    chunk_delay: Option<Duration>,
    requests: usize,
    last_headers: Option<HeaderMap>,
    in_flight: usize,
    max_in_flight: usize,
    body_ends: Vec<BodyEnd>,
}

#[derive(Clone)]
struct Document {
    body: Bytes,
    content_type: String,
    etag: String,
    last_modified_secs: u64,
}

#[derive(Clone, Default)]
enum Mode {
    #[default]
    Serve,
    Fail(StatusCode),
    Redirect(String),
    Huge {
        len: u64,
        content_length: bool,
    },
}

impl FeedServer {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start() -> FeedServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake feed server on loopback");
        let addr = listener
            .local_addr()
            .expect("local address of the listener");
        let shared = Arc::new(Shared {
            paths: Mutex::new(HashMap::new()),
            body_ended: watch::Sender::new(0),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            // Serving ends only when the task is aborted on drop.
            let _ = axum::serve(listener, app).await;
        });
        FeedServer { addr, shared, task }
    }

    /// The server's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The absolute URL of `path` (which must start with `/`) on this server.
    pub fn url(&self, path: &str) -> Url {
        check_path(path);
        Url::parse(&format!("http://{}{path}", self.addr)).expect("a valid URL for the path")
    }

    /// Publishes or replaces the document at `path`. Its strong ETag is a
    /// hash of the body, and its Last-Modified is now, always later than the
    /// previous version's (so that a change within a second is still seen).
    pub fn set(&self, path: &str, body: impl Into<Bytes>, content_type: &str) {
        check_path(path);
        let body = body.into();
        let mut paths = self.lock();
        let state = paths.entry(path.to_owned()).or_default();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let previous = state.document.as_ref().map_or(0, |d| d.last_modified_secs);
        state.document = Some(Document {
            etag: strong_etag(&body),
            body,
            content_type: content_type.to_owned(),
            last_modified_secs: now.max(previous + 1),
        });
    }

    /// Serves every regular file of `dir` under `prefix/<file name>`, with a
    /// content type from the extension; returns their URLs sorted by name.
    pub fn serve_dir(&self, prefix: &str, dir: impl AsRef<Path>) -> std::io::Result<Vec<Url>> {
        check_path(prefix);
        let prefix = prefix.trim_end_matches('/');
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir.as_ref())? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        let mut urls = Vec::with_capacity(names.len());
        for name in names {
            let body = std::fs::read(dir.as_ref().join(&name))?;
            let path = format!("{prefix}/{name}");
            self.set(&path, body, content_type_for(&name));
            urls.push(self.url(&path));
        }
        Ok(urls)
    }

    /// Answers every request for `path` with `status` and a short text body.
    pub fn fail(&self, path: &str, status: u16) {
        let status = StatusCode::from_u16(status).expect("a valid HTTP status");
        self.update(path, |state| state.mode = Mode::Fail(status));
    }

    /// Answers `from` with a 302 to `to`: a path on this server or an absolute URL.
    pub fn redirect(&self, from: &str, to: &str) {
        self.update(from, |state| state.mode = Mode::Redirect(to.to_owned()));
    }

    /// Sends `path`'s body in [`SLOW_CHUNK_BYTES`] pieces, waiting `delay`
    /// before each one; headers go out at once.
    pub fn slow(&self, path: &str, delay: Duration) {
        self.update(path, |state| state.chunk_delay = Some(delay));
    }

    /// gzip-encodes `path`'s document (with `Content-Encoding: gzip`) for
    /// requests whose `Accept-Encoding` allows it.
    pub fn gzip(&self, path: &str) {
        self.update(path, |state| state.gzip = true);
    }

    /// Streams `len` filler bytes at `path` without a `Content-Length`.
    pub fn huge(&self, path: &str, len: u64) {
        self.update(path, |state| {
            state.mode = Mode::Huge {
                len,
                content_length: false,
            }
        });
    }

    /// Streams `len` filler bytes at `path` with an honest `Content-Length`.
    pub fn huge_with_length(&self, path: &str, len: u64) {
        self.update(path, |state| {
            state.mode = Mode::Huge {
                len,
                content_length: true,
            }
        });
    }

    /// Drops every behaviour of `path`: its document is served plainly again.
    pub fn restore(&self, path: &str) {
        self.update(path, |state| {
            state.mode = Mode::Serve;
            state.gzip = false;
            state.chunk_delay = None;
        });
    }

    /// How many requests `path` has received.
    pub fn requests(&self, path: &str) -> usize {
        self.lock().get(path).map_or(0, |state| state.requests)
    }

    /// The headers of the last request for `path`.
    pub fn last_request_headers(&self, path: &str) -> Option<HeaderMap> {
        self.lock()
            .get(path)
            .and_then(|state| state.last_headers.clone())
    }

    /// The most responses for `path` that were in flight at once, counted
    /// from the request's arrival to the end of its body.
    pub fn max_in_flight(&self, path: &str) -> usize {
        self.lock().get(path).map_or(0, |state| state.max_in_flight)
    }

    /// Waits until `count` response bodies for `path` have ended (sent in
    /// full or abandoned by the client) and returns how each one ended.
    /// Panics after 10 s, so a test cannot hang here.
    pub async fn body_ends(&self, path: &str, count: usize) -> Vec<BodyEnd> {
        let mut changes = self.shared.body_ended.subscribe();
        let enough = changes.wait_for(|_| {
            self.lock()
                .get(path)
                .is_some_and(|state| state.body_ends.len() >= count)
        });
        match tokio::time::timeout(WAIT_LIMIT, enough).await {
            Ok(Ok(_)) => {}
            _ => panic!("{count} bodies for {path} did not end within {WAIT_LIMIT:?}"),
        }
        self.lock()
            .get(path)
            .map(|state| state.body_ends.clone())
            .unwrap_or_default()
    }

    fn update(&self, path: &str, change: impl FnOnce(&mut PathState)) {
        check_path(path);
        change(self.lock().entry(path.to_owned()).or_default());
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, PathState>> {
        self.shared.lock()
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, PathState>> {
        // A panicking test thread must not hide its own failure behind ours.
        self.paths
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn check_path(path: &str) {
    assert!(
        path.starts_with('/'),
        "fake feed server paths start with '/': {path:?}"
    );
}

fn strong_etag(body: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    format!("\"{:016x}\"", hasher.finish())
}

fn content_type_for(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("xml" | "rss" | "rdf" | "atom") => "application/xml",
        Some("json") => "application/json",
        Some("html" | "htm") => "text/html",
        _ => "text/plain",
    }
}

fn http_date(secs: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(0), 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn parse_http_date(text: &str) -> Option<u64> {
    let date = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    u64::try_from(date.timestamp()).ok()
}

/// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2).
fn none_match_hits(header: &str, etag: &str) -> bool {
    let ours = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == ours)
}

/// What to send, decided under the lock and sent after it.
struct Plan {
    status: StatusCode,
    headers: HeaderMap,
    body: Chunks,
    delay: Option<Duration>,
}

enum Chunks {
    Bytes { data: Bytes, piece: usize },
    Filler { remaining: u64 },
}

impl Chunks {
    fn empty() -> Chunks {
        Chunks::Bytes {
            data: Bytes::new(),
            piece: 1,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Chunks::Bytes { data, .. } => data.is_empty(),
            Chunks::Filler { remaining } => *remaining == 0,
        }
    }

    fn next_chunk(&mut self) -> Option<Bytes> {
        match self {
            Chunks::Bytes { data, piece } => {
                (!data.is_empty()).then(|| data.split_to((*piece).min(data.len())))
            }
            Chunks::Filler { remaining } => {
                let len = (*remaining).min(FILLER_CHUNK as u64);
                *remaining -= len;
                (len > 0).then(|| Bytes::from_static(&FILLER[..len as usize]))
            }
        }
    }
}

fn text(status: StatusCode, message: &str) -> Plan {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Plan {
        status,
        headers,
        body: Chunks::Bytes {
            data: Bytes::from(message.to_owned()),
            piece: usize::MAX,
        },
        delay: None,
    }
}

fn plan(state: &PathState, method: &Method, request: &HeaderMap) -> Plan {
    if method != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET");
    }
    let piece = if state.chunk_delay.is_some() {
        SLOW_CHUNK_BYTES
    } else {
        usize::MAX
    };
    let mut headers = HeaderMap::new();
    match &state.mode {
        Mode::Fail(status) => text(*status, "failing on purpose"),
        Mode::Redirect(to) => {
            let mut plan = text(StatusCode::FOUND, "moved");
            plan.headers.insert(
                header::LOCATION,
                HeaderValue::from_str(to).expect("a redirect target fit for a header"),
            );
            plan
        }
        Mode::Huge {
            len,
            content_length,
        } => {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            if *content_length {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(*len));
            }
            Plan {
                status: StatusCode::OK,
                headers,
                body: Chunks::Filler { remaining: *len },
                delay: state.chunk_delay,
            }
        }
        Mode::Serve => {
            let Some(document) = &state.document else {
                return text(StatusCode::NOT_FOUND, "no such feed");
            };
            let gzip = state.gzip
                && request
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.split(',').any(|c| c.trim().starts_with("gzip")));
            // A different encoding is a different representation, so it
            // gets its own strong ETag.
            let etag = if gzip {
                format!("{}-gzip\"", document.etag.trim_end_matches('"'))
            } else {
                document.etag.clone()
            };
            let last_modified = http_date(document.last_modified_secs);
            headers.insert(
                header::ETAG,
                HeaderValue::from_str(&etag).expect("etag header"),
            );
            headers.insert(
                header::LAST_MODIFIED,
                HeaderValue::from_str(&last_modified).expect("date header"),
            );
            if state.gzip {
                headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            }
            // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
            let not_modified = match request.get(header::IF_NONE_MATCH) {
                Some(value) => value.to_str().is_ok_and(|v| none_match_hits(v, &etag)),
                None => request
                    .get(header::IF_MODIFIED_SINCE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_http_date)
                    .is_some_and(|since| document.last_modified_secs <= since),
            };
            if not_modified {
                return Plan {
                    status: StatusCode::NOT_MODIFIED,
                    headers,
                    body: Chunks::empty(),
                    delay: None,
                };
            }
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&document.content_type).expect("content type header"),
            );
            let data = if gzip {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                gzip_bytes(&document.body)
            } else {
                document.body.clone()
            };
            Plan {
                status: StatusCode::OK,
                headers,
                body: Chunks::Bytes { data, piece },
                delay: state.chunk_delay,
            }
        }
    }
}

fn gzip_bytes(data: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip into memory");
    Bytes::from(encoder.finish().expect("gzip into memory"))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    let plan = {
        let mut paths = shared.lock();
        let state = paths.entry(path.clone()).or_default();
        state.requests += 1;
        state.last_headers = Some(headers.clone());
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        plan(state, &method, &headers)
    };
    let end = EndGuard {
        complete: plan.body.is_empty(),
        shared,
        path,
        bytes_sent: 0,
    };
    let sender = Sender {
        chunks: plan.body,
        delay: plan.delay,
        end,
    };
    let stream = futures::stream::unfold(sender, |mut sender| async move {
        if let Some(delay) = sender.delay
            && !sender.chunks.is_empty()
        {
            tokio::time::sleep(delay).await;
        }
        match sender.chunks.next_chunk() {
            Some(chunk) => {
                sender.end.bytes_sent += chunk.len() as u64;
                Some((Ok::<_, Infallible>(chunk), sender))
            }
            None => {
                sender.end.mark_complete();
                None
            }
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = plan.status;
    *response.headers_mut() = plan.headers;
    response
}

struct Sender {
    chunks: Chunks,
    delay: Option<Duration>,
    end: EndGuard,
}

/// Records the end of a body when the server lets go of it, whether it was
/// sent in full or the connection died under it.
struct EndGuard {
    shared: Arc<Shared>,
    path: String,
    bytes_sent: u64,
    complete: bool,
}

impl EndGuard {
    fn mark_complete(&mut self) {
        self.complete = true;
    }
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        {
            let mut paths = self.shared.lock();
            let state = paths.entry(self.path.clone()).or_default();
            state.in_flight -= 1;
            state.body_ends.push(BodyEnd {
                bytes_sent: self.bytes_sent,
                complete: self.complete,
            });
        }
        // Outside the lock: waiters take the lock inside `wait_for`.
        self.shared.body_ended.send_modify(|n| *n += 1);
    }
}
