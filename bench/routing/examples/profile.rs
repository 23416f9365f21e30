//! Where approute's per-request time goes, for valgrind and by counting:
//!
//!     cargo build --release -p routing --example profile
//!     target/release/examples/profile approute|axum static|dynamic|catchall|params [N]
//!     valgrind --tool=callgrind target/release/examples/profile approute static 20000
//!
//! (`params`: `approute::Params` as "approute", `Path<HashMap<..>>` as "axum",
//! on the same router and route shape.)
//!
//! Prints the heap allocations and bytes per request (a counting global
//! allocator) for the 10-route routers of the criterion bench, made
//! `with_state(())` first as `axum::serve` does (PER_REQUEST_STATE=1: not).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("approute", String::as_str);
    let kind = args.get(2).map_or("static", String::as_str);
    let n: usize = args.get(3).map_or(100_000, |s| s.parse().unwrap());
    let router = match (which, kind) {
        // Same router, same route shape; only the extractor differs.
        (_, "params") => routing::params::router(),
        ("approute", _) => routing::gen_10::router(),
        _ => routing::hand_10::router(),
    };
    // As axum::serve does: handlers become services once, not per request.
    let router = if std::env::var_os("PER_REQUEST_STATE").is_some() {
        router
    } else {
        router.with_state(())
    };
    let uri = match (which, kind) {
        ("approute", "params") => "/params/shoes/42",
        (_, "params") => "/path/shoes/42",
        (_, "static") => "/api/res1",
        (_, "dynamic") => "/api/res1/42",
        _ => "/api/res1/files/a/b/c",
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // Warm up, then count.
        for _ in 0..100 {
            let req = Request::get(uri).body(Body::empty()).unwrap();
            router.clone().oneshot(req).await.unwrap();
        }
        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        let t = std::time::Instant::now();
        for _ in 0..n {
            let req = Request::get(uri).body(Body::empty()).unwrap();
            let res = router.clone().oneshot(req).await.unwrap();
            std::hint::black_box(res);
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        println!(
            "{which} {kind}: {:.1} allocations, {:.0} bytes, {ns:.0} ns per request",
            (a1 - a0) as f64 / n as f64,
            (b1 - b0) as f64 / n as f64
        );
    });
}
