//! Validation: every construct checks all of its props at construction and reports every problem
//! at once, each naming the construct, the field, the value and what is allowed.

use std::fmt;

/// One invalid prop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The construct kind and id, e.g. `PublicAlbService "api"`.
    pub construct: String,
    /// The prop, e.g. `task_size` or `health_check.path`.
    pub field: String,
    /// The value given, as the user wrote it.
    pub value: String,
    /// What is allowed instead.
    pub allowed: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: `{}` = {} is not allowed: {}",
            self.construct, self.field, self.value, self.allowed
        )
    }
}

/// Every invalid prop of one or more constructs, reported together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<Violation>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} invalid setting(s):", self.0.len())?;
        for v in &self.0 {
            write!(f, "\n  - {v}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    /// Merges results: all violations of all failed results.
    pub fn collect(
        results: impl IntoIterator<Item = Result<(), ValidationErrors>>,
    ) -> Result<(), ValidationErrors> {
        let all: Vec<Violation> = results
            .into_iter()
            .filter_map(Result::err)
            .flat_map(|e| e.0)
            .collect();
        if all.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(all))
        }
    }
}

/// Collects the violations of one construct.
#[derive(Debug)]
pub struct Check {
    construct: String,
    violations: Vec<Violation>,
}

impl Check {
    /// Starts checking the construct `kind` with id `id`.
    pub fn new(kind: &str, id: &str) -> Self {
        Check {
            construct: format!("{kind} {id:?}"),
            violations: Vec::new(),
        }
    }

    /// Records a violation of `field` unless `ok`.
    pub fn require(
        &mut self,
        ok: bool,
        field: &str,
        value: impl fmt::Debug,
        allowed: impl Into<String>,
    ) -> &mut Self {
        if !ok {
            self.fail(field, value, allowed);
        }
        self
    }

    /// Records a violation of `field`.
    pub fn fail(
        &mut self,
        field: &str,
        value: impl fmt::Debug,
        allowed: impl Into<String>,
    ) -> &mut Self {
        self.violations.push(Violation {
            construct: self.construct.clone(),
            field: field.to_string(),
            value: format!("{value:?}"),
            allowed: allowed.into(),
        });
        self
    }

    /// Adds the violations of a nested check (a sub-value validated on its own).
    pub fn absorb(&mut self, field: &str, result: Result<(), ValidationErrors>) -> &mut Self {
        if let Err(e) = result {
            for mut v in e.0 {
                v.construct = self.construct.clone();
                v.field = if v.field.is_empty() {
                    field.to_string()
                } else {
                    format!("{field}.{}", v.field)
                };
                self.violations.push(v);
            }
        }
        self
    }

    /// `Ok` when nothing was violated, else every violation.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.violations))
        }
    }
}
/// What a name already registered in the environment must be instead (names are unique).
pub const NAME_NOT_TAKEN: &str = "a name not yet used in this environment (names are unique)";

/// What [`is_env_var_name`] accepts, for error messages.
pub const ENV_VAR_NAME: &str =
    "a variable name of A-Z, 0-9 and '_', not starting with a digit ([A-Z_][A-Z0-9_]*)";

/// A conventional environment variable name: `[A-Z_][A-Z0-9_]*`.
pub fn is_env_var_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter()
            .all(|&x| x.is_ascii_uppercase() || x.is_ascii_digit() || x == b'_')
}

/// An AWS region name such as `eu-west-1` or `us-gov-west-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// A pinned AMI id: `ami-` and 8 or 17 lower-case hex digits.
pub fn is_ami_id(s: &str) -> bool {
    s.strip_prefix("ami-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// An EC2 instance type such as `t4g.large` or `m7g.2xlarge`: family and size, lower case.
pub fn is_instance_type(s: &str) -> bool {
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    s.split_once('.').is_some_and(|(family, size)| {
        ok(family) && ok(size) && family.as_bytes()[0].is_ascii_lowercase()
    })
}

/// A PostgreSQL identifier as the constructs accept it: 1-63 of a-z, 0-9 and `_`, not starting
/// with a digit (lower case, so it needs no quoting).
pub fn is_pg_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A DNS label (RFC 1123): 1-63 of `a-z`, `0-9`, `-`, not starting or ending with `-`.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// An IPv4 CIDR block such as `203.0.113.0/24`.
pub fn is_ipv4_cidr(s: &str) -> bool {
    let Some((ip, len)) = s.split_once('/') else {
        return false;
    };
    let octets: Vec<&str> = ip.split('.').collect();
    octets.len() == 4
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.parse::<u8>().is_ok())
        && len.parse::<u8>().is_ok_and(|l| l <= 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_violation_with_construct_field_value_and_allowed() {
        let mut c = Check::new("PublicAlbService", "api");
        c.require(false, "desired_count", 0, "at least 1");
        c.require(true, "port", 8000, "1-65535");
        c.fail("name", "Bad_Name", "a DNS label");
        let err = c.finish().unwrap_err();
        assert_eq!(err.0.len(), 2);
        let text = err.to_string();
        assert!(
            text.contains(
                "PublicAlbService \"api\": `desired_count` = 0 is not allowed: at least 1"
            ),
            "{text}"
        );
        assert!(text.contains("`name` = \"Bad_Name\""), "{text}");
    }

    #[test]
    fn dns_labels_and_cidrs() {
        assert!(is_dns_label("anisette-v3"));
        for bad in ["", "-a", "a-", "A", "a_b", &"x".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert!(is_ipv4_cidr("203.0.113.0/24"));
        for bad in ["203.0.113.0", "300.0.0.0/8", "1.2.3.4/33", "a.b.c.d/1"] {
            assert!(!is_ipv4_cidr(bad), "{bad}");
        }
    }
}
