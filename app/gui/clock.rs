//! Times as people read them: the server's UTC timestamps shown in the local time of this
//! machine (its time zone, as the C library knows it), without a date library.

/// Seconds since the epoch of an ISO 8601 UTC time as the server writes it
/// (`2026-11-30T23:20:48.513Z`, fraction optional).
pub fn parse_utc(iso: &str) -> Option<i64> {
    let (date, time) = iso.trim().strip_suffix('Z')?.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `HH:MM` of `epoch` in this machine's time zone (UTC, marked so, where it cannot be known).
// The one call into the C library: its time zone database is the system's, as every other
// desktop app shows it.
#[allow(unsafe_code)]
pub fn local_hm(epoch: i64) -> String {
    #[cfg(unix)]
    {
        let t = epoch as libc::time_t;
        // SAFETY: `localtime_r` writes only into `tm`, which lives for the call.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call; localtime_r is thread-safe.
        if !unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
            return format!("{:02}:{:02}", tm.tm_hour, tm.tm_min);
        }
    }
    let s = epoch.rem_euclid(86_400);
    format!("{:02}:{:02} UTC", s / 3600, (s % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_times_parse_and_show_in_local_time() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2026-11-30T23:20:48.513Z"), Some(1_796_080_848));
        assert_eq!(parse_utc("2000-02-29T12:00:00Z"), Some(951_825_600));
        for bad in [
            "",
            "2026-11-30 23:20:48",
            "2026-13-01T00:00:00Z",
            "nonsense",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
        // The tests run with TZ=UTC set by nobody: compare with the C library's own answer.
        let hm = local_hm(1_796_080_848);
        assert!(hm.len() == 5 || hm.ends_with(" UTC"), "{hm}");
        assert!(hm.chars().nth(2) == Some(':'), "{hm}");
    }
}
