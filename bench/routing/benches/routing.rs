//! Per-request cost of routing in process: `Router::oneshot` on a request
//! (each router first made `with_state(())`, as `axum::serve` does, so its
//! handlers are turned into services once, not on every request),
//! the approute router against the same routes by hand, at 10, 100 and
//! 1,000 routes (100 and 1,000 with `--features large`), and
//! `approute::Params` against `Path<HashMap<String, String>>`.
//!
//! `cargo bench -p routing --features large` (or `bench/run.py routing`).
//! Under `cargo test --benches` each benchmark runs once, as a smoke test.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn request(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// Status and body: both routers must give the same answer before their
/// times mean anything.
fn answer(rt: &tokio::runtime::Runtime, router: &Router, uri: &str) -> (StatusCode, String) {
    rt.block_on(async {
        let res = router.clone().oneshot(request(uri)).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    })
}

fn bench_pair(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    group: &str,
    cases: &[(String, String, Router, Router)],
) {
    let mut g = c.benchmark_group(group);
    for (param, uri, generated, hand) in cases {
        let (status, body) = answer(rt, generated, uri);
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert_eq!(answer(rt, hand, uri), (status, body), "{uri}");
        for (name, router) in [("approute", generated), ("axum", hand)] {
            g.bench_with_input(BenchmarkId::new(name, param), uri, |bench, uri| {
                bench
                    .to_async(rt)
                    .iter(|| router.clone().oneshot(request(uri)))
            });
        }
    }
    g.finish();
}

fn routing(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let routers = routing::routers();
    for (kind, path) in [
        ("static", "/api/res{k}"),
        ("dynamic", "/api/res{k}/42"),
        ("catchall", "/api/res{k}/files/a/b/c"),
    ] {
        let cases: Vec<_> = routers
            .iter()
            .map(|(n, generated, hand)| {
                let uri = path.replace("{k}", &routing::resource(*n).to_string());
                (n.to_string(), uri, generated.clone().with_state(()), hand.clone().with_state(()))
            })
            .collect();
        bench_pair(c, &rt, &format!("route_{kind}"), &cases);
    }
    // Same router, same route shape; only the extractor differs.
    let router = routing::params::router().with_state(());
    let mut g = c.benchmark_group("extract_2_params");
    for (name, uri) in [
        ("params", "/params/shoes/42"),
        ("path_hashmap", "/path/shoes/42"),
    ] {
        let (status, body) = answer(&rt, &router, uri);
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "a=shoes b=42"),
            "{uri}"
        );
        g.bench_function(name, |bench| {
            bench
                .to_async(&rt)
                .iter(|| router.clone().oneshot(request(uri)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(50);
    targets = routing
}
criterion_main!(benches);
