//! `remote4d archive build|list|verify|unpack`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use remote4d_core::archive::{self, Archive, BuildOptions, Limits, Method, OnProgress, Stamp};
use remote4d_core::project::Location;

use super::output;
use super::progress::StatusLine;

/// `.4dz` commands.
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Build the .4dz of a project folder; prints its stamp (SHA-256).
    Build {
        /// The project: its folder, its Project/ folder, or its .4DProject file.
        project: PathBuf,
        /// The archive to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Deflate level, 0 (store) to 9.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
        level: u32,
    },
    /// List the entries of a .4dz.
    List {
        /// The archive.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check every entry of a .4dz (names, sizes, CRCs) without unpacking it.
    Verify {
        /// The archive.
        file: PathBuf,
    },
    /// Unpack a .4dz into a folder, replacing its content only if everything succeeds.
    Unpack {
        /// The archive.
        file: PathBuf,
        /// The folder to unpack into.
        dir: PathBuf,
    },
}

// Long: one match arm per `remote4d archive` subcommand, each a few lines of output.
pub fn run(command: ArchiveCommand) -> anyhow::Result<ExitCode> {
    match command {
        ArchiveCommand::Build {
            project,
            output,
            level,
        } => {
            let location = Location::find(&project)?;
            let start = Instant::now();
            let line = Arc::new(StatusLine::new());
            let shown = line.clone();
            let options = BuildOptions {
                level,
                progress: Some(OnProgress::new(move |p| {
                    shown.bytes("building", p.done, p.total);
                })),
                ..BuildOptions::default()
            };
            let report = archive::build(&location.root, &output, &options);
            line.finish();
            let report = report.with_context(|| {
                format!("cannot build the archive of {}", location.root.display())
            })?;
            crate::outln!("{}", report.stamp);
            crate::errln!(
                "built {} ({} files, {} -> {}) in {:.2} s",
                output.display(),
                report.file_count(),
                output::bytes(report.content_size()),
                output::bytes(report.archive_size),
                start.elapsed().as_secs_f64()
            );
        }
        ArchiveCommand::List { file, json } => {
            let a = Archive::open(&file, &Limits::default())?;
            let stamp = Stamp::of_file(&file)?;
            if json {
                output::json(&serde_json::json!({
                    "stamp": stamp,
                    "length": a.length(),
                    "entries": a.entries(),
                }))?;
            } else {
                for e in a.entries() {
                    let method = match e.method {
                        Method::Stored => "stored",
                        Method::Deflated => "deflate",
                    };
                    crate::outln!(
                        "{:>12}  {:>12}  {:<7}  {}",
                        e.size,
                        e.compressed_size,
                        method,
                        e.name
                    );
                }
                let files = a.entries().iter().filter(|e| !e.is_dir).count();
                crate::outln!(
                    "{} entries ({files} files), {} unpacked, {} packed; stamp {stamp}",
                    a.entries().len(),
                    output::bytes(a.total_size()),
                    output::bytes(a.length())
                );
            }
        }
        ArchiveCommand::Verify { file } => {
            let a = Archive::open(&file, &Limits::default())?;
            let report = a.verify()?;
            let layout = a.check_project_layout();
            crate::outln!(
                "ok: {} files, {} folders, {} checked; stamp {}",
                report.files,
                report.folders,
                output::bytes(report.bytes),
                Stamp::of_file(&file)?
            );
            if let Err(e) = layout {
                crate::outln!("note: {e}");
            }
        }
        ArchiveCommand::Unpack { file, dir } => {
            let start = Instant::now();
            let report = archive::unpack(&file, &dir, &Limits::default())?;
            crate::outln!(
                "unpacked {} files ({}) into {} in {:.2} s",
                report.files,
                output::bytes(report.bytes),
                dir.display(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
