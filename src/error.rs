//! Every error this module answers with, as data: the Redis error code and text, byte for byte
//! as native scripting sends them (eval.c, script.c, script_lua.c). Tests pin these texts.

use std::borrow::Cow;

/// An error reply. `Display`-free on purpose: the bytes go to the client as `-<text>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// The dispatcher's arity error; the host formats it with the command's own name.
    Arity,
    /// `NOSCRIPT No matching script. Please use EVAL.`
    NoScript,
    /// A message that takes the generic `ERR ` code.
    Generic(Cow<'static, str>),
    /// A complete error text that already starts with its code (`WRONGTYPE ...`, `OOM ...`).
    Coded(Vec<u8>),
}

impl ScriptError {
    /// `ERR <msg>`.
    pub fn err(msg: impl Into<Cow<'static, str>>) -> Self {
        ScriptError::Generic(msg.into())
    }

    pub fn not_integer() -> Self {
        Self::err("value is not an integer or out of range")
    }

    /// The full error line without the leading `-` (except for `Arity`, which the host builds).
    pub fn text(&self) -> Cow<'_, [u8]> {
        match self {
            ScriptError::Arity => Cow::Borrowed(b"ERR wrong number of arguments"),
            ScriptError::NoScript => Cow::Borrowed(b"NOSCRIPT No matching script. Please use EVAL."),
            ScriptError::Generic(m) => {
                let mut v = Vec::with_capacity(4 + m.len());
                v.extend_from_slice(b"ERR ");
                v.extend_from_slice(m.as_bytes());
                Cow::Owned(v)
            }
            ScriptError::Coded(v) => Cow::Borrowed(v),
        }
    }
}

impl From<mlua::Error> for ScriptError {
    fn from(e: mlua::Error) -> Self {
        ScriptError::err(format!("Lua engine error: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        assert_eq!(&*ScriptError::NoScript.text(), b"NOSCRIPT No matching script. Please use EVAL.");
        assert_eq!(&*ScriptError::err("x y").text(), b"ERR x y");
        assert_eq!(&*ScriptError::Coded(b"WRONGTYPE z".to_vec()).text(), b"WRONGTYPE z");
    }
}
