//! Lua numbers as text the way Redis's C code prints them: `%.17g` for command arguments
//! (script_lua.c luaArgsToRedisArgv), reproduced exactly (glibc rounding, `inf`, `-nan`).

/// A number as a command argument (`%.17g`), without a heap allocation for the common case
/// of integers below 10^15.
pub struct NumText {
    buf: [u8; 32],
    len: usize,
    long: Option<String>,
}

impl NumText {
    pub fn new(x: f64) -> NumText {
        let mut t = NumText { buf: [0; 32], len: 0, long: None };
        if x.fract() == 0.0 && x.abs() < 1e15 && !(x == 0.0 && x.is_sign_negative()) {
            // Digits written from the end of the buffer, then moved to its start (no fmt).
            let negative = x < 0.0;
            let mut v = (x as i64).unsigned_abs();
            let mut at = t.buf.len();
            loop {
                at -= 1;
                if let Some(slot) = t.buf.get_mut(at) {
                    *slot = b'0' + (v % 10) as u8;
                }
                v /= 10;
                if v == 0 {
                    break;
                }
            }
            if negative {
                at -= 1;
                if let Some(slot) = t.buf.get_mut(at) {
                    *slot = b'-';
                }
            }
            t.buf.copy_within(at.., 0);
            t.len = t.buf.len() - at;
            return t;
        }
        t.long = Some(format_g(x, 17));
        t
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.long {
            Some(s) => s.as_bytes(),
            None => self.buf.get(..self.len).unwrap_or_default(),
        }
    }
}

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
            (3.25, "3.25"),
            (2.675, "2.6749999999999998"),
            (1.5, "1.5"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g(*x, 17), *want, "{x}");
        }
        assert_eq!(format_g(f64::NAN.copysign(-1.0), 17), "-nan");
        for x in
            [0.0, -0.0, 7.0, -12.0, 10.0, -100.0, 1e14, 123456789012345.0, -999999999999999.0, 1e15, 0.5, f64::INFINITY]
        {
            assert_eq!(super::NumText::new(x).as_bytes(), format_g(x, 17).as_bytes(), "{x}");
        }
        assert_eq!(format_g(0.1, 14), "0.1");
        assert_eq!(format_g(1.0 / 3.0, 14), "0.33333333333333");
    }
}
