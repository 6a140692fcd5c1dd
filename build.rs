//! Rebuilds the crate when a file of the embedded stdlib changes: `include_dir!` reads
//! `stdlib/` at compile time but does not tell cargo to watch it (an edited module was
//! otherwise served stale until some Rust file changed).
fn main() {
    println!("cargo:rerun-if-changed=stdlib");
}
