//! Commands that behave differently when a script runs them. Redis keys these on the script
//! client's CLIENT_SCRIPT flag (t_stream.c, sort.c); RM_Call's client is a module client, so
//! the run context adapts the call here first.

use std::borrow::Cow;

/// What to do with a script's command before it reaches the host.
pub enum Adapted<'a> {
    /// Run it as it is.
    AsIs,
    /// Run these arguments instead.
    Rewritten(Vec<Cow<'a, [u8]>>),
    /// Refuse with this error text.
    Refused(Vec<u8>),
}

/// Whether `adapt` can change anything for this command (a cheap check for the hot path).
pub fn may_adapt(name: &[u8]) -> bool {
    // Most names leave at their first letter.
    matches!(name.first().map(u8::to_ascii_lowercase), Some(b's' | b'x'))
        && [&b"xread"[..], b"xreadgroup", b"sort", b"sort_ro"].iter().any(|n| name.eq_ignore_ascii_case(n))
}

/// Decides how `argv` runs for a script. `key_type` answers `TYPE key` when needed.
pub fn adapt<'a>(argv: &[&'a [u8]], key_type: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> Adapted<'a> {
    let Some(name) = argv.first() else { return Adapted::AsIs };
    if name.eq_ignore_ascii_case(b"xread") || name.eq_ignore_ascii_case(b"xreadgroup") {
        return xread(argv, name);
    }
    if name.eq_ignore_ascii_case(b"sort") || name.eq_ignore_ascii_case(b"sort_ro") {
        return sort(argv, name.eq_ignore_ascii_case(b"sort_ro"), key_type);
    }
    Adapted::AsIs
}

/// XREAD/XREADGROUP refuse BLOCK from scripts (t_stream.c xreadCommand), in option order.
fn xread<'a>(argv: &[&'a [u8]], name: &[u8]) -> Adapted<'a> {
    let group = name.eq_ignore_ascii_case(b"xreadgroup");
    let mut i = 1;
    while let Some(opt) = argv.get(i) {
        let more = argv.len() - i - 1;
        if opt.eq_ignore_ascii_case(b"BLOCK") && more > 0 {
            let mut text = b"ERR ".to_vec();
            text.extend_from_slice(name);
            text.extend_from_slice(b" command is not allowed with BLOCK option from scripts");
            return Adapted::Refused(text);
        } else if opt.eq_ignore_ascii_case(b"COUNT") && more > 0 {
            // An invalid count fails before any later BLOCK: leave that error to the host.
            if argv.get(i + 1).and_then(|c| crate::commands::parse_long_long(c)).is_none() {
                return Adapted::AsIs;
            }
            i += 1;
        } else if group && opt.eq_ignore_ascii_case(b"GROUP") && more >= 2 {
            i += 2;
        } else if group && opt.eq_ignore_ascii_case(b"NOACK") {
        } else {
            // STREAMS ends the options; anything else is the host's syntax error.
            return Adapted::AsIs;
        }
        i += 1;
    }
    Adapted::AsIs
}

/// SORT of a set with a constant BY pattern is forced to ALPHA order for scripts, so the
/// result does not depend on the set's internal order (sort.c sortCommandGeneric).
fn sort<'a>(argv: &[&'a [u8]], readonly: bool, key_type: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> Adapted<'a> {
    let Some(key) = argv.get(1) else { return Adapted::AsIs };
    let mut dontsort = false;
    let mut store = false;
    let mut by_positions = Vec::new();
    let mut j = 2;
    while let Some(opt) = argv.get(j) {
        let left = argv.len() - j - 1;
        if opt.eq_ignore_ascii_case(b"asc") || opt.eq_ignore_ascii_case(b"desc") || opt.eq_ignore_ascii_case(b"alpha") {
        } else if opt.eq_ignore_ascii_case(b"limit") && left >= 2 {
            j += 2;
        } else if !readonly && opt.eq_ignore_ascii_case(b"store") && left >= 1 {
            store = true;
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"by") && left >= 1 {
            if argv.get(j + 1).is_some_and(|p| !p.contains(&b'*')) {
                dontsort = true;
            }
            by_positions.push(j);
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"get") && left >= 1 {
            j += 1;
        } else {
            return Adapted::AsIs;
        }
        j += 1;
    }
    // With STORE the host already sorts sets for everyone.
    if !dontsort || store || key_type(key).as_deref() != Some(b"set") {
        return Adapted::AsIs;
    }
    let mut out: Vec<Cow<'a, [u8]>> = Vec::with_capacity(argv.len() + 1);
    let mut i = 0;
    while let Some(arg) = argv.get(i) {
        if by_positions.contains(&i) {
            i += 2;
            continue;
        }
        out.push(Cow::Borrowed(*arg));
        i += 1;
    }
    out.push(Cow::Borrowed(b"ALPHA"));
    Adapted::Rewritten(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], ty: &str) -> String {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match adapt(&argv, |_| Some(ty.as_bytes().to_vec())) {
            Adapted::AsIs => "as-is".into(),
            Adapted::Refused(t) => String::from_utf8(t).unwrap(),
            Adapted::Rewritten(v) => {
                v.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")
            }
        }
    }

    #[test]
    fn xread_block() {
        assert_eq!(
            run(&["xread", "BLOCK", "0", "STREAMS", "s", "$"], ""),
            "ERR xread command is not allowed with BLOCK option from scripts"
        );
        assert_eq!(
            run(&["XREADGROUP", "GROUP", "g", "c", "block", "0", "STREAMS", "s", ">"], ""),
            "ERR XREADGROUP command is not allowed with BLOCK option from scripts"
        );
        assert_eq!(run(&["xread", "STREAMS", "BLOCK", "0"], ""), "as-is");
        assert_eq!(run(&["xread", "COUNT", "x", "BLOCK", "0"], ""), "as-is");
    }

    #[test]
    fn sort_constant_by_on_sets() {
        assert_eq!(run(&["sort", "s", "by", "nokey", "get", "#"], "set"), "sort s get # ALPHA");
        assert_eq!(run(&["sort", "s", "by", "nokey"], "list"), "as-is");
        assert_eq!(run(&["sort", "s", "by", "w_*"], "set"), "as-is");
        assert_eq!(run(&["sort", "s", "by", "x", "store", "d"], "set"), "as-is");
    }
}
