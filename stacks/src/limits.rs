//! CloudFormation's per-stack quotas, and the check that a synthesized stack keeps 20 % headroom
//! under each: the tests run it on every tracker stack, the scale benchmark on every stack it
//! synthesizes.

use serde_json::Value;

/// Template sections with a quota of their own: 500 resources, 200 outputs, parameters, mappings.
pub const SECTION_QUOTAS: [(&str, usize); 4] = [
    ("Resources", 500),
    ("Outputs", 200),
    ("Parameters", 200),
    ("Mappings", 200),
];
/// The largest template body CloudFormation accepts (from S3), in bytes.
pub const TEMPLATE_BODY_BYTES: usize = 1_000_000;
/// The share of each quota a stack may use.
pub const HEADROOM: f64 = 0.8;

/// How many entries of `section` the template has.
pub fn count(template: &Value, section: &str) -> usize {
    template
        .get(section)
        .and_then(Value::as_object)
        .map_or(0, |m| m.len())
}

/// Every way the template of `stack` (`template_bytes` long) passes 80 % of a quota, each
/// naming the stack, the count and the quota; empty when it stays under all of them.
pub fn over_limits(stack: &str, template_bytes: usize, template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (section, quota) in SECTION_QUOTAS {
        let n = count(template, section);
        if n as f64 > HEADROOM * quota as f64 {
            problems.push(format!(
                "{stack}: {n} {section}, over 80 % of CloudFormation's {quota}"
            ));
        }
    }
    if template_bytes as f64 > HEADROOM * TEMPLATE_BODY_BYTES as f64 {
        problems.push(format!(
            "{stack}: a template of {template_bytes} bytes, over 80 % of CloudFormation's 1 MB"
        ));
    }
    problems
}

/// [`over_limits`] of every `*.template.json` in the cloud assembly `dir`, and a line per stack
/// with its counts (for a report), sorted by stack name.
pub fn check_assembly(dir: &std::path::Path) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".template.json"))
        .collect();
    names.sort();
    let (mut problems, mut lines) = (Vec::new(), Vec::new());
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name))?;
        let stack = name.trim_end_matches(".template.json");
        let t: Value = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        lines.push(format!(
            "{stack}: {} resources, {} bytes, {} outputs, {} parameters, {} mappings",
            count(&t, "Resources"),
            text.len(),
            count(&t, "Outputs"),
            count(&t, "Parameters"),
            count(&t, "Mappings")
        ));
        problems.extend(over_limits(stack, text.len(), &t));
    }
    Ok((problems, lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    #[test]
    fn fails_past_80_percent_of_each_quota_and_not_before() {
        let with = |section: &str, n: usize| json!({ section: (0..n).map(|i| (format!("X{i}"), json!({}))).collect::<Map<_, _>>() });
        assert!(over_limits("S", 10, &with("Resources", 400)).is_empty());
        let e = over_limits("S", 10, &with("Resources", 401));
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("S: 401 Resources"), "{e:?}");
        for section in ["Outputs", "Parameters", "Mappings"] {
            assert!(over_limits("S", 10, &with(section, 160)).is_empty());
            assert_eq!(
                over_limits("S", 10, &with(section, 161)).len(),
                1,
                "{section}"
            );
        }
        assert!(over_limits("S", 800_000, &json!({})).is_empty());
        assert!(over_limits("S", 800_001, &json!({}))[0].contains("800001 bytes"));
    }
}
