approute::app!();

fn main() {
    let _ = app::href!("/api/user/[id]/posts/[post]", id = 1, post = 2);
    let _ = app::href!("/api/users/7/posts/8");
    let _ = app::href!("/api/users/[id]/posts/[post]", id = 1);
    let _ = app::href!("/api/users/[id]/posts/[post]", id = 1, post = 2, page = 3);
    let _ = app::href!("/(internal)/health");
    let _ = app::href!("/health", 7);
    let ok: String = app::href!("/health");
    let _ = ok;
}
