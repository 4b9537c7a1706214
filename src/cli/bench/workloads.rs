//! The request mixes the load generator replays.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::load::{LoadResult, Outcome, Req, Workload};
use super::{affinity::*, report::*, seed::*};

pub(super) fn drive(
    addr: SocketAddr,
    cfg: &BenchConfig,
    workload: Arc<dyn Workload>,
) -> LoadResult {
    let (c, w, d) = (cfg.concurrency, cfg.warmup, cfg.duration);
    let host = addr.to_string();
    std::thread::spawn(move || {
        if let Some(cpu) = loadgen_cpu() {
            pin_current_thread(cpu);
        }
        super::load::run(addr, &host, c, w, d, workload)
    })
    .join()
    .unwrap_or_default()
}

pub(super) struct Detail {
    pub(super) targets: Vec<Target>,
    pub(super) suffix: &'static str,
    pub(super) anonymous: bool,
}

impl Workload for Detail {
    fn next(&self, conn: usize, seq: u64) -> Req {
        let i =
            (conn as u64).wrapping_mul(7919).wrapping_add(seq) as usize % self.targets.len().max(1);
        let t = &self.targets[i];
        let mut headers = vec![("Organization".to_string(), t.org.clone())];
        if !self.anonymous {
            headers.push(("Authorization".into(), format!("Bearer {}", t.token)));
        }
        Req {
            method: "GET",
            path: format!("/api/v1/plios/{}/{}", t.uuid, self.suffix),
            headers,
            body: None,
            tag: 0,
        }
    }
}

pub(super) struct List {
    pub(super) targets: Vec<Target>,
}

impl Workload for List {
    fn next(&self, conn: usize, seq: u64) -> Req {
        let t = &self.targets[(conn + seq as usize) % self.targets.len().max(1)];
        Req {
            method: "GET",
            path: "/api/v1/plios/".into(),
            headers: vec![
                ("Organization".into(), t.org.clone()),
                ("Authorization".into(), format!("Bearer {}", t.token)),
            ],
            body: None,
            tag: 0,
        }
    }
}

/// A learner's session on a published plio: `POST /api/v1/sessions/` (the creator's token).
pub(super) struct SessionCreate {
    /// (target, plio id).
    pub(super) plios: Vec<(Target, i64)>,
}

impl Workload for SessionCreate {
    fn next(&self, conn: usize, seq: u64) -> Req {
        let (t, id) = &self.plios[(conn + seq as usize) % self.plios.len().max(1)];
        Req {
            method: "POST",
            path: "/api/v1/sessions/".into(),
            headers: vec![
                ("Organization".into(), t.org.clone()),
                ("Authorization".into(), format!("Bearer {}", t.token)),
            ],
            body: Some(format!("{{\"plio\": {id}}}").into_bytes()),
            tag: 0,
        }
    }
}

pub(super) struct Ceiling;

impl Workload for Ceiling {
    fn next(&self, _: usize, _: u64) -> Req {
        Req {
            method: "GET",
            path: "/ceiling".into(),
            headers: Vec::new(),
            body: None,
            tag: 0,
        }
    }
}

/// About 10% of connections each PATCH their own plio (name = "v{n}", one writer per plio,
/// so versions are totally ordered); the others GET those plios, or (every other request) the
/// list of the plio's workspace, which shows it. A GET sent after a PATCH was acknowledged
/// must show that version or a newer one.
pub(super) struct WriteMix {
    /// Each writer's plio.
    pub(super) plios: Vec<Target>,
    pub(super) issued: Vec<AtomicU64>,
    pub(super) acknowledged: Vec<AtomicU64>,
}

impl WriteMix {
    pub(super) fn new(plios: Vec<Target>) -> Self {
        let n = plios.len();
        Self {
            plios,
            issued: (0..n).map(|_| AtomicU64::new(0)).collect(),
            acknowledged: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Workload for WriteMix {
    fn next(&self, conn: usize, seq: u64) -> Req {
        let writers = self.plios.len();
        let (target, write) = if conn < writers {
            (conn, true)
        } else {
            ((conn + seq as usize) % writers, false)
        };
        let t = &self.plios[target];
        let headers = vec![
            ("Organization".to_string(), t.org.clone()),
            ("Authorization".into(), format!("Bearer {}", t.token)),
        ];
        let path = format!("/api/v1/plios/{}/", t.uuid);
        if write {
            let v = self.issued[target].fetch_add(1, Ordering::SeqCst) + 1;
            Req {
                method: "PATCH",
                path,
                headers,
                body: Some(format!("{{\"name\": \"v{v}\"}}").into_bytes()),
                tag: (target as u64) << 40 | v,
            }
        } else {
            let acked = self.acknowledged[target].load(Ordering::SeqCst);
            Req {
                method: "GET",
                path: if seq % 2 == 1 {
                    "/api/v1/plios/".into()
                } else {
                    path
                },
                headers,
                body: None,
                tag: (target as u64) << 40 | acked,
            }
        }
    }

    fn check(&self, req: &Req, status: u16, body: &[u8]) -> Outcome {
        if !(200..300).contains(&status) {
            return Outcome::Error;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            return Outcome::Error;
        };
        let target = (req.tag >> 40) as usize;
        let version = req.tag & ((1 << 40) - 1);
        let shown = if req.path == "/api/v1/plios/" {
            let uuid = self.plios.get(target).map(|t| t.uuid.as_str());
            v["results"]
                .as_array()
                .and_then(|rows| rows.iter().find(|r| r["uuid"].as_str() == uuid))
                .map_or(serde_json::Value::Null, |r| r["name"].clone())
        } else {
            v["name"].clone()
        };
        let seen: u64 = shown
            .as_str()
            .and_then(|n| n.strip_prefix('v'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if req.method == "PATCH" {
            if let Some(a) = self.acknowledged.get(target) {
                a.fetch_max(version, Ordering::SeqCst);
            }
            Outcome::Ok
        } else if seen < version {
            Outcome::Stale
        } else {
            Outcome::Ok
        }
    }
}
