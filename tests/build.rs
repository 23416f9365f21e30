fn main() {
    println!("cargo:rerun-if-changed=conformance/app");
    println!("cargo:rerun-if-changed=fixtures");
}
