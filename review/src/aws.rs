//! A minimal CloudFormation Query API client: AWS Signature Version 4, form-encoded POST, XML
//! responses. Only what the review needs: `DescribeChangeSet` (paginated) and `GetTemplate`.
//!
//! Configuration, like the AWS CLI: endpoint `AWS_ENDPOINT_URL_CLOUDFORMATION`, else
//! `AWS_ENDPOINT_URL`, else `https://cloudformation.<region>.amazonaws.com`; region `--region`,
//! else `AWS_REGION`, else `AWS_DEFAULT_REGION`; credentials `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN` (SSO users: run
//! `eval "$(aws configure export-credentials --format env)"` first).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::changeset::{ChangeSet, ParseError};

/// Static credentials.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Why a CloudFormation call failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("no AWS region: pass --region or set AWS_REGION")]
    NoRegion,
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); \
         with SSO or a profile run `eval \"$(aws configure export-credentials --format env)\"` first"
    )]
    NoCredentials,
    #[error("endpoint {0:?} is not an http(s) URL")]
    BadEndpoint(String),
    #[error("CloudFormation {action} at {endpoint}: {message}")]
    Transport {
        action: String,
        endpoint: String,
        message: String,
    },
    #[error("CloudFormation {action}: {code}: {message}")]
    Api {
        action: String,
        code: String,
        message: String,
    },
    #[error("CloudFormation {action}: unreadable response: {source}")]
    Response { action: String, source: ParseError },
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Percent-encodes per RFC 3986 (unreserved characters kept), as SigV4 requires.
pub fn uri_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A request to sign.
pub struct SignRequest<'a> {
    pub method: &'a str,
    /// The canonical URI (the path, already encoded), e.g. `/`.
    pub path: &'a str,
    /// The canonical query string (sorted, encoded), often empty.
    pub query: &'a str,
    /// Headers to sign, names lower-case, including `host` and `x-amz-date`.
    pub headers: &'a [(String, String)],
    pub payload: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
}

/// The `Authorization` header value of AWS Signature Version 4.
pub fn authorization(req: &SignRequest<'_>, creds: &Credentials) -> String {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.trim().to_string()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        req.query,
        canonical_headers,
        signed,
        sha256_hex(req.payload)
    );
    let date = &req.amz_date[..8];
    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        req.amz_date,
        sha256_hex(canonical.as_bytes())
    );
    let k = hmac(format!("AWS4{}", creds.secret_access_key).as_bytes(), date);
    let k = hmac(&k, req.region);
    let k = hmac(&k, req.service);
    let k = hmac(&k, "aws4_request");
    let signature = hex::encode(hmac(&k, &to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        creds.access_key_id
    )
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (UTC).
pub fn amz_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A CloudFormation client for one region and endpoint.
#[derive(Debug)]
pub struct Client {
    pub endpoint: String,
    pub region: String,
    credentials: Credentials,
    agent: ureq::Agent,
}

impl Client {
    /// From the environment (see the module docs); `region` overrides the environment's.
    pub fn from_env(region: Option<&str>) -> Result<Client, AwsError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let region = region
            .map(str::to_string)
            .or_else(|| var("AWS_REGION"))
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .ok_or(AwsError::NoRegion)?;
        let credentials = Credentials {
            access_key_id: var("AWS_ACCESS_KEY_ID").ok_or(AwsError::NoCredentials)?,
            secret_access_key: var("AWS_SECRET_ACCESS_KEY").ok_or(AwsError::NoCredentials)?,
            session_token: var("AWS_SESSION_TOKEN"),
        };
        let endpoint = var("AWS_ENDPOINT_URL_CLOUDFORMATION")
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| format!("https://cloudformation.{region}.amazonaws.com"));
        Client::new(&endpoint, &region, credentials)
    }

    pub fn new(endpoint: &str, region: &str, credentials: Credentials) -> Result<Client, AwsError> {
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(AwsError::BadEndpoint(endpoint.to_string()));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(30))
            .build();
        Ok(Client {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.to_string(),
            credentials,
            agent,
        })
    }

    /// (host header, canonical path) of the endpoint.
    fn host_and_path(&self) -> Result<(String, String), AwsError> {
        let (scheme, rest) = self
            .endpoint
            .split_once("://")
            .ok_or_else(|| AwsError::BadEndpoint(self.endpoint.clone()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let host = match (scheme, authority.rsplit_once(':')) {
            ("https", Some((h, "443"))) | ("http", Some((h, "80"))) => h.to_string(),
            _ => authority.to_string(),
        };
        if host.is_empty() {
            return Err(AwsError::BadEndpoint(self.endpoint.clone()));
        }
        Ok((host, path.to_string()))
    }

    /// Calls `action` with `params`, returns the response body (XML).
    pub fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String, AwsError> {
        let mut all: Vec<(&str, &str)> = vec![("Action", action), ("Version", "2010-05-15")];
        all.extend_from_slice(params);
        all.sort();
        let body: Vec<String> = all
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
            .collect();
        let body = body.join("&");
        let (host, path) = self.host_and_path()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let date = amz_date(now);
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let mut headers = vec![
            ("content-type".to_string(), content_type.to_string()),
            ("host".to_string(), host),
            ("x-amz-date".to_string(), date.clone()),
        ];
        if let Some(t) = &self.credentials.session_token {
            headers.push(("x-amz-security-token".to_string(), t.clone()));
        }
        let auth = authorization(
            &SignRequest {
                method: "POST",
                path: &path,
                query: "",
                headers: &headers,
                payload: body.as_bytes(),
                region: &self.region,
                service: "cloudformation",
                amz_date: &date,
            },
            &self.credentials,
        );
        let mut req = self
            .agent
            .post(&self.endpoint)
            .set("Content-Type", content_type)
            .set("X-Amz-Date", &date)
            .set("Authorization", &auth);
        if let Some(t) = &self.credentials.session_token {
            req = req.set("X-Amz-Security-Token", t);
        }
        let transport = |message: String| AwsError::Transport {
            action: action.to_string(),
            endpoint: self.endpoint.clone(),
            message,
        };
        match req.send_string(&body) {
            Ok(resp) => resp.into_string().map_err(|e| transport(e.to_string())),
            Err(ureq::Error::Status(status, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                let (code, message) = crate::changeset::parse_error(&text).unwrap_or_else(|| {
                    (format!("HTTP {status}"), text.chars().take(300).collect())
                });
                Err(AwsError::Api {
                    action: action.to_string(),
                    code,
                    message,
                })
            }
            Err(e) => Err(transport(e.to_string())),
        }
    }

    /// Every page of `DescribeChangeSet` for `change_set` of `stack`.
    pub fn describe_change_set(
        &self,
        stack: &str,
        change_set: &str,
    ) -> Result<ChangeSet, AwsError> {
        let mut token: Option<String> = None;
        let mut all: Option<ChangeSet> = None;
        for _ in 0..1000 {
            let mut params = vec![("StackName", stack), ("ChangeSetName", change_set)];
            if let Some(t) = &token {
                params.push(("NextToken", t.as_str()));
            }
            let xml = self.call("DescribeChangeSet", &params)?;
            let page = crate::changeset::parse_describe_change_set_xml(&xml).map_err(|source| {
                AwsError::Response {
                    action: "DescribeChangeSet".into(),
                    source,
                }
            })?;
            token = page.next_token.clone();
            match &mut all {
                None => all = Some(page),
                Some(a) => a.changes.extend(page.changes),
            }
            if token.is_none() {
                break;
            }
        }
        let mut cs = all.expect("at least one page");
        cs.next_token = None;
        Ok(cs)
    }

    /// The deployed (original, before transforms) template of `stack`, as JSON.
    pub fn get_template(&self, stack: &str) -> Result<String, AwsError> {
        let xml = self.call(
            "GetTemplate",
            &[("StackName", stack), ("TemplateStage", "Original")],
        )?;
        crate::changeset::parse_get_template_xml(&xml).map_err(|source| AwsError::Response {
            action: "GetTemplate".into(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_creds() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    /// The `get-vanilla` case of AWS's Signature Version 4 test suite.
    #[test]
    fn sigv4_get_vanilla_test_vector() {
        let headers = vec![
            ("Host".to_string(), "example.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
        ];
        let auth = authorization(
            &SignRequest {
                method: "GET",
                path: "/",
                query: "",
                headers: &headers,
                payload: b"",
                region: "us-east-1",
                service: "service",
                amz_date: "20150830T123600Z",
            },
            &example_creds(),
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// The IAM `ListUsers` example of the Signature Version 4 documentation (query string and
    /// a content-type header signed).
    #[test]
    fn sigv4_iam_documentation_example() {
        let headers = vec![
            (
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("Host".to_string(), "iam.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
        ];
        let auth = authorization(
            &SignRequest {
                method: "GET",
                path: "/",
                query: "Action=ListUsers&Version=2010-05-08",
                headers: &headers,
                payload: b"",
                region: "us-east-1",
                service: "iam",
                amz_date: "20150830T123600Z",
            },
            &example_creds(),
        );
        assert!(
            auth.ends_with(
                "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
            ),
            "{auth}"
        );
    }

    #[test]
    fn dates_and_encoding() {
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(uri_encode("a b/c~d=é"), "a%20b%2Fc~d%3D%C3%A9");
    }

    #[test]
    fn endpoint_host_keeps_non_default_ports() {
        let c = Client::new("http://localhost:5000", "eu-west-1", example_creds()).unwrap();
        assert_eq!(
            c.host_and_path().unwrap(),
            ("localhost:5000".into(), "/".into())
        );
        let c = Client::new(
            "https://cloudformation.eu-west-1.amazonaws.com:443/",
            "eu-west-1",
            example_creds(),
        )
        .unwrap();
        assert_eq!(
            c.host_and_path().unwrap().0,
            "cloudformation.eu-west-1.amazonaws.com"
        );
        assert!(Client::new("localhost:5000", "x", example_creds()).is_err());
    }
}
