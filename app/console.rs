//! The Windows console, for one binary that is both the desktop app and the command line.
//!
//! `remote4d.exe` uses the Windows GUI subsystem, so a double-click never flashes a console
//! window. Run from `cmd` or PowerShell, it attaches to the console of the process that started
//! it, so commands print there and Ctrl+C reaches them; handles that were redirected (to a file, a
//! pipe) stay as they were. Because `cmd` does not wait for a GUI program, the installer also puts
//! `remote4d.com` beside it (app/windows_launcher.rs): a console program that `cmd` and PowerShell
//! pick first for `remote4d`, which runs the `.exe` on its console, waits and returns its exit
//! code. Elsewhere these functions do nothing.

/// Attaches to the parent's console when there is one and standard handles are missing.
/// Returns whether a console was attached (to be let go of if the desktop app opens).
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn attach() -> bool {
    use windows_sys::Win32::Foundation::{
        GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
    };
    use windows_sys::Win32::System::Console::{
        ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_ERROR_HANDLE, STD_HANDLE,
        STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, SetStdHandle,
    };

    fn usable(handle: HANDLE) -> bool {
        !handle.is_null() && handle != INVALID_HANDLE_VALUE
    }
    const IDS: [STD_HANDLE; 3] = [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE];
    // SAFETY: plain Win32 calls with valid arguments; the handles read here belong to this
    // process and are only put back as they were.
    unsafe {
        let before = IDS.map(|id| GetStdHandle(id));
        if AttachConsole(ATTACH_PARENT_PROCESS) == 0 {
            return false;
        }
        for (id, handle) in IDS.into_iter().zip(before) {
            if usable(handle) {
                // Redirected by the caller (or inherited from remote4d.com): keep it.
                SetStdHandle(id, handle);
                continue;
            }
            let device = if id == STD_INPUT_HANDLE {
                "CONIN$"
            } else {
                "CONOUT$"
            };
            let name: Vec<u16> = device.encode_utf16().chain([0]).collect();
            let console = CreateFileW(
                name.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                std::ptr::null(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            );
            if usable(console) {
                SetStdHandle(id, console);
            }
        }
        true
    }
}

/// Lets go of the console [`attach`] took: the desktop app must not die with the terminal.
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn release() {
    // SAFETY: detaching from a console has no preconditions.
    unsafe {
        windows_sys::Win32::System::Console::FreeConsole();
    }
}

/// Does nothing outside Windows.
#[cfg(not(windows))]
pub fn attach() -> bool {
    false
}

/// Does nothing outside Windows.
#[cfg(not(windows))]
pub fn release() {}
