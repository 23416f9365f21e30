approute::app!();

fn main() {
    // The tree has a mistake: the links and the router still type-check,
    // so only the tree's error is shown.
    let link: String = app::href!("/a", anything = 1);
    let _ = (link, app::router());
}
