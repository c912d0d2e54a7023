//! The README's "First steps" walkthrough, run as written: its `curl` commands against
//! a real server (with `localhost:8080` pointed at it), its `keys create` with the real
//! binary, the keys it exports taken from what the commands printed, and its `# →`
//! lines checked against the answer before them.

use std::collections::HashMap;

use serde_json::Value;

use crate::helpers::{shopscore, TestApp};

/// The indented block under `## First steps`, dedented.
fn walkthrough() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("\n## First steps\n")
        .nth(1)
        .expect("a First steps section");
    section
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.strip_prefix("    ").unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Shell words of one command: '…' literal (may span lines), "…" and bare words with
/// `$NAME` expanded, backslash-newline a space.
fn words(command: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let expand = |s: &str| {
        let mut out = s.to_string();
        for (k, v) in vars {
            out = out.replace(&format!("${k}"), v);
        }
        out
    };
    let (mut out, mut word, mut chars) = (Vec::new(), None::<String>, command.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let quoted: String = chars.by_ref().take_while(|&c| c != '\'').collect();
                word.get_or_insert_with(String::new).push_str(&quoted);
            }
            '"' => {
                let quoted: String = chars.by_ref().take_while(|&c| c != '"').collect();
                word.get_or_insert_with(String::new)
                    .push_str(&expand(&quoted));
            }
            '\\' if chars.peek() == Some(&'\n') => {
                chars.next();
            }
            c if c.is_whitespace() => out.extend(word.take().map(|w| expand(&w))),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word.map(|w| expand(&w)));
    out
}

/// Commands of the block, each with the `# →` line that follows it (if any).
fn commands(block: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        if current.is_empty() {
            let trimmed = line.trim();
            if let Some(expected) = trimmed.strip_prefix("# →") {
                out.last_mut().expect("a command before `# →`").1 = Some(expected.trim().into());
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
        }
        current.push_str(line);
        current.push('\n');
        let open_quote = current.matches('\'').count() % 2 == 1;
        if !open_quote && !line.ends_with('\\') {
            out.push((std::mem::take(&mut current), None));
        }
    }
    assert!(current.is_empty(), "unfinished command: {current}");
    out
}

fn key_in(text: &str) -> Option<String> {
    let start = text.find("ssk_")?;
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect(),
    )
}

#[tokio::test]
async fn the_readme_walkthrough_works_as_written() {
    let app = TestApp::spawn().await;
    let host = app.base.trim_start_matches("http://").to_string();
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut last = String::new();
    let mut curls = 0;
    // What each curl printed, by its command.
    let mut printed: Vec<(String, String)> = Vec::new();
    let block = walkthrough();
    for (command, expected) in commands(&block) {
        let argv = words(&command, &vars);
        match argv.first().map(String::as_str) {
            Some("cargo") => {
                let at = argv.iter().position(|a| a == "--").expect("cargo run -- …");
                let args: Vec<String> = argv[at + 1..].to_vec();
                let db_url = app.db_url.clone();
                let (out, _) = tokio::task::spawn_blocking(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    shopscore(&db_url, &args, &[])
                })
                .await
                .unwrap();
                last = out;
            }
            Some("export") => {
                let (name, value) = argv[1].split_once('=').expect("export NAME=…");
                // `ssk_…` stands for the key the command before printed.
                let value = match value {
                    "ssk_…" => serde_json::from_str::<Value>(&last)
                        .ok()
                        .and_then(|v| v["key"].as_str().map(str::to_string))
                        .or_else(|| key_in(&last))
                        .unwrap_or_else(|| panic!("no key in {last:?}")),
                    v => v.to_string(),
                };
                vars.insert(name.to_string(), value);
            }
            Some("curl") => {
                let args: Vec<String> = argv[1..]
                    .iter()
                    .map(|a| a.replace("localhost:8080", &host))
                    .collect();
                let out = tokio::task::spawn_blocking(move || {
                    std::process::Command::new("curl")
                        .args(["--fail-with-body", "--max-time", "30"])
                        .args(&args)
                        .output()
                        .unwrap()
                })
                .await
                .unwrap();
                last = String::from_utf8_lossy(&out.stdout).into_owned();
                assert!(out.status.success(), "{command}\n→ {last}");
                printed.push((command.clone(), last.clone()));
                curls += 1;
            }
            other => panic!("the walkthrough runs a command this test does not know: {other:?}"),
        }
        if let Some(expected) = expected {
            assert_eq!(last.trim(), expected, "{command}");
        }
    }
    assert_eq!(curls, 7, "every curl of the walkthrough ran");
    let of = |part: &str| -> Value {
        let (_, out) = (printed.iter().find(|(c, _)| c.contains(part)))
            .unwrap_or_else(|| panic!("no curl of {part}"));
        serde_json::from_str(out).unwrap()
    };
    let card = of("/scorecard");
    assert_eq!(card["shop_id"], "s-1");
    assert_eq!(card["as_of"], "2026-10-20T00:00:00+08:00");
    let ship =
        &card["service_score"]["indicators"]["logistics"]["metrics"]["ship_on_time_rate(48)"];
    assert_eq!(
        (ship["value"].as_f64(), ship["n"].as_u64()),
        (Some(0.5), Some(2))
    );
    // The merchant's drill-down names the late order: o-2, created and never shipped.
    let late = of("/items");
    assert_eq!(late["totals"]["denominator"], 1);
    let items = late["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], "o-2");
    assert_eq!(
        items[0]["reason"],
        "not shipped 48 h after creation (no payment recorded)"
    );
}
