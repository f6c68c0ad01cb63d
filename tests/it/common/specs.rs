//! Finding the platforms' official API descriptions for contract tests.
//! They are not committed: tests read them from ../shared/specs or
//! PERCH_SPECS_DIR. Absent on a newcomer's clone, the tests say so and
//! skip; with CI=true they must be there.

use std::path::PathBuf;

use serde_json::{json, Value};

pub fn specs_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("PERCH_SPECS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "contract tests need the official API descriptions, not found at {}; set PERCH_SPECS_DIR",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: no API descriptions at {} (set PERCH_SPECS_DIR to run contract tests)",
        dir.display()
    );
    None
}

/// The spec as JSON, or `None` (skip) as `specs_dir` decides.
pub fn load(relative: &str) -> Option<Value> {
    let path = specs_dir()?.join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Some(
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
    )
}

/// Validates `instance` against `components.schemas.<name>` of an OpenAPI
/// document; returns every violation.
pub fn violations(spec: &Value, name: &str, instance: &Value) -> Vec<String> {
    assert!(
        spec.pointer(&format!("/components/schemas/{name}"))
            .is_some(),
        "the spec has no schema {name}"
    );
    let mut root = spec.clone();
    root["$ref"] = json!(format!("#/components/schemas/{name}"));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("cannot compile schema {name}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The schema name of an operation's response (or request body when
/// `status` is `None`), following the spec itself.
pub fn schema_of(spec: &Value, path: &str, method: &str, status: Option<&str>) -> String {
    let op = &spec["paths"][path][method];
    let node = match status {
        Some(code) => &op["responses"][code]["content"]["application/json"]["schema"]["$ref"],
        None => &op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
    };
    node.as_str()
        .and_then(|r| r.rsplit('/').next())
        .unwrap_or_else(|| panic!("{method} {path} {status:?} has no JSON schema in the spec"))
        .to_owned()
}

/// Violations of a Swagger 2.0 operation's 200 response schema (Slack's
/// Web API description), found at `paths.<path>.<method>.responses.200`.
pub fn swagger_response_violations(
    spec: &Value,
    path: &str,
    method: &str,
    instance: &Value,
) -> Vec<String> {
    let escaped = path.replace('~', "~0").replace('/', "~1");
    let pointer = format!("/paths/{escaped}/{method}/responses/200/schema");
    assert!(
        spec.pointer(&pointer).is_some(),
        "the spec has no 200 schema for {method} {path}"
    );
    let mut root = spec.clone();
    root["$ref"] = json!(format!("#{pointer}"));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&root)
        .unwrap_or_else(|e| panic!("cannot compile the schema of {method} {path}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// The parameter names a Swagger 2.0 operation documents.
pub fn swagger_parameters(spec: &Value, path: &str, method: &str) -> Vec<String> {
    spec["paths"][path][method]["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Violations of an OpenAPI 3.1 operation's schema: its `status` response
/// (`Some("200")`) or its JSON request body (`None`).
pub fn openapi_violations(
    spec: &Value,
    template: &str,
    method: &str,
    status: Option<&str>,
    instance: &Value,
) -> Vec<String> {
    let escaped = template.replace('~', "~0").replace('/', "~1");
    let pointer = match status {
        Some(code) => {
            format!("/paths/{escaped}/{method}/responses/{code}/content/application~1json/schema")
        }
        None => format!("/paths/{escaped}/{method}/requestBody/content/application~1json/schema"),
    };
    assert!(
        spec.pointer(&pointer).is_some(),
        "the spec has no schema at {pointer}"
    );
    let mut root = spec.clone();
    // In a URI fragment, `{` and `}` must be percent-encoded.
    root["$ref"] = json!(format!(
        "#{}",
        pointer.replace('{', "%7B").replace('}', "%7D")
    ));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|e| panic!("cannot compile {method} {template}: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}
