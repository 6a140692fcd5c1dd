// glibc malloc fragments badly under many short-lived Lua coroutines (malloc_consolidate
// dominated profiles at 100k tasks); mimalloc keeps spawn+join cost flat.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(drover::cli::main());
}
