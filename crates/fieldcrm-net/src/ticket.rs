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
        let addrs = &self.addrs[..self.addrs.len().min(255)];
        out.push(addrs.len() as u8);
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
        let (body, crc) = bytes.split_at(bytes.len() - CRC_LEN);
        if crc32(body).to_be_bytes() != crc {
            return Err(TicketError::Checksum);
        }
        let mut key = [0u8; KEY_LEN];
        key.copy_from_slice(&body[..KEY_LEN]);
        iroh::PublicKey::from_bytes(&key).map_err(|_| TicketError::BadKey)?;
        let count = body[KEY_LEN] as usize;
        let mut rest = &body[KEY_LEN + 1..];
        let mut addrs = Vec::with_capacity(count);
        for _ in 0..count {
            let (&tag, tail) = rest
                .split_first()
                .ok_or(TicketError::Malformed("fewer addresses than announced"))?;
            let ip_len = match tag {
                TAG_V4 => 4,
                TAG_V6 => 16,
                _ => return Err(TicketError::Malformed("unknown address kind")),
            };
            if tail.len() < ip_len + 2 {
                return Err(TicketError::Malformed("address cut short"));
            }
            let ip = if ip_len == 4 {
                IpAddr::V4(Ipv4Addr::from(
                    <[u8; 4]>::try_from(&tail[..4]).expect("4 bytes"),
                ))
            } else {
                IpAddr::V6(Ipv6Addr::from(
                    <[u8; 16]>::try_from(&tail[..16]).expect("16 bytes"),
                ))
            };
            let port = u16::from_be_bytes([tail[ip_len], tail[ip_len + 1]]);
            addrs.push(SocketAddr::new(ip, port));
            rest = &tail[ip_len + 2..];
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
            device: DeviceKey(key),
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
        let version = match rest.chars().next() {
            Some(c) if c.is_ascii_digit() => c,
            _ => return Err(TicketError::MissingVersion),
        };
        if version.to_digit(10) != Some(TICKET_VERSION) {
            return Err(TicketError::UnsupportedVersion(version.to_string()));
        }
        let body = &rest[1..];
        Ticket::from_bytes(&base32_decode(body)?)
    }
}

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut acc: u64 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | b as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
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
        assert_eq!(s[..30].parse::<Ticket>(), Err(TicketError::TooShort));
        assert_eq!(
            s[..s.len() - 3].parse::<Ticket>(),
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
}
