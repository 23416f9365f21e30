fn main() {
    // New, removed or renamed files under app/ and public/ change the routes.
    println!("cargo:rerun-if-changed=app");
    println!("cargo:rerun-if-changed=public");
}
