//! Glob patterns as Redis matches them (util.c stringmatchlen): `*`, `?`, `[abc]`, `[^a-z]`,
//! `\` escapes, optionally case-insensitive. Iterative, with one backtrack point per `*`,
//! so no pattern can take exponential time or recurse.

/// Does `text` match `pattern`?
pub fn matches(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    let fold = |b: u8| if nocase { b.to_ascii_lowercase() } else { b };
    let (mut p, mut t) = (0usize, 0usize);
    // Where to resume after the last `*`: (pattern index after it, text index it covers to).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let Some(&c) = text.get(t) else { break };
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(1),
            Some(b'[') => class(pattern, p, fold(c), fold),
            Some(b'\\') if p + 1 < pattern.len() => {
                (pattern.get(p + 1).map(|&e| fold(e)) == Some(fold(c))).then_some(2)
            }
            Some(&pc) => (fold(pc) == fold(c)).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                p += len;
                t += 1;
            }
            None => match star {
                Some((after, covered)) => {
                    p = after;
                    t = covered + 1;
                    star = Some((after, covered + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).unwrap_or_default().iter().all(|&b| b == b'*')
}

/// Matches one character against the class starting at `pattern[start] == '['`; returns the
/// class's length in the pattern when it matches.
fn class(pattern: &[u8], start: usize, c: u8, fold: impl Fn(u8) -> u8) -> Option<usize> {
    let mut i = start + 1;
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(i) {
            // An unterminated class ends at the pattern's end (as Redis treats it).
            None => {
                i -= 1;
                break;
            }
            Some(b']') => break,
            Some(b'\\') if i + 1 < pattern.len() => {
                i += 1;
                if pattern.get(i).map(|&b| fold(b)) == Some(c) {
                    matched = true;
                }
            }
            Some(&lo) if pattern.get(i + 1) == Some(&b'-') && i + 2 < pattern.len() => {
                let hi = pattern.get(i + 2).copied().unwrap_or(lo);
                let (lo, hi) = (fold(lo).min(fold(hi)), fold(lo).max(fold(hi)));
                if (lo..=hi).contains(&c) {
                    matched = true;
                }
                i += 2;
            }
            Some(&b) => {
                if fold(b) == c {
                    matched = true;
                }
            }
        }
        i += 1;
    }
    (matched != negate).then_some(i - start + 1)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        let m = |p: &str, t: &str| matches(p.as_bytes(), t.as_bytes(), false);
        assert!(m("*", "") && m("*", "abc") && m("a*", "abc") && m("*c", "abc") && m("a*c", "abbbc"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("[ab]x", "bx") && !m("[ab]x", "cx") && m("[^ab]x", "cx") && m("[a-c]", "b"));
        assert!(m("\\*", "*") && !m("\\*", "a"));
        assert!(m("*lib*", "mylib1") && !m("lib", "mylib"));
        assert!(matches(b"MY*", b"mylib", true) && !matches(b"MY*", b"mylib", false));
        assert!(!m("a*b*c*d*e*f*g*h*i*j*k", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }
}
