//! The smallest useful approute app: run it with `cargo run -p hello`.

approute::app!();

mod users {
    /// Stands in for a database lookup.
    pub fn name(id: u64) -> String {
        format!("user {id}")
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    for route in app::ROUTES {
        println!("{route}");
    }
    println!("listening on http://{}", listener.local_addr()?);
    approute::axum::serve(listener, app::router()).await
}
