//! Wall-clock times as text: RFC 3339 UTC for log lines and the history, RFC 3339 read back
//! (the history's records and the bounds of a report), the HTTP `Date` header's format read
//! back (for the health check's clock offset), and the local date and time of a receipt. No
//! time zone database: local time comes from the C library (Unix), UTC elsewhere.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-30T05:41:07.123Z`.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    format!(
        "{}.{:03}Z",
        date_time_utc(since.as_secs()),
        since.subsec_millis()
    )
}

/// `2026-11-30T05:41:07Z`, whole seconds (the journal's records).
pub fn rfc3339_utc_seconds(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    format!("{}Z", date_time_utc(since.as_secs()))
}

/// `2026-11-30T05:41:07` (UTC) of seconds since the Unix epoch.
fn date_time_utc(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        y,
        m,
        d,
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Seconds since the Unix epoch of an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, the only
/// form servers may send); `None` for anything else.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_whitespace();
    let _weekday = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Seconds since the Unix epoch of a date and time (UTC).
pub fn unix_seconds(y: i64, m: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time (`2026-11-30T08:00:00Z`,
/// `2026-11-30T09:00:00.250+01:00`; `T`/`Z` in either case, a space for `T`); `None` for
/// anything else, including impossible dates (`2026-02-30`).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, se) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month(y, m)
        || h > 23
        || mi > 59
        || se > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let first3 = format!("{:0<3}", &s[i + 1..i + 1 + digits.min(3)]);
        millis = first3.parse::<i64>().ok()?;
        i += 1 + digits;
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 3600 + om * 60) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    // A leap second counts as the last second of its minute.
    let secs = unix_seconds(y, m, d, h, mi, se.min(59)) - offset;
    Some(secs * 1000 + millis)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The UTC year and month of an instant given in milliseconds since the Unix epoch.
pub fn utc_year_month(millis: i64) -> (i64, i64) {
    let (y, m, _) = civil_from_days(millis.div_euclid(86_400_000));
    (y, m)
}

/// `2026-11-30 09:12` in the local time zone (Unix: the C library's, from `TZ` or the system);
/// `2026-11-30 08:12 UTC` where no local time is available.
pub fn local_date_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    #[cfg(unix)]
    {
        let when = secs as libc::time_t;
        // SAFETY: localtime_r writes only into `tm`, which lives for the call; both pointers
        // are valid.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        if !unsafe { libc::localtime_r(&when, &mut tm) }.is_null() {
            return format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                i64::from(tm.tm_year) + 1900,
                tm.tm_mon + 1,
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min
            );
        }
    }
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        y,
        m,
        d,
        s / 3600,
        s / 60 % 60
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_known_instants() {
        let t = UNIX_EPOCH + Duration::from_millis(784_111_777_042);
        assert_eq!(rfc3339_utc(t), "1994-11-06T08:49:37.042Z");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(unix_seconds(2000, 2, 29, 0, 0, 0), 951_782_400);
    }

    #[test]
    fn dates_are_written_as_rfc3339_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_714_566_896_042);
        assert_eq!(rfc3339_utc(t), "2024-05-01T12:34:56.042Z");
        assert_eq!(rfc3339_utc_seconds(t), "2024-05-01T12:34:56Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339_utc_seconds(leap_day), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc_seconds(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn rfc3339_is_read_with_offsets_and_fractions_and_impossible_dates_refused() {
        assert_eq!(parse_rfc3339("1994-11-06T08:49:37Z"), Some(784_111_777_000));
        assert_eq!(
            parse_rfc3339("1994-11-06t08:49:37.042z"),
            Some(784_111_777_042)
        );
        assert_eq!(
            parse_rfc3339("1994-11-06 09:49:37.5+01:00"),
            Some(784_111_777_500)
        );
        assert_eq!(
            parse_rfc3339("1994-11-06T03:49:37-05:00"),
            Some(784_111_777_000)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00.123456Z"),
            Some(951_782_400_123)
        );
        for bad in [
            "",
            "2026-11-30",
            "2026-11-30T08:00:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-30T24:00:00Z",
            "2026-11-30T08:00:00.Z",
            "2026-11-30T08:00:00+0100",
            "2026-11-30T08:00:00Z ",
            "２026-11-30T08:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(utc_year_month(784_111_777_000), (1994, 11));
        assert_eq!(utc_year_month(-1), (1969, 12));
    }
}
