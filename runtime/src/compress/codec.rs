//! gzip and brotli: a whole body at once (cached answers), or a streamed
//! body as it goes.

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};

use super::{Compression, Encoding};

/// brotli's window: 2^18 bytes (256 KiB). Its largest, 2^24, would cost
/// each compressed stream more memory for little gain on web answers.
const BROTLI_WINDOW_BITS: u32 = 18;
/// brotli's input buffer.
const BROTLI_BUFFER: usize = 4096;
/// A streamed answer sends what it has compressed once this much is ready,
/// even when the handler has more.
const SEND_AT: usize = 32 * 1024;

/// `bytes` compressed whole.
pub(crate) fn compress(encoding: Encoding, config: &Compression, bytes: &[u8]) -> Vec<u8> {
    let mut encoder = Encoder::new(encoding, config);
    encoder.write(bytes);
    encoder.finish()
}

/// One compression stream writing into a buffer.
enum Encoder {
    Gzip(Box<flate2::write::GzEncoder<Vec<u8>>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Encoder {
    fn new(encoding: Encoding, config: &Compression) -> Encoder {
        match encoding {
            Encoding::Gzip => Encoder::Gzip(Box::new(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(config.gzip_level),
            ))),
            Encoding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                config.brotli_quality,
                BROTLI_WINDOW_BITS,
            ))),
        }
    }

    // Writing into a `Vec` cannot fail.
    fn write(&mut self, bytes: &[u8]) {
        let _ = match self {
            Encoder::Gzip(e) => e.write_all(bytes),
            Encoder::Brotli(e) => e.write_all(bytes),
        };
    }

    /// Everything written so far, compressed and flushed (a sync flush:
    /// the client can decode all of it now).
    fn flush(&mut self) -> Vec<u8> {
        let _ = match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Brotli(e) => e.flush(),
        };
        self.take()
    }

    /// What is compressed so far, not flushed.
    fn take(&mut self) -> Vec<u8> {
        match self {
            Encoder::Gzip(e) => std::mem::take(e.get_mut()),
            Encoder::Brotli(e) => std::mem::take(e.get_mut()),
        }
    }

    fn ready(&mut self) -> usize {
        match self {
            Encoder::Gzip(e) => e.get_ref().len(),
            Encoder::Brotli(e) => e.get_ref().len(),
        }
    }

    /// The end of the stream.
    fn finish(self) -> Vec<u8> {
        match self {
            Encoder::Gzip(e) => e.finish().unwrap_or_default(),
            Encoder::Brotli(e) => e.into_inner(),
        }
    }
}

/// A body compressed as it is sent. It reads what the inner body has
/// ready; when the inner body has to wait, what was read is flushed to the
/// client first, so a stream is never held back.
pub(crate) struct CompressedBody {
    inner: Body,
    encoder: Option<Encoder>,
    /// Written to the encoder since the last flush.
    unflushed: bool,
    /// Trailers to send after the end of the compressed stream.
    trailers: Option<Frame<Bytes>>,
}

impl CompressedBody {
    pub(crate) fn new(inner: Body, encoding: Encoding, config: &Compression) -> CompressedBody {
        CompressedBody {
            inner,
            encoder: Some(Encoder::new(encoding, config)),
            unflushed: false,
            trailers: None,
        }
    }

    fn finish(&mut self) -> Option<Bytes> {
        self.encoder.take().map(|e| Bytes::from(e.finish()))
    }
}

impl http_body::Body for CompressedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(this.trailers.take().map(Ok));
            };
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        encoder.write(&data);
                        this.unflushed = true;
                        if encoder.ready() >= SEND_AT {
                            return Poll::Ready(Some(Ok(Frame::data(encoder.take().into()))));
                        }
                    }
                    Err(trailers) => {
                        this.trailers = Some(trailers);
                        let last = this.finish().unwrap_or_default();
                        return Poll::Ready(Some(Ok(Frame::data(last))));
                    }
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => {
                    let last = this.finish().unwrap_or_default();
                    return Poll::Ready(Some(Ok(Frame::data(last))));
                }
                Poll::Pending if this.unflushed => {
                    this.unflushed = false;
                    return Poll::Ready(Some(Ok(Frame::data(encoder.flush().into()))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.encoder.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::io::Read;

    fn decode(encoding: Encoding, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match encoding {
            Encoding::Gzip => flate2::read::GzDecoder::new(bytes).read_to_end(&mut out),
            Encoding::Brotli => brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out),
        }
        .unwrap();
        out
    }

    #[test]
    fn whole_bodies_round_trip_and_shrink() {
        let text = "approute compresses answers. ".repeat(200);
        for encoding in Encoding::ALL {
            let packed = compress(encoding, &Compression::default(), text.as_bytes());
            assert!(
                packed.len() < text.len() / 10,
                "{encoding:?}: {}",
                packed.len()
            );
            assert_eq!(decode(encoding, &packed), text.as_bytes());
        }
    }

    /// A body that sends its chunks one frame at a time.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = axum::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
            Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
        }
    }

    #[tokio::test]
    async fn streamed_bodies_round_trip() {
        let chunks: Vec<Bytes> = (0..50)
            .map(|i| Bytes::from(format!("chunk {i} ").repeat(100)))
            .collect();
        let want: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        for encoding in Encoding::ALL {
            let inner = Body::new(Chunks(chunks.iter().cloned().collect()));
            let body = CompressedBody::new(inner, encoding, &Compression::default());
            let packed = body.collect().await.unwrap().to_bytes();
            assert_eq!(decode(encoding, &packed), want, "{encoding:?}");
        }
    }
}
