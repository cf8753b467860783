use clap::Parser;

fn main() -> std::process::ExitCode {
    few_malloc_arenas();
    dhikra::logging::init();
    let cli = dhikra::cli::Cli::parse();
    dhikra::cli::run(cli)
}

/// glibc gives every thread that allocates an arena of its own, up to eight per
/// core, and memory freed in one arena is never handed to another thread: the
/// catalog's loading threads, the fuzzy index's and two tokio workers each kept
/// their own. With two arenas `dhikra run` holds 28.7 MB after 10,000 answered
/// questions instead of 30.0 MB (benches/service.rs; one arena: 27.8 MB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn few_malloc_arenas() {
    // SAFETY: mallopt only sets a parameter of the allocator, and this runs
    // first in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn few_malloc_arenas() {}
