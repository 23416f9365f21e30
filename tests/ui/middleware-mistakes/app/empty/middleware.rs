pub fn layer() -> approute::axum::middleware::FromFnLayer<(), (), ()> {
    unimplemented!()
}
