//! The ALT.* commands as the server describes them (COMMAND DOCS, COMMAND INFO, COMMAND
//! GETKEYS), checked against the native commands on the same server: same argument trees,
//! same tips, same keys.

mod support;

use redis::{Connection, Value};
use support::Server;

/// The commands with a native counterpart, without the `ALT.` prefix.
const COMMANDS: &[&str] = &["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "flushall"];
const CONTAINERS: &[&str] = &["script", "function"];

fn command(con: &mut Connection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd("COMMAND");
    for a in args {
        cmd.arg(*a);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("COMMAND {args:?}: {e}"))
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Int(i) => i.to_string(),
        other => panic!("not a string: {other:?}"),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

/// The value under `key` in a RESP2 map (a flat array of key, value, key, value ...).
fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    items(map).chunks(2).find(|kv| text(&kv[0]) == key).map(|kv| &kv[1])
}

fn field_text(map: &Value, key: &str) -> String {
    field(map, key).map(text).unwrap_or_else(|| panic!("no {key} in {map:?}"))
}

/// The docs map of one command: `COMMAND DOCS name` answers `[name, docs]`.
fn docs(con: &mut Connection, name: &str) -> Value {
    let reply = command(con, &["DOCS", name]);
    let found = field(&reply, name).unwrap_or_else(|| panic!("COMMAND DOCS {name}: {reply:?}"));
    found.clone()
}

/// An argument tree as text, with what defines the syntax: name, type, key spec index, token,
/// flags and sub-arguments; not the free text (summary, since, deprecated since).
fn arg_shape(args: Option<&Value>) -> String {
    let Some(args) = args else { return "[]".into() };
    let shown: Vec<String> = items(args)
        .iter()
        .map(|arg| {
            let mut out = String::new();
            for key in ["name", "type", "key_spec_index", "token", "display_text"] {
                if let Some(v) = field(arg, key) {
                    out.push_str(&format!("{key}={} ", text(v)));
                }
            }
            if let Some(flags) = field(arg, "flags") {
                out.push_str(&format!("flags={:?} ", items(flags).iter().map(text).collect::<Vec<_>>()));
            }
            out + &arg_shape(field(arg, "arguments"))
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// The summary, since, group and complexity of a module command's docs.
fn assert_described(name: &str, doc: &Value) {
    assert!(!field_text(doc, "summary").is_empty(), "{name}: {doc:?}");
    assert_eq!(field_text(doc, "since"), "1.0.0", "{name}");
    assert_eq!(field_text(doc, "group"), "module", "{name}");
    assert!(!field_text(doc, "complexity").is_empty(), "{name}: {doc:?}");
}

#[test]
fn docs_have_the_native_arguments() {
    let server = Server::start();
    let mut con = server.con();
    for name in COMMANDS {
        let alt = format!("alt.{name}");
        let doc = docs(&mut con, &alt);
        assert_described(&alt, &doc);
        let native = docs(&mut con, name);
        assert!(field(&native, "arguments").is_some(), "{name}");
        assert_eq!(arg_shape(field(&doc, "arguments")), arg_shape(field(&native, "arguments")), "{alt}");
    }
}

#[test]
fn subcommand_docs_have_the_native_arguments() {
    let server = Server::start();
    let mut con = server.con();
    let mut compared = Vec::new();
    for container in CONTAINERS {
        let alt = format!("alt.{container}");
        let doc = docs(&mut con, &alt);
        assert_described(&alt, &doc);
        let native = docs(&mut con, container);
        let native_subs = field(&native, "subcommands").expect("native subcommands");
        let subs = field(&doc, "subcommands").unwrap_or_else(|| panic!("{alt}: no subcommands in {doc:?}"));
        for pair in items(subs).chunks(2) {
            let sub = text(&pair[0]);
            assert_described(&sub, &pair[1]);
            let native_name = sub.strip_prefix("alt.").expect("alt. prefix");
            // ALT.SCRIPT's own subcommands (SHOW, LIST, STATS) have nothing to compare with.
            let Some(native_sub) = field(native_subs, native_name) else { continue };
            let mut shape = arg_shape(field(&pair[1], "arguments"));
            if sub == "alt.function|stats" {
                // ALT's one extension of a native subcommand: FUNCTION STATS [WITHFUNCTIONS].
                let extension = "name=withfunctions type=pure-token token=WITHFUNCTIONS flags=[\"optional\"] []";
                assert_eq!(shape, format!("[{extension}]"));
                shape = "[]".into();
            }
            assert_eq!(shape, arg_shape(field(native_sub, "arguments")), "{sub}");
            compared.push(sub);
        }
    }
    compared.sort();
    let expected = [
        "alt.function|delete",
        "alt.function|dump",
        "alt.function|flush",
        "alt.function|help",
        "alt.function|kill",
        "alt.function|list",
        "alt.function|load",
        "alt.function|restore",
        "alt.function|stats",
        "alt.script|debug",
        "alt.script|exists",
        "alt.script|flush",
        "alt.script|help",
        "alt.script|kill",
        "alt.script|load",
    ];
    assert_eq!(compared, expected);
}

/// Tips (index 7 of a COMMAND INFO entry), subcommands' included (index 9).
fn tips_by_name(entry: &Value, prefix: &str, out: &mut Vec<(String, Vec<String>)>) {
    let fields = items(entry);
    let name = text(&fields[0]);
    let name = name.strip_prefix(prefix).unwrap_or(&name).to_string();
    out.push((name, items(&fields[7]).iter().map(text).collect()));
    for sub in fields.get(9).map(items).unwrap_or_default() {
        tips_by_name(sub, prefix, out);
    }
}

#[test]
fn info_carries_the_native_tips() {
    let server = Server::start();
    let mut con = server.con();
    let names: Vec<&str> = COMMANDS.iter().chain(CONTAINERS).copied().collect();
    let alt_names: Vec<String> = names.iter().map(|n| format!("alt.{n}")).collect();
    let mut native = Vec::new();
    for entry in items(&command(&mut con, &[&["INFO"], names.as_slice()].concat())) {
        tips_by_name(entry, "", &mut native);
    }
    let alt_args: Vec<&str> = alt_names.iter().map(String::as_str).collect();
    let mut alt = Vec::new();
    for entry in items(&command(&mut con, &[&["INFO"], alt_args.as_slice()].concat())) {
        tips_by_name(entry, "alt.", &mut alt);
    }
    // Native only: SCRIPT DEBUG. ALT only: the subcommands without a native counterpart.
    native.retain(|(name, _)| alt.iter().any(|(n, _)| n == name));
    alt.retain(|(name, _)| native.iter().any(|(n, _)| n == name));
    // Subcommands come in hash order.
    alt.sort();
    native.sort();
    assert_eq!(alt, native);
    assert!(alt.len() >= 23, "{alt:?}");

    // A subcommand asked for by its full name.
    let tips = |con: &mut Connection, name: &str| {
        let reply = command(con, &["INFO", name]);
        items(&items(&items(&reply)[0])[7]).iter().map(text).collect::<Vec<_>>()
    };
    let native = tips(&mut con, "script|flush");
    assert!(native.iter().any(|t| t.starts_with("request_policy:")), "{native:?}");
    assert_eq!(tips(&mut con, "alt.script|flush"), native);
}

#[test]
fn getkeys_as_native() {
    let server = Server::start();
    let mut con = server.con();
    for name in COMMANDS.iter().filter(|n| **n != "flushall") {
        let native = command(&mut con, &["GETKEYS", name, "f", "2", "a", "b", "c"]);
        let alt = command(&mut con, &["GETKEYS", &format!("ALT.{name}"), "f", "2", "a", "b", "c"]);
        assert_eq!(alt, native, "{name}");
        assert_eq!(items(&alt).iter().map(text).collect::<Vec<_>>(), ["a", "b"]);
    }
}

/// The subcommands a container command serves, lower case (COMMAND INFO, index 9).
fn served_subcommands(con: &mut Connection, name: &str) -> Vec<String> {
    let info = command(con, &["INFO", name]);
    let entry = &items(&info)[0];
    let mut subs: Vec<String> = items(&items(entry)[9])
        .iter()
        .map(|sub| text(&items(sub)[0]).split('|').nth(1).unwrap_or_default().to_lowercase())
        .collect();
    subs.sort();
    subs
}

/// The subcommand names HELP lists: its unindented lines after the header.
fn help_entries(lines: &[String]) -> Vec<String> {
    let mut subs: Vec<String> = lines[1..]
        .iter()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split(' ').next().unwrap_or_default().to_lowercase())
        .collect();
    subs.sort();
    subs
}

/// Each HELP entry: its first line and its description.
fn help_blocks(lines: &[String]) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in &lines[1..] {
        match blocks.last_mut() {
            Some(block) if line.starts_with(' ') => block.1.push(line.clone()),
            _ => blocks.push((line.clone(), Vec::new())),
        }
    }
    blocks
}

/// ALT.SCRIPT HELP and ALT.FUNCTION HELP list exactly the subcommands the module serves (DEBUG
/// included; SHOW, LIST, STATS, STATS WITHFUNCTIONS that native has not), and
/// keep native's text for every subcommand both have.
#[test]
fn help_lists_exactly_what_is_served() {
    let server = Server::start();
    let mut con = server.con();
    for container in CONTAINERS {
        let ours = lines_of(&mut con, &format!("ALT.{container}"));
        let native = lines_of(&mut con, container);
        assert_eq!(help_entries(&ours), served_subcommands(&mut con, &format!("alt.{container}")), "{container}");
        assert_eq!(
            ours[0],
            native[0].replacen(&container.to_uppercase(), &format!("ALT.{}", container.to_uppercase()), 1)
        );
        let native_blocks = help_blocks(&native);
        for (head, body) in help_blocks(&ours) {
            let word = head.split(' ').next().unwrap_or_default();
            if let Some((native_head, native_body)) =
                native_blocks.iter().find(|(h, _)| h.split(' ').next() == Some(word))
            {
                if word == "STATS" && *container == "function" {
                    // Native's text, with the WITHFUNCTIONS extension.
                    assert_eq!(head, "STATS [WITHFUNCTIONS]");
                    assert!(body.starts_with(&native_body[..native_body.len() - 1]), "{body:?}");
                    continue;
                }
                assert_eq!((&head, &body), (native_head, native_body), "{container} {word}");
            }
        }
    }
    assert!(help_entries(&lines_of(&mut con, "ALT.SCRIPT")).contains(&"debug".to_string()));
    assert!(help_entries(&lines_of(&mut con, "SCRIPT")).contains(&"debug".to_string()));
}

fn lines_of(con: &mut Connection, name: &str) -> Vec<String> {
    redis::cmd(name).arg("HELP").query(con).unwrap()
}
