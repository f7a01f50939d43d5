//! Tickets: what one device shows so another can dial it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use fieldcrm_model::DeviceKey;

/// Every ticket starts with this, followed by the format version digit.
pub const TICKET_PREFIX: &str = "fieldcrm";
/// The ticket format version this build writes and reads (one digit in the text form).
pub const TICKET_VERSION: u32 = 1;

const KEY_LEN: usize = 32;
const CRC_LEN: usize = 4;
const TAG_V4: u8 = 4;
const TAG_V6: u8 = 6;

/// A device key plus the socket addresses the device listens on, as a copy-pasteable string.
///
/// Text form: `fieldcrm`, the version digit `1`, then lowercase base32 (RFC 4648 alphabet, no padding) of
/// `key (32 bytes) | address count (1 byte) | addresses | CRC-32 of everything before`, where
/// an address is `4 | IPv4 (4 bytes) | port (2 bytes, big-endian)` or
/// `6 | IPv6 (16 bytes) | port`. Parsing ignores case and whitespace (a ticket wrapped by a
/// mail client still reads); the checksum catches a mistyped or cut-off ticket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ticket {
    device: DeviceKey,
    addrs: Vec<SocketAddr>,
}

/// Text that is not a valid ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// Does not start with `fieldcrm`.
    #[error("not a fieldcrm ticket (a ticket starts with `{TICKET_PREFIX}{TICKET_VERSION}`)")]
    NotATicket,
    /// The prefix is there but no version number follows it.
    #[error("ticket has no version number after `{TICKET_PREFIX}`")]
    MissingVersion,
    /// A version this build does not read.
    #[error(
        "ticket format version {0} is not supported (this build reads version {TICKET_VERSION}); \
         are both devices on the same fieldcrm release?"
    )]
    UnsupportedVersion(String),
    /// A character outside the base32 alphabet.
    #[error("ticket contains `{0}`, which cannot appear in a ticket")]
    BadCharacter(char),
    /// Too short to hold a key, an address count and a checksum.
    #[error("ticket is too short; was it copied completely?")]
    TooShort,
    /// The checksum does not match: a character was changed or lost.
    #[error("ticket is damaged (checksum mismatch); copy it again")]
    Checksum,
    /// The contents do not have the expected structure.
    #[error("ticket is malformed: {0}")]
    Malformed(&'static str),
    /// The key is not a valid ed25519 public key.
    #[error("ticket's device key is not a valid ed25519 public key")]
    BadKey,
    /// The ticket lists no address to dial.
    #[error("ticket lists no address to connect to")]
    NoAddresses,
}

impl Ticket {
    /// A ticket for `device` reachable at `addrs`.
    pub fn new(device: DeviceKey, addrs: Vec<SocketAddr>) -> Ticket {
        Ticket { device, addrs }
    }

    /// The device key (= iroh endpoint ID) of the device that made the ticket.
    pub fn device_key(&self) -> DeviceKey {
        self.device
    }

    /// The socket addresses to dial.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(KEY_LEN + 1 + self.addrs.len() * 19 + CRC_LEN);
        out.extend_from_slice(&self.device.0);
        // A ticket carries at most 255 addresses; more would not fit in anything a person
        // copies around anyway.
        let addrs = self.addrs.get(..255).unwrap_or(&self.addrs);
        out.push(u8::try_from(addrs.len()).unwrap_or(u8::MAX));
        for addr in addrs {
            match addr.ip() {
                IpAddr::V4(ip) => {
                    out.push(TAG_V4);
                    out.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    out.push(TAG_V6);
                    out.extend_from_slice(&ip.octets());
                }
            }
            out.extend_from_slice(&addr.port().to_be_bytes());
        }
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Result<Ticket, TicketError> {
        if bytes.len() < KEY_LEN + 1 + CRC_LEN {
            return Err(TicketError::TooShort);
        }
        let (body, crc) = bytes
            .split_last_chunk::<CRC_LEN>()
            .ok_or(TicketError::TooShort)?;
        if crc32(body).to_be_bytes() != *crc {
            return Err(TicketError::Checksum);
        }
        let (key, rest) = body
            .split_first_chunk::<KEY_LEN>()
            .ok_or(TicketError::TooShort)?;
        iroh::PublicKey::from_bytes(key).map_err(|_| TicketError::BadKey)?;
        let (&count, mut rest) = rest.split_first().ok_or(TicketError::TooShort)?;
        let mut addrs = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let (&tag, tail) = rest
                .split_first()
                .ok_or(TicketError::Malformed("fewer addresses than announced"))?;
            let cut_short = TicketError::Malformed("address cut short");
            let (ip, tail) = match tag {
                TAG_V4 => {
                    let (ip, tail) = tail.split_first_chunk::<4>().ok_or(cut_short)?;
                    (IpAddr::V4(Ipv4Addr::from(*ip)), tail)
                }
                TAG_V6 => {
                    let (ip, tail) = tail.split_first_chunk::<16>().ok_or(cut_short)?;
                    (IpAddr::V6(Ipv6Addr::from(*ip)), tail)
                }
                _ => return Err(TicketError::Malformed("unknown address kind")),
            };
            let (port, tail) = tail
                .split_first_chunk::<2>()
                .ok_or(TicketError::Malformed("address cut short"))?;
            addrs.push(SocketAddr::new(ip, u16::from_be_bytes(*port)));
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(TicketError::Malformed(
                "unexpected bytes after the addresses",
            ));
        }
        if addrs.is_empty() {
            return Err(TicketError::NoAddresses);
        }
        Ok(Ticket {
            device: DeviceKey(*key),
            addrs,
        })
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{TICKET_PREFIX}{TICKET_VERSION}{}",
            base32_encode(&self.to_bytes())
        )
    }
}

impl FromStr for Ticket {
    type Err = TicketError;

    fn from_str(s: &str) -> Result<Ticket, TicketError> {
        let text: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let rest = text
            .strip_prefix(TICKET_PREFIX)
            .ok_or(TicketError::NotATicket)?;
        // One digit: the base32 body may itself start with a digit.
        let mut chars = rest.chars();
        let version = match chars.next() {
            Some(c) if c.is_ascii_digit() => c,
            _ => return Err(TicketError::MissingVersion),
        };
        if version.to_digit(10) != Some(TICKET_VERSION) {
            return Err(TicketError::UnsupportedVersion(version.to_string()));
        }
        Ticket::from_bytes(&base32_decode(chars.as_str())?)
    }
}

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The base32 digit for the low 5 bits of `v`.
fn base32_digit(v: u64) -> char {
    ALPHABET
        .get((v & 31) as usize)
        .map_or('a', |&b| char::from(b))
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | b as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_digit(acc >> bits));
        }
    }
    if bits > 0 {
        out.push(base32_digit(acc << (5 - bits)));
    }
    out
}

fn base32_decode(text: &str) -> Result<Vec<u8>, TicketError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for c in text.chars() {
        let v = match c {
            'a'..='z' => c as u64 - 'a' as u64,
            '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return Err(TicketError::BadCharacter(c)),
        };
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// CRC-32 (IEEE 802.3), bitwise: tickets are short.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeviceKey {
        DeviceKey(*iroh::SecretKey::from_bytes(&[9; 32]).public().as_bytes())
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn base32_round_trips_every_length() {
        for n in 0..20 {
            let bytes: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base32_decode(&base32_encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn ticket_round_trips_with_both_address_families() {
        let t = Ticket::new(
            key(),
            vec![
                "192.168.1.20:4433".parse().unwrap(),
                "[fe80::1]:9".parse().unwrap(),
            ],
        );
        let s = t.to_string();
        assert!(s.starts_with("fieldcrm1"), "{s}");
        assert_eq!(s.parse::<Ticket>().unwrap(), t);
        // Upper case and line breaks from a mail client still parse.
        let wrapped: String = s
            .to_uppercase()
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 20 == 19 { vec![c, '\n'] } else { vec![c] })
            .collect();
        assert_eq!(wrapped.parse::<Ticket>().unwrap(), t);
    }

    #[test]
    fn damaged_tickets_are_rejected_with_a_reason() {
        let s = Ticket::new(key(), vec!["10.0.0.2:7000".parse().unwrap()]).to_string();
        assert_eq!("".parse::<Ticket>(), Err(TicketError::NotATicket));
        assert_eq!(
            "hello world".parse::<Ticket>(),
            Err(TicketError::NotATicket)
        );
        assert_eq!(
            "fieldcrm".parse::<Ticket>(),
            Err(TicketError::MissingVersion)
        );
        let v2 = s.replacen("fieldcrm1", "fieldcrm2", 1);
        assert_eq!(
            v2.parse::<Ticket>(),
            Err(TicketError::UnsupportedVersion("2".into()))
        );
        assert_eq!(
            format!("{s}!").parse::<Ticket>(),
            Err(TicketError::BadCharacter('!'))
        );
        assert_eq!(
            s.get(..30).unwrap().parse::<Ticket>(),
            Err(TicketError::TooShort)
        );
        assert_eq!(
            s.get(..s.len() - 3).unwrap().parse::<Ticket>(),
            Err(TicketError::Checksum)
        );
        // One character changed in the key.
        let mut chars: Vec<char> = s.chars().collect();
        chars[15] = if chars[15] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(typo.parse::<Ticket>(), Err(TicketError::Checksum));
    }

    #[test]
    fn structurally_bad_contents_are_rejected_even_with_a_valid_checksum() {
        let forge = |body: &[u8]| {
            let mut b = body.to_vec();
            let crc = crc32(&b);
            b.extend_from_slice(&crc.to_be_bytes());
            format!("fieldcrm1{}", base32_encode(&b))
        };
        let k = key().0;
        let mut no_addrs = k.to_vec();
        no_addrs.push(0);
        assert_eq!(
            forge(&no_addrs).parse::<Ticket>(),
            Err(TicketError::NoAddresses)
        );
        let mut bad_tag = k.to_vec();
        bad_tag.extend_from_slice(&[1, 5, 1, 2, 3, 4, 0, 80]);
        assert!(matches!(
            forge(&bad_tag).parse::<Ticket>(),
            Err(TicketError::Malformed(_))
        ));
        // 32 bytes that are not a point on the curve.
        let not_a_point = (0..=255u8)
            .map(|b| [b; 32])
            .find(|k| iroh::PublicKey::from_bytes(k).is_err())
            .expect("some repeated byte is not a curve point");
        let mut bad_key = not_a_point.to_vec();
        bad_key.extend_from_slice(&[1, 4, 1, 2, 3, 4, 0, 80]);
        assert_eq!(forge(&bad_key).parse::<Ticket>(), Err(TicketError::BadKey));
        let mut short = k.to_vec();
        short.extend_from_slice(&[2, 4, 1, 2, 3, 4, 0, 80]);
        assert!(matches!(
            forge(&short).parse::<Ticket>(),
            Err(TicketError::Malformed(_))
        ));
    }

    #[test]
    fn odd_text_is_an_error_never_a_panic() {
        let good = Ticket::new(key(), vec!["10.0.0.2:7000".parse().unwrap()]).to_string();
        let mut inputs: Vec<String> = [
            "",
            " ",
            "\n\t",
            "f",
            "fieldcrm",
            "fieldcrm1",
            "FIELDCRM1",
            "fieldcrm١",
            "fieldcrmé",
            "fieldcrm1é",
            "fieldcrm1😀😀😀",
            "😀fieldcrm1",
            "fieldcrm😀1abc",
            "客户票据",
            "fieldcrm1客户",
            "fieldcrm1\u{0}\u{0}",
            "fieldcrm1aaaa\u{200b}bbbb",
            "ﬁeldcrm1abc",
            "fieldcrm11111111",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every truncation of a real ticket, with and without a multi-byte tail.
        for (i, _) in good.char_indices() {
            let head = good.get(..i).unwrap();
            inputs.push(head.to_string());
            inputs.push(format!("{head}é"));
            inputs.push(format!("{head}😀"));
        }
        // Very long input, valid alphabet and not.
        inputs.push(format!("fieldcrm1{}", "a".repeat(1 << 20)));
        inputs.push(format!("fieldcrm1{}", "7".repeat(100_003)));
        inputs.push("😀".repeat(100_000));
        inputs.push(format!("{good}{}", "b".repeat(10_000)));
        // Random bytes read as text (lossily, as a paste of garbage would arrive).
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            inputs.push(text.clone());
            inputs.push(format!("fieldcrm1{text}"));
            // Random base32 after the prefix: reaches the byte decoder.
            let b32: String = (0..len).map(|_| base32_digit(next())).collect();
            inputs.push(format!("fieldcrm1{b32}"));
        }
        for text in &inputs {
            let parsed = std::panic::catch_unwind(|| text.parse::<Ticket>());
            let parsed = parsed.unwrap_or_else(|_| panic!("parsing {text:?} panicked"));
            if text.as_str() != good {
                assert!(parsed.is_err(), "{text:?} parsed as {parsed:?}");
            }
        }
        // Forged bodies with a valid checksum and every announced count reach the address
        // decoder with too few bytes.
        for count in 0..=255u8 {
            for extra in 0..20usize {
                let mut body = key().0.to_vec();
                body.push(count);
                body.extend((0..extra).map(|i| if i % 7 == 0 { TAG_V6 } else { TAG_V4 }));
                let crc = crc32(&body);
                body.extend_from_slice(&crc.to_be_bytes());
                let _ = format!("fieldcrm1{}", base32_encode(&body)).parse::<Ticket>();
            }
        }
    }
}
