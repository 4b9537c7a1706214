//! In-process servers: plio itself and the ceilings (a bare handler, a Redis GET).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use super::affinity::*;
use crate::config::Settings;
use crate::{Application, ServeOptions};

pub(super) struct InProcess {
    pub(super) handle: actix_web::dev::ServerHandle,
    pub(super) addr: SocketAddr,
    pub(super) thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    pub(super) fn stop(mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(handle.stop(true));
            }
        })
        .join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(super) fn start_plio(settings: Settings) -> anyhow::Result<InProcess> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let options = ServeOptions {
                on_worker_start: server_cpu().map(|cpu| {
                    std::sync::Arc::new(move || pin_current_thread(cpu))
                        as std::sync::Arc<dyn Fn() + Send + Sync>
                }),
                disable_signals: true,
            };
            match Application::build_with(settings, listener, options) {
                Ok(app) => {
                    let _ = tx.send(Ok(app.handle()));
                    let _ = app.run_until_stopped().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    let handle = rx.recv()??;
    Ok(InProcess {
        handle,
        addr,
        thread: Some(thread),
    })
}

/// The ceilings: a bare handler answering `payload`, and one answering a Redis GET of it.
pub(super) fn start_ceiling(
    payload: Arc<Vec<u8>>,
    redis: Option<String>,
) -> anyhow::Result<InProcess> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let conn = match &redis {
                Some(url) => match async {
                    let client = redis::Client::open(url.as_str())?;
                    let mut c = client.get_multiplexed_async_connection().await?;
                    let _: () = redis::cmd("SET")
                        .arg("plio-bench:ceiling")
                        .arg(payload.as_slice())
                        .query_async(&mut c)
                        .await?;
                    Ok::<_, redis::RedisError>(c)
                }
                .await
                {
                    Ok(c) => Some(c),
                    Err(e) => {
                        let _ = tx.send(Err(anyhow::anyhow!("redis: {e}")));
                        return;
                    }
                },
                None => None,
            };
            let body = payload.clone();
            let server = HttpServer::new(move || {
                if let Some(cpu) = server_cpu() {
                    pin_current_thread(cpu);
                }
                let body = body.clone();
                let conn = conn.clone();
                App::new().route(
                    "/ceiling",
                    web::get().to(move || {
                        let body = body.clone();
                        let conn = conn.clone();
                        async move {
                            match conn {
                                Some(mut c) => {
                                    let v: Result<Vec<u8>, _> = redis::cmd("GET")
                                        .arg("plio-bench:ceiling")
                                        .query_async(&mut c)
                                        .await;
                                    match v {
                                        Ok(bytes) => HttpResponse::Ok()
                                            .content_type("application/json")
                                            .body(bytes),
                                        Err(_) => HttpResponse::ServiceUnavailable().finish(),
                                    }
                                }
                                None => HttpResponse::Ok()
                                    .content_type("application/json")
                                    .body(body.as_ref().clone()),
                            }
                        }
                    }),
                )
            })
            .workers(workers())
            .disable_signals()
            .listen(listener);
            match server {
                Ok(s) => {
                    let s = s.run();
                    let _ = tx.send(Ok(s.handle()));
                    let _ = s.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                }
            }
        });
    });
    let handle = rx.recv()??;
    Ok(InProcess {
        handle,
        addr,
        thread: Some(thread),
    })
}
