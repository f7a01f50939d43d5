//! Length-prefixed frames: a pure decoder, fed whatever bytes the stream delivers.
//!
//! Kept free of IO so the limits (oversized prefix, truncation, zero-length frames, frames
//! split across reads) are tested without a network.

/// Bytes in a frame's length prefix (big-endian u32).
pub(crate) const HEADER_LEN: usize = 4;

/// Largest read asked from the stream at once, and the first allocation for a payload.
///
/// A payload buffer grows with the bytes that actually arrive (doubling, capped at the
/// announced length), so a peer that announces a large frame and sends nothing costs at most
/// this much memory.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// Why the byte stream is not a valid sequence of frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// A length prefix above the limit.
    TooLarge { len: u64, max: usize },
    /// The stream ended inside a frame: `got` of `expected` bytes of the header or payload.
    Truncated {
        in_header: bool,
        got: usize,
        expected: usize,
    },
}

/// Decodes frames from a byte stream.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    max_len: usize,
    header: [u8; HEADER_LEN],
    header_got: usize,
    /// `Some((announced length, bytes so far))` while reading a payload.
    payload: Option<(usize, Vec<u8>)>,
}

impl FrameDecoder {
    pub(crate) fn new(max_len: usize) -> Self {
        FrameDecoder {
            max_len,
            header: [0; HEADER_LEN],
            header_got: 0,
            payload: None,
        }
    }

    /// How many bytes to ask the stream for next (never more than the current header or
    /// payload still needs, so [`Self::feed`] never sees bytes of the following frame).
    pub(crate) fn want(&self) -> usize {
        match &self.payload {
            None => HEADER_LEN - self.header_got,
            Some((len, buf)) => (len - buf.len()).clamp(1, READ_CHUNK),
        }
    }

    /// Feeds bytes (at most [`Self::want`] of them). Returns a frame once one is complete.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        debug_assert!(bytes.len() <= self.want());
        match &mut self.payload {
            None => {
                let free = self.header.iter_mut().skip(self.header_got);
                for (slot, byte) in free.zip(bytes) {
                    *slot = *byte;
                    self.header_got += 1;
                }
                if self.header_got < HEADER_LEN {
                    return Ok(None);
                }
                self.header_got = 0;
                let len = u32::from_be_bytes(self.header) as usize;
                if len > self.max_len {
                    return Err(FrameError::TooLarge {
                        len: len as u64,
                        max: self.max_len,
                    });
                }
                if len == 0 {
                    return Ok(Some(Vec::new()));
                }
                self.payload = Some((len, Vec::with_capacity(len.min(READ_CHUNK))));
                Ok(None)
            }
            Some((len, buf)) => {
                let len = *len;
                let n = bytes.len().min(len - buf.len());
                if buf.len() + n > buf.capacity() {
                    // Grow geometrically, but never past the announced length.
                    let extra = buf.capacity().max(READ_CHUNK).min(len - buf.len());
                    buf.reserve_exact(extra);
                }
                buf.extend_from_slice(bytes.get(..n).unwrap_or(bytes));
                if buf.len() == len {
                    let frame = std::mem::take(buf);
                    self.payload = None;
                    Ok(Some(frame))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// The stream ended: fine between frames, an error inside one.
    pub(crate) fn at_end(&self) -> Result<(), FrameError> {
        match &self.payload {
            None if self.header_got == 0 => Ok(()),
            None => Err(FrameError::Truncated {
                in_header: true,
                got: self.header_got,
                expected: HEADER_LEN,
            }),
            Some((len, buf)) => Err(FrameError::Truncated {
                in_header: false,
                got: buf.len(),
                expected: *len,
            }),
        }
    }
}

/// The length prefix for a payload of `len` bytes.
pub(crate) fn header(len: usize) -> [u8; HEADER_LEN] {
    // Callers check `len` against the limit, which is at most u32::MAX.
    (len as u32).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` in pieces of at most `step`, honouring `want`.
    fn decode_all(
        dec: &mut FrameDecoder,
        bytes: &[u8],
        step: usize,
    ) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = dec.want().min(step).min(rest.len());
            if let Some(f) = dec.feed(&rest[..n])? {
                out.push(f);
            }
            rest = &rest[n..];
        }
        Ok(out)
    }

    fn encode(frames: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for f in frames {
            v.extend_from_slice(&header(f.len()));
            v.extend_from_slice(f);
        }
        v
    }

    #[test]
    fn frames_survive_any_split() {
        let big = vec![7u8; 200_000];
        let frames: Vec<&[u8]> = vec![b"", "客户拜访记录".as_bytes(), &big, b"x"];
        let wire = encode(&frames);
        for step in [1, 3, 4, 5, 1000, usize::MAX] {
            let mut dec = FrameDecoder::new(1 << 20);
            let got = decode_all(&mut dec, &wire, step).unwrap();
            assert_eq!(got.len(), 4, "step {step}");
            assert_eq!(got[0], b"");
            assert_eq!(got[1], "客户拜访记录".as_bytes());
            assert_eq!(got[2], big);
            assert_eq!(got[3], b"x");
            assert_eq!(dec.at_end(), Ok(()));
        }
    }

    #[test]
    fn oversized_prefix_is_refused_before_allocating() {
        let mut dec = FrameDecoder::new(16);
        assert_eq!(dec.feed(&header(16)[..]), Ok(None));
        dec.feed(&[0; 16]).unwrap().unwrap();
        let err = dec.feed(&u32::MAX.to_be_bytes()).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooLarge {
                len: u32::MAX as u64,
                max: 16
            }
        );
    }

    #[test]
    fn payload_buffer_grows_with_arrivals_not_with_the_announced_length() {
        let mut dec = FrameDecoder::new(usize::MAX);
        dec.feed(&header(u32::MAX as usize)).unwrap();
        dec.feed(&[1; 10]).unwrap();
        let cap = dec.payload.as_ref().unwrap().1.capacity();
        assert!(cap <= READ_CHUNK, "allocated {cap} bytes for 10 received");
    }

    #[test]
    fn truncation_is_reported_in_header_and_payload() {
        let mut dec = FrameDecoder::new(100);
        dec.feed(&[0, 0]).unwrap();
        assert_eq!(
            dec.at_end(),
            Err(FrameError::Truncated {
                in_header: true,
                got: 2,
                expected: 4
            })
        );
        let mut dec = FrameDecoder::new(100);
        dec.feed(&header(10)).unwrap();
        dec.feed(&[1, 2, 3]).unwrap();
        assert_eq!(
            dec.at_end(),
            Err(FrameError::Truncated {
                in_header: false,
                got: 3,
                expected: 10
            })
        );
    }
}
