//! The smallest useful approute app: run it with `cargo run -p hello`.
//! Serves on `$HOST:$PORT` (default 127.0.0.1:3000), logs its route table
//! and every request, and shuts down gracefully on Ctrl-C or SIGTERM.

approute::app!();

mod users {
    /// Stands in for a database lookup.
    pub fn name(id: u64) -> String {
        format!("user {id}")
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let _logs = approute::serve::init_logging();
    approute::serve(app::router()).routes(app::ROUTES).await
}
