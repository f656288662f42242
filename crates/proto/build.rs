//! Compiles `proto/` with protox (a pure-Rust protobuf compiler), so no system `protoc` is needed.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "isthmus/common/v1/common.proto",
        "isthmus/customers/v1/customers.proto",
        "isthmus/jobs/v1/jobs.proto",
        "isthmus/catalog/v1/catalog.proto",
        "isthmus/orders/v1/orders.proto",
        "isthmus/finance/v1/finance.proto",
        "isthmus/reconcile/v1/reconcile.proto",
    ];
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("isthmus_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Sync results are stored as JSON (job records) as well as sent over gRPC.
        .type_attribute(
            ".isthmus.common.v1",
            "#[derive(serde::Serialize, serde::Deserialize)]",
        )
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
