//! `remote4d.com`: the console twin of `remote4d.exe` on Windows.
//!
//! `cmd` and PowerShell try `.com` before `.exe`, so `remote4d archive build …` typed in a
//! terminal runs this small console program. It runs `remote4d.exe` (beside it) with the same
//! arguments on this console, waits for it and returns its exit code — which `cmd` does not do
//! for a GUI-subsystem program. Ctrl+C is left to `remote4d.exe` (attached to the same console),
//! so a server stops cleanly and this waits for it. A double-click on a `.4DLink` opens
//! `remote4d.exe` directly and never shows a console.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    if !cfg!(windows) {
        eprintln!("error: remote4d-console is the Windows console launcher; run remote4d");
        return ExitCode::from(2);
    }
    let Ok(me) = std::env::current_exe() else {
        eprintln!("error: cannot find this program's own folder");
        return ExitCode::FAILURE;
    };
    let exe = me.with_extension("exe");
    if exe == me || !exe.is_file() {
        eprintln!(
            "error: {} is missing: reinstall Remote4D (this launcher runs it)",
            exe.display()
        );
        return ExitCode::FAILURE;
    }
    ignore_ctrl_c();
    match Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .status()
    {
        // The whole 32-bit code, as cmd's %ERRORLEVEL% would show it for the .exe.
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => {
            eprintln!("error: cannot start {}: {err}", exe.display());
            ExitCode::FAILURE
        }
    }
}

/// Ctrl+C goes to every process on the console: the child handles it; this one waits.
#[cfg(windows)]
#[allow(unsafe_code)]
fn ignore_ctrl_c() {
    // SAFETY: a null handler with TRUE means "ignore Ctrl+C" for this process; no callback.
    unsafe {
        windows_sys::Win32::System::Console::SetConsoleCtrlHandler(None, 1);
    }
}

#[cfg(not(windows))]
fn ignore_ctrl_c() {}
