//! The routers under test. `trees/` and `hand_*.rs` are written by
//! `bench/gen.py`: the same routes and handlers, once as route files for
//! `approute::app!`, once routed by hand.

approute::app!(dir = "trees/r10", module = gen_10);
#[cfg(feature = "large")]
approute::app!(dir = "trees/r100", module = gen_100);
#[cfg(feature = "large")]
approute::app!(dir = "trees/r1000", module = gen_1000);
// `approute::Params` against `Path<HashMap<String, String>>`, same route shape.
approute::app!(dir = "trees/params", module = params);

pub mod hand_10;
#[cfg(feature = "large")]
pub mod hand_100;
#[cfg(feature = "large")]
pub mod hand_1000;

/// (size, approute router, hand-written router) for every size built in.
pub fn routers() -> Vec<(usize, axum::Router, axum::Router)> {
    #[allow(unused_mut)]
    let mut all = vec![(10, gen_10::router(), hand_10::router())];
    #[cfg(feature = "large")]
    {
        all.push((100, gen_100::router(), hand_100::router()));
        all.push((1000, gen_1000::router(), hand_1000::router()));
    }
    all
}

/// The resource whose routes are requested in a tree of `n` routes: one
/// in the middle of the tree.
pub fn resource(n: usize) -> usize {
    match n {
        10 => 1,
        n => n / 6 / 2,
    }
}
