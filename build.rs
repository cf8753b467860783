//! `cfg(postgres_tests)` when `DHIKRA_TEST_POSTGRES_URL` is set: the storage
//! suite then also runs against that PostgreSQL server (and fails if it cannot
//! reach it); without it those tests are listed as ignored, with the reason.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DHIKRA_TEST_POSTGRES_URL");
    if std::env::var_os("DHIKRA_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
