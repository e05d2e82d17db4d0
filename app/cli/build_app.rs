//! `remote4d build client|server`: assemble merged applications from this executable.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use remote4d_core::archive::is_excluded;
use remote4d_core::link::{Link, LinkKind, ServerPath};
use remote4d_core::project::{BuildAppSettings, Location, Project};

use crate::merged::{AppManifest, LINK_NAME, MANIFEST, SERVER_DATABASE, safe_name};

/// What to build.
#[derive(Debug, Subcommand)]
pub enum BuildCommand {
    /// A merged client: connects straight to the server of a .4DLink, or to the one the
    /// project's Settings/buildApp.4DSettings names (4D's Build Application settings).
    Client {
        /// The server's link (address and publication name).
        #[arg(long, required_unless_present = "project")]
        link: Option<PathBuf>,
        /// The project, whose Settings/buildApp.4DSettings gives what the options do not: the
        /// server (CS/IPAddress, CS/PortNumber; the publication name is the project's), the
        /// name (BuildApplicationName), "Select…" (CS/ServerSelectionAllowed), the cache folder
        /// name (CS/ClientServerSystemFolderName), the pairing with its server (CS/HardLink).
        #[arg(long)]
        project: Option<PathBuf>,
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
        /// Pair the client with its server (4D's HardLink): a server built with the same text
        /// accepts only clients that carry it. Default: the project's CS/HardLink.
        #[arg(long)]
        hard_link: Option<String>,
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
        #[command(flatten)]
        target: TargetArgs,
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
        /// Accept only clients built with the same text (4D's HardLink; the project's Designer
        /// and Administrator always may). Default: the project's CS/HardLink. Written to the
        /// application's server.toml.
        #[arg(long)]
        hard_link: Option<String>,
        /// An icon file to put beside the application.
        #[arg(long)]
        icon: Option<PathBuf>,
        #[command(flatten)]
        target: TargetArgs,
    },
}

/// The system a merged application is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// Linux (an ELF executable).
    Linux,
    /// Windows (`<Name>.exe`, and its console twin `<Name>.com` when the build has one).
    Windows,
    /// macOS (a Mach-O executable).
    Macos,
}

impl Platform {
    /// The system this program runs on.
    pub fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::Macos
        } else {
            Self::Linux
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Linux => "Linux",
            Self::Windows => "Windows",
            Self::Macos => "macOS",
        }
    }

    /// Whether `head` (an executable's first bytes) is this system's executable format.
    fn recognises(self, head: &[u8]) -> bool {
        match self {
            Self::Linux => head.starts_with(b"\x7fELF"),
            Self::Windows => head.starts_with(b"MZ"),
            Self::Macos => [
                [0xcf, 0xfa, 0xed, 0xfe],
                [0xce, 0xfa, 0xed, 0xfe],
                [0xca, 0xfe, 0xba, 0xbe],
            ]
            .iter()
            .any(|magic| head.starts_with(magic)),
        }
    }
}

/// Which system to build for, and the Remote4D executable of that system.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The system the application runs on (default: this one).
    #[arg(long, value_enum)]
    pub platform: Option<Platform>,
    /// The remote4d executable to build from (default: this one); needed for another system,
    /// e.g. the remote4d.exe of a Windows build. Its console twin (remote4d.com) is taken too.
    #[arg(long, value_name = "FILE")]
    pub executable: Option<PathBuf>,
}

fn exe_name(name: &str, platform: Platform) -> String {
    if platform == Platform::Windows {
        format!("{name}.exe")
    } else {
        name.to_owned()
    }
}

/// The executable to copy for `target`, checked to be one of that system's.
fn source_executable(target: &TargetArgs) -> anyhow::Result<(PathBuf, Platform)> {
    let platform = target.platform.unwrap_or_else(Platform::current);
    let source = match &target.executable {
        Some(file) => file.clone(),
        None if platform == Platform::current() => {
            std::env::current_exe().context("cannot find the running executable")?
        }
        None => bail!(
            "building for {} needs --executable: the remote4d of a {} build (for Windows: remote4d.exe, e.g. target/x86_64-pc-windows-gnu/release/remote4d.exe)",
            platform.label(),
            platform.label()
        ),
    };
    let mut head = [0u8; 4];
    let read = std::fs::File::open(&source)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .with_context(|| format!("cannot read {}", source.display()))?;
    if !platform.recognises(&head[..read]) {
        bail!(
            "{} is not a {} executable; pass the remote4d of a {} build with --executable",
            source.display(),
            platform.label(),
            platform.label()
        );
    }
    Ok((source, platform))
}

/// Copies the executable (and, for Windows, its console twin) into the application folder.
fn copy_executable(
    dir: &Path,
    name: &str,
    (source, platform): &(PathBuf, Platform),
) -> anyhow::Result<PathBuf> {
    let (source, platform) = (source, *platform);
    let exe = dir.join(exe_name(name, platform));
    std::fs::copy(source, &exe)
        .with_context(|| format!("cannot copy the executable to {}", exe.display()))?;
    if platform == Platform::Windows {
        // `<Name>.com`: what `<Name>` typed in cmd runs (app/windows_launcher.rs).
        let twin = ["remote4d.com", "remote4d-console.exe"]
            .into_iter()
            .filter_map(|n| source.parent().map(|d| d.join(n)))
            .find(|f| f.is_file());
        if let Some(twin) = twin {
            let to = dir.join(format!("{name}.com"));
            std::fs::copy(&twin, &to)
                .with_context(|| format!("cannot copy the console twin to {}", to.display()))?;
        }
    }
    Ok(exe)
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
            project,
            out,
            name,
            cache_folder_name,
            allow_server_selection,
            icon,
            hard_link,
            fingerprint,
            update_key,
            target,
        } => {
            let build_app = match &project {
                Some(p) => Some(build_app_settings(p)?),
                None => None,
            };
            let (mut l, link_label) = match (&link, &build_app) {
                (Some(file), _) => (Link::read(file)?, file.display().to_string()),
                (None, Some((project, settings))) => {
                    let (link, file) = link_from_build_app(project, settings)?;
                    (link, file)
                }
                (None, None) => bail!("pass --link LINK or --project PROJECT"),
            };
            let settings = build_app.as_ref().map(|(_, s)| s);
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
                    "{link_label} is a local shortcut; a merged client needs a remote one (is_remote=\"true\")"
                );
            }
            if let Some(folder) = cache_folder_name
                .or_else(|| settings.and_then(|s| s.client_system_folder_name.clone()))
            {
                l.cache_folder_name = Some(folder);
            }
            // 4D's CS/ShareLocalResourcesOnWindowsClient: the link's remote_shared_resources.
            if settings.and_then(|s| s.share_local_resources) == Some(true) {
                l.remote_shared_resources = Some(true);
            }
            if let Some(h) = hard_link
                .or_else(|| settings.and_then(|s| s.hard_link.clone()))
                .filter(|h| !h.is_empty())
            {
                l.remote4d_hard_link = Some(h);
            }
            let allow_server_selection = allow_server_selection
                || settings.and_then(|s| s.server_selection_allowed) == Some(true);
            let project = l.server_database_name.clone().unwrap_or_default();
            let name = name.unwrap_or_else(|| {
                let base = settings
                    .and_then(|s| s.application_name.clone())
                    .unwrap_or_else(|| project.clone());
                format!("{base}Client")
            });
            let key_file = match update_key {
                Some(k) => k,
                None => remote4d_core::environment::Environment::from_system()?
                    .data_dir
                    .join("update-keys")
                    .join(format!("{}.key", safe_name(&name))),
            };
            let key = signing_key(&key_file)?;
            let source = source_executable(&target)?;
            let dir = prepare(&out, &name)?;
            let exe = copy_executable(&dir, &name, &source)?;
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
            hard_link,
            icon,
            target,
        } => {
            let location = Location::find(&project)?;
            let project_name = location.name();
            let settings = BuildAppSettings::find(&location.root)?.map(|(_, s)| s);
            let name = name.unwrap_or_else(|| {
                let base = settings
                    .as_ref()
                    .and_then(|s| s.application_name.clone())
                    .unwrap_or_else(|| project_name.clone());
                format!("{base}Server")
            });
            let source = source_executable(&target)?;
            let dir = prepare(&out, &name)?;
            let exe = copy_executable(&dir, &name, &source)?;
            // 4D's CS/ServerStructureFolderName, else the project folder's name.
            let root_name = settings
                .as_ref()
                .and_then(|s| s.server_structure_folder_name.clone())
                // A folder name, not a path.
                .filter(|n| !n.contains(['/', '\\']) && n != "." && n != "..")
                .or_else(|| {
                    location
                        .root
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                })
                .unwrap_or(project_name.clone());
            let files = copy_tree(
                &location.root,
                &dir.join(SERVER_DATABASE).join(root_name),
                "",
            )?;
            // 4D's CS/HardLink: the server accepts only clients built with it.
            if let Some(h) = hard_link
                .or_else(|| settings.as_ref().and_then(|s| s.hard_link.clone()))
                .filter(|h| !h.is_empty())
            {
                let file = dir.join("server.toml");
                std::fs::write(
                    &file,
                    format!(
                        "# Only clients built with the same HardLink connect (the Designer and the Administrator always may).\nhard_link = {}\n",
                        toml::Value::String(h)
                    ),
                )
                .with_context(|| format!("cannot write {}", file.display()))?;
            }
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

/// The project at `path` and its `Settings/buildApp.4DSettings` (an error when it has none).
fn build_app_settings(path: &Path) -> anyhow::Result<(Project, BuildAppSettings)> {
    let project = Project::open(path)?;
    let Some((_, settings)) = BuildAppSettings::find(&project.location.root)? else {
        bail!(
            "{} has no Settings/buildApp.4DSettings (4D's Build Application settings): pass --link with the server's .4DLink",
            project.location.root.display()
        );
    };
    Ok((project, settings))
}

/// The server link 4D's Build Application would embed: the project's publication name at
/// `CS/IPAddress` and `CS/PortNumber` (else the project's publication port); and how to name it.
fn link_from_build_app(
    project: &Project,
    settings: &BuildAppSettings,
) -> anyhow::Result<(Link, String)> {
    let file = format!(
        "{}/Settings/{}",
        project.location.root.display(),
        remote4d_core::project::BUILD_APP_FILE
    );
    let Some(address) = settings.server_address.as_deref() else {
        bail!(
            "{file} names no server (CS/IPAddress is empty): set it in 4D's Build Application dialog, or pass --link"
        );
    };
    let port = settings
        .server_port
        .unwrap_or_else(|| project.publication_port());
    // An address with its own port keeps it; else CS/PortNumber (or the publication port).
    let mut path = ServerPath::parse(address)
        .with_context(|| format!("{file}: CS/IPAddress {address:?} is not an address"))?;
    if path.explicit_port.is_none() && port != remote4d_core::link::DEFAULT_PORT {
        path.explicit_port = Some(port);
    }
    Ok((Link::remote(project.publication_name(), path), file))
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
