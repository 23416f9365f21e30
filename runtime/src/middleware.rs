//! `middleware.rs` files: code that wraps every route in a folder and below.
//!
//! A middleware file exports `pub async fn middleware(req: Request, next:
//! Next) -> impl IntoResponse` (extractors, `State<S>` included, may come
//! before `req`), or `pub fn layer() -> impl Layer` for any tower layer, or
//! both (the layer then runs outside the function).
//!
//! The generated code wraps each *handler* rather than the router, because
//! a handler is called with the router's state: that is how a middleware
//! function gets `State<S>` without the state being known when `router()`
//! is built, and how it also wraps the automatic `OPTIONS` and 405 answers.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use axum::extract::{FromRequestParts, Request};
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

type BoxFuture = Pin<Box<dyn Future<Output = Response> + Send + 'static>>;

/// The rest of the chain: deeper middleware, then the route's handler.
pub struct Next {
    run: Box<dyn FnOnce(Request) -> BoxFuture + Send>,
}

impl Next {
    fn new(run: impl FnOnce(Request) -> BoxFuture + Send + 'static) -> Next {
        Next { run: Box::new(run) }
    }

    /// Runs the rest of the chain with `req` and returns its response.
    pub async fn run(self, req: Request) -> Response {
        (self.run)(req).await
    }
}

impl fmt::Debug for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Next")
    }
}

/// A middleware function: `async fn(extractors.., Request, Next) -> impl
/// IntoResponse`. Implemented for functions of up to 8 extractors.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a middleware function",
    note = "write `pub async fn middleware(req: Request, next: approute::middleware::Next) -> Response`; extractors (e.g. `State<S>`, `HeaderMap`) may come before `req`"
)]
pub trait Middleware<T, S>: Clone + Send + Sync + Sized + 'static {
    fn call(self, req: Request, state: S, next: Next) -> BoxFuture;
}

macro_rules! impl_middleware {
    ($($ty:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, Res, S, $($ty,)*> Middleware<($($ty,)*), S> for F
        where
            F: FnOnce($($ty,)* Request, Next) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Res> + Send + 'static,
            Res: IntoResponse + 'static,
            S: Send + Sync + 'static,
            $($ty: FromRequestParts<S> + Send,)*
        {
            fn call(self, req: Request, state: S, next: Next) -> BoxFuture {
                Box::pin(async move {
                    let (mut parts, body) = req.into_parts();
                    $(
                        let $ty = match $ty::from_request_parts(&mut parts, &state).await {
                            Ok(value) => value,
                            Err(rejection) => return rejection.into_response(),
                        };
                    )*
                    let req = Request::from_parts(parts, body);
                    self($($ty,)* req, next).await.into_response()
                })
            }
        }
    };
}

impl_middleware!();
impl_middleware!(T1);
impl_middleware!(T1, T2);
impl_middleware!(T1, T2, T3);
impl_middleware!(T1, T2, T3, T4);
impl_middleware!(T1, T2, T3, T4, T5);
impl_middleware!(T1, T2, T3, T4, T5, T6);
impl_middleware!(T1, T2, T3, T4, T5, T6, T7);
impl_middleware!(T1, T2, T3, T4, T5, T6, T7, T8);

/// A handler run behind a middleware function.
pub struct WithMiddleware<M, TM, H, TH> {
    middleware: M,
    inner: H,
    _types: PhantomData<fn() -> (TM, TH)>,
}

impl<M: Clone, TM, H: Clone, TH> Clone for WithMiddleware<M, TM, H, TH> {
    fn clone(&self) -> Self {
        WithMiddleware {
            middleware: self.middleware.clone(),
            inner: self.inner.clone(),
            _types: PhantomData,
        }
    }
}

/// Puts `middleware` in front of `inner`.
pub fn with_middleware<M, TM, H, TH>(middleware: M, inner: H) -> WithMiddleware<M, TM, H, TH> {
    WithMiddleware {
        middleware,
        inner,
        _types: PhantomData,
    }
}

/// Not offered when a user's handler is not one: it is an approute internal.
#[diagnostic::do_not_recommend]
impl<M, TM, H, TH, S> Handler<(TM, TH), S> for WithMiddleware<M, TM, H, TH>
where
    M: Middleware<TM, S>,
    H: Handler<TH, S>,
    S: Clone + Send + Sync + 'static,
    TM: 'static,
    TH: 'static,
{
    type Future = BoxFuture;

    fn call(self, req: Request, state: S) -> BoxFuture {
        let inner = self.inner;
        let inner_state = state.clone();
        let next = Next::new(move |req| Box::pin(inner.call(req, inner_state)));
        self.middleware.call(req, state, next)
    }
}

/// A handler run behind a tower layer.
pub struct WithLayer<L, H, TH> {
    layer: L,
    inner: H,
    _types: PhantomData<fn() -> TH>,
}

impl<L: Clone, H: Clone, TH> Clone for WithLayer<L, H, TH> {
    fn clone(&self) -> Self {
        WithLayer {
            layer: self.layer.clone(),
            inner: self.inner.clone(),
            _types: PhantomData,
        }
    }
}

/// Puts `layer` in front of `inner`.
pub fn with_layer<L, H, TH>(layer: L, inner: H) -> WithLayer<L, H, TH> {
    WithLayer {
        layer,
        inner,
        _types: PhantomData,
    }
}

/// Not offered when a user's handler is not one: it is an approute internal.
#[diagnostic::do_not_recommend]
impl<L, H, TH, S> Handler<(TH,), S> for WithLayer<L, H, TH>
where
    L: Layer<axum::handler::HandlerService<H, TH, S>> + Clone + Send + Sync + 'static,
    L::Service: Service<Request> + Send + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse,
    <L::Service as Service<Request>>::Error: Into<Infallible>,
    <L::Service as Service<Request>>::Future: Send,
    H: Handler<TH, S>,
    S: Clone + Send + Sync + 'static,
    TH: 'static,
{
    type Future = BoxFuture;

    fn call(self, req: Request, state: S) -> BoxFuture {
        let service = self.layer.layer(self.inner.with_state(state));
        Box::pin(async move {
            match service.oneshot(req).await {
                Ok(response) => response.into_response(),
                Err(never) => match never.into() {},
            }
        })
    }
}
