//! The committed openapi.yaml is what the code generates, and it declares security.

#[test]
fn committed_openapi_yaml_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
    let committed = std::fs::read_to_string(&path).expect("openapi.yaml at the repository root");
    let generated = shopscore::app::openapi_yaml();
    assert!(
        committed == generated,
        "openapi.yaml is stale: run `cargo run -- openapi > openapi.yaml` and commit it"
    );
}

#[test]
fn every_v1_operation_declares_its_roles() {
    let doc = serde_json::to_value(shopscore::app::openapi()).unwrap();
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
    assert_eq!(checked, 16);
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
