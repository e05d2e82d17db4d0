//! Build-time work of the `remote4d` application: version and commit for the About box, and the
//! server link of a merged client embedded from `REMOTE4D_EMBED_LINK=path/to/EnginedServer.4DLink`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-env-changed=REMOTE4D_EMBED_LINK");
    println!("cargo:rustc-check-cfg=cfg(remote4d_embedded_link)");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=REMOTE4D_COMMIT={commit}");

    if let Ok(path) = std::env::var("REMOTE4D_EMBED_LINK") {
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("REMOTE4D_EMBED_LINK={path}: cannot read the link to embed: {e}")
        });
        assert!(
            text.contains("database_shortcut") && text.contains("server_database_name"),
            "REMOTE4D_EMBED_LINK={path} is not a remote .4DLink (no database_shortcut with server_database_name)"
        );
        let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap_or_default())
            .join("embedded.4DLink");
        std::fs::write(&out, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
        println!(
            "cargo:rustc-env=REMOTE4D_EMBEDDED_LINK_PATH={}",
            out.display()
        );
        println!("cargo:rustc-cfg=remote4d_embedded_link");
    }
}
