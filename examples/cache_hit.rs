//! Measures what the cache layer adds to a hit, per backend, against the bare operation.
//!
//! `cargo run --release --example cache_hit [-- REDIS_URL]` (default redis://127.0.0.1:6379).
//! Prints mean µs per hit for: the facade (`get_or_load` hit: lookup + token + JSON decode),
//! the bare backend read of the same bytes, and the JSON decode alone. Sequential, one task.

use std::time::{Duration, Instant};

use plio::cache::{Cache, Cacheable, EntryKey, Kind};
use plio::tenant::{SchemaName, Tenant};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
struct Item {
    id: i64,
    time: f64,
    text: String,
    options: Vec<String>,
}

/// Shaped like a plio payload: a video and 10 items with questions (~4 KB of JSON).
#[derive(Clone, Serialize, Deserialize)]
struct Payload {
    id: i64,
    name: String,
    uuid: String,
    video_url: String,
    items: Vec<Item>,
}

impl Cacheable for Payload {
    const KIND: Kind = Kind::Plio;
    const GLOBAL: bool = false;
}

fn payload() -> Payload {
    Payload {
        id: 17,
        name: "Photosynthesis, part 2".into(),
        uuid: "abcdefghij".into(),
        video_url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(),
        items: (0..10)
            .map(|i| Item {
                id: i,
                time: i as f64 * 12.5,
                text:
                    "Which of these molecules is produced by the light reactions of photosynthesis?"
                        .repeat(3),
                options: vec![
                    "ATP".into(),
                    "Glucose".into(),
                    "Carbon dioxide".into(),
                    "Water".into(),
                ],
            })
            .collect(),
    }
}

fn per_op(n: u32, d: Duration) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn main() -> anyhow::Result<()> {
    let redis_url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let tenant = Tenant::new(None, "bench".into(), SchemaName::for_new_tenant("bench")?);
        let key = EntryKey::of::<Payload>(&tenant, 17);
        let value = payload();
        let json = serde_json::to_string(&value)?;
        println!("payload: {} bytes of JSON", json.len());
        let n = 20_000u32;

        let start = Instant::now();
        for _ in 0..n {
            let p: Payload = serde_json::from_str(&json)?;
            std::hint::black_box(p);
        }
        println!(
            "JSON decode alone:            {:>8.2} µs",
            per_op(n, start.elapsed())
        );

        let memory = Cache::memory("bench", 10_000, Duration::from_secs(300));
        let redis = Cache::redis(
            &redis_url,
            "bench",
            Duration::from_secs(300),
            Duration::from_millis(50),
        )?;
        for cache in [&memory, &redis] {
            let v = value.clone();
            cache
                .get_or_load(&key, || async move { Ok::<_, ()>(v) })
                .await
                .ok();
            let start = Instant::now();
            for _ in 0..n {
                let p = cache
                    .get_or_load(&key, || async {
                        Err::<Payload, _>("miss during a hit benchmark")
                    })
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                std::hint::black_box(p);
            }
            println!(
                "{:<6} facade hit:           {:>8.2} µs",
                cache.backend_name(),
                per_op(n, start.elapsed())
            );
        }

        // Bare Redis GET of the same key (same server, one multiplexed connection).
        let client = redis::Client::open(redis_url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let rendered = redis.key_space().entry(&key);
        let start = Instant::now();
        for _ in 0..n {
            let raw: Option<String> = redis::AsyncCommands::get(&mut conn, &rendered).await?;
            std::hint::black_box(raw);
        }
        println!(
            "redis  bare GET (no decode): {:>8.2} µs",
            per_op(n, start.elapsed())
        );
        let start = Instant::now();
        for _ in 0..n {
            let raw: Option<String> = redis::AsyncCommands::get(&mut conn, &rendered).await?;
            let p: Payload = serde_json::from_str(raw.as_deref().unwrap_or("null"))?;
            std::hint::black_box(p);
        }
        println!(
            "redis  bare GET + decode:    {:>8.2} µs",
            per_op(n, start.elapsed())
        );
        redis.clear_all().await;
        Ok(())
    })
}
