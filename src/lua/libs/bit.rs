//! `bit` library: a Rust port of the behaviour of LuaBitOp 1.0.2
//! (`deps/lua/src/lua_bit.c`) as bundled with Redis 7.0.15, including the
//! CVE-2024-31449 fix carried by the Debian host build (`bit.tohex(x, INT32_MIN)`
//! is treated as `bit.tohex(x, -(2^31-1))`, i.e. 8 upper-case digits).
//!
//! All arithmetic is done with explicit wrapping/rotating operations so that no
//! input reachable from Lua can make this code panic.

use mlua::{Lua, MultiValue, Result, Table};

use super::{arg_error, lua_typename, to_number};

/// 2^52 + 2^51: adding it to a double leaves the value modulo 2^32 (rounded
/// to nearest-even) in the low 32 bits of the IEEE-754 representation.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// Normalise a Lua number to 32 bits the way `barg` does.
fn norm(n: f64) -> u32 {
    // Truncation to the low 32 bits of the representation is the intent.
    ((n + MAGIC).to_bits() & 0xffff_ffff) as u32
}

/// `barg(L, idx)` of lua_bit.c (Lua 5.1 variant).
fn barg(lua: &Lua, args: &MultiValue, idx: usize) -> Result<u32> {
    let (n, isnum) = to_number(lua, args, idx)?;
    let b = norm(n);
    if b == 0 && !isnum {
        let tname = lua_typename(idx.checked_sub(1).and_then(|i| args.get(i)));
        return Err(arg_error(lua, i64::try_from(idx).unwrap_or(i64::MAX), &format!("number expected, got {tname}")));
    }
    Ok(b)
}

/// `BRET(b)`: push `(lua_Number)(SBits)b`.
fn bret(b: u32) -> f64 {
    f64::from(b as i32)
}

fn bit_op(lua: &Lua, args: &MultiValue, op: fn(u32, u32) -> u32) -> Result<f64> {
    let mut b = barg(lua, args, 1)?;
    // C: for (i = lua_gettop(L); i > 1; i--) b op= barg(L, i);
    for i in (2..=args.len()).rev() {
        b = op(b, barg(lua, args, i)?);
    }
    Ok(bret(b))
}

fn bit_sh(lua: &Lua, args: &MultiValue, op: fn(u32, u32) -> u32) -> Result<f64> {
    let b = barg(lua, args, 1)?;
    let n = barg(lua, args, 2)? & 31;
    Ok(bret(op(b, n)))
}

fn tohex(lua: &Lua, args: &MultiValue) -> Result<String> {
    let mut b = barg(lua, args, 1)?;
    let mut n: i32 = if args.len() < 2 { 8 } else { barg(lua, args, 2)? as i32 };
    // CVE-2024-31449 fix as carried by the host build.
    if n == i32::MIN {
        n = i32::MIN + 1;
    }
    let mut digits: &[u8; 16] = b"0123456789abcdef";
    if n < 0 {
        n = n.wrapping_neg();
        digits = b"0123456789ABCDEF";
    }
    if n > 8 {
        n = 8;
    }
    let len = usize::try_from(n).unwrap_or(0);
    let mut buf = [b'0'; 8];
    for slot in buf.iter_mut().take(len).rev() {
        if let Some(d) = digits.get((b & 15) as usize) {
            *slot = *d;
        }
        b >>= 4;
    }
    let s: String = buf.iter().take(len).map(|&c| char::from(c)).collect();
    Ok(s)
}

/// Build the `bit` table (`arshift band bnot bor bswap bxor lshift rol ror
/// rshift tobit tohex`).
pub fn open(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", crate::lua::function(lua, |lua, args: MultiValue| Ok(bret(barg(lua, &args, 1)?)))?)?;
    t.set("bnot", crate::lua::function(lua, |lua, args: MultiValue| Ok(bret(!barg(lua, &args, 1)?)))?)?;
    t.set("band", crate::lua::function(lua, |lua, args: MultiValue| bit_op(lua, &args, |a, b| a & b))?)?;
    t.set("bor", crate::lua::function(lua, |lua, args: MultiValue| bit_op(lua, &args, |a, b| a | b))?)?;
    t.set("bxor", crate::lua::function(lua, |lua, args: MultiValue| bit_op(lua, &args, |a, b| a ^ b))?)?;
    t.set("lshift", crate::lua::function(lua, |lua, args: MultiValue| bit_sh(lua, &args, |b, n| b.wrapping_shl(n)))?)?;
    t.set("rshift", crate::lua::function(lua, |lua, args: MultiValue| bit_sh(lua, &args, |b, n| b.wrapping_shr(n)))?)?;
    t.set(
        "arshift",
        crate::lua::function(lua, |lua, args: MultiValue| {
            bit_sh(lua, &args, |b, n| (b as i32).wrapping_shr(n) as u32)
        })?,
    )?;
    t.set("rol", crate::lua::function(lua, |lua, args: MultiValue| bit_sh(lua, &args, |b, n| b.rotate_left(n)))?)?;
    t.set("ror", crate::lua::function(lua, |lua, args: MultiValue| bit_sh(lua, &args, |b, n| b.rotate_right(n)))?)?;
    t.set("bswap", crate::lua::function(lua, |lua, args: MultiValue| Ok(bret(barg(lua, &args, 1)?.swap_bytes())))?)?;
    t.set("tohex", crate::lua::function(lua, |lua, args: MultiValue| tohex(lua, &args))?)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values observed on the host redis-server 7.0.15 (Debian).
    fn eval(expr: &str) -> std::result::Result<String, String> {
        let lua = Lua::new();
        let t = open(&lua).map_err(|e| e.to_string())?;
        lua.globals().set("bit", t).map_err(|e| e.to_string())?;
        lua.load(format!("return tostring({expr})"))
            .set_name("@user_script")
            .eval::<String>()
            .map_err(|e| super::super::cases::message(&e))
    }

    #[test]
    fn host_values() {
        let ok = [
            ("bit.tobit(0xffffffff)", "-1"),
            ("bit.lshift(1, 31)", "-2147483648"),
            ("bit.tobit(2^53)", "0"),
            ("bit.tobit(1.5)", "2"),
            ("bit.tobit(2.5)", "2"),
            ("bit.tobit(-1.5)", "-2"),
            ("bit.tobit(0/0)", "0"),
            ("bit.tobit(1/0)", "0"),
            ("bit.tobit('nan(0x123)')", "291"),
            ("bit.tobit(' 12 ')", "12"),
            ("bit.tobit('0x10')", "16"),
            ("bit.bswap(0x12345678)", "2018915346"),
            ("bit.arshift(-2^31, 33)", "-1073741824"),
            ("bit.rol(0x87654321, 32)", "-2023406815"),
            ("bit.ror(0x87654321, 4)", "410407986"),
            ("bit.tohex(65535, -4)", "FFFF"),
            ("bit.tohex(1, -2^31)", "00000001"),
            ("bit.tohex(65535, -2^31)", "0000FFFF"),
            ("bit.tohex(1, 2^31 - 1)", "00000001"),
            ("bit.tohex(0x12345678, 0)", ""),
            ("bit.tohex(-1, 9)", "ffffffff"),
            ("bit.tohex(0x12345678, 2^32 + 3)", "678"),
        ];
        for (expr, want) in ok {
            assert_eq!(eval(expr).as_deref(), Ok(want), "{expr}");
        }
        let err = [
            ("bit.band()", "bad argument #1 to 'band' (number expected, got no value)"),
            ("bit.band(1, 2, 'x', {})", "bad argument #4 to 'band' (number expected, got table)"),
            ("bit.lshift(1)", "bad argument #2 to 'lshift' (number expected, got no value)"),
            ("bit.tohex(1, nil)", "bad argument #2 to 'tohex' (number expected, got nil)"),
            ("bit:tobit()", "calling 'tobit' on bad self (number expected, got table)"),
        ];
        for (expr, want) in err {
            assert_eq!(eval(expr), Err(format!("user_script:1: {want}")), "{expr}");
        }
    }
}
