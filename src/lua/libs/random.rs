//! Redis's `math.random` / `math.randomseed` (src/script_lua.c
//! `redis_math_random` / `redis_math_randomseed`) on top of Redis's
//! `redisLrand48` / `redisSrand48` (src/rand.c, the drand48 48-bit LCG:
//! x' = (0x5DEECE66D * x + 0xB) mod 2^48).
//!
//! The generator state is process-global, like the C statics in rand.c, and is
//! never reseeded implicitly.

use std::sync::atomic::{AtomicU64, Ordering};

use mlua::{Lua, MultiValue, Result, Table};

use super::{arg_error, lua_typename};

const MASK48: u64 = (1u64 << 48) - 1;
const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
/// X2:X1:X0 = 0x1234:0xABCD:0x330E, the state of a fresh redis-server.
const INITIAL: u64 = 0x1234_ABCD_330E;
/// REDIS_LRAND48_MAX = INT32_MAX
const LRAND48_MAX: u32 = 0x7fff_ffff;

static STATE: AtomicU64 = AtomicU64::new(INITIAL);

/// Restore the state redis-server starts with (as if no `math.randomseed`
/// and no `math.random` had run yet).
pub fn reset() {
    STATE.store(INITIAL, Ordering::SeqCst);
}

fn step(x: u64) -> u64 {
    x.wrapping_mul(A).wrapping_add(C) & MASK48
}

/// `redisLrand48()`: advance, return the high 31 bits of the 48-bit state.
fn lrand48() -> u32 {
    let prev = match STATE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |x| Some(step(x))) {
        Ok(p) | Err(p) => p,
    };
    ((step(prev) >> 17) & 0x7fff_ffff) as u32
}

/// `redisSrand48(seedval)`: x = seed:0x330E (a and c are constants here).
fn srand48(seed: i32) {
    let x = (u64::from(seed as u32) << 16) | 0x330E;
    STATE.store(x & MASK48, Ordering::SeqCst);
}

/// C `(lua_Integer)d` on x86-64 (cvttsd2si): truncation toward zero, and the
/// "integer indefinite" value i64::MIN for NaN and out-of-range inputs.
fn c_double_to_i64(d: f64) -> i64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO63..TWO63).contains(&d) {
        // In range (NaN is not): plain truncation toward zero, as in C.
        d as i64
    } else {
        i64::MIN
    }
}

/// `luaL_checkint(L, idx)` = `(int)luaL_checkinteger(L, idx)`.
fn check_int(lua: &Lua, args: &MultiValue, idx: usize) -> Result<i32> {
    let v = idx.checked_sub(1).and_then(|i| args.get(i));
    let (n, isnum) = super::to_number(lua, args, idx)?;
    let d = if isnum { c_double_to_i64(n) } else { 0 };
    if d == 0 && !isnum {
        let tname = lua_typename(v);
        return Err(arg_error(lua, i64::try_from(idx).unwrap_or(i64::MAX), &format!("number expected, got {tname}")));
    }
    // (int) cast of a 64-bit lua_Integer: keep the low 32 bits.
    Ok((d & 0xffff_ffff) as u32 as i32)
}

fn math_random(lua: &Lua, args: &MultiValue) -> Result<f64> {
    // The generator advances before the arguments are checked (as in C).
    let r = f64::from(lrand48() % LRAND48_MAX) / f64::from(LRAND48_MAX);
    match args.len() {
        0 => Ok(r),
        1 => {
            let u = check_int(lua, args, 1)?;
            if u < 1 {
                return Err(arg_error(lua, 1, "interval is empty"));
            }
            Ok((r * f64::from(u)).floor() + 1.0)
        }
        2 => {
            let l = check_int(lua, args, 1)?;
            let u = check_int(lua, args, 2)?;
            if l > u {
                return Err(arg_error(lua, 2, "interval is empty"));
            }
            // int arithmetic in C: wraps around on the host build.
            let width = u.wrapping_sub(l).wrapping_add(1);
            Ok((r * f64::from(width)).floor() + f64::from(l))
        }
        _ => Err(super::lua_error(lua, "wrong number of arguments")),
    }
}

fn math_randomseed(lua: &Lua, args: &MultiValue) -> Result<()> {
    let seed = check_int(lua, args, 1)?;
    srand48(seed);
    Ok(())
}

/// Set `math.random` and `math.randomseed` on `math`.
pub fn install(lua: &Lua, math: &Table) -> Result<()> {
    math.set("random", crate::lua::function(lua, |lua, args: MultiValue| math_random(lua, &args))?)?;
    math.set("randomseed", crate::lua::function_multi(lua, |lua, args: MultiValue| math_randomseed(lua, &args))?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Pure checks only (no global state), values observed on the host server.
    fn first_r(seed: i32) -> f64 {
        let x = (u64::from(seed as u32) << 16) | 0x330E;
        let v = ((step(x) >> 17) & 0x7fff_ffff) as u32;
        f64::from(v % LRAND48_MAX) / f64::from(LRAND48_MAX)
    }

    #[test]
    fn host_values() {
        assert!((first_r(10) - 0.87885112309775).abs() < 1e-14);
        assert_eq!((first_r(7) * 1000.0).floor() + 1.0, 267.0);
        let fresh = f64::from(((step(INITIAL) >> 17) as u32) % LRAND48_MAX) / f64::from(LRAND48_MAX);
        assert!((fresh - 0.39646477363839).abs() < 1e-14);
        for (d, want) in [
            (2f64.powi(40), 0i64),
            (f64::NAN, 0),
            (f64::INFINITY, 0),
            (1e300, 0),
            (-2.9, -2),
            (2f64.powi(31), i64::from(i32::MIN)),
        ] {
            assert_eq!(i64::from((c_double_to_i64(d) & 0xffff_ffff) as u32 as i32), want, "{d}");
        }
    }
}
