//! Lets the integration tests know at compile time whether a PostgreSQL server was given for them:
//! without `MOTCUA_TEST_POSTGRES_URL` the PostgreSQL variants are reported as ignored, not passed.
//! Also rebuilds the crate when a migration changes: they are embedded in the binary.
fn main() {
    println!("cargo::rerun-if-changed=migrations");
    println!("cargo::rustc-check-cfg=cfg(motcua_test_postgres)");
    println!("cargo::rerun-if-env-changed=MOTCUA_TEST_POSTGRES_URL");
    if std::env::var_os("MOTCUA_TEST_POSTGRES_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=motcua_test_postgres");
    }
}
