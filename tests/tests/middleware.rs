//! `middleware.rs` files: folder scoping, order, short-circuit, state,
//! tower layers, and the automatic answers passing through them.

mod support;

use approute::axum::Router;
use approute_tests::{mw, Counter};
use support::{call, send, Answer};

fn router() -> (Router, Counter) {
    let counter = Counter::default();
    (mw::router().with_state(counter.clone()), counter)
}

async fn with_auth(router: &Router, method: &str, target: &str) -> Answer {
    send(
        router,
        method,
        target,
        &[("authorization", "Bearer secret")],
    )
    .await
}

#[tokio::test]
async fn nested_middleware_run_outermost_first() {
    let (router, counter) = router();
    let answer = call(&router, "GET", "/api/public").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text(), "root,api", "root runs before api/");
    assert_eq!(
        answer.header("x-root"),
        Some("seen"),
        "and sees the response"
    );
    assert_eq!(
        counter.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "State<S> reached the middleware"
    );
}

#[tokio::test]
async fn group_middleware_guards_only_its_group() {
    let (router, _) = router();
    let denied = call(&router, "GET", "/api/stats").await;
    assert_eq!(
        (denied.status, denied.text().as_str()),
        (401, "sign in first")
    );
    assert_eq!(
        denied.header("x-root"),
        Some("seen"),
        "outer middleware still wrap the 401"
    );

    let allowed = with_auth(&router, "GET", "/api/stats").await;
    assert_eq!(
        (allowed.status, allowed.text().as_str()),
        (200, "root,api,admin")
    );

    let public = call(&router, "GET", "/api/public").await;
    assert_eq!(
        public.status, 200,
        "the (admin) middleware does not touch /api/public"
    );
}

#[tokio::test]
async fn middleware_wrap_the_automatic_answers() {
    let (router, counter) = router();
    let not_allowed = call(&router, "DELETE", "/api/public").await;
    assert_eq!(not_allowed.status, 405);
    assert_eq!(
        not_allowed.header("allow"),
        Some("GET, HEAD, OPTIONS, POST")
    );
    assert_eq!(not_allowed.header("x-root"), Some("seen"));

    let options = call(&router, "OPTIONS", "/api/public").await;
    assert_eq!(options.status, 204);
    assert_eq!(options.header("x-root"), Some("seen"));

    let head = call(&router, "HEAD", "/api/public").await;
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(head.header("x-root"), Some("seen"));
    assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 3);

    let guarded_options = call(&router, "OPTIONS", "/api/stats").await;
    assert_eq!(guarded_options.status, 401, "the guard sees OPTIONS too");
}

#[tokio::test]
async fn tower_layers_drop_in_and_answer_preflights() {
    let (router, _) = router();
    let get = call(&router, "GET", "/api/cors").await;
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    let preflight = call(&router, "OPTIONS", "/api/cors").await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert_eq!(preflight.header("allow"), Some("GET, HEAD, OPTIONS"));
}

#[tokio::test]
async fn no_middleware_on_unknown_paths() {
    let (router, counter) = router();
    assert_eq!(call(&router, "GET", "/api/nope").await.status, 404);
    assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn middleware_over_a_real_socket() {
    let (router, _) = router();
    let addr = support::serve(router).await;
    let ordered = support::raw(addr, "GET", "/api/public").await;
    assert_eq!((ordered.status, ordered.text().as_str()), (200, "root,api"));
    let denied = support::raw(addr, "GET", "/api/stats").await;
    assert_eq!(denied.status, 401, "short-circuit");
    let preflight = support::raw(addr, "OPTIONS", "/api/cors").await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
}
