//! `openapi.json` is `app::openapi()` as committed: an API change shows in
//! review. After changing a route, regenerate it with
//! `APPROUTE_BLESS=1 cargo test -p notes --test it openapi`.

use std::path::Path;

#[test]
fn committed_openapi_json_is_the_current_document() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let now = notes::app::openapi().to_pretty_json();
    if std::env::var_os("APPROUTE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == now,
        "examples/notes/openapi.json is stale: the routes changed it.\n\
         Regenerate it with `APPROUTE_BLESS=1 cargo test -p notes --test it openapi` and commit it."
    );
}
