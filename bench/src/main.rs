//! Remote4D benchmarks. Each prints our time next to a reference tool's on the same data in the
//! same run, and the ratio.
//!
//! ```text
//! cargo run --release -p remote4d-bench -- archive            # 20,000 files / ~300 MB
//! cargo run --release -p remote4d-bench -- archive --smoke    # 1/100 of it, seconds
//! ../shared/tools/netns-run target/release/remote4d-bench serve     # server vs nginx (wrk)
//! ../shared/tools/netns-run target/release/remote4d-bench connect   # client vs curl + unzip
//! ```

mod archive;
mod connect;
mod serve;
mod synth;
mod timing;

fn main() -> anyhow::Result<()> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("REMOTE4D_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    match args.first().map(String::as_str) {
        Some("archive") => archive::run(smoke),
        Some("serve") => serve::run(smoke),
        Some("connect") => connect::run(smoke),
        Some("serve-child") if args.len() == 3 => serve::child(&args[1], &args[2]),
        _ => {
            eprintln!(
                "usage: remote4d-bench archive|serve|connect [--smoke]   (run inside ../shared/tools/netns-run)"
            );
            std::process::exit(2);
        }
    }
}
