//! The request body deadline (SPEC 5.2): a body not fully received within
//! `REQUEST_BODY_TIMEOUT_MS` of its headers ends in 408 — a total deadline, not an idle gap, so
//! a client sending a byte every few seconds cannot hold a connection and a worker's attention.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use futures_util::Stream;

use crate::config::Settings;

/// A body stream that fails with `TimedOut` once its deadline has passed.
struct DeadlineStream<S> {
    inner: S,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl<S> Stream for DeadlineStream<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body deadline",
            )))));
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// Middleware: puts the body of every request that has one under the deadline.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    let timeout = req
        .app_data::<web::Data<Settings>>()
        .map(|s| Duration::from_millis(s.request_body_timeout_ms));
    if let (true, Some(timeout)) = (has_body, timeout) {
        let inner = req.take_payload();
        let stream = DeadlineStream {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        };
        let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(stream);
        req.set_payload(actix_web::dev::Payload::from(boxed));
    }
    next.call(req).await
}
