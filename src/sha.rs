//! The identity of an EVAL script: SHA1 of its body as 40 lowercase hex digits (eval.c
//! sha1hex). Parsed case-insensitively, as EVALSHA and SCRIPT EXISTS accept it.

use sha1::{Digest, Sha1};

/// Invariant: 40 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Sha([u8; 40]);

impl Sha {
    pub fn of(body: &[u8]) -> Sha {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha1::digest(body);
        let mut out = [0u8; 40];
        for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
            if let ([hi, lo], Some(&h), Some(&l)) =
                (pair, HEX.get(usize::from(byte >> 4)), HEX.get(usize::from(byte & 0xf)))
            {
                *hi = h;
                *lo = l;
            }
        }
        Sha(out)
    }

    /// A user-given SHA: exactly 40 hex digits, any case; anything else cannot name a script.
    pub fn parse(user: &[u8]) -> Option<Sha> {
        let bytes: &[u8; 40] = user.try_into().ok()?;
        // On every EVALSHA: setting bit 5 lower-cases letters and keeps digits; only A-F and
        // a-f land in a-f that way.
        // No early exit: the whole check runs as a few vector operations.
        let lower = bytes.map(|b| b | 0x20);
        let valid =
            bytes.iter().zip(&lower).fold(true, |ok, (&b, &l)| ok & (b.is_ascii_digit() | (b'a'..=b'f').contains(&l)));
        valid.then_some(Sha(lower))
    }

    pub fn as_str(&self) -> &str {
        // The invariant makes this always valid ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The 40 hex digits (formatted only when a message needs them).
impl std::fmt::Display for Sha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Sha;

    #[test]
    fn digests() {
        assert_eq!(Sha::of(b"").as_str(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(Sha::of(b"return 1").as_str(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    }

    #[test]
    fn parsing() {
        let sha = Sha::of(b"return 1");
        assert_eq!(Sha::parse(b"E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"), Some(sha));
        assert_eq!(Sha::parse(b"e0e1f9"), None);
        assert_eq!(Sha::parse(b"z0e1f9fabfc9d4800c877a703b823ac0578ff8db"), None);
        // Bit 5 must not make a digit out of something else ('\x10' | 0x20 == '0').
        for bad in [0x10u8, b'\x19', b'@', b'`', b'g', b'G', b':', b'\x1a'] {
            let mut s = *b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
            s[7] = bad;
            assert_eq!(Sha::parse(&s), None, "{bad:#x}");
        }
    }
}
