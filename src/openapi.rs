//! What the derive macros cannot say in the OpenAPI document: the body of
//! `POST /v1/events` (each of the 18 event types as a schema of its own, joined in a
//! `oneOf` with `type` as discriminator, as one event, a JSON array, or NDJSON), and the
//! error statuses operations share (authentication, roles, rate limit, bad input,
//! unavailable database). Both are added to the generated document, so it stays the one
//! description of what the server does.

use serde_json::{json, Map, Value};

use crate::ingest::body::MAX_BATCH;
use crate::ingest::event_type::EventType;

/// The generated document, completed.
pub fn complete(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut v = serde_json::to_value(&doc).expect("the document serialises");
    add_event_schemas(&mut v);
    add_shared_errors(&mut v);
    add_examples(&mut v);
    serde_json::from_value(v).expect("still an OpenAPI document")
}

/// Examples of what the API answers, real output: a scorecard of `shopscore demo
/// --shops 12 --days 60 --end 2026-11-20T00:00:00+08:00` (shop 007), its first hint, a
/// page of its late orders (`ship_on_time_rate(48)/items?counts=denominator&limit=2`,
/// with `--seed 7`), its projection at the same instant, a simulation of it (negative
/// reviews at 1 %, one late order left out), and the 422 for an event with a negative
/// amount. Tests read them back into the types, or check their fields against
/// the schemas.
pub const EXAMPLES: [(&str, &str); 6] = [
    ("Scorecard", include_str!("openapi_examples/scorecard.json")),
    ("Hint", include_str!("openapi_examples/hint.json")),
    (
        "MetricItems",
        include_str!("openapi_examples/metric_items.json"),
    ),
    (
        "Projection",
        include_str!("openapi_examples/projection.json"),
    ),
    (
        "Simulation",
        include_str!("openapi_examples/simulation.json"),
    ),
    ("ErrorBody", include_str!("openapi_examples/error.json")),
];

fn add_examples(doc: &mut Value) {
    for (schema, text) in EXAMPLES {
        let example: Value = serde_json::from_str(text).expect("examples are JSON");
        let target = &mut doc["components"]["schemas"][schema];
        assert!(target.is_object(), "no schema {schema}");
        target["example"] = example;
    }
}

fn schema_name(t: EventType) -> String {
    format!("Event_{}", t.as_str().replace('.', "_"))
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn add_event_schemas(doc: &mut Value) {
    let schemas = doc["components"]["schemas"]
        .as_object_mut()
        .expect("the document has schemas");
    let mut mapping = Map::new();
    let mut one_of = Vec::new();
    for t in EventType::ALL {
        let name = schema_name(t);
        schemas.insert(name.clone(), t.json_schema());
        mapping.insert(
            t.as_str().into(),
            format!("#/components/schemas/{name}").into(),
        );
        one_of.push(schema_ref(&name));
    }
    schemas.insert(
        "Event".into(),
        json!({"description": "An event (SPEC §2): the envelope, and the `data` of its `type`.",
               "oneOf": one_of, "discriminator": {"propertyName": "type", "mapping": mapping}}),
    );
    let body = json!({
        "required": true,
        "description": format!("One event, a JSON array of at most {MAX_BATCH}, or NDJSON (one event per line)."),
        "content": {
            "application/json": {"schema": {"oneOf": [
                schema_ref("Event"),
                {"type": "array", "items": schema_ref("Event"), "maxItems": MAX_BATCH}
            ]}},
            "application/x-ndjson": {"schema": {"type": "string",
                "description": "one event per line, each as in application/json"}}
        }
    });
    doc["paths"]["/v1/events"]["post"]["requestBody"] = body;
}

/// Statuses every operation of a kind can answer, with the error body.
fn add_shared_errors(doc: &mut Value) {
    let paths = doc["paths"]
        .as_object_mut()
        .expect("the document has paths");
    for (path, item) in paths.iter_mut() {
        if path != "/v1" && !path.starts_with("/v1/") {
            continue;
        }
        for (method, op) in item.as_object_mut().expect("a path item").iter_mut() {
            let has_query = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let has_body = op.get("requestBody").is_some();
            let roles = op["security"][0]["api_key"].as_array().map_or(0, Vec::len);
            let mut add = vec![
                ("400", "malformed JSON, a bad limit or cursor, or an unknown or repeated query parameter"),
                ("401", "no key, or a key that is unknown or revoked"),
                (
                    "429",
                    "this key's rate limit is spent; retry after Retry-After seconds",
                ),
                (
                    "503",
                    "the database is unavailable or busy; retry after Retry-After seconds",
                ),
            ];
            if roles < 4 {
                add.push(("403", "this key's role may not call this operation"));
            }
            if has_query || has_body {
                add.push((
                    "400",
                    "malformed JSON, a bad limit or cursor, or a repeated query parameter",
                ));
                add.push((
                    "422",
                    "a field or parameter with an invalid value; details name it",
                ));
            }
            if path.contains('{') {
                add.push((
                    "404",
                    "nothing by that id (a merchant asking for a shop not its own gets this too)",
                ));
            }
            if has_body {
                add.push(("413", "the body is larger than this operation accepts"));
            }
            if path == "/v1/events" && method == "post" {
                add.push(("409", "an event_id already stored with different content"));
                add.push(("415", "the Content-Type is neither JSON nor NDJSON"));
            }
            let responses = op["responses"].as_object_mut().expect("responses");
            for (status, description) in add {
                responses.entry(status).or_insert_with(|| {
                    json!({"description": description,
                           "content": {"application/json": {"schema": schema_ref("ErrorBody")}}})
                });
            }
        }
    }
}

/// The document as YAML that YAML 1.1 readers (PyYAML, hence schemathesis) read the same
/// as YAML 1.2 ones. The emitter leaves a lone `=` plain, which 1.2 reads as the string
/// "=" but 1.1 as its `!!value` tag, which PyYAML cannot construct — and the rule
/// operator `=` appears in the hint example. Such scalars are quoted here.
pub fn yaml(doc: &utoipa::openapi::OpenApi) -> String {
    let plain = doc.to_yaml().expect("the spec serialises");
    let mut out = String::with_capacity(plain.len() + 16);
    for line in plain.lines() {
        match line.strip_suffix('=') {
            Some(head) if head.ends_with(": ") || head.trim() == "-" => {
                out.push_str(head);
                out.push_str("'='");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}
