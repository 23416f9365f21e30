//! `macro_once CRATE_DIR`: runs `generate_source` (what `approute::app!`
//! runs) once, for `valgrind --tool=callgrind` (the timing binary also runs
//! the formatted `generate`, which is ten times as long).

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: macro_once CRATE_DIR");
    let options = approute_codegen::Options::new(&dir);
    let text = approute_codegen::generate_source(&options).unwrap_or_else(|e| panic!("{e:?}"));
    println!("{} bytes", text.len());
}
