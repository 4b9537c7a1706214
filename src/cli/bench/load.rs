//! A small keep-alive HTTP/1.1 load generator: fixed concurrency, warm-up, duration, latency
//! percentiles. It speaks just enough HTTP for plio's responses (Content-Length bodies).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// `GET`, `PATCH`…
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Vec<u8>>,
    /// Opaque value the workload uses to check the response (e.g. a minimum version).
    pub tag: u64,
}

/// How a response is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// As expected.
    Ok,
    /// Wrong status or unreadable.
    Error,
    /// Successful but older than a write already acknowledged.
    Stale,
}

/// What a scenario sends and how it checks answers.
pub trait Workload: Send + Sync {
    /// The next request of connection `conn`.
    fn next(&self, conn: usize, seq: u64) -> Req;
    /// Judges a response.
    fn check(&self, req: &Req, status: u16, body: &[u8]) -> Outcome {
        let _ = (req, body);
        if (200..300).contains(&status) {
            Outcome::Ok
        } else {
            Outcome::Error
        }
    }
}

/// Results of one run.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Responses counted in the measured window.
    pub requests: u64,
    /// Errors in the window (status, connection, parse).
    pub errors: u64,
    /// Stale reads in the window.
    pub stale: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Sorted latencies (µs) of the window.
    pub latencies_us: Vec<u32>,
}

impl LoadResult {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// Latency percentile in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[idx.min(self.latencies_us.len() - 1)]) / 1000.0
    }
}

struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::with_capacity(64 * 1024, s),
        })
    }

    async fn send(
        &mut self,
        host: &str,
        req: &Req,
        body_buf: &mut Vec<u8>,
    ) -> std::io::Result<u16> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {host}\r\n", req.method, req.path);
        for (k, v) in &req.headers {
            head.push_str(k);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
        if let Some(b) = &req.body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).await?;
        if let Some(b) = &req.body {
            stream.write_all(b).await?;
        }
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(std::io::Error::other("chunked responses are not supported"));
                }
            }
        }
        body_buf.clear();
        body_buf.resize(length, 0);
        self.reader.read_exact(body_buf).await?;
        Ok(status)
    }
}

/// Drives `workload` against `addr` with `concurrency` keep-alive connections for
/// `warmup + duration`, counting only the last `duration`. Runs on the calling thread (a
/// current-thread runtime), which the caller may pin to a CPU.
pub fn run(
    addr: SocketAddr,
    host: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    workload: Arc<dyn Workload>,
) -> LoadResult {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(_) => return LoadResult::default(),
    };
    let host = host.to_string();
    rt.block_on(async move {
        let start = Instant::now();
        let measure_from = start + warmup;
        let end = measure_from + duration;
        let mut tasks = Vec::new();
        for c in 0..concurrency.max(1) {
            let workload = workload.clone();
            let host = host.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = LoadResult::default();
                let mut body = Vec::new();
                let mut conn: Option<Conn> = None;
                let mut seq = 0u64;
                while Instant::now() < end {
                    if conn.is_none() {
                        match Conn::open(addr).await {
                            Ok(k) => conn = Some(k),
                            Err(_) => {
                                if Instant::now() >= measure_from {
                                    out.errors += 1;
                                }
                                tokio::time::sleep(Duration::from_millis(10)).await;
                                continue;
                            }
                        }
                    }
                    let req = workload.next(c, seq);
                    seq += 1;
                    let sent = Instant::now();
                    let result = match conn.as_mut() {
                        Some(k) => k.send(&host, &req, &mut body).await,
                        None => continue,
                    };
                    let took = sent.elapsed();
                    let counted = sent >= measure_from && Instant::now() <= end;
                    match result {
                        Ok(status) => {
                            let outcome = workload.check(&req, status, &body);
                            if counted {
                                out.requests += 1;
                                out.latencies_us
                                    .push(took.as_micros().min(u128::from(u32::MAX)) as u32);
                                match outcome {
                                    Outcome::Ok => {}
                                    Outcome::Error => out.errors += 1,
                                    Outcome::Stale => out.stale += 1,
                                }
                            }
                        }
                        Err(_) => {
                            conn = None;
                            if counted {
                                out.errors += 1;
                            }
                        }
                    }
                }
                out
            }));
        }
        let mut total = LoadResult {
            elapsed: duration,
            ..Default::default()
        };
        for t in tasks {
            if let Ok(r) = t.await {
                total.requests += r.requests;
                total.errors += r.errors;
                total.stale += r.stale;
                total.latencies_us.extend(r.latencies_us);
            }
        }
        total.latencies_us.sort_unstable();
        total
    })
}
