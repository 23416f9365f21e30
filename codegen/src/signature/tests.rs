use super::*;

fn one(source: &str) -> Signature {
    read(source, &["GET"]).remove(0)
}

#[test]
fn doc_comment_first_paragraph_is_the_summary() {
    let s = one("/// Lists the notes,\n/// newest first.\n///\n/// Pages with `limit`.\n///\n/// More.\npub async fn GET() {}");
    assert_eq!(s.summary, "Lists the notes, newest first.");
    assert_eq!(s.description, "Pages with `limit`.\n\nMore.");
    assert!(!s.deprecated);
    assert_eq!(one("pub async fn GET() {}").summary, "");
}

#[test]
fn deprecated_arity_and_return_type() {
    let s = one("#[deprecated(note = \"use v2\")]\npub async fn GET(a: A, b: B) -> Result<Json<Vec<Note>>, ApiError> { todo!() }");
    assert!(s.deprecated);
    assert_eq!(s.arity, Some(2));
    assert!(s.returns_result);
    assert_eq!(s.return_type, "Result<Json<Vec<Note>>, ApiError>");
    let s = one("pub async fn GET() -> impl IntoResponse {}");
    assert!(!s.returns_result);
    assert_eq!(s.return_type, "impl IntoResponse");
    assert_eq!(one("pub async fn GET() {}").return_type, "()");
    // an alias with one argument is not split
    assert!(!one("pub async fn GET() -> Result<Json<u8>> { todo!() }").returns_result);
}

#[test]
fn a_reexport_has_no_arity() {
    let s = &read("pub use crate::x::list as GET;", &["GET"])[0];
    assert_eq!((s.name.as_str(), s.arity), ("GET", None));
}

#[test]
fn statuses_from_returned_expressions() {
    let c = |name: &str| Status::Constant(name.into());
    let s = one("pub async fn GET() -> Result<impl IntoResponse, ApiError> {
            if x { return Err(ApiError::bad()); }
            if y { return Ok(StatusCode::ACCEPTED); }
            let f = || Ok::<_, ()>(StatusCode::IM_A_TEAPOT);
            Ok((StatusCode::CREATED, [(header::LOCATION, l)], Json(note)))
        }");
    assert_eq!(s.statuses, [c("ACCEPTED"), c("CREATED")]);

    let s = one(
        "pub async fn GET() -> (StatusCode, Json<Value>) {
            match db { Ok(()) => (StatusCode::OK, Json(a)), Err(_) => { (http::StatusCode::SERVICE_UNAVAILABLE, Json(b)) } }
        }",
    );
    assert_eq!(s.statuses, [c("OK"), c("SERVICE_UNAVAILABLE")]);

    let s = one("pub async fn GET() -> Redirect { if a { Redirect::temporary(\"/a\") } else { axum::response::Redirect::permanent(\"/b\") } }");
    assert_eq!(s.statuses, [Status::Code(307), Status::Code(308)]);
    let s = one("pub async fn GET() -> Result<StatusCode, E> { Ok(StatusCode::NO_CONTENT) }");
    assert_eq!(s.statuses, [c("NO_CONTENT")]);
    // an error's status is the error type's to describe
    let s = one("pub async fn GET() -> Result<StatusCode, (StatusCode, String)> { Err((StatusCode::GONE, s)) }");
    assert_eq!(s.statuses, []);
    assert_eq!(
        one("pub async fn GET() -> Json<u8> { Json(1) }").statuses,
        []
    );
}
