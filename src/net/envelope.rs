//! The wire format shared by every backend: a fixed 19-byte binary header the transport reads
//! (a version byte, the message id, sender and receiver) and a JSON body only the service's
//! host decodes. Every datagram crosses the header twice (encode, decode), so it is binary:
//! JSON for it cost more than the body. Garbage on a socket is a `DecodeError` value, logged and
//! dropped — never a panic.

use crate::ids::{Addr, ClientId, NodeId};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use thiserror::Error;

/// Datagrams larger than this are rejected before decoding (UDP's own limit is ~64 KiB).
pub const DATAGRAM_BYTES_MAX: usize = 60 * 1024;

/// The first byte of every datagram: the header's format.
pub const HEADER_VERSION: u8 = 1;

/// Header size: version (1), message id (8, little-endian), sender and receiver (5 each: a kind
/// byte, 0 node / 1 client, and a little-endian u32).
pub const HEADER_BYTES: usize = 19;

/// A datagram: header and body.
#[derive(Debug)]
pub struct Envelope<B> {
    /// The message id (unique within a run).
    pub msg_id: u64,
    /// The sender.
    pub from: Addr,
    /// The receiver.
    pub to: Addr,
    /// The body (raw until the receiver decodes it).
    pub body: B,
}

/// An envelope whose body has not been decoded yet.
pub type RawEnvelope = Envelope<Box<RawValue>>;

/// The body, once decoded with the service's types.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Body<M, Rq, Rs> {
    /// Node to node.
    Peer(M),
    /// Client to node.
    Request {
        /// Chosen by the client; the reply carries it back.
        req_id: u64,
        /// The request.
        req: Rq,
    },
    /// Node to client.
    Reply {
        /// The request this answers.
        req_id: u64,
        /// The response.
        resp: Rs,
    },
}

/// Bytes that are not a message.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// Larger than a datagram may be.
    #[error("datagram of {bytes} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// No valid header.
    #[error("not an envelope: {0}")]
    Header(&'static str),
    /// The body after a valid header is not JSON.
    #[error("envelope body is not JSON: {0}")]
    Envelope(serde_json::Error),
    /// The body does not decode as the service's types.
    #[error("envelope body does not decode: {0}")]
    Body(serde_json::Error),
    /// The frame's checksum does not match: changed in flight.
    #[error("frame checksum mismatch (corrupted in flight)")]
    Checksum,
}

/// Decodes a datagram's header, leaving the body raw.
pub fn decode_envelope(bytes: &[u8]) -> Result<RawEnvelope, DecodeError> {
    if bytes.len() > DATAGRAM_BYTES_MAX {
        return Err(DecodeError::TooLarge {
            bytes: bytes.len(),
            max: DATAGRAM_BYTES_MAX,
        });
    }
    let (header, body) = bytes
        .split_at_checked(HEADER_BYTES)
        .ok_or(DecodeError::Header("shorter than a header"))?;
    if header[0] != HEADER_VERSION {
        return Err(DecodeError::Header("unknown header version"));
    }
    let msg_id = u64::from_le_bytes(array(&header[1..9]));
    let from = decode_addr(&header[9..14])?;
    let to = decode_addr(&header[14..19])?;
    let body: Box<RawValue> = serde_json::from_slice(body).map_err(DecodeError::Envelope)?;
    Ok(Envelope {
        msg_id,
        from,
        to,
        body,
    })
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(b);
    a
}

fn encode_addr(out: &mut Vec<u8>, a: Addr) {
    let (kind, id) = match a {
        Addr::Node(n) => (0u8, n.0),
        Addr::Client(c) => (1u8, c.0),
    };
    out.push(kind);
    out.extend_from_slice(&id.to_le_bytes());
}

fn decode_addr(b: &[u8]) -> Result<Addr, DecodeError> {
    let id = u32::from_le_bytes(array(&b[1..5]));
    match b[0] {
        0 => Ok(Addr::Node(NodeId(id))),
        1 => Ok(Addr::Client(ClientId(id))),
        _ => Err(DecodeError::Header("unknown address kind")),
    }
}

/// Encodes a datagram.
pub fn encode_envelope(msg_id: u64, from: Addr, to: Addr, body: &RawValue) -> Vec<u8> {
    let body = body.get().as_bytes();
    let mut out = Vec::with_capacity(HEADER_BYTES + body.len());
    out.push(HEADER_VERSION);
    out.extend_from_slice(&msg_id.to_le_bytes());
    encode_addr(&mut out, from);
    encode_addr(&mut out, to);
    debug_assert_eq!(out.len(), HEADER_BYTES);
    out.extend_from_slice(body);
    out
}

/// Bytes of the checksum that ends every frame (a datagram without a cluster key).
pub const FRAME_CHECK_BYTES: usize = 4;

/// The frame of an envelope: the envelope and a CRC-32 of it, so a datagram whose bits changed
/// in flight (UDP's own 16-bit checksum misses some) is dropped, never decoded into a wrong
/// message.
pub fn seal_frame(mut envelope: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&envelope);
    envelope.extend_from_slice(&crc.to_le_bytes());
    envelope
}

/// The envelope of a frame whose checksum matches.
pub fn open_frame(frame: &[u8]) -> Result<&[u8], DecodeError> {
    let at = frame
        .len()
        .checked_sub(FRAME_CHECK_BYTES)
        .ok_or(DecodeError::Header("shorter than a frame checksum"))?;
    let (envelope, crc) = frame.split_at(at);
    if crc32fast::hash(envelope).to_le_bytes() != crc {
        return Err(DecodeError::Checksum);
    }
    Ok(envelope)
}

/// Decodes a body with the receiver's types.
pub fn decode_body<B: serde::de::DeserializeOwned>(raw: &RawValue) -> Result<B, DecodeError> {
    serde_json::from_str(raw.get()).map_err(DecodeError::Body)
}

/// Fails only for types JSON cannot represent (e.g. maps with non-scalar keys): a programming
/// error in a message type, which the host treats as a harness bug.
pub fn encode_body<B: Serialize>(body: &B) -> Result<Box<RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_opens_unchanged_and_any_flipped_bit_is_caught() {
        let envelope = b"header and a body".to_vec();
        let frame = seal_frame(envelope.clone());
        assert_eq!(open_frame(&frame).ok(), Some(&envelope[..]));
        for bit in 0..frame.len() * 8 {
            let mut bad = frame.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(open_frame(&bad).is_err(), "bit {bit} flipped was accepted");
        }
        assert!(open_frame(b"abc").is_err());
    }

    type TestBody = Body<String, u32, i64>;

    #[test]
    fn round_trip() {
        let body: TestBody = Body::Request { req_id: 3, req: 7 };
        let raw = encode_body(&body).expect("test body encodes");
        let bytes = encode_envelope(11, Addr::Client(ClientId(1)), Addr::Node(NodeId(2)), &raw);
        let env = decode_envelope(&bytes).map_err(|e| e.to_string());
        let env = env.as_ref().map(|e| (e.msg_id, e.from, e.to));
        assert_eq!(
            env,
            Ok((11, Addr::Client(ClientId(1)), Addr::Node(NodeId(2))))
        );
        let decoded: Result<TestBody, _> =
            decode_envelope(&bytes).and_then(|e| decode_body(&e.body));
        assert!(matches!(decoded, Ok(Body::Request { req_id: 3, req: 7 })));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            &b""[..],
            b"\xff\xfe",
            b"{}",
            b"{\"msg_id\":1}",
            b"[1,2,3]",
            b"null",
            &[HEADER_VERSION; HEADER_BYTES],
            &[HEADER_VERSION; HEADER_BYTES + 4],
        ] {
            assert!(decode_envelope(junk).is_err(), "{junk:?} must not decode");
        }
        let big = vec![b' '; DATAGRAM_BYTES_MAX + 1];
        assert!(matches!(
            decode_envelope(&big),
            Err(DecodeError::TooLarge { .. })
        ));
        let wrong_body = encode_envelope(
            1,
            Addr::Node(NodeId(0)),
            Addr::Node(NodeId(1)),
            &encode_body(&"surprise").expect("a string encodes"),
        );
        let env = decode_envelope(&wrong_body);
        assert!(env.is_ok());
        if let Ok(env) = env {
            assert!(decode_body::<TestBody>(&env.body).is_err());
        }
    }
}
