//! UTC timestamps as the registry writes them (`2025-12-31T10:00:00Z`). The host supplies the
//! current time through [`crate::Clock`], so this module only does calendar arithmetic.

use std::fmt;

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with whole seconds, the form of the reference registry files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
    }
}

/// Turns a stored `allocated_at` into the reference scripts' display form `2025-12-31 10:00:00`.
/// Text that is not an RFC 3339 timestamp is shown as it is.
pub fn display_time(stored: &str) -> String {
    let b = stored.as_bytes();
    if b.len() >= 19 && b[10] == b'T' && b[4] == b'-' && b[13] == b':' {
        // A hand-edited value may hold any character: slice only on character boundaries.
        if let (Some(date), Some(time)) = (stored.get(..10), stored.get(11..19)) {
            return format!("{date} {time}");
        }
    }
    stored.to_owned()
}

impl Timestamp {
    /// Reads back what [`Timestamp`]'s `Display` writes (`2025-12-31T10:00:00Z`); `None` for
    /// anything else.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, min, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || s > 59 {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok().map(Timestamp)
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_767_175_200).to_string(), "2025-12-31T10:00:00Z");
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(Timestamp(4_107_542_399).to_string(), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn what_is_written_is_read_back() {
        for t in [0, 1_767_175_200, 951_782_400, 4_107_542_399] {
            assert_eq!(Timestamp::parse(&Timestamp(t).to_string()), Some(Timestamp(t)));
        }
        assert_eq!(Timestamp::parse("2025-13-01T00:00:00Z"), None);
        assert_eq!(Timestamp::parse("yesterday"), None);
    }

    #[test]
    fn display_time_drops_the_t_and_zone() {
        assert_eq!(display_time("2025-12-31T10:00:00Z"), "2025-12-31 10:00:00");
        assert_eq!(display_time("2025-12-31T10:00:00.123456+00:00"), "2025-12-31 10:00:00");
        assert_eq!(display_time("yesterday"), "yesterday");
        // Regression: a multi-byte character across byte 19 used to panic every status report.
        assert_eq!(display_time("2025-12-31T10:00:0é"), "2025-12-31T10:00:0é");
    }
}
