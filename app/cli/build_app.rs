//! `remote4d build client|server`: assemble merged applications from this executable.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use remote4d_core::archive::is_excluded;
use remote4d_core::link::{Link, LinkKind};
use remote4d_core::project::Location;

use crate::merged::{AppManifest, LINK_NAME, MANIFEST, SERVER_DATABASE, safe_name};

/// What to build.
#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// A merged client: connects straight to the server of a .4DLink.
    Client {
        /// The server's link (address and publication name).
        #[arg(long)]
        link: PathBuf,
        /// Where to put the application folder.
        #[arg(long)]
        out: PathBuf,
        /// Application name (default: the project's name + "Client").
        #[arg(long)]
        name: Option<String>,
        /// A custom name for the client's cache folder (cache_folder_name).
        #[arg(long)]
        cache_folder_name: Option<String>,
        /// Offer "Select…" (the connection window) when the server cannot be reached.
        #[arg(long)]
        allow_server_selection: bool,
        /// An icon file to put beside the application.
        #[arg(long)]
        icon: Option<PathBuf>,
        /// The server's certificate fingerprint (as `remote4d serve` prints it): the client
        /// then trusts that server only, from its very first connection. Without it, the first
        /// server that answers at the link's address is trusted (and pinned).
        #[arg(long)]
        fingerprint: Option<String>,
        /// The key that signs this client's updates (made on first use; default: one per
        /// application name in Remote4D's data folder). Keep it: updates signed with another
        /// key are refused by the clients built now.
        #[arg(long)]
        update_key: Option<PathBuf>,
    },
    /// Sign a client build that a server will offer as an update (writes BUILD.sig).
    SignUpdate {
        /// The signing key (the one the clients were built with).
        #[arg(long)]
        key: PathBuf,
        /// The version of the build (as the server's [client_update] version says).
        #[arg(long)]
        version: String,
        /// The client executable.
        build: PathBuf,
    },
    /// A merged server: serves its own copy of a project.
    Server {
        /// The project: its folder, Project/ folder or .4DProject file.
        #[arg(long)]
        project: PathBuf,
        /// Where to put the application folder.
        #[arg(long)]
        out: PathBuf,
        /// Application name (default: the project's name + "Server").
        #[arg(long)]
        name: Option<String>,
        /// An icon file to put beside the application.
        #[arg(long)]
        icon: Option<PathBuf>,
    },
}

fn exe_name(name: &str) -> String {
    if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_owned()
    }
}

fn copy_self(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the running executable")?;
    let target = dir.join(exe_name(name));
    std::fs::copy(&me, &target)
        .with_context(|| format!("cannot copy the executable to {}", target.display()))?;
    Ok(target)
}

fn copy_tree(from: &Path, to: &Path, rel: &str) -> anyhow::Result<u64> {
    let mut files = 0;
    std::fs::create_dir_all(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if is_excluded(&child_rel)
            || child_rel == "Data"
            || child_rel.starts_with(".remote4d-proof")
        {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files += copy_tree(&entry.path(), &to.join(&name), &child_rel)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name))?;
            files += 1;
        }
    }
    Ok(files)
}

fn prepare(out: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = out.join(name);
    if dir.exists() {
        bail!(
            "{} already exists; remove it or choose another --out",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn write_manifest(dir: &Path, manifest: &AppManifest) -> anyhow::Result<()> {
    std::fs::write(dir.join(MANIFEST), toml::to_string(manifest)?)?;
    Ok(())
}

// Long: one match arm per `remote4d build` subcommand, each calling its own function.
pub fn run(command: BuildCommand) -> anyhow::Result<ExitCode> {
    match command {
        BuildCommand::Client {
            link,
            out,
            name,
            cache_folder_name,
            allow_server_selection,
            icon,
            fingerprint,
            update_key,
        } => {
            let mut l = Link::read(&link)?;
            if let Some(fp) = fingerprint {
                let fp: remote4d_core::protocol::Fingerprint = fp
                    .parse()
                    .context("--fingerprint: a SHA-256 fingerprint has 64 hexadecimal digits")?;
                l.remote4d_fingerprint = Some(fp.to_string());
            }
            if l.remote4d_fingerprint.is_none() {
                crate::errln!(
                    "note: the link names no server fingerprint: the client will trust the first server that answers at {} (and pin it); pass --fingerprint to pin the real one from the start",
                    l.address()
                );
            }
            if l.kind() != LinkKind::Remote {
                bail!(
                    "{} is a local shortcut; a merged client needs a remote one (is_remote=\"true\")",
                    link.display()
                );
            }
            if cache_folder_name.is_some() {
                l.cache_folder_name = cache_folder_name;
            }
            let project = l.server_database_name.clone().unwrap_or_default();
            let name = name.unwrap_or_else(|| format!("{project}Client"));
            let key_file = match update_key {
                Some(k) => k,
                None => remote4d_core::environment::Environment::from_system()?
                    .data_dir
                    .join("update-keys")
                    .join(format!("{}.key", safe_name(&name))),
            };
            let key = signing_key(&key_file)?;
            let dir = prepare(&out, &name)?;
            let exe = copy_self(&dir, &name)?;
            l.write(&dir.join(LINK_NAME))?;
            finish_app(
                &dir,
                &AppManifest {
                    name: name.clone(),
                    server_selection_allowed: allow_server_selection,
                    version: env!("CARGO_PKG_VERSION").into(),
                    update_public_key: Some(key.public_key().to_string()),
                },
                icon.as_deref(),
            )?;
            let sig = sign_file(&key, env!("CARGO_PKG_VERSION"), &exe)?;
            crate::outln!("{}", exe.display());
            crate::errln!(
                "its updates must be signed with {} (this build's signature: {})",
                key_file.display(),
                sig.display()
            );
            crate::errln!(
                "merged client \"{name}\" for \"{project}\" at {}: double-click it to connect",
                l.address()
            );
        }
        BuildCommand::Server {
            project,
            out,
            name,
            icon,
        } => {
            let location = Location::find(&project)?;
            let project_name = location.name();
            let name = name.unwrap_or_else(|| format!("{project_name}Server"));
            let dir = prepare(&out, &name)?;
            let exe = copy_self(&dir, &name)?;
            let root_name = location
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(project_name.clone());
            let files = copy_tree(
                &location.root,
                &dir.join(SERVER_DATABASE).join(root_name),
                "",
            )?;
            finish_app(
                &dir,
                &AppManifest {
                    name: name.clone(),
                    server_selection_allowed: false,
                    version: env!("CARGO_PKG_VERSION").into(),
                    update_public_key: None,
                },
                icon.as_deref(),
            )?;
            crate::outln!("{}", exe.display());
            crate::errln!(
                "merged server \"{name}\" with {files} files of \"{project_name}\": start it with no argument"
            );
        }
        BuildCommand::SignUpdate {
            key,
            version,
            build,
        } => {
            let key = remote4d_core::signing::SigningKey::read(&key)?;
            let sig = sign_file(&key, &version, &build)?;
            crate::outln!("{}", sig.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The signing key in `file`, made there first when there is none yet.
fn signing_key(file: &Path) -> anyhow::Result<remote4d_core::signing::SigningKey> {
    use remote4d_core::signing::SigningKey;
    if file.exists() {
        return Ok(SigningKey::read(file)?);
    }
    let key = SigningKey::generate()?;
    key.write_new(file)?;
    crate::errln!(
        "made a new update signing key: {} (keep it safe; back it up)",
        file.display()
    );
    Ok(key)
}

/// Signs `build` as `version`, in `<build>.sig`; returns that file.
fn sign_file(
    key: &remote4d_core::signing::SigningKey,
    version: &str,
    build: &Path,
) -> anyhow::Result<PathBuf> {
    let sha = remote4d_core::archive::Stamp::of_file(build)
        .with_context(|| format!("cannot read {}", build.display()))?;
    let mut name = build.as_os_str().to_owned();
    name.push(".sig");
    let sig = PathBuf::from(name);
    std::fs::write(&sig, format!("{}\n", key.sign(version, &sha.to_string())))
        .with_context(|| format!("cannot write {}", sig.display()))?;
    Ok(sig)
}

/// Writes the application's manifest and copies its icon (named after the application).
fn finish_app(dir: &Path, manifest: &AppManifest, icon: Option<&Path>) -> anyhow::Result<()> {
    write_manifest(dir, manifest)?;
    let name = &manifest.name;
    if let Some(icon) = icon {
        let ext = icon.extension().and_then(|e| e.to_str()).unwrap_or("png");
        std::fs::copy(icon, dir.join(format!("{name}.{ext}")))?;
    }
    Ok(())
}
