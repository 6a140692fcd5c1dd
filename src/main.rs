// glibc malloc fragments badly under many short-lived Lua coroutines (malloc_consolidate
// dominated profiles at 100k tasks); mimalloc keeps spawn+join cost flat.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The CLI is the library's first user and uses only its public API.
mod cli;

fn main() {
    std::process::exit(cli::main());
}
