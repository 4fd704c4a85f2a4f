//! `FUNCTION DUMP` / `FUNCTION RESTORE` payloads in Redis 7.0.15's own format.
//!
//! A payload is a sequence of entries, each an opcode byte followed by RDB-encoded data,
//! then a 10-byte footer: the RDB version (2 bytes, little-endian) and the CRC64 (Jones
//! polynomial, as Redis's `crc64()`) of everything before it (8 bytes, little-endian).
//!
//! * `RDB_OPCODE_FUNCTION2` (0xF5): one RDB string holding the library's full code
//!   (`#!lua name=...\n...`). This is what Redis 7.0 GA writes (`rdbSaveFunctions`).
//! * `RDB_OPCODE_FUNCTION` (0xF6): the pre-GA (7.0-rc1/rc2) form: name, engine, a
//!   has-description length, the description when that is non-zero, and the code body.
//!   It is rebuilt as `#!<engine> name=<name>\n<blob>`, ignoring the description, with
//!   each of the three parts cut at its first NUL byte as `sdscatfmt("%s")` does.
//!
//! Reading mirrors `verifyDumpPayload` (cluster.c), `functionRestoreCommand` (functions.c),
//! `rdbFunctionLoad`, `rdbLoadLen` and `rdbGenericLoadStringObject` (rdb.c), including
//! their quirks: reads may run into the footer (the RESTORE loop only stops once fewer than
//! 11 bytes remain), a length of `u64::MAX` is `RDB_LENERR`, and an LZF string with a
//! declared length of zero is always the empty string. Writing mirrors `rdbSaveRawString`
//! (integer encoding for short numeric strings, LZF when asked and longer than 20 bytes,
//! else length-prefixed), with `lzf_compress` reproduced so that output matches native
//! byte for byte (native's hash table is uninitialised stack memory; this one starts
//! empty, which is what native does in effect in practically every case).
//!
//! Everything here is panic-free on any input: no indexing, no unchecked arithmetic on
//! input-derived values, and declared lengths are checked against the bytes actually
//! present before anything is allocated.

use std::fmt;

/// One library as stored in a payload: its full code (`#!lua name=...\n...`).
pub type LibraryCode = Vec<u8>;

/// `RDB_VERSION` of Redis 7.0.
pub const RDB_VERSION: u16 = 10;
/// `RDB_OPCODE_FUNCTION2`: function library data (7.0 GA).
pub const RDB_OPCODE_FUNCTION2: u8 = 0xF5;
/// `RDB_OPCODE_FUNCTION`: old function library data (7.0-rc1 and rc2).
pub const RDB_OPCODE_FUNCTION: u8 = 0xF6;

/// Size of the footer: RDB version (2) + CRC64 (8).
const FOOTER_LEN: usize = 10;

const RDB_6BITLEN: u8 = 0;
const RDB_14BITLEN: u8 = 1;
const RDB_32BITLEN: u8 = 0x80;
const RDB_64BITLEN: u8 = 0x81;
const RDB_ENCVAL: u8 = 3;
const RDB_LENERR: u64 = u64::MAX;

const RDB_ENC_INT8: u64 = 0;
const RDB_ENC_INT16: u64 = 1;
const RDB_ENC_INT32: u64 = 2;
const RDB_ENC_LZF: u64 = 3;

/// Why `FUNCTION RESTORE` refused a payload. `text()` is the exact error native
/// Redis 7.0.15 replies (without the leading '-').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// `verifyDumpPayload` failed: shorter than 10 bytes, RDB version above 10, or bad CRC.
    VersionOrChecksum,
    /// `rdbLoadType` failed. Unreachable in practice (at least 11 bytes remain when an
    /// opcode is read), kept for completeness.
    CanNotReadType,
    /// An entry's opcode is neither 0xF5 nor 0xF6.
    NotAFunction,
    /// 0xF5: the library string could not be read.
    LibraryPayload,
    /// 0xF6: the library name could not be read.
    LibraryName,
    /// 0xF6: the engine name could not be read.
    EngineName,
    /// 0xF6: the has-description length could not be read.
    DescriptionIndicator,
    /// 0xF6: the description could not be read.
    Description,
    /// 0xF6: the library code could not be read.
    Blob,
}

impl DecodeError {
    /// The error text native `FUNCTION RESTORE` replies, without the leading '-'.
    pub const fn text(self) -> &'static str {
        match self {
            DecodeError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            DecodeError::CanNotReadType => "ERR can not read data type",
            DecodeError::NotAFunction => "ERR given type is not a function",
            DecodeError::LibraryPayload => "ERR Failed loading library payload",
            DecodeError::LibraryName => "ERR Failed loading library name",
            DecodeError::EngineName => "ERR Failed loading engine name",
            DecodeError::DescriptionIndicator => "ERR Failed loading library description indicator",
            DecodeError::Description => "ERR Failed loading library description",
            DecodeError::Blob => "ERR Failed loading library blob",
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl std::error::Error for DecodeError {}

// ---------------------------------------------------------------------------------------
// Encoding (FUNCTION DUMP)
// ---------------------------------------------------------------------------------------

/// FUNCTION DUMP: every library as opcode 0xF5 + an RDB string (integer-encoded when it is
/// a short decimal number, LZF-compressed when `compress` and longer than 20 bytes and LZF
/// saves at least 4 bytes, else length-prefixed, exactly as `rdbSaveRawString`), then the
/// RDB version (10) as 2 bytes little-endian, then the CRC64 of everything before, 8 bytes
/// little-endian.
pub fn encode(libraries: &[&[u8]], compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for lib in libraries {
        out.push(RDB_OPCODE_FUNCTION2);
        save_raw_string(&mut out, lib, compress);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// `rdbSaveLen`.
fn save_len(out: &mut Vec<u8>, len: u64) {
    if len < (1 << 6) {
        out.push((len & 0xFF) as u8 | (RDB_6BITLEN << 6));
    } else if len < (1 << 14) {
        out.push(((len >> 8) & 0xFF) as u8 | (RDB_14BITLEN << 6));
        out.push((len & 0xFF) as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(RDB_32BITLEN);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(RDB_64BITLEN);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbSaveRawString`.
fn save_raw_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    // Try integer encoding.
    if s.len() <= 11 && string2ll(s).is_some_and(|v| encode_integer(out, v)) {
        return;
    }
    // Try LZF compression: under 20 bytes it can't compress even "aaaaaaaaaaaaaaaaaa".
    if compress && s.len() > 20 {
        // rdbSaveLzfStringObject: require at least four bytes of saving.
        if let Some(compressed) = lzf_compress(s, s.len() - 4) {
            out.push((RDB_ENCVAL << 6) | RDB_ENC_LZF as u8);
            save_len(out, compressed.len() as u64);
            save_len(out, s.len() as u64);
            out.extend_from_slice(&compressed);
            return;
        }
    }
    // Store verbatim.
    save_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// `rdbEncodeInteger`: true when `value` fits one of the integer encodings.
fn encode_integer(out: &mut Vec<u8>, value: i64) -> bool {
    let tag = RDB_ENCVAL << 6;
    if let Ok(v) = i8::try_from(value) {
        out.push(tag | RDB_ENC_INT8 as u8);
        out.extend_from_slice(&v.to_le_bytes());
        true
    } else if let Ok(v) = i16::try_from(value) {
        out.push(tag | RDB_ENC_INT16 as u8);
        out.extend_from_slice(&v.to_le_bytes());
        true
    } else if let Ok(v) = i32::try_from(value) {
        out.push(tag | RDB_ENC_INT32 as u8);
        out.extend_from_slice(&v.to_le_bytes());
        true
    } else {
        false
    }
}

/// `string2ll` (util.c): strict decimal, no '+', no leading zeros, no spaces, no "-0".
fn string2ll(s: &[u8]) -> Option<i64> {
    const LONG_STR_SIZE: usize = 21;
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

// ---------------------------------------------------------------------------------------
// Decoding (FUNCTION RESTORE)
// ---------------------------------------------------------------------------------------

/// `verifyDumpPayload`: at least 10 bytes, RDB version <= 10, CRC64 matches.
/// Returns the RDB version found in the footer.
pub fn verify_payload(payload: &[u8]) -> Result<u16, DecodeError> {
    let body_len = payload.len().checked_sub(FOOTER_LEN).ok_or(DecodeError::VersionOrChecksum)?;
    let footer = payload.get(body_len..).ok_or(DecodeError::VersionOrChecksum)?;
    let (ver, crc) = footer.split_first_chunk::<2>().ok_or(DecodeError::VersionOrChecksum)?;
    let rdbver = u16::from_le_bytes(*ver);
    if rdbver > RDB_VERSION {
        return Err(DecodeError::VersionOrChecksum);
    }
    let checked = payload.get(..body_len + 2).ok_or(DecodeError::VersionOrChecksum)?;
    if crc64(0, checked).to_le_bytes().as_slice() != crc {
        return Err(DecodeError::VersionOrChecksum);
    }
    Ok(rdbver)
}

/// FUNCTION RESTORE's reading: verify (verifyDumpPayload), then parse every entry.
pub fn decode(payload: &[u8]) -> Result<Vec<LibraryCode>, DecodeError> {
    entries(payload)?.collect()
}

/// Verify the payload, then iterate over its entries lazily. Native RESTORE creates each
/// library right after reading it, so a caller that wants native's exact error precedence
/// (e.g. a Lua compile error in the first library reported before a truncated second
/// entry) should create libraries while iterating. The iterator ends after the first error.
pub fn entries(payload: &[u8]) -> Result<Entries<'_>, DecodeError> {
    verify_payload(payload)?;
    Ok(Entries { reader: Reader { buf: payload, pos: 0 }, failed: false })
}

/// Iterator over the libraries of a verified payload; see [`entries`].
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl Iterator for Entries<'_> {
    type Item = Result<LibraryCode, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        // `while (data_len - payload.io.buffer.pos > 10)`: reads before this point may have
        // consumed footer bytes, in which case the loop simply ends.
        if self.failed || self.reader.remaining() <= FOOTER_LEN {
            return None;
        }
        let item = read_entry(&mut self.reader);
        if item.is_err() {
            self.failed = true;
        }
        Some(item)
    }
}

fn read_entry(r: &mut Reader<'_>) -> Result<LibraryCode, DecodeError> {
    let opcode = r.read_u8().ok_or(DecodeError::CanNotReadType)?;
    match opcode {
        RDB_OPCODE_FUNCTION2 => load_string(r).ok_or(DecodeError::LibraryPayload),
        RDB_OPCODE_FUNCTION => {
            let name = load_string(r).ok_or(DecodeError::LibraryName)?;
            let engine = load_string(r).ok_or(DecodeError::EngineName)?;
            let has_desc = load_len(r).map(|(v, _)| v).ok_or(DecodeError::DescriptionIndicator)?;
            if has_desc != 0 {
                // Read and discarded, as Redis 7.0.15 does.
                load_string(r).ok_or(DecodeError::Description)?;
            }
            let blob = load_string(r).ok_or(DecodeError::Blob)?;
            // sdscatfmt(sdsempty(), "#!%s name=%s\n%s", engine_name, name, blob):
            // "%s" takes C strings, so each part ends at its first NUL.
            let (engine, name, blob) = (cstr(&engine), cstr(&name), cstr(&blob));
            let mut code = Vec::with_capacity(
                engine.len().saturating_add(name.len()).saturating_add(blob.len()).saturating_add(9),
            );
            code.extend_from_slice(b"#!");
            code.extend_from_slice(engine);
            code.extend_from_slice(b" name=");
            code.extend_from_slice(name);
            code.push(b'\n');
            code.extend_from_slice(blob);
            Ok(code)
        }
        _ => Err(DecodeError::NotAFunction),
    }
}

/// The bytes before the first NUL, as C's `strlen` sees them.
fn cstr(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => s.get(..n).unwrap_or(s),
        None => s,
    }
}

/// A cursor over the whole payload, footer included (native's rio buffer covers it too).
#[derive(Debug, Clone)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn read_u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos = self.pos.checked_add(1)?;
        Some(b)
    }

    fn read_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.read_bytes(N as u64)?;
        let (arr, _) = bytes.split_first_chunk::<N>()?;
        Some(*arr)
    }

    /// Exactly `n` bytes, or None when fewer remain (checked before anything is allocated).
    fn read_bytes(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        if n > self.remaining() {
            return None;
        }
        let end = self.pos.checked_add(n)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }
}

/// `rdbLoadLen`: (value, is-encoded), None on a short read, an invalid first byte, or a
/// value equal to `RDB_LENERR` (which the callers cannot tell from an error).
fn load_len(r: &mut Reader<'_>) -> Option<(u64, bool)> {
    let first = r.read_u8()?;
    let (value, encoded) = match (first & 0xC0) >> 6 {
        RDB_ENCVAL => (u64::from(first & 0x3F), true),
        RDB_6BITLEN => (u64::from(first & 0x3F), false),
        RDB_14BITLEN => {
            let second = r.read_u8()?;
            ((u64::from(first & 0x3F) << 8) | u64::from(second), false)
        }
        _ if first == RDB_32BITLEN => (u64::from(u32::from_be_bytes(r.read_array::<4>()?)), false),
        _ if first == RDB_64BITLEN => (u64::from_be_bytes(r.read_array::<8>()?), false),
        _ => return None,
    };
    if value == RDB_LENERR {
        return None;
    }
    Some((value, encoded))
}

/// `rdbGenericLoadStringObject(rdb, RDB_LOAD_SDS, NULL)`.
fn load_string(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    let (len, encoded) = load_len(r)?;
    if !encoded {
        return r.read_bytes(len).map(<[u8]>::to_vec);
    }
    match len {
        RDB_ENC_INT8 => {
            let v = i8::from_le_bytes(r.read_array::<1>()?);
            Some(v.to_string().into_bytes())
        }
        RDB_ENC_INT16 => {
            let v = i16::from_le_bytes(r.read_array::<2>()?);
            Some(v.to_string().into_bytes())
        }
        RDB_ENC_INT32 => {
            let v = i32::from_le_bytes(r.read_array::<4>()?);
            Some(v.to_string().into_bytes())
        }
        RDB_ENC_LZF => load_lzf_string(r),
        _ => None,
    }
}

/// `rdbLoadLzfStringObject`.
fn load_lzf_string(r: &mut Reader<'_>) -> Option<Vec<u8>> {
    let (clen, _) = load_len(r)?;
    let (len, _) = load_len(r)?;
    let compressed = r.read_bytes(clen)?;
    // lzf_decompress() returns 0 on failure, and Redis compares its result with the
    // declared length: a declared length of 0 therefore always yields the empty string.
    if len == 0 {
        return Some(Vec::new());
    }
    let len = usize::try_from(len).ok()?;
    // No LZF stream of `clen` bytes decodes to more than LZF_MAX_RATIO * clen bytes.
    if len > compressed.len().saturating_mul(LZF_MAX_RATIO) {
        return None;
    }
    let out = lzf_decompress(compressed, len)?;
    if out.len() != len {
        return None;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// CRC64 (crc64.c: Jones polynomial 0xad93d23594c935a9, reflected in and out, no xor)
// ---------------------------------------------------------------------------------------

const CRC64_POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

// Evaluated at compile time: an out-of-bounds index here would be a build error.
#[allow(clippy::indexing_slicing)]
const CRC64_TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ CRC64_POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// Redis's `crc64(crc, data)`; the payload checksum is `crc64(0, ...)`.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    data.iter().fold(crc, |crc, &b| {
        // A u8 index into a 256-entry table is always in bounds.
        let entry = CRC64_TABLE.get(usize::from((crc as u8) ^ b)).copied().unwrap_or(0);
        entry ^ (crc >> 8)
    })
}

// ---------------------------------------------------------------------------------------
// LZF (liblzf 3.6 as vendored by Redis: HLOG 16, VERY_FAST, CHECK_INPUT)
// ---------------------------------------------------------------------------------------

const LZF_HLOG: u32 = 16;
const LZF_HSIZE: usize = 1 << LZF_HLOG;
const LZF_MAX_LIT: usize = 1 << 5;
const LZF_MAX_OFF: usize = 1 << 13;
const LZF_MAX_REF: usize = (1 << 8) + (1 << 3);
/// Largest expansion: a 3-byte long back-reference yields 7 + 255 + 2 = 264 bytes.
const LZF_MAX_RATIO: usize = 88;
/// Never reserve more than this up front when decompressing; the output grows as needed
/// (and is always bounded by the declared length).
const LZF_PREALLOC_LIMIT: usize = 1 << 20;

fn lzf_byte(s: &[u8], i: usize) -> Option<u8> {
    s.get(i).copied()
}

fn lzf_set(s: &mut [u8], i: usize, v: u8) -> Option<()> {
    *s.get_mut(i)? = v;
    Some(())
}

/// `FRST(p)`.
fn lzf_frst(s: &[u8], ip: usize) -> u32 {
    let a = u32::from(lzf_byte(s, ip).unwrap_or(0));
    let b = u32::from(lzf_byte(s, ip.saturating_add(1)).unwrap_or(0));
    (a << 8) | b
}

/// `NEXT(v, p)`.
fn lzf_next(v: u32, s: &[u8], ip: usize) -> u32 {
    (v << 8) | u32::from(lzf_byte(s, ip.saturating_add(2)).unwrap_or(0))
}

/// `IDX(h)` with VERY_FAST.
fn lzf_idx(h: u32) -> usize {
    ((h >> (3 * 8 - LZF_HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (LZF_HSIZE - 1)
}

/// `lzf_compress(in, in_len, out, out_len)`: None where the C function returns 0 (empty
/// input, or the result would not fit in `out_len` bytes).
///
/// Arithmetic here only adds small constants (at most a few hundred) to positions inside
/// in-memory buffers, so it cannot overflow; every subtraction that could go below zero
/// is checked, and every buffer access goes through `get`/`get_mut`.
fn lzf_compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    // Positions; 0 doubles as "empty" since a reference at position 0 is never used
    // (`ref > in_data`).
    let mut htab = vec![0usize; LZF_HSIZE];
    let mut out = vec![0u8; out_len.checked_add(1)?];
    let mut ip: usize = 0;
    let mut op: usize = 1; // start run
    let mut lit: usize = 0;

    let mut hval = lzf_frst(input, ip);
    while ip.saturating_add(2) < in_len {
        hval = lzf_next(hval, input, ip);
        let slot = htab.get_mut(lzf_idx(hval))?;
        let rf = *slot;
        *slot = ip;

        let off = ip.checked_sub(rf).and_then(|d| d.checked_sub(1));
        let matched = match off {
            Some(off) if off < LZF_MAX_OFF && rf > 0 => {
                lzf_byte(input, rf + 2) == lzf_byte(input, ip + 2)
                    && lzf_byte(input, rf) == lzf_byte(input, ip)
                    && lzf_byte(input, rf + 1) == lzf_byte(input, ip + 1)
            }
            _ => false,
        };

        if let (true, Some(off)) = (matched, off) {
            // match found at input[rf..]
            let mut len: usize = 2;
            let maxlen = in_len.checked_sub(ip)?.checked_sub(len)?.min(LZF_MAX_REF);

            let undo = usize::from(lit == 0);
            if op + 3 + 1 >= out_len && op.checked_sub(undo)? + 3 + 1 >= out_len {
                return None;
            }
            lzf_set(&mut out, op.checked_sub(lit + 1)?, (lit as u8).wrapping_sub(1))?; // stop run
            op = op.checked_sub(undo)?; // undo run if length is zero

            let mut broke = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if lzf_byte(input, rf + len) != lzf_byte(input, ip + len) {
                        broke = true;
                        break;
                    }
                }
            }
            if !broke {
                loop {
                    len += 1;
                    if !(len < maxlen && lzf_byte(input, rf + len) == lzf_byte(input, ip + len)) {
                        break;
                    }
                }
            }

            len -= 2; // len is now #octets - 1
            ip += 1;

            if len < 7 {
                lzf_set(&mut out, op, ((off >> 8) + (len << 5)) as u8)?;
                op += 1;
            } else {
                lzf_set(&mut out, op, ((off >> 8) + (7 << 5)) as u8)?;
                lzf_set(&mut out, op + 1, (len - 7) as u8)?;
                op += 2;
            }
            lzf_set(&mut out, op, off as u8)?;
            op += 1;

            lit = 0;
            op += 1; // start run

            ip += len + 1;
            if ip.saturating_add(2) >= in_len {
                break;
            }

            // VERY_FAST && !ULTRA_FAST
            ip = ip.checked_sub(2)?;
            hval = lzf_frst(input, ip);
            hval = lzf_next(hval, input, ip);
            *htab.get_mut(lzf_idx(hval))? = ip;
            ip += 1;
            hval = lzf_next(hval, input, ip);
            *htab.get_mut(lzf_idx(hval))? = ip;
            ip += 1;
        } else {
            // one more literal byte we must copy
            if op >= out_len {
                return None;
            }
            lit += 1;
            lzf_set(&mut out, op, lzf_byte(input, ip)?)?;
            op += 1;
            ip += 1;
            if lit == LZF_MAX_LIT {
                lzf_set(&mut out, op.checked_sub(lit + 1)?, (lit - 1) as u8)?; // stop run
                lit = 0;
                op += 1; // start run
            }
        }
    }

    if op + 3 > out_len {
        // at most 3 bytes can be missing here
        return None;
    }

    while ip < in_len {
        lit += 1;
        lzf_set(&mut out, op, lzf_byte(input, ip)?)?;
        op += 1;
        ip += 1;
        if lit == LZF_MAX_LIT {
            lzf_set(&mut out, op.checked_sub(lit + 1)?, (lit - 1) as u8)?; // stop run
            lit = 0;
            op += 1; // start run
        }
    }

    lzf_set(&mut out, op.checked_sub(lit + 1)?, (lit as u8).wrapping_sub(1))?; // end run
    op = op.checked_sub(usize::from(lit == 0))?; // undo run if length is zero

    out.truncate(op);
    Some(out)
}

/// `lzf_decompress(in, in_len, out, out_len)` with CHECK_INPUT: the bytes produced, or None
/// where the C function fails (output would exceed `out_len`, truncated input, or a
/// back-reference before the start of the output).
fn lzf_decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(LZF_PREALLOC_LIMIT));
    let mut rest = input;
    while let Some((&ctrl, tail)) = rest.split_first() {
        rest = tail;
        let ctrl = usize::from(ctrl);
        let room = out_len.checked_sub(out.len())?;
        if ctrl < (1 << 5) {
            // literal run
            let n = ctrl + 1;
            if n > room {
                return None; // E2BIG
            }
            if n > rest.len() {
                return None; // EINVAL
            }
            let (lit, tail) = rest.split_at(n);
            out.extend_from_slice(lit);
            rest = tail;
        } else {
            // back reference
            let mut len = ctrl >> 5;
            let mut back = ((ctrl & 0x1f) << 8) + 1;
            if len == 7 {
                let (&extra, tail) = rest.split_first()?; // EINVAL
                len += usize::from(extra);
                rest = tail;
            }
            let (&low, tail) = rest.split_first()?; // EINVAL
            back += usize::from(low);
            rest = tail;
            let n = len + 2;
            if n > room {
                return None; // E2BIG
            }
            let start = out.len().checked_sub(back)?; // EINVAL: before the output start
                                                      // Byte by byte: source and destination may overlap.
            for k in 0..n {
                let b = *out.get(start.checked_add(k)?)?;
                out.push(b);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert_eq!(s.len() & 1, 0);
        s.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect()
    }

    /// Recompute the CRC of an edited payload (body + version), keeping it otherwise valid.
    fn reseal(body: &[u8], version: u16) -> Vec<u8> {
        let mut p = body.to_vec();
        p.extend_from_slice(&version.to_le_bytes());
        let crc = crc64(0, &p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }

    fn body(payload: &[u8]) -> &[u8] {
        &payload[..payload.len() - 10]
    }

    const L1: &str = "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)";
    const L3: &str = "#!lua name=x\nredis.register_function{function_name='g', callback=function() return 'x' end, flags={'no-writes'}}";

    fn l2() -> String {
        let mut s = String::from("#!lua name=lib2\n");
        let fns: Vec<String> = (0..5)
            .map(|i| {
                format!("redis.register_function('fn{i}', function(keys, args) return redis.call('GET', keys[1]) end)")
            })
            .collect();
        s.push_str(&fns.join("\n"));
        s
    }

    // Captured from redis-server 7.0.15 FUNCTION DUMP (rdbcompression yes / no).
    // With compression L1 is still stored verbatim: LZF can't save 4 bytes on it.
    const NATIVE_C_L1: &str = "f5404723216c7561206e616d653d6d796c69620a72656469732e72656769737465725f66756e6374696f6e28276631272c2066756e6374696f6e28292072657475726e203120656e64290a0007500404cd92d1b3";
    const NATIVE_C_L2: &str = "f5c3407f41d61f23216c7561206e616d653d6c6962320a72656469732e72656769737465725f660e756e6374696f6e2827666e30272c20e0000f116b6579732c2061726773292072657475726e2006403a0863616c6c2827474554202d4024085b315d2920656e6429e0135a0031202ce04e5a0032e0515a0033e0515a0034e0335a0164290a00566d17184fd722b1";
    // Order in the dump (native dict order): L3, L1, L2.
    const NATIVE_C_L312: &str = "f5c3406740701f23216c7561206e616d653d780a72656469732e72656769737465725f66756e630474696f6e7bc008005f60270d2767272c2063616c6c6261636b3dc01b1f28292072657475726e2027782720656e642c20666c6167733d7b276e6f2d77720669746573277d7df5404723216c7561206e616d653d6d796c69620a72656469732e72656769737465725f66756e6374696f6e28276631272c2066756e6374696f6e28292072657475726e203120656e6429f5c3407f41d61f23216c7561206e616d653d6c6962320a72656469732e72656769737465725f660e756e6374696f6e2827666e30272c20e0000f116b6579732c2061726773292072657475726e2006403a0863616c6c2827474554202d4024085b315d2920656e6429e0135a0031202ce04e5a0032e0515a0033e0515a0034e0335a0164290a00f54194a0a7084b1b";
    const NATIVE_U_L2: &str = "f541d623216c7561206e616d653d6c6962320a72656469732e72656769737465725f66756e6374696f6e2827666e30272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e31272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e32272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e33272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e34272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a00ac54e97a6427ee91";
    const NATIVE_U_L312: &str = "f5407023216c7561206e616d653d780a72656469732e72656769737465725f66756e6374696f6e7b66756e6374696f6e5f6e616d653d2767272c2063616c6c6261636b3d66756e6374696f6e28292072657475726e2027782720656e642c20666c6167733d7b276e6f2d777269746573277d7df5404723216c7561206e616d653d6d796c69620a72656469732e72656769737465725f66756e6374696f6e28276631272c2066756e6374696f6e28292072657475726e203120656e6429f541d623216c7561206e616d653d6c6962320a72656469732e72656769737465725f66756e6374696f6e2827666e30272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e31272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e32272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e33272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a72656469732e72656769737465725f66756e6374696f6e2827666e34272c2066756e6374696f6e286b6579732c2061726773292072657475726e2072656469732e63616c6c2827474554272c206b6579735b315d2920656e64290a003104c6cfeeb28520";
    const NATIVE_EMPTY: &str = "0a005d9b5c400f7fa2da";

    #[test]
    fn crc64_check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(0, b""), 0);
        // Incremental use agrees with one-shot.
        let data = b"This is a test of the emergency broadcast system.";
        assert_eq!(crc64(crc64(0, &data[..10]), &data[10..]), crc64(0, data));
    }

    #[test]
    fn decode_native_compressed() {
        assert_eq!(decode(&unhex(NATIVE_C_L1)).unwrap(), vec![L1.as_bytes().to_vec()]);
        assert_eq!(decode(&unhex(NATIVE_C_L2)).unwrap(), vec![l2().into_bytes()]);
        let l2 = l2();
        assert_eq!(
            decode(&unhex(NATIVE_C_L312)).unwrap(),
            vec![L3.as_bytes().to_vec(), L1.as_bytes().to_vec(), l2.into_bytes()]
        );
    }

    #[test]
    fn decode_native_uncompressed() {
        assert_eq!(decode(&unhex(NATIVE_U_L2)).unwrap(), vec![l2().into_bytes()]);
        let l2 = l2();
        assert_eq!(
            decode(&unhex(NATIVE_U_L312)).unwrap(),
            vec![L3.as_bytes().to_vec(), L1.as_bytes().to_vec(), l2.into_bytes()]
        );
    }

    #[test]
    fn decode_native_empty() {
        assert_eq!(decode(&unhex(NATIVE_EMPTY)).unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(encode(&[], true), unhex(NATIVE_EMPTY));
    }

    #[test]
    fn encode_matches_native() {
        let l2 = l2();
        let (l1, l2, l3) = (L1.as_bytes(), l2.as_bytes(), L3.as_bytes());
        assert_eq!(encode(&[l1], true), unhex(NATIVE_C_L1));
        assert_eq!(encode(&[l1], false), unhex(NATIVE_C_L1));
        assert_eq!(encode(&[l2], true), unhex(NATIVE_C_L2));
        assert_eq!(encode(&[l2], false), unhex(NATIVE_U_L2));
        assert_eq!(encode(&[l3, l1, l2], true), unhex(NATIVE_C_L312));
        assert_eq!(encode(&[l3, l1, l2], false), unhex(NATIVE_U_L312));
    }

    #[test]
    fn round_trips() {
        let big: Vec<u8> = (0..100_000u32).flat_map(|i| format!("x{}\n", i % 977).into_bytes()).collect();
        let libs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"0".to_vec(),
            b"-12".to_vec(),
            b"123456".to_vec(),
            b"2147483647".to_vec(),
            b"2147483648".to_vec(),
            b"007".to_vec(),
            b"#!lua name=a\n".to_vec(),
            vec![b'a'; 21],
            vec![0u8; 70_000],
            (0..=255u8).cycle().take(20_000).collect(),
            big,
            L1.as_bytes().to_vec(),
        ];
        let refs: Vec<&[u8]> = libs.iter().map(Vec::as_slice).collect();
        for compress in [false, true] {
            let p = encode(&refs, compress);
            assert_eq!(decode(&p).unwrap(), libs, "compress={compress}");
            for lib in &refs {
                assert_eq!(decode(&encode(&[lib], compress)).unwrap(), vec![lib.to_vec()]);
            }
        }
    }

    #[test]
    fn integer_encoding_on_save() {
        // rdbSaveRawString integer-encodes short decimal strings.
        assert_eq!(body(&encode(&[b"12"], false)), &[0xF5, 0xC0, 12][..]);
        assert_eq!(body(&encode(&[b"-129"], false)), &[0xF5, 0xC1, 0x7F, 0xFF][..]);
        assert_eq!(body(&encode(&[b"70000"], false)), &[0xF5, 0xC2, 0x70, 0x11, 0x01, 0x00][..]);
        // Not canonical / too large: stored verbatim.
        assert_eq!(body(&encode(&[b"012"], false)), &[0xF5, 0x03, b'0', b'1', b'2'][..]);
        assert_eq!(body(&encode(&[b"-0"], false)), &[0xF5, 0x02, b'-', b'0'][..]);
        assert_eq!(body(&encode(&[b"+1"], false)), &[0xF5, 0x02, b'+', b'1'][..]);
        assert_eq!(body(&encode(&[b"4294967296"], false)), &[&[0xF5, 0x0A][..], b"4294967296"].concat()[..]);
    }

    #[test]
    fn integer_encodings_decode() {
        let p = reseal(
            &[
                0xF5, 0xC0, 0xFF, // INT8 -1
                0xF5, 0xC1, 0x00, 0x80, // INT16 -32768
                0xF5, 0xC2, 0xFF, 0xFF, 0xFF, 0x7F, // INT32 2147483647
                0xF5, 0xC2, 0x00, 0x00, 0x00, 0x80, // INT32 -2147483648
            ],
            10,
        );
        assert_eq!(
            decode(&p).unwrap(),
            vec![b"-1".to_vec(), b"-32768".to_vec(), b"2147483647".to_vec(), b"-2147483648".to_vec()]
        );
    }

    #[test]
    fn length_encodings_decode() {
        let s = b"#!lua name=q\nreturn".to_vec();
        let n = s.len() as u8;
        let forms: Vec<Vec<u8>> =
            vec![vec![n], vec![0x40, n], vec![0x80, 0, 0, 0, n], vec![0x81, 0, 0, 0, 0, 0, 0, 0, n]];
        for form in forms {
            let mut b = vec![0xF5];
            b.extend_from_slice(&form);
            b.extend_from_slice(&s);
            assert_eq!(decode(&reseal(&b, 10)).unwrap(), vec![s.clone()]);
        }
        // Encoder picks each form at its boundary.
        let mut out = Vec::new();
        for (len, want) in [
            (63u64, vec![0x3F]),
            (64, vec![0x40, 0x40]),
            (16383, vec![0x7F, 0xFF]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (u64::from(u32::MAX), vec![0x80, 0xFF, 0xFF, 0xFF, 0xFF]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            out.clear();
            save_len(&mut out, len);
            assert_eq!(out, want, "len {len}");
        }
    }

    #[test]
    fn older_rdb_versions_accepted() {
        for v in [0u16, 1, 9, 10] {
            let p = reseal(&[0xF5, 0x03, b'a', b'b', b'c'], v);
            assert_eq!(decode(&p).unwrap(), vec![b"abc".to_vec()]);
        }
    }

    #[test]
    fn legacy_opcode() {
        // name "mylib", engine "LUA", has-desc 1, desc "some desc", blob.
        let blob = b"redis.register_function('f1', function() return 1 end)";
        let mut b = vec![0xF6, 5];
        b.extend_from_slice(b"mylib");
        b.extend_from_slice(&[3]);
        b.extend_from_slice(b"LUA");
        b.extend_from_slice(&[1, 9]);
        b.extend_from_slice(b"some desc");
        b.push(blob.len() as u8);
        b.extend_from_slice(blob);
        let want = [&b"#!LUA name=mylib\n"[..], blob].concat();
        assert_eq!(decode(&reseal(&b, 10)).unwrap(), vec![want.clone()]);

        // No description.
        let mut b = vec![0xF6, 5];
        b.extend_from_slice(b"mylib");
        b.extend_from_slice(&[3]);
        b.extend_from_slice(b"LUA");
        b.push(0);
        b.push(blob.len() as u8);
        b.extend_from_slice(blob);
        assert_eq!(decode(&reseal(&b, 10)).unwrap(), vec![want.clone()]);

        // Description indicator given as an "encoded" length byte (0xC5): any non-zero
        // value means a description follows; parts are cut at NUL (sdscatfmt "%s");
        // blob LZF-compressed and mixed with a 0xF5 entry.
        let long_blob: Vec<u8> = b"return 1 -- ".iter().copied().cycle().take(200).collect();
        let mut b = vec![0xF6, 0xC0, 7]; // name "7" as INT8
        b.extend_from_slice(&[4, b'l', b'u', b'a', 0]); // engine "lua\0" -> "lua"
        b.push(0xC5);
        b.extend_from_slice(&[2, b'd', b'd']);
        save_raw_string(&mut b, &long_blob, true);
        assert!(b.len() < 100, "blob stored LZF-compressed");
        b.push(0xF5);
        b.extend_from_slice(&[3, b'x', b'y', b'z']);
        let mut nul_blob = vec![0xF6, 1, b'n', 3, b'l', b'u', b'a', 0, 5];
        nul_blob.extend_from_slice(b"ab\0cd");
        b.extend_from_slice(&nul_blob);
        let got = decode(&reseal(&b, 10)).unwrap();
        assert_eq!(
            got,
            vec![[&b"#!lua name=7\n"[..], &long_blob].concat(), b"xyz".to_vec(), b"#!lua name=n\nab".to_vec()]
        );
    }

    #[test]
    fn legacy_opcode_errors() {
        let cases: &[(&[u8], DecodeError)] = &[
            (&[0xF6, 0x3F], DecodeError::LibraryName),
            (&[0xF6, 1, b'n', 0x3F], DecodeError::EngineName),
            // A 64-bit indicator cut short is completed from the footer (0a 00 + CRC
            // bytes, non-zero), so native then fails on the description instead.
            (&[0xF6, 1, b'n', 1, b'e', 0x81], DecodeError::Description),
            (
                &[0xF6, 1, b'n', 1, b'e', 0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                DecodeError::DescriptionIndicator,
            ),
            (&[0xF6, 1, b'n', 1, b'e', 0xBF], DecodeError::DescriptionIndicator),
            (&[0xF6, 1, b'n', 1, b'e', 1, 0x3F], DecodeError::Description),
            (&[0xF6, 1, b'n', 1, b'e', 0, 0x3F], DecodeError::Blob),
            (&[0xF6, 1, b'n', 1, b'e', 0, 0xC4], DecodeError::Blob),
        ];
        for (b, e) in cases {
            assert_eq!(decode(&reseal(b, 10)), Err(*e), "{b:02x?}");
        }
        assert_eq!(DecodeError::LibraryName.text(), "ERR Failed loading library name");
        assert_eq!(DecodeError::EngineName.text(), "ERR Failed loading engine name");
        assert_eq!(DecodeError::DescriptionIndicator.text(), "ERR Failed loading library description indicator");
        assert_eq!(DecodeError::Description.text(), "ERR Failed loading library description");
        assert_eq!(DecodeError::Blob.text(), "ERR Failed loading library blob");
    }

    #[test]
    fn error_short_payload() {
        for n in 0..10 {
            let p = vec![0u8; n];
            assert_eq!(decode(&p), Err(DecodeError::VersionOrChecksum));
        }
        let native = unhex(NATIVE_C_L1);
        assert_eq!(decode(&native[..native.len() - 1]), Err(DecodeError::VersionOrChecksum));
        assert_eq!(DecodeError::VersionOrChecksum.text(), "ERR DUMP payload version or checksum are wrong");
    }

    #[test]
    fn error_bad_crc() {
        let mut p = unhex(NATIVE_C_L2);
        let last = p.len() - 1;
        p[last] ^= 1;
        assert_eq!(decode(&p), Err(DecodeError::VersionOrChecksum));
        let mut p = unhex(NATIVE_C_L2);
        p[5] ^= 0x40;
        assert_eq!(decode(&p), Err(DecodeError::VersionOrChecksum));
    }

    #[test]
    fn error_rdb_version_11() {
        let native = unhex(NATIVE_C_L1);
        let p = reseal(body(&native), 11);
        assert_eq!(decode(&p), Err(DecodeError::VersionOrChecksum));
        let p = reseal(body(&native), 0xFFFF);
        assert_eq!(decode(&p), Err(DecodeError::VersionOrChecksum));
    }

    #[test]
    fn error_unknown_opcode() {
        for op in [0x00u8, 0xF4, 0xF7, 0xFF] {
            let p = reseal(&[op, 0x03, b'a', b'b', b'c'], 10);
            assert_eq!(decode(&p), Err(DecodeError::NotAFunction));
        }
        // A good entry followed by a bad opcode still fails as a whole.
        let mut b = body(&unhex(NATIVE_C_L1)).to_vec();
        b.push(0x00);
        assert_eq!(decode(&reseal(&b, 10)), Err(DecodeError::NotAFunction));
        assert_eq!(DecodeError::NotAFunction.text(), "ERR given type is not a function");
        assert_eq!(DecodeError::CanNotReadType.text(), "ERR can not read data type");
    }

    #[test]
    fn error_truncated_string() {
        let native = unhex(NATIVE_U_L2);
        // Drop 20 bytes of the string: the read runs past the end.
        let b = &body(&native)[..body(&native).len() - 20];
        assert_eq!(decode(&reseal(b, 10)), Err(DecodeError::LibraryPayload));
        // Truncated length bytes.
        for b in [&[0xF5, 0x40][..], &[0xF5, 0x80, 0, 0], &[0xF5, 0x81, 0, 0, 0, 0, 0, 0]] {
            assert_eq!(decode(&reseal(b, 10)), Err(DecodeError::LibraryPayload));
        }
        // A short integer can't fail: the footer always supplies the missing bytes
        // (here the version bytes 0x0a 0x00), as in native.
        let p = reseal(&[0xF5, 0xC2, 1, 2], 10);
        assert_eq!(decode(&p).unwrap(), vec![b"655873".to_vec()]); // 0x000a0201
        assert_eq!(DecodeError::LibraryPayload.text(), "ERR Failed loading library payload");
    }

    #[test]
    fn string_may_run_into_footer() {
        // Native reads from a buffer that includes the 10-byte footer and stops the loop
        // once <= 10 bytes remain, so a string that swallows footer bytes is accepted.
        let b = [0xF5u8, 0x0B, b'a'];
        let p = reseal(&b, 10);
        let got = decode(&p).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0], p[2..13].to_vec());
    }

    #[test]
    fn error_huge_declared_length() {
        // 2^60-byte plain string.
        let b = [0xF5, 0x81, 0x10, 0, 0, 0, 0, 0, 0, 0, b'a', b'b'];
        assert_eq!(decode(&reseal(&b, 10)), Err(DecodeError::LibraryPayload));
        // 32-bit length beyond the input.
        let b = [0xF5, 0x80, 0xFF, 0xFF, 0xFF, 0xF0, b'a'];
        assert_eq!(decode(&reseal(&b, 10)), Err(DecodeError::LibraryPayload));
        // RDB_LENERR itself.
        let b = [0xF5, 0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(decode(&reseal(&b, 10)), Err(DecodeError::LibraryPayload));
        // LZF with huge compressed length / huge uncompressed length.
        let b = [0xF5, 0xC3, 0x81, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x00, b'a'];
        assert_eq!(decode(&reseal(&b, 10)), Err(DecodeError::LibraryPayload));
        let b = [0xF5, 0xC3, 0x02, 0x81, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x00, b'a'];
        assert_eq!(decode(&reseal(&b, 10)), Err(DecodeError::LibraryPayload));
        // Invalid length byte (0x82..0xBF) and unknown string encodings.
        assert_eq!(decode(&reseal(&[0xF5, 0x82, 0, 0, 0, 1, b'a'], 10)), Err(DecodeError::LibraryPayload));
        for enc in [0xC4u8, 0xFF] {
            assert_eq!(decode(&reseal(&[0xF5, enc, 1, 1, b'a'], 10)), Err(DecodeError::LibraryPayload));
        }
    }

    #[test]
    fn error_bad_lzf() {
        let ok = [0xF5u8, 0xC3, 0x04, 0x05, 0x00, b'a', 0x40, 0x00]; // "a" + backref len 4 -> "aaaaa"
        assert_eq!(decode(&reseal(&ok, 10)).unwrap(), vec![b"aaaaa".to_vec()]);
        let cases: &[&[u8]] = &[
            // back-reference before the start of the output
            &[0xF5, 0xC3, 0x04, 0x05, 0x00, b'a', 0x40, 0x01],
            &[0xF5, 0xC3, 0x02, 0x03, 0x20, 0x00],
            // output longer than declared
            &[0xF5, 0xC3, 0x04, 0x04, 0x00, b'a', 0x40, 0x00],
            // output shorter than declared
            &[0xF5, 0xC3, 0x04, 0x06, 0x00, b'a', 0x40, 0x00],
            // literal run beyond the compressed input
            &[0xF5, 0xC3, 0x02, 0x05, 0x04, b'a'],
            // back-reference missing its offset byte / its length byte
            &[0xF5, 0xC3, 0x03, 0x05, 0x00, b'a', 0x40],
            &[0xF5, 0xC3, 0x03, 0x0C, 0x00, b'a', 0xE0],
            // compressed data beyond the payload
            &[0xF5, 0xC3, 0x3F, 0x05, 0x00, b'a'],
        ];
        for b in cases {
            assert_eq!(decode(&reseal(b, 10)), Err(DecodeError::LibraryPayload), "{b:02x?}");
        }
        // Declared length 0: lzf_decompress()'s failure value 0 equals it, so any data
        // is accepted as the empty string (native behaviour).
        let b = [0xF5u8, 0xC3, 0x02, 0x00, 0x7F, 0x7F];
        assert_eq!(decode(&reseal(&b, 10)).unwrap(), vec![Vec::<u8>::new()]);
    }

    /// Small deterministic PRNG (xorshift64*).
    fn rng(seed: &mut u64) -> u64 {
        *seed ^= *seed >> 12;
        *seed ^= *seed << 25;
        *seed ^= *seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[test]
    fn lzf_round_trips() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        // Random data: incompressible.
        for len in [1usize, 2, 3, 21, 100, 1000, 65_536, 200_000] {
            inputs.push((0..len).map(|_| rng(&mut seed) as u8).collect());
        }
        // Repetitive data and low-entropy data.
        for len in [3usize, 4, 21, 33, 264, 265, 1000, 10_000, 300_000] {
            inputs.push(vec![b'z'; len]);
            inputs.push((0..len).map(|i| b"abcabcabd"[i % 9]).collect());
            inputs.push((0..len).map(|_| b"ab"[(rng(&mut seed) % 2) as usize]).collect());
        }
        for input in &inputs {
            // Unbounded output room: must compress (or fail only for tiny outputs) and
            // decompress back exactly.
            let room = input.len() + input.len() / 16 + 64;
            let c = lzf_compress(input, room).expect("fits");
            assert_eq!(lzf_decompress(&c, input.len()).unwrap(), *input);
            // Bounded as Redis does it.
            if input.len() > 4 {
                if let Some(c) = lzf_compress(input, input.len() - 4) {
                    assert!(c.len() <= input.len() - 4);
                    assert_eq!(lzf_decompress(&c, input.len()).unwrap(), *input);
                    // One byte short of room: E2BIG.
                    assert_eq!(lzf_decompress(&c, input.len() - 1), None);
                }
            }
        }
        // Repetitive data compresses a lot; random data doesn't fit in len-4.
        assert!(lzf_compress(&vec![0u8; 10_000], 9_996).unwrap().len() < 200);
        let random: Vec<u8> = (0..10_000).map(|_| rng(&mut seed) as u8).collect();
        assert_eq!(lzf_compress(&random, 9_996), None);
        assert_eq!(lzf_compress(b"", 10), None);
    }

    #[test]
    fn lzf_max_ratio_bound() {
        // Literal 'a' then long back-references of the maximum length (264 bytes each).
        let mut c = vec![0x00, b'a'];
        let refs = 100;
        for _ in 0..refs {
            c.extend_from_slice(&[0xE0, 0xFF, 0x00]);
        }
        let n = 1 + 264 * refs;
        assert!(n <= c.len() * LZF_MAX_RATIO);
        assert_eq!(lzf_decompress(&c, n).unwrap(), vec![b'a'; n]);
        let mut b = vec![0xF5, 0xC3];
        save_len(&mut b, c.len() as u64);
        save_len(&mut b, n as u64);
        b.extend_from_slice(&c);
        assert_eq!(decode(&reseal(&b, 10)).unwrap(), vec![vec![b'a'; n]]);
    }

    #[test]
    fn fuzz_never_panics() {
        let mut seed = 42u64;
        let base = [unhex(NATIVE_C_L312), unhex(NATIVE_U_L312), unhex(NATIVE_C_L2)];
        for i in 0..20_000 {
            let src = &base[i % base.len()];
            let mut b = body(src).to_vec();
            let flips = 1 + (rng(&mut seed) % 4) as usize;
            for _ in 0..flips {
                let pos = (rng(&mut seed) as usize) % b.len();
                b[pos] = rng(&mut seed) as u8;
            }
            let cut = (rng(&mut seed) as usize) % (b.len() + 1);
            if i % 3 == 0 {
                b.truncate(cut);
            }
            let _ = decode(&reseal(&b, 10));
            // Random garbage, raw (mostly fails verification).
            let len = (rng(&mut seed) % 64) as usize;
            let g: Vec<u8> = (0..len).map(|_| rng(&mut seed) as u8).collect();
            let _ = decode(&g);
            let _ = decode(&reseal(&g, 10));
            let _ = lzf_decompress(&g, (rng(&mut seed) % 4096) as usize);
        }
    }

    #[test]
    fn entries_stop_after_error() {
        let mut b = body(&unhex(NATIVE_C_L1)).to_vec();
        b.push(0x00);
        b.extend_from_slice(body(&unhex(NATIVE_C_L1)));
        let p = reseal(&b, 10);
        let items: Vec<_> = entries(&p).unwrap().collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1], Err(DecodeError::NotAFunction));
    }
}
