//! `codegen-bench CRATE_DIR REPS [DIR]`: runs the codegen pipeline that
//! `approute::app!` runs inside rustc on `CRATE_DIR/DIR` (`app`), REPS times, and
//! prints one JSON line: the route count, the generated size, and each run's
//! times in microseconds for `load` (scan, segment, parse, check), for
//! `macro` (what `app!` runs: `generate_source`, end to end; rustc then lexes
//! the text), for the formatted `generate`, and for the stages one by one:
//! `emit` (writes the text), `reparse` (syn::parse_file of it) and `unparse`
//! (prettyplease), the last two only for `generate`.
//! With CODEGEN_BENCH_DUMP=path it also writes the generated module there.

use std::time::Instant;

fn micros(t: Instant) -> u128 {
    t.elapsed().as_micros()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: codegen-bench CRATE_DIR REPS");
    let reps: usize = args.next().map_or(5, |r| r.parse().expect("REPS"));
    let mut options = approute_codegen::Options::new(&dir);
    if let Some(routes_dir) = args.next() {
        options.dir = routes_dir;
    }
    let routes = approute_codegen::load(&options)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .routes
        .len();
    let (mut load, mut generate, mut emit, mut reparse, mut unparse) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut macro_path = vec![];
    let mut bytes = 0;
    for _ in 0..reps {
        let t = Instant::now();
        let text = approute_codegen::generate_source(&options).unwrap();
        macro_path.push(micros(t));
        std::hint::black_box(text);

        let t = Instant::now();
        let code = approute_codegen::generate(&options).unwrap();
        generate.push(micros(t));
        bytes = code.len();
        if let Some(path) = std::env::var_os("CODEGEN_BENCH_DUMP") {
            std::fs::write(path, &code).unwrap();
        }

        let t = Instant::now();
        let tree = approute_codegen::load(&options).unwrap();
        load.push(micros(t));
        let t = Instant::now();
        let text = approute_codegen::emit::emit(&tree, &options.emit);
        emit.push(micros(t));
        let t = Instant::now();
        let file = syn::parse_file(&text).unwrap();
        reparse.push(micros(t));
        let t = Instant::now();
        let pretty = prettyplease::unparse(&file);
        drop(file);
        unparse.push(micros(t));
        std::hint::black_box(pretty);
    }
    println!(
        "{{\"routes\": {routes}, \"generated_bytes\": {bytes}, \"load_us\": {load:?}, \"macro_us\": {macro_path:?}, \"generate_us\": {generate:?}, \
         \"emit_us\": {emit:?}, \"reparse_us\": {reparse:?}, \"unparse_us\": {unparse:?}}}"
    );
}
