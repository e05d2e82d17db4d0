//! Remote4D benchmarks. Each prints our time next to a reference tool's on the same data in the
//! same run, and the ratio.
//!
//! ```text
//! cargo run --release -p remote4d-bench -- archive            # 20,000 files / ~300 MB
//! cargo run --release -p remote4d-bench -- archive --smoke    # 1/100 of it, seconds
//! ../shared/tools/netns-run target/release/remote4d-bench serve     # server vs nginx (wrk), 3 rounds [--runs N]
//! ../shared/tools/netns-run target/release/remote4d-bench connect   # client vs curl + unzip
//! ../shared/tools/netns-run target/release/remote4d-bench connect --link 1gbit   # over a 1 Gbit/s link
//! ../shared/tools/netns-run target/release/remote4d-bench memory    # peak memory: big files, 20,000 files
//! target/release/remote4d-bench find                               # Find in project vs grep -rniF
//! ../shared/tools/netns-run target/release/remote4d-bench mirrors   # 100 clients: straight vs through 2 nginx caches
//! target/release/remote4d-bench open FILE.4dz                      # its directory read as written here vs by the zip crate
//! ```

mod archive;
mod connect;
mod find;
mod memory;
mod mirrors;
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
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    match args.first().map(String::as_str) {
        Some("archive") => archive::run(smoke),
        Some("serve") => {
            let runs = value("--runs").map(|s| s.parse::<usize>()).transpose()?;
            serve::run(smoke, runs)
        }
        Some("memory") => memory::run(smoke),
        Some("find") => find::run(smoke),
        Some("mirrors") => {
            let clients = value("--clients").map(|s| s.parse::<usize>()).transpose()?;
            mirrors::run(smoke, clients)
        }
        Some("connect") => {
            let scale = value("--scale").map(|s| s.parse::<f64>()).transpose()?;
            let runs = value("--runs").map(|s| s.parse::<usize>()).transpose()?;
            connect::run(smoke, value("--link").as_deref(), scale, runs)
        }
        Some("apply") => {
            // Times the client's delta application on the synthetic project.
            use remote4d_core::archive::{self, Archive, BuildOptions, Limits};
            let work = tempfile::tempdir()?;
            let root = work.path().join("P");
            synth::generate(&root, if smoke { 0.05 } else { 1.0 })?;
            let v1 = work.path().join("v1.4dz");
            let r1 = archive::build(&root, &v1, &BuildOptions::default())?;
            std::fs::write(
                root.join("Project/Sources/Methods/method_00042.4dm"),
                "// changed\n",
            )?;
            let v2 = work.path().join("v2.4dz");
            let r2 = archive::build(&root, &v2, &BuildOptions::default())?;
            let d = work.path().join("d.zip");
            archive::make_delta(&r1, &r2, &v2, &d)?;
            for _ in 0..3 {
                let t = std::time::Instant::now();
                let old = Archive::open(&v1, &Limits::default())?;
                let dd = Archive::open(&d, &Limits::default())?;
                let opened = t.elapsed();
                let (_, stamp) = archive::apply_opened(&old, &dd, &work.path().join("out.4dz"))?;
                anyhow::ensure!(stamp == r2.stamp);
                println!(
                    "open {:.3} s, apply {:.3} s",
                    opened.as_secs_f64(),
                    (t.elapsed() - opened).as_secs_f64()
                );
            }
            Ok(())
        }
        Some("open") if args.len() == 2 => {
            // Times opening an archive this program wrote (its central directory read here and
            // every entry checked) against the general reader (the `zip` crate's), 5 rounds.
            use remote4d_core::archive::{Archive, Limits};
            let path = std::path::Path::new(&args[1]);
            for _ in 0..5 {
                let t = std::time::Instant::now();
                let here = Archive::open_written_here(path, &Limits::default())?;
                let here_time = t.elapsed();
                let t = std::time::Instant::now();
                let any = Archive::open(path, &Limits::default())?;
                let any_time = t.elapsed();
                anyhow::ensure!(here.entries() == any.entries(), "the two readers differ");
                println!(
                    "open {} entries: written here {:>7.1} ms   any archive (zip crate) {:>7.1} ms   ratio {:.2}",
                    here.entries().len(),
                    here_time.as_secs_f64() * 1e3,
                    any_time.as_secs_f64() * 1e3,
                    here_time.as_secs_f64() / any_time.as_secs_f64()
                );
            }
            Ok(())
        }
        Some("synth") if args.len() == 2 => {
            // Writes the 20,000-file project into a folder, to time other tools on it.
            let s = synth::generate(std::path::Path::new(&args[1]), 1.0)?;
            println!("{} files, {} bytes", s.files, s.bytes);
            Ok(())
        }
        Some("hash") if args.len() == 2 => {
            let t = std::time::Instant::now();
            let stamp = remote4d_core::archive::Stamp::of_file(std::path::Path::new(&args[1]))?;
            println!("{stamp} in {:.3} s", t.elapsed().as_secs_f64());
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: remote4d-bench archive|serve|connect|memory|find [--smoke] [--link RATE]   (run inside ../shared/tools/netns-run)"
            );
            std::process::exit(2);
        }
    }
}
