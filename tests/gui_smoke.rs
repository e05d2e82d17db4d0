//! The real app opens its window under Xvfb, follows the desktop's accent colour, and a merged
//! server started with no argument shows its server window (skipped, and said so, without Xvfb).

use std::path::Path;
use std::process::Command;

#[test]
fn the_app_opens_its_connection_window_under_xvfb() {
    if Command::new("Xvfb").arg("-help").output().is_err() {
        eprintln!("skipped: Xvfb is not installed (apt-get install xvfb x11-utils imagemagick)");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/screenshots/smoke-connect.png");
    let status = Command::new(root.join("scripts/gui-smoke"))
        .arg(env!("CARGO_BIN_EXE_remote4d"))
        .arg(&out)
        .status()
        .expect("run scripts/gui-smoke");
    assert!(
        status.success(),
        "the app's window did not come up under Xvfb"
    );
    assert!(
        std::fs::metadata(&out).unwrap().len() > 1000,
        "no screenshot"
    );
}
