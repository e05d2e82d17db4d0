//! The process and its peers: whether another process is still running (for stale locks), and
//! the limit of open files.

/// True when process `pid` runs and, where the platform tells, runs `exe`.
#[cfg(unix)]
pub(crate) fn is_running(pid: u32, exe: &str) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    if pid.unsigned_abs() == std::process::id() {
        return true;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission; it sends nothing.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::kill(pid, 0) };
    let alive = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !alive {
        return false;
    }
    // Linux: a reused pid running another program does not hold the lock.
    #[cfg(target_os = "linux")]
    if !exe.is_empty() {
        if let Ok(actual) = std::fs::read_link(format!("/proc/{pid}/exe")) {
            let actual = actual.to_string_lossy();
            let actual = actual.strip_suffix(" (deleted)").unwrap_or(&actual);
            return actual == exe
                || std::path::Path::new(exe).file_name()
                    == std::path::Path::new(actual).file_name();
        }
    }
    let _ = exe;
    true
}

/// Windows: the process exists and has not exited, and (when its image can be read) runs a
/// program of the same file name as `exe` (a reused process id running another program does
/// not hold the lock).
#[cfg(windows)]
#[allow(unsafe_code)]
pub(crate) fn is_running(pid: u32, exe: &str) -> bool {
    use windows_sys::Win32::Foundation::{
        CloseHandle, ERROR_ACCESS_DENIED, GetLastError, STILL_ACTIVE,
    };
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_NAME_WIN32, PROCESS_QUERY_LIMITED_INFORMATION,
        QueryFullProcessImageNameW,
    };
    if pid == 0 {
        return false;
    }
    if pid == std::process::id() {
        return true;
    }
    // SAFETY: OpenProcess/GetExitCodeProcess/QueryFullProcessImageNameW write only into the
    // locals passed (with their true sizes); the handle is closed before returning.
    unsafe {
        let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if handle.is_null() {
            // Another user's process: it exists.
            return GetLastError() == ERROR_ACCESS_DENIED;
        }
        let mut code = 0u32;
        let mut alive = GetExitCodeProcess(handle, &mut code) != 0 && code == STILL_ACTIVE as u32;
        if alive && !exe.is_empty() {
            let mut buffer = [0u16; 1024];
            let mut len = buffer.len() as u32;
            if QueryFullProcessImageNameW(handle, PROCESS_NAME_WIN32, buffer.as_mut_ptr(), &mut len)
                != 0
            {
                let actual = String::from_utf16_lossy(&buffer[..len as usize]);
                let name = |p: &str| {
                    std::path::Path::new(p)
                        .file_name()
                        .map(|n| n.to_string_lossy().to_lowercase())
                };
                alive = name(&actual) == name(exe);
            }
        }
        CloseHandle(handle);
        alive
    }
}

/// Elsewhere the process table is not consulted: a lock is held until its owner releases it.
#[cfg(not(any(unix, windows)))]
pub(crate) fn is_running(pid: u32, _exe: &str) -> bool {
    pid != 0
}

/// Raises this process's limit of open files to the hard limit (a server holds one per
/// connection; the usual soft limit of 1024 would make it stop accepting long before its
/// configured connection limit). Returns the limit in force.
#[cfg(unix)]
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own; no other memory is touched.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) };
    if rc != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) };
        if rc == 0 {
            limit = raised;
        }
    }
    #[allow(clippy::useless_conversion)]
    Some(u64::from(limit.rlim_cur))
}

/// Elsewhere the limit is left as it is (and not known).
#[cfg(not(unix))]
pub(crate) fn raise_open_files_limit() -> Option<u64> {
    None
}

/// This process's use of the machine, as the server's Monitor shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// CPU time used since it started (user + system), in milliseconds.
    pub cpu_ms: u64,
    /// Memory resident now, in bytes (`None` where the platform does not tell cheaply).
    pub memory_bytes: Option<u64>,
}

/// This process's CPU time and memory, `None` where they cannot be read.
#[cfg(unix)]
pub(crate) fn usage() -> Option<Usage> {
    // SAFETY: getrusage writes into the struct we own.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) != 0 {
            return None;
        }
        usage
    };
    let ms = |t: libc::timeval| {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1000 + u64::try_from(t.tv_usec).unwrap_or(0) / 1000
    };
    Some(Usage {
        cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
        memory_bytes: resident_bytes(),
    })
}

/// Linux: the resident set, from `/proc/self/statm` (pages).
#[cfg(target_os = "linux")]
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    #[allow(unsafe_code)]
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// Other Unix systems: not read (`getrusage` gives only the peak).
#[cfg(all(unix, not(target_os = "linux")))]
fn resident_bytes() -> Option<u64> {
    None
}

/// This process's CPU time and memory (working set), `None` where they cannot be read.
#[cfg(windows)]
#[allow(unsafe_code)]
pub(crate) fn usage() -> Option<Usage> {
    use windows_sys::Win32::Foundation::FILETIME;
    use windows_sys::Win32::System::ProcessStatus::{
        K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessTimes};
    let zero = || FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero(), zero(), zero(), zero());
    // SAFETY: the pseudo-handle of this process needs no closing; both calls write only into
    // the locals passed, with their true sizes.
    unsafe {
        let me = GetCurrentProcess();
        if GetProcessTimes(me, &mut created, &mut exited, &mut kernel, &mut user) == 0 {
            return None;
        }
        let mut counters: PROCESS_MEMORY_COUNTERS = std::mem::zeroed();
        let size = size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
        counters.cb = size;
        let memory = (K32GetProcessMemoryInfo(me, &mut counters, size) != 0)
            .then_some(counters.WorkingSetSize as u64);
        // FILETIME counts 100 ns.
        let ms = |t: FILETIME| {
            ((u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)) / 10_000
        };
        Some(Usage {
            cpu_ms: ms(kernel) + ms(user),
            memory_bytes: memory,
        })
    }
}

/// Elsewhere: not known.
#[cfg(not(any(unix, windows)))]
pub(crate) fn usage() -> Option<Usage> {
    None
}

#[cfg(test)]
mod tests {
    #[cfg(any(target_os = "linux", windows))]
    #[test]
    fn this_process_reports_its_cpu_time_and_memory() {
        // Spin until the clock moves (a few ms of CPU).
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(30) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let usage = super::usage().expect("usage is read on this platform");
        assert!(usage.cpu_ms >= 10, "{usage:?}");
        let memory = usage.memory_bytes.expect("memory is read on this platform");
        assert!(memory > 1024 * 1024, "{usage:?}");
    }
}
