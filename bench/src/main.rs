//! Remote4D benchmarks. Each prints our time next to a reference tool's on the same data in the
//! same run, and the ratio.
//!
//! ```text
//! cargo run --release -p remote4d-bench -- archive            # 20,000 files / ~300 MB
//! cargo run --release -p remote4d-bench -- archive --smoke    # 1/100 of it, seconds
//! ```

mod archive;
mod synth;
mod timing;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    match args.first().map(String::as_str) {
        Some("archive") => archive::run(smoke),
        _ => {
            eprintln!("usage: remote4d-bench archive [--smoke]");
            std::process::exit(2);
        }
    }
}
