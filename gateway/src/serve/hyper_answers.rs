//! hyper's own answers as JSON error bodies.
//!
//! A request hyper cannot parse never reaches the router: hyper writes an empty `400`, `414`
//! (a URI longer than the `http` crate's 64 KiB limit, so no layer can ever see it) or `431`
//! (a head past its read buffer) and closes the connection. This wrapper sits between hyper and
//! the socket and replaces such an answer with the JSON error every other answer has.
//!
//! It recognises hyper's answer exactly: a whole HTTP/1 response head with one of those
//! statuses, no body, and no `traceparent` header — every answer the router gives carries one
//! (the trace layer sets it), so no answer of ours is ever rewritten. hyper writes the answer in
//! one write (the wrapper does not advertise vectored writes, so hyper flattens its buffer).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use isthmus_proto::ErrorCode;
use isthmus_telemetry::TraceContext;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::ErrorBody;

pub(crate) struct HyperAnswersAsJson<I> {
    inner: I,
    /// A replacement answer still to be written, and how much of it is.
    pending: Option<(Vec<u8>, usize)>,
}

impl<I> HyperAnswersAsJson<I> {
    pub(crate) fn new(inner: I) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

impl<I: AsyncWrite + Unpin> HyperAnswersAsJson<I> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for HyperAnswersAsJson<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for HyperAnswersAsJson<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        if let Some(code) = hyper_error(buf) {
            self.pending = Some((json_answer(code), 0));
            // Taken whole; what is not written yet is written by the next flush or shutdown.
            if let Poll::Ready(Err(err)) = self.poll_drain(cx) {
                return Poll::Ready(Err(err));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The code of hyper's own error answer when `buf` is exactly one (see the module doc).
fn hyper_error(buf: &[u8]) -> Option<ErrorCode> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let code = match rest.get(..4)? {
        b"400 " => ErrorCode::InvalidArgument,
        b"414 " => ErrorCode::UriTooLong,
        b"431 " => ErrorCode::HeadersTooLarge,
        _ => return None,
    };
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if head_end + 4 != buf.len() {
        return None;
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let has = |name: &str| head.contains(&format!("\r\n{name}:"));
    (!has("traceparent") && !has("content-type")).then_some(code)
}

fn json_answer(code: ErrorCode) -> Vec<u8> {
    let message = match code {
        ErrorCode::UriTooLong => "the request URI is longer than the gateway accepts",
        ErrorCode::HeadersTooLarge => "the request headers are larger than the gateway accepts",
        _ => "the request is not well-formed HTTP",
    };
    let context = TraceContext::from_header_or_new(None);
    let body = serde_json::to_vec(&ErrorBody {
        code: code.as_str(),
        message: message.to_string(),
        trace_id: context.trace_id.clone(),
    })
    .unwrap_or_default();
    let status = code.http_status();
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         traceparent: {}\r\nconnection: close\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
        context.to_header(),
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_own_bodiless_error_heads_are_recognised() {
        let hyper414 = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(hyper_error(hyper414), Some(ErrorCode::UriTooLong));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ntraceparent: 00-x\r\n\r\n";
        assert_eq!(hyper_error(ours), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(hyper_error(with_body), None);
        assert_eq!(hyper_error(b"HTTP/1.1 200 OK\r\n\r\n"), None);
        let answer = String::from_utf8(json_answer(ErrorCode::UriTooLong)).unwrap();
        assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"));
        assert!(answer.contains("\"code\":\"URI_TOO_LONG\""));
    }
}
