//! Input rules shared by every front end: ports, names and descriptions.

use crate::error::{Error, Result};

/// Longest service name or worktree id accepted.
pub const MAX_NAME_LEN: usize = 255;
/// Longest description accepted.
pub const MAX_DESCRIPTION_LEN: usize = 1000;

/// Parses a port given as text (a CLI argument): an integer from 1 to 65535.
pub fn parse_port(text: &str) -> Result<u16> {
    let trimmed = text.trim();
    match trimmed.parse::<i64>() {
        Ok(n) => port_from_int(n).map_err(|_| Error::InvalidPort { value: text.to_owned() }),
        Err(_) => Err(Error::InvalidPort { value: text.to_owned() }),
    }
}

/// Checks a port given as a number (from JavaScript, JSON or a CLI).
pub fn port_from_int(n: i64) -> Result<u16> {
    match u16::try_from(n) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(Error::InvalidPort { value: n.to_string() }),
    }
}

/// Checks a port given as a JavaScript number: an integer from 1 to 65535 (not 8080.5, not NaN).
pub fn port_from_number(n: f64) -> Result<u16> {
    if n.fract() == 0.0 && (1.0..=65535.0).contains(&n) {
        Ok(n as u16)
    } else {
        Err(Error::InvalidPort { value: n.to_string() })
    }
}

/// Checks a service name: non-empty, at most 255 characters, no control characters.
pub fn service_name(value: &str) -> Result<&str> {
    name("service", value)
}

/// Checks a worktree id: non-empty, at most 255 characters, no control characters.
pub fn worktree_id(value: &str) -> Result<&str> {
    name("worktree", value)
}

/// Checks a description: at most 1,000 characters, no control characters (may be empty).
pub fn description(value: &str) -> Result<&str> {
    if value.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(invalid("description", value, format!("longer than {MAX_DESCRIPTION_LEN} characters")));
    }
    no_control_characters("description", value)?;
    Ok(value)
}

fn name<'a>(what: &'static str, value: &'a str) -> Result<&'a str> {
    if value.is_empty() {
        return Err(invalid(what, value, "must not be empty".into()));
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(invalid(what, value, format!("longer than {MAX_NAME_LEN} characters")));
    }
    no_control_characters(what, value)?;
    Ok(value)
}

fn no_control_characters(what: &'static str, value: &str) -> Result<()> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(invalid(what, value, format!("contains the control character U+{:04X}", c as u32))),
        None => Ok(()),
    }
}

fn invalid(what: &'static str, value: &str, reason: String) -> Error {
    // A 10 KB name would drown the message: show its start only.
    let shown: String = if value.chars().count() > 80 {
        value.chars().take(60).chain("…".chars()).collect()
    } else {
        value.to_owned()
    };
    Error::InvalidArgument { what, value: shown, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_outside_1_to_65535_are_rejected_with_the_value() {
        for bad in ["0", "65536", "70000", "-1", "80x", "", " "] {
            let err = parse_port(bad).unwrap_err();
            assert_eq!(err.code(), "ERR_INVALID_PORT", "{bad:?}");
            assert!(err.to_string().contains(&format!("'{bad}'")), "{err}");
        }
        assert_eq!(parse_port("1").unwrap(), 1);
        assert_eq!(parse_port("65535").unwrap(), 65535);
        assert_eq!(port_from_int(8080).unwrap(), 8080);
        assert!(port_from_int(-8080).is_err());
        assert_eq!(port_from_number(8080.0).unwrap(), 8080);
        for bad in [0.0, 65536.0, -1.0, 8080.5, f64::NAN, f64::INFINITY] {
            assert_eq!(port_from_number(bad).unwrap_err().code(), "ERR_INVALID_PORT", "{bad}");
        }
    }

    #[test]
    fn names_must_be_non_empty_short_and_printable() {
        assert!(service_name("web").is_ok());
        assert!(worktree_id("review-GH-42").is_ok());
        assert!(worktree_id("x$(touch /tmp/pwned)").is_ok(), "odd but printable names are data");
        let empty = service_name("").unwrap_err();
        assert!(empty.to_string().contains("must not be empty"), "{empty}");
        let newline = service_name("we\nb").unwrap_err();
        assert!(newline.to_string().contains("U+000A"), "{newline}");
        let long = worktree_id(&"w".repeat(10_000)).unwrap_err();
        assert!(long.to_string().contains("longer than 255"), "{long}");
        assert!(long.to_string().len() < 200, "long values are shortened in messages");
        assert!(worktree_id(&"w".repeat(255)).is_ok());
    }

    #[test]
    fn descriptions_may_be_empty_but_not_huge_or_control() {
        assert!(description("").is_ok());
        assert!(description(&"d".repeat(1000)).is_ok());
        assert!(description(&"d".repeat(1001)).is_err());
        assert!(description("tab\there").is_err());
    }
}
