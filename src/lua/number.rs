//! Lua numbers as text the way Redis's C code prints them: `%.17g` for command arguments
//! (script_lua.c luaArgsToRedisArgv), reproduced exactly (glibc rounding, `inf`, `-nan`).

/// `printf("%.<precision>g", x)` as glibc prints it on x86-64.
pub fn format_g(x: f64, precision: usize) -> String {
    let p = precision.max(1);
    if x.is_nan() {
        // The default NaN produced by 0/0 on x86 has the sign bit set: glibc prints "-nan".
        return if x.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf".into() } else { "inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Scientific form with p significant digits gives the exponent after rounding.
    let sci = format!("{:.*e}", p - 1, x);
    let Some((mantissa, exp)) = sci.split_once('e') else { return sci };
    let exp: i32 = exp.parse().unwrap_or(0);
    let p_i = i32::try_from(p).unwrap_or(i32::MAX);
    if exp < -4 || exp >= p_i {
        let mantissa = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = usize::try_from(p_i - 1 - exp).unwrap_or(0);
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn matches_printf_17g() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.10000000000000001"),
            (3.0, "3"),
            (1e9, "1000000000"),
            (1e20, "1e+20"),
            (2f64.powi(63), "9.2233720368547758e+18"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-2.0, "-2"),
            (1e17, "1e+17"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (3.14, "3.1400000000000001"),
            (1.5, "1.5"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g(*x, 17), *want, "{x}");
        }
        assert_eq!(format_g(f64::NAN.copysign(-1.0), 17), "-nan");
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
    }
}
