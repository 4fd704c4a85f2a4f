//! The README cannot drift: every ```redis-cli block in it runs here, line by line, through
//! the real `redis-cli` (formatted as in a terminal, `--no-raw`) against a fresh server with
//! the module, and must print exactly what the README shows. A `$ redis-server ...` line
//! starts that block's server with those arguments (the module path replaced by the built
//! one); otherwise the block gets a server with the module loaded.

mod support;

use std::path::Path;
use std::process::Command;

use support::Server;

/// One command line of a block and the output the README shows for it.
struct Step {
    argv: Vec<String>,
    expected: String,
}

/// The ```redis-cli blocks of the README, each as its steps.
fn blocks(readme: &str) -> Vec<Vec<Step>> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```redis-cli" {
            continue;
        }
        let mut steps: Vec<Step> = Vec::new();
        let mut pending = String::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            if !pending.is_empty() {
                pending.push('\n');
                pending.push_str(line);
            } else if let Some(command) = line.strip_prefix("$ ") {
                pending = command.to_string();
            } else if let Some(step) = steps.last_mut() {
                step.expected.push_str(line);
                step.expected.push('\n');
                continue;
            } else {
                panic!("README: output before any command in a redis-cli block: {line}");
            }
            // A command may go on over several lines while a quote is open.
            if let Some(argv) = split_words(&pending) {
                steps.push(Step { argv, expected: String::new() });
                pending.clear();
            }
        }
        assert!(pending.is_empty(), "README: unclosed quote in {pending}");
        blocks.push(steps);
    }
    blocks
}

/// Shell words: blanks separate, '...' is literal, "..." takes \\ and \" escapes. None while
/// a quote is still open.
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => w.push(c),
                            c => {
                                w.push('\\');
                                w.push(c);
                            }
                        },
                        c => w.push(c),
                    }
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
}

#[test]
fn every_redis_cli_example_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README.md");
    let blocks = blocks(&readme);
    assert!(blocks.len() >= 3, "the README's redis-cli blocks are gone");
    let module = support::module_path();
    let module = module.to_str().expect("utf-8 path");
    for steps in blocks {
        let mut server: Option<Server> = None;
        for step in &steps {
            let (program, args) = step.argv.split_first().expect("a command");
            match program.as_str() {
                "redis-server" => {
                    assert!(server.is_none(), "one redis-server per block");
                    let args: Vec<&str> =
                        args.iter().map(|a| if a.ends_with("libredis_alt.so") { module } else { a.as_str() }).collect();
                    server = Some(Server::start_with(&args, false));
                }
                "redis-cli" => {
                    let server = server.get_or_insert_with(Server::start);
                    let out = Command::new("redis-cli")
                        .args(["-p", &server.port.to_string(), "--no-raw"])
                        .args(args)
                        .output()
                        .expect("redis-cli on PATH (make deps)");
                    let printed = String::from_utf8_lossy(&out.stdout);
                    assert_eq!(printed.trim_end(), step.expected.trim_end(), "README: $ {}", step.argv.join(" "));
                }
                other => panic!("README: a redis-cli block runs redis-cli or redis-server, not {other}"),
            }
        }
    }
}
