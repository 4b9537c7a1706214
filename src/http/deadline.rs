//! The request body deadline (SPEC 5.2): a body not fully received within
//! `REQUEST_BODY_TIMEOUT_MS` of its headers ends in 408 — a total deadline, not an idle gap, so
//! a client sending a byte every few seconds cannot hold a connection and a worker's attention.
//!
//! A body with a declared length is wrapped in a stream that fails once the deadline passes.
//! A chunked body is read whole up front, within the deadline and the size limit: it cannot be
//! judged by its headers, and actix drains an unread chunked body with no deadline at all, so
//! on refusal the unread body is kept alive until the answer is written and the connection
//! closes instead of draining.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::HttpMessage;
use futures_util::{Stream, StreamExt};

use crate::config::Settings;
use crate::error::{AppError, Code};

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

/// A response body that holds the request's unread body until the response is written.
pub struct KeepPayload<B> {
    body: B,
    _unread: Payload,
}

impl<B: MessageBody + Unpin> MessageBody for KeepPayload<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// Reads a chunked body whole, within the deadline and the size limit.
async fn read_chunked(payload: &mut Payload, timeout: Duration) -> Result<Bytes, AppError> {
    let limit = crate::api::extract::body::MAX_BODY + crate::api::extract::body::UPLOAD_SLACK;
    let read = async {
        let mut buf = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| {
                AppError::with_detail(Code::BadRequest, "The request body could not be read.")
            })?;
            if buf.len() + chunk.len() > limit {
                return Err(AppError::new(Code::PayloadTooLarge));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| Err(AppError::new(Code::RequestTimeout)))
}

/// Middleware: puts the body of every request that has one under the deadline.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<
    ServiceResponse<EitherBody<impl MessageBody, KeepPayload<actix_web::body::BoxBody>>>,
    actix_web::Error,
> {
    let Some(timeout) = req
        .app_data::<web::Data<Settings>>()
        .map(|s| Duration::from_millis(s.request_body_timeout_ms))
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        let mut payload = req.take_payload();
        match read_chunked(&mut payload, timeout).await {
            Ok(bytes) => req.set_payload(Payload::from(bytes)),
            Err(e) => {
                let res = req.into_response(actix_web::ResponseError::error_response(&e));
                return Ok(res.map_body(|_, body| {
                    EitherBody::right(KeepPayload {
                        body,
                        _unread: payload,
                    })
                }));
            }
        }
    } else if req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() != "0")
    {
        let inner = req.take_payload();
        let stream = DeadlineStream {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        };
        let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = Box::pin(stream);
        req.set_payload(Payload::from(boxed));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
