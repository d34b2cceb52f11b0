//! A fault-injecting HTTP proxy for the AWS emulator, on 127.0.0.1: the operator's `AWS_ENDPOINT_URL`
//! points here, and each request is, at the configured rate, answered or mangled the way AWS and networks
//! misbehave instead of being passed through:
//!
//! - **throttled**: not forwarded; answered with the service's throttling error (`ThrottlingException` for
//!   Step Functions' JSON protocol, `Throttling` for the query protocol of IAM, CloudWatch and STS);
//! - **server error**: not forwarded; answered 500 `InternalFailure`;
//! - **lost response**: forwarded, so AWS acts on it, then the connection is closed without an answer: the
//!   client cannot tell whether its write happened, and retries;
//! - **slow**: forwarded after a delay.
//!
//! It also counts what reached the emulator: the writes by API (`Create…`, `Put…`, `Tag…`, anything that is
//! not `Describe`, `Get`, `List` or `Validate`), which is how a soak proves that an idle operator writes
//! nothing to AWS.
//!
//! One request per connection (`Connection: close` both ways) keeps the framing simple; the SDK's connection
//! pool opens a new connection per call. Bodies must carry `Content-Length`, which the AWS SDK's JSON and
//! query requests do.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use sfn_test_support::raw_http::{self, header};

/// What may happen to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError,
    LostResponse,
    Slow,
}

const FAULTS: [Fault; 4] = [
    Fault::Throttle,
    Fault::ServerError,
    Fault::LostResponse,
    Fault::Slow,
];

/// The counters of a running proxy.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub server_errors: AtomicU64,
    pub lost_responses: AtomicU64,
    pub slow: AtomicU64,
    /// Write calls that reached the emulator, by `service:Action`.
    writes: Mutex<BTreeMap<String, u64>>,
}

impl ProxyStats {
    /// Faults injected so far, all kinds.
    pub fn faults(&self) -> u64 {
        [
            &self.throttled,
            &self.server_errors,
            &self.lost_responses,
            &self.slow,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    /// Write calls forwarded so far, by API.
    pub fn writes(&self) -> BTreeMap<String, u64> {
        self.writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Write calls forwarded so far, all APIs.
    pub fn total_writes(&self) -> u64 {
        self.writes().values().sum()
    }
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    stats: Arc<ProxyStats>,
    /// Per mille of requests that get a fault.
    rate: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`, injecting a fault into `rate`
    /// (0.0 to 1.0) of the requests, the kind chosen evenly; `seed` makes the sequence of choices
    /// repeatable.
    pub async fn start(upstream: SocketAddr, rate: f64, seed: u64) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(ProxyStats::default());
        let rate = Arc::new(AtomicU64::new(per_mille(rate)));
        let rng = Arc::new(Mutex::new(Rng(seed | 1)));
        let task = tokio::spawn({
            let (stats, rate) = (stats.clone(), rate.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let fault = {
                        let mut rng = rng.lock().unwrap_or_else(|e| e.into_inner());
                        let roll = rng.next() % 1000;
                        let kind = FAULTS[(rng.next() % FAULTS.len() as u64) as usize];
                        (roll < rate.load(Ordering::Relaxed)).then_some(kind)
                    };
                    let delay = Duration::from_millis(200 + rng_delay(&rng));
                    tokio::spawn(serve(client, upstream, fault, delay, stats.clone()));
                }
            }
        });
        Ok(FaultProxy {
            addr,
            stats,
            rate,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> &ProxyStats {
        &self.stats
    }

    /// Changes the fault rate from the next request on.
    pub fn set_rate(&self, rate: f64) {
        self.rate.store(per_mille(rate), Ordering::Relaxed);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn per_mille(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * 1000.0).round() as u64
}

fn rng_delay(rng: &Mutex<Rng>) -> u64 {
    rng.lock().unwrap_or_else(|e| e.into_inner()).next() % 1800
}

/// xorshift64*: enough to spread faults, and repeatable from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// One request: its head as text, its body, and the `service:Action` it calls.
struct Request {
    head: String,
    body: Vec<u8>,
    api: String,
    json_protocol: bool,
}

async fn read_request(client: &mut TcpStream) -> Option<Request> {
    let (head, body) = raw_http::read_request(client).await?;
    let service = header(&head, "authorization")
        .and_then(|a| {
            let scope = a.split("Credential=").nth(1)?.split(',').next()?;
            scope.split('/').nth(3).map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".into());
    let (api, json_protocol) = match header(&head, "x-amz-target") {
        Some(target) => (
            format!("{service}:{}", target.rsplit('.').next().unwrap_or(&target)),
            true,
        ),
        None => {
            let form = String::from_utf8_lossy(&body);
            let action = form
                .split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or("Unknown")
                .to_owned();
            (format!("{service}:{action}"), false)
        }
    };
    Some(Request {
        head,
        body,
        api,
        json_protocol,
    })
}

/// Whether a call changes something (the operator's own read/write split, by action name).
pub fn is_write(api: &str) -> bool {
    let action = api.rsplit(':').next().unwrap_or(api);
    !["Describe", "Get", "List", "Validate"]
        .iter()
        .any(|p| action.starts_with(p))
}

fn error_response(req: &Request, status: u16, code: &str, message: &str) -> Vec<u8> {
    let reason = if status == 500 {
        "Internal Server Error"
    } else {
        "Bad Request"
    };
    let (content_type, body) = if req.json_protocol {
        (
            "application/x-amz-json-1.0",
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        )
    } else {
        let kind = if status == 500 { "Receiver" } else { "Sender" };
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        )
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: fault-proxy\r\nx-amzn-ErrorType: {code}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn forward(upstream: SocketAddr, req: &Request) -> Option<Vec<u8>> {
    let mut conn = TcpStream::connect(upstream).await.ok()?;
    let mut head = String::new();
    for (i, line) in req.head.trim_end().lines().enumerate() {
        if i > 0
            && line
                .split_once(':')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"))
        {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    conn.write_all(head.as_bytes()).await.ok()?;
    conn.write_all(&req.body).await.ok()?;
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.ok()?;
    Some(response)
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Option<Fault>,
    delay: Duration,
    stats: Arc<ProxyStats>,
) {
    let Some(req) = read_request(&mut client).await else {
        return;
    };
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let response = match fault {
        Some(Fault::Throttle) => {
            stats.throttled.fetch_add(1, Ordering::Relaxed);
            let code = if req.json_protocol {
                "ThrottlingException"
            } else {
                "Throttling"
            };
            error_response(&req, 400, code, "Rate exceeded")
        }
        Some(Fault::ServerError) => {
            stats.server_errors.fetch_add(1, Ordering::Relaxed);
            error_response(&req, 500, "InternalFailure", "injected server error")
        }
        other => {
            if other == Some(Fault::Slow) {
                stats.slow.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
            }
            let Some(response) = forward(upstream, &req).await else {
                return;
            };
            if is_write(&req.api) {
                *stats
                    .writes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(req.api.clone())
                    .or_default() += 1;
            }
            if other == Some(Fault::LostResponse) {
                stats.lost_responses.fetch_add(1, Ordering::Relaxed);
                // AWS acted on it; the answer never arrives.
                return;
            }
            response
        }
    };
    let _ = client.write_all(&response).await;
    let _ = client.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_told_apart() {
        assert!(!is_write("states:DescribeStateMachine"));
        assert!(!is_write("iam:GetAccountAuthorizationDetails"));
        assert!(!is_write("monitoring:ListTagsForResource"));
        assert!(is_write("states:CreateStateMachine"));
        assert!(is_write("iam:PutRolePolicy"));
        assert!(is_write("monitoring:DeleteAlarms"));
    }

    #[test]
    fn headers_are_found_case_insensitively() {
        let head = "POST / HTTP/1.1\r\nX-Amz-Target: AWSStepFunctions.CreateStateMachine\r\ncontent-length: 12\r\n\r\n";
        assert_eq!(
            header(head, "x-amz-target").as_deref(),
            Some("AWSStepFunctions.CreateStateMachine")
        );
        assert_eq!(header(head, "Content-Length").as_deref(), Some("12"));
        assert_eq!(header(head, "authorization"), None);
    }

    /// Against a tiny upstream that answers every request: a rate of 0 forwards everything, a rate of 1
    /// injects a fault into every request, and lost responses still reach the upstream.
    #[tokio::test]
    async fn faults_are_injected_at_the_rate_and_counted() {
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        let received = Arc::new(AtomicU64::new(0));
        tokio::spawn({
            let received = received.clone();
            async move {
                while let Ok((mut conn, _)) = upstream.accept().await {
                    received.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(async move {
                        let _ = read_request(&mut conn).await;
                        let _ = conn
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                            .await;
                    });
                }
            }
        });
        let proxy = FaultProxy::start(upstream_addr, 0.0, 7).await.unwrap();
        let call = |target: &'static str| {
            let addr = proxy.addr;
            async move {
                let mut conn = TcpStream::connect(addr).await.unwrap();
                let body = "{}";
                let req = format!(
                    "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.{target}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/states/aws4_request, SignedHeaders=host\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                conn.write_all(req.as_bytes()).await.unwrap();
                let mut out = String::new();
                let _ = conn.read_to_string(&mut out).await;
                out
            }
        };
        let ok = call("CreateStateMachine").await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(
            call("DescribeStateMachine")
                .await
                .starts_with("HTTP/1.1 200")
        );
        assert_eq!(
            proxy.stats().writes(),
            BTreeMap::from([("states:CreateStateMachine".to_string(), 1)])
        );
        assert_eq!(proxy.stats().faults(), 0);

        proxy.set_rate(1.0);
        let mut answers = Vec::new();
        for _ in 0..40 {
            answers.push(call("UpdateStateMachine").await);
        }
        let stats = proxy.stats();
        assert_eq!(stats.faults(), 40);
        for counter in [
            &stats.throttled,
            &stats.server_errors,
            &stats.lost_responses,
            &stats.slow,
        ] {
            assert!(counter.load(Ordering::Relaxed) > 0, "{stats:?}");
        }
        let throttles = answers
            .iter()
            .filter(|a| a.starts_with("HTTP/1.1 400") && a.contains("ThrottlingException"))
            .count();
        assert_eq!(throttles as u64, stats.throttled.load(Ordering::Relaxed));
        let empty = answers.iter().filter(|a| a.is_empty()).count();
        assert_eq!(empty as u64, stats.lost_responses.load(Ordering::Relaxed));
        // Lost and slow requests reached the upstream; throttled and failed ones did not.
        let forwarded =
            stats.lost_responses.load(Ordering::Relaxed) + stats.slow.load(Ordering::Relaxed);
        assert_eq!(
            stats.writes()["states:UpdateStateMachine"],
            forwarded,
            "{stats:?}"
        );
        assert_eq!(received.load(Ordering::Relaxed), 2 + forwarded);
    }
}
