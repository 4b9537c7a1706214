//! `plio serve` as a child process (this very binary), for the scenarios that need what is
//! the server's own: its resident memory, its log output. Also the `detail-logged` scenario:
//! the cached detail with the access log on, written to a file, as operators run it.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{affinity::*, report::*, run::*, seed::*, workloads::*};

/// How to start the child.
#[derive(Default)]
pub(super) struct ChildOptions<'a> {
    /// The Redis cache (URL, key prefix); else the memory cache.
    pub(super) redis: Option<(&'a str, &'a str)>,
    /// Log at the default level (INFO: one access line per request) to this file; else only
    /// errors, to the bench's stderr.
    pub(super) log: Option<&'a Path>,
    /// Pin the process to the server CPU with the in-process servers' worker count.
    pub(super) pinned: bool,
}

/// A `plio serve` child process on a free loopback port; killed when dropped.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `plio serve` on `url` and otherwise default settings; waits until it serves
    /// `probe`.
    pub(super) fn start(
        url: &str,
        options: &ChildOptions<'_>,
        probe: &Target,
    ) -> anyhow::Result<Self> {
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut command = Command::new(std::env::current_exe()?);
        match options.redis {
            Some((redis_url, prefix)) => command
                .env("CACHE_BACKEND", "redis")
                .env("REDIS_URL", redis_url)
                .env_remove("REDIS_CLUSTER_URLS")
                .env("CACHE_KEY_PREFIX", prefix),
            None => command
                .env("CACHE_BACKEND", "memory")
                .env_remove("REDIS_URL")
                .env_remove("REDIS_CLUSTER_URLS"),
        };
        match options.log {
            Some(path) => command
                .env_remove("RUST_LOG")
                .stderr(Stdio::from(std::fs::File::create(path)?)),
            None => command.env("RUST_LOG", "error").stderr(Stdio::inherit()),
        };
        if options.pinned {
            if let Some(cpu) = server_cpu() {
                pin_child(&mut command, cpu);
            }
            command.env("WORKERS", workers().to_string());
        }
        let child = command
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("BIND", addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()?;
        let server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while fetch_size(addr, probe).is_none() {
            if Instant::now() > deadline {
                anyhow::bail!("plio serve on {addr} did not answer within 30 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    /// Resident memory, MB (`VmRSS` of `/proc/PID/status`).
    pub(super) fn rss_mb(&self) -> f64 {
        rss_kb(self.child.id()).map_or(0.0, |kb| kb as f64 / 1024.0)
    }
}

pub(super) fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples a process's resident memory every 50 ms until stopped; keeps the peak.
pub(super) struct PeakRss {
    peak: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl PeakRss {
    pub(super) fn start(pid: u32) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, done) = (peak.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kb(pid).unwrap_or(0), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Self { peak, done, thread }
    }

    /// Stops sampling; the peak in MB.
    pub(super) fn stop(self) -> f64 {
        self.done.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        self.peak.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// `detail-logged`: the cached detail (memory cache) served by a pinned `plio serve` child
/// logging at its default level (one access line per request) to a file, with the log's size
/// per request and the child's resident memory under load.
pub(super) fn logged(
    cfg: &BenchConfig,
    url: &str,
    count: usize,
    targets: &[Target],
) -> anyhow::Result<Row> {
    let probe = targets
        .first()
        .ok_or_else(|| anyhow::anyhow!("no plio to request"))?;
    let path = std::env::temp_dir().join(format!("plio-bench-{}-access.log", std::process::id()));
    let options = ChildOptions {
        log: Some(&path),
        pinned: true,
        ..ChildOptions::default()
    };
    let result = (|| {
        let server = Server::start(url, &options, probe)?;
        prewarm(server.addr, targets);
        let sampler = PeakRss::start(server.child.id());
        let r = drive(
            server.addr,
            cfg,
            Arc::new(Detail {
                targets: targets.to_vec(),
                suffix: "",
                anonymous: false,
            }),
        );
        let peak_mb = sampler.stop();
        drop(server);
        let log = std::fs::read(&path).unwrap_or_default();
        let lines = log.iter().filter(|&&b| b == b'\n').count().max(1);
        let note = format!(
            "plio serve, access log to a file ({} lines of {} bytes); RSS under load {:.0} MB",
            lines,
            log.len() / lines,
            peak_mb
        );
        Ok(Row::from_load("detail-logged", count, &r, &note))
    })();
    let _ = std::fs::remove_file(&path);
    result
}
