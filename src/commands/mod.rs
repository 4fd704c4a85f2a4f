//! The thin command layer: each handler parses its arguments (touching no state), calls one
//! owner, and replies. Shared parsing lives here: numkeys and flush modes, with native texts.

pub mod eval;
pub mod fcall;
pub mod flushall;
pub mod function;
pub mod script;

use crate::error::ScriptError;
use crate::host::{self, Ctx};

/// `script|sha numkeys key... arg...` split as evalGenericCommand does it.
pub struct KeysAndArgs<'a> {
    pub keys: &'a [&'a [u8]],
    pub args: &'a [&'a [u8]],
}

/// Parses numkeys (a strict decimal long long) and splits the rest into keys and args.
pub fn split_numkeys<'a>(numkeys: &[u8], rest: &'a [&'a [u8]]) -> Result<KeysAndArgs<'a>, ScriptError> {
    let n = parse_long_long(numkeys).ok_or_else(ScriptError::not_integer)?;
    if n > i64::try_from(rest.len()).unwrap_or(i64::MAX) {
        return Err(ScriptError::err("Number of keys can't be greater than number of args"));
    }
    let n = usize::try_from(n).map_err(|_| ScriptError::err("Number of keys can't be negative"))?;
    let (keys, args) = rest.split_at_checked(n).ok_or_else(ScriptError::not_integer)?;
    Ok(KeysAndArgs { keys, args })
}

/// Redis's string2ll: optional '-', digits, no leading zeros (except "0"), no spaces or '+',
/// within i64.
pub fn parse_long_long(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits.first() == Some(&b'0') {
        return None;
    }
    if negative && digits == b"0" {
        return None;
    }
    // Accumulated toward the sign, so that i64::MIN is reachable; overflow is None.
    digits.iter().try_fold(0i64, |value, &d| {
        let digit = i64::from(d - b'0');
        let shifted = value.checked_mul(10)?;
        if negative {
            shifted.checked_sub(digit)
        } else {
            shifted.checked_add(digit)
        }
    })
}

/// SYNC or ASYNC, as the FLUSH commands take it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushMode {
    Sync,
    Async,
}

impl FlushMode {
    /// `None` if the word is neither (case-insensitive).
    pub fn from_word(word: &[u8]) -> Option<FlushMode> {
        if word.eq_ignore_ascii_case(b"sync") {
            Some(FlushMode::Sync)
        } else if word.eq_ignore_ascii_case(b"async") {
            Some(FlushMode::Async)
        } else {
            None
        }
    }

    /// The mode a FLUSH without argument uses: `lazyfree-lazy-user-flush`, read now.
    pub fn host_default(ctx: &Ctx) -> FlushMode {
        match host::config_get(ctx, b"lazyfree-lazy-user-flush") {
            Some(v) if v.eq_ignore_ascii_case(b"yes") => FlushMode::Async,
            _ => FlushMode::Sync,
        }
    }
}

/// Frees what a flush took out (an old VM and everything in it) without stalling other
/// clients: ASYNC answers at once; SYNC answers once the memory is freed, blocking only the
/// caller, or frees inline where the caller cannot block (MULTI, scripts).
pub fn free_flushed<T: Send + 'static>(ctx: &mut Ctx, old: T, mode: FlushMode, label: &'static str) {
    match mode {
        FlushMode::Async => {
            crate::lazyfree::free_in_background(old, label, None);
            ctx.reply_ok();
        }
        FlushMode::Sync => match ctx.block_client() {
            Some(client) => crate::lazyfree::free_in_background(old, label, Some(client)),
            None => {
                drop(old);
                ctx.reply_ok();
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_long_like_redis() {
        for ok in ["0", "1", "-1", "9223372036854775807", "-9223372036854775808", "12"] {
            assert_eq!(parse_long_long(ok.as_bytes()), ok.parse::<i64>().ok(), "{ok}");
        }
        for bad in ["", "abc", "1.0", "+1", "01", " 1", "1 ", "-0", "9223372036854775808", "-9223372036854775809", "-"]
        {
            assert!(parse_long_long(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn numkeys_errors() {
        let rest: Vec<&[u8]> = vec![b"a", b"b"];
        let e = |n: &str| match split_numkeys(n.as_bytes(), &rest) {
            Err(e) => String::from_utf8(e.text().into_owned()).unwrap(),
            Ok(k) => format!("{} {}", k.keys.len(), k.args.len()),
        };
        assert_eq!(e("1"), "1 1");
        assert_eq!(e("2"), "2 0");
        assert_eq!(e("3"), "ERR Number of keys can't be greater than number of args");
        assert_eq!(e("-1"), "ERR Number of keys can't be negative");
        assert_eq!(e("x"), "ERR value is not an integer or out of range");
    }
}
