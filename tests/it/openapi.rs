//! The committed openapi.yaml is what the code generates, and it declares security.

#[test]
fn committed_openapi_yaml_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
    let committed = std::fs::read_to_string(&path).expect("openapi.yaml at the repository root");
    let generated = shopscore::router::openapi_yaml();
    assert!(
        committed == generated,
        "openapi.yaml is stale: run `cargo run -- openapi > openapi.yaml` and commit it"
    );
}

/// YAML 1.1 readers (PyYAML: schemathesis, most Python tooling) take a plain `=` for a
/// tag they cannot build; the hint example's operator `=` must reach them quoted.
#[test]
fn openapi_yaml_reads_the_same_under_yaml_1_1() {
    let yaml = shopscore::router::openapi_yaml();
    let plain: Vec<&str> = yaml
        .lines()
        .filter(|l| l.ends_with(": =") || l.trim() == "- =")
        .collect();
    assert!(plain.is_empty(), "plain `=` scalars: {plain:?}");
    assert!(
        yaml.contains("op: '='"),
        "the hint example shows the `=` operator"
    );
}

#[test]
fn every_v1_operation_declares_its_roles() {
    let doc = serde_json::to_value(shopscore::router::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, ops) in paths
        .iter()
        .filter(|(p, _)| *p == "/v1" || p.starts_with("/v1/"))
    {
        for (method, op) in ops.as_object().unwrap() {
            let sec = &op["security"][0]["api_key"];
            assert!(
                sec.as_array().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no roles"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 32);
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
}

/// The README's test command is the one CI runs, and its service command names `serve`.
#[test]
fn the_readme_commands_are_the_ones_ci_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(readme.contains("\n    cargo test --locked\n"));
    assert!(ci.lines().any(|l| l.trim() == "cargo test --locked"));
    assert!(readme.contains("\n    cargo run --release -- serve\n"));
}

/// The examples in the spec are what the API really answers: each reads back into its
/// type and writes out the same JSON (so a field added, renamed or dropped in the
/// types shows here), and the spec carries them.
#[test]
fn the_spec_examples_match_the_types() {
    use serde_json::Value;
    use shopscore::scoring::card::{Hint, Scorecard};
    fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(text: &str) {
        let value: Value = serde_json::from_str(text).unwrap();
        let typed: T = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), value);
    }
    let examples: std::collections::HashMap<&str, &str> =
        shopscore::openapi::EXAMPLES.into_iter().collect();
    round_trip::<Scorecard>(examples["Scorecard"]);
    round_trip::<Hint>(examples["Hint"]);
    let error: Value = serde_json::from_str(examples["ErrorBody"]).unwrap();
    assert_eq!(error["error"]["code"], "validation_failed");
    let doc = shopscore::router::openapi();
    let doc = serde_json::to_value(doc).unwrap();
    // The drill-down and projection answers: every field the schema names, no other.
    let fields = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let schema = |name: &str| -> Value {
        let mut s = doc_fields(name);
        s.sort();
        Value::from(s)
    };
    let items: Value = serde_json::from_str(examples["MetricItems"]).unwrap();
    assert_eq!(Value::from(fields(&items)), schema("MetricItems"));
    assert_eq!(
        Value::from(fields(&items["items"][0])),
        schema("MetricItem")
    );
    assert_eq!(Value::from(fields(&items["window"])), schema("Window"));
    let projection: Value = serde_json::from_str(examples["Projection"]).unwrap();
    assert_eq!(Value::from(fields(&projection)), schema("Projection"));
    assert_eq!(
        Value::from(fields(&projection["cs_tier"])),
        schema("ProjectedTier")
    );
    let simulation: Value = serde_json::from_str(examples["Simulation"]).unwrap();
    assert_eq!(Value::from(fields(&simulation)), schema("Simulation"));
    assert_eq!(
        Value::from(fields(&simulation["changes"][0])),
        schema("Change")
    );
    round_trip::<Scorecard>(&simulation["card"].to_string());
    for name in [
        "Scorecard",
        "Hint",
        "MetricItems",
        "Projection",
        "Simulation",
        "ErrorBody",
    ] {
        let example = &doc["components"]["schemas"][name]["example"];
        assert_eq!(
            example,
            &serde_json::from_str::<Value>(examples[name]).unwrap()
        );
    }
}

/// The property names of a schema of the generated document.
fn doc_fields(name: &str) -> Vec<String> {
    let doc = serde_json::to_value(shopscore::router::openapi()).unwrap();
    let props = doc["components"]["schemas"][name]["properties"].as_object();
    props
        .unwrap_or_else(|| panic!("no schema {name}"))
        .keys()
        .cloned()
        .collect()
}
