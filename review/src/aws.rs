//! The CloudFormation calls of the online review (`DescribeChangeSet`, paginated, and
//! `GetTemplate`), through the AWS SDK for Rust.
//!
//! Configuration is the SDK's standard chain, the same as the AWS CLI's: region from `--region`,
//! else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the profile's; credentials from the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), web identity
//! (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, what CI gets from OIDC), the profile
//! (`AWS_PROFILE`, `~/.aws/config` and `credentials`: static keys, `role_arn` + `source_profile`,
//! SSO after `aws sso login`, `credential_process`), then the ECS container and EC2 instance
//! metadata endpoints; endpoint `AWS_ENDPOINT_URL_CLOUDFORMATION`, else `AWS_ENDPOINT_URL`, else
//! the region's.
//!
//! Nothing here runs unless a review needs AWS (`--baseline deployed`, `--change-set`): offline
//! reviews never build a client and make no network call.
//!
//! Behind the cargo feature `aws` (on by default in `tracker-cdk`): without it the crate builds
//! without the SDK and [`Client::from_env`] says how to get it.

/// Why a CloudFormation call failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("no AWS region: pass --region, set AWS_REGION, or give the profile a region")]
    NoRegion,
    #[error(
        "no AWS credentials ({detail}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
         AWS_PROFILE (after `aws sso login` for an SSO profile), or AWS_WEB_IDENTITY_TOKEN_FILE \
         and AWS_ROLE_ARN"
    )]
    NoCredentials { detail: String },
    /// `action` names the service and the call, e.g. `CloudFormation GetTemplate`.
    #[error("{action}: {message}")]
    Transport { action: String, message: String },
    #[error("{action}: {code}: {message}")]
    Api {
        action: String,
        code: String,
        message: String,
    },
    #[error("cannot start the AWS client's runtime: {0}")]
    Runtime(String),
    #[error(
        "this build has no AWS access (the `aws` cargo feature of tracker-review is off): \
         rebuild with it, e.g. `cargo run -p tracker-cdk --features aws -- review ...` (or `-- release ...`)"
    )]
    NotBuilt,
}

#[cfg(feature = "aws")]
pub use sdk::{load, sdk_error, Client};

#[cfg(not(feature = "aws"))]
/// A CloudFormation client; this build has none (see [`AwsError::NotBuilt`]).
#[derive(Debug)]
pub struct Client {
    _none: (),
}

#[cfg(not(feature = "aws"))]
impl Client {
    /// Always [`AwsError::NotBuilt`]: the crate was built without the `aws` feature.
    pub fn from_env(_region: Option<&str>) -> Result<Client, AwsError> {
        Err(AwsError::NotBuilt)
    }

    pub fn describe_change_set(
        &self,
        _: &str,
        _: &str,
    ) -> Result<crate::changeset::ChangeSet, AwsError> {
        Err(AwsError::NotBuilt)
    }

    pub fn get_template(&self, _: &str) -> Result<String, AwsError> {
        Err(AwsError::NotBuilt)
    }
}

#[cfg(feature = "aws")]
mod sdk {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
    use aws_sdk_cloudformation::types::{self as cfn, TemplateStage};

    use super::AwsError;
    use crate::changeset::{ChangeEntry, ChangeSet, Detail, ResourceChange, Target};

    /// A CloudFormation client for one region, with its own single-threaded runtime (the review
    /// is synchronous; two calls at most).
    #[derive(Debug)]
    pub struct Client {
        pub region: String,
        inner: aws_sdk_cloudformation::Client,
        runtime: tokio::runtime::Runtime,
    }

    impl Client {
        /// From the standard chain (see the module docs); `region` overrides it.
        pub fn from_env(region: Option<&str>) -> Result<Client, AwsError> {
            let (config, runtime) = load(region)?;
            Ok(Client {
                region: config.region().ok_or(AwsError::NoRegion)?.to_string(),
                inner: aws_sdk_cloudformation::Client::new(&config),
                runtime,
            })
        }

        /// A client with an explicit configuration (an endpoint and static credentials, say).
        pub fn from_conf(config: aws_sdk_cloudformation::Config) -> Result<Client, AwsError> {
            let region = config.region().ok_or(AwsError::NoRegion)?.to_string();
            Ok(Client {
                region,
                inner: aws_sdk_cloudformation::Client::from_conf(config),
                runtime: runtime()?,
            })
        }

        /// Every page of `DescribeChangeSet` for `change_set` of `stack`, with property values
        /// (`IncludePropertyValues`), and the changes of its nested change sets (each logical id
        /// prefixed with the nested stack's: `Nested/Resource`).
        pub fn describe_change_set(
            &self,
            stack: &str,
            change_set: &str,
        ) -> Result<ChangeSet, AwsError> {
            let cs = self.describe_pages(Some(stack), change_set)?;
            self.with_nested(cs, 0)
        }

        /// `cs` with the changes of its nested change sets appended (described by ARN, which
        /// names their own stacks), recursively.
        fn with_nested(&self, mut cs: ChangeSet, depth: usize) -> Result<ChangeSet, AwsError> {
            let mut nested = Vec::new();
            for e in &mut cs.changes {
                if let Some(rc) = &mut e.resource_change {
                    if let Some(id) = rc.change_set_id.take() {
                        nested.push((rc.logical_resource_id.clone(), id));
                    }
                }
            }
            for (parent, id) in nested {
                if depth >= 10 {
                    return Err(AwsError::Transport {
                        action: "DescribeChangeSet".into(),
                        message: format!("nested change sets deeper than 10 levels at {parent}"),
                    });
                }
                let inner = self.with_nested(self.describe_pages(None, &id)?, depth + 1)?;
                cs.changes.extend(inner.changes.into_iter().map(|mut e| {
                    if let Some(rc) = &mut e.resource_change {
                        rc.logical_resource_id = format!("{parent}/{}", rc.logical_resource_id);
                    }
                    e
                }));
            }
            Ok(cs)
        }

        fn describe_pages(
            &self,
            stack: Option<&str>,
            change_set: &str,
        ) -> Result<ChangeSet, AwsError> {
            let mut token: Option<String> = None;
            let mut all: Option<ChangeSet> = None;
            for _ in 0..1000 {
                let page = self
                    .runtime
                    .block_on(
                        self.inner
                            .describe_change_set()
                            .set_stack_name(stack.map(str::to_string))
                            .change_set_name(change_set)
                            .include_property_values(true)
                            .set_next_token(token.take())
                            .send(),
                    )
                    .map_err(|e| sdk_error("CloudFormation DescribeChangeSet", e))?;
                token = page
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                let page = from_sdk(page);
                match &mut all {
                    None => all = Some(page),
                    Some(a) => a.changes.extend(page.changes),
                }
                if token.is_none() {
                    break;
                }
            }
            Ok(all.expect("at least one page"))
        }

        /// The deployed (original, before transforms) template of `stack`, as JSON text.
        pub fn get_template(&self, stack: &str) -> Result<String, AwsError> {
            let out = self
                .runtime
                .block_on(
                    self.inner
                        .get_template()
                        .stack_name(stack)
                        .template_stage(TemplateStage::Original)
                        .send(),
                )
                .map_err(|e| sdk_error("CloudFormation GetTemplate", e))?;
            out.template_body.ok_or_else(|| AwsError::Transport {
                action: "CloudFormation GetTemplate".into(),
                message: "the response has no TemplateBody".into(),
            })
        }
    }

    /// The SDK configuration from the standard chain (see the module docs; `region` overrides
    /// it), with a region, and a single-threaded runtime to make its calls on. Every AWS client
    /// of the project (the review's, the release's) starts here.
    pub fn load(
        region: Option<&str>,
    ) -> Result<(aws_config::SdkConfig, tokio::runtime::Runtime), AwsError> {
        let runtime = runtime()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        let config = runtime.block_on(loader.load());
        config.region().ok_or(AwsError::NoRegion)?;
        Ok((config, runtime))
    }

    fn runtime() -> Result<tokio::runtime::Runtime, AwsError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AwsError::Runtime(e.to_string()))
    }

    /// A service's refusal keeps its code; a missing credential says so; anything else (network,
    /// timeout, endpoint) is a transport failure with the whole chain of causes. `action` names
    /// the service and the call (`ECS RunTask`); any SDK client's errors map through here.
    pub fn sdk_error<E, R>(action: &str, e: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        if let SdkError::ServiceError(s) = &e {
            let err = s.err();
            return AwsError::Api {
                action: action.to_string(),
                code: err.code().unwrap_or("Unknown").to_string(),
                message: err.message().unwrap_or_default().to_string(),
            };
        }
        let message = DisplayErrorContext(&e).to_string();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<aws_credential_types::provider::error::CredentialsError>() {
                return AwsError::NoCredentials { detail: message };
            }
            source = s.source();
        }
        AwsError::Transport {
            action: action.to_string(),
            message,
        }
    }

    fn text(s: Option<&str>) -> String {
        s.unwrap_or_default().to_string()
    }

    fn opt(s: Option<&str>) -> Option<String> {
        s.filter(|s| !s.is_empty()).map(str::to_string)
    }

    /// The SDK's `DescribeChangeSet` output in the review's terms (the same fields the JSON of
    /// `aws cloudformation describe-change-set` gives).
    pub(crate) fn from_sdk(
        out: aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput,
    ) -> ChangeSet {
        let changes = out
            .changes()
            .iter()
            .map(|c| ChangeEntry {
                type_: text(c.r#type().map(cfn::ChangeType::as_str)),
                resource_change: c.resource_change().map(|rc| ResourceChange {
                    action: text(rc.action().map(cfn::ChangeAction::as_str)),
                    logical_resource_id: text(rc.logical_resource_id()),
                    physical_resource_id: opt(rc.physical_resource_id()),
                    resource_type: text(rc.resource_type()),
                    replacement: opt(rc.replacement().map(cfn::Replacement::as_str)),
                    policy_action: opt(rc.policy_action().map(cfn::PolicyAction::as_str)),
                    scope: rc.scope().iter().map(|s| s.as_str().to_string()).collect(),
                    change_set_id: opt(rc.change_set_id()),
                    before_context: opt(rc.before_context()),
                    after_context: opt(rc.after_context()),
                    details: rc
                        .details()
                        .iter()
                        .map(|d| Detail {
                            target: d
                                .target()
                                .map(|t| Target {
                                    attribute: text(
                                        t.attribute().map(cfn::ResourceAttribute::as_str),
                                    ),
                                    name: opt(t.name()),
                                    path: opt(t.path()),
                                    requires_recreation: opt(t
                                        .requires_recreation()
                                        .map(cfn::RequiresRecreation::as_str)),
                                })
                                .unwrap_or_default(),
                            evaluation: opt(d.evaluation().map(cfn::EvaluationType::as_str)),
                            change_source: opt(d.change_source().map(cfn::ChangeSource::as_str)),
                            causing_entity: opt(d.causing_entity()),
                        })
                        .collect(),
                }),
            })
            .collect();
        ChangeSet {
            change_set_name: text(out.change_set_name()),
            stack_name: text(out.stack_name()),
            status: text(out.status().map(cfn::ChangeSetStatus::as_str)),
            status_reason: opt(out.status_reason()),
            execution_status: opt(out.execution_status().map(cfn::ExecutionStatus::as_str)),
            changes,
            next_token: None,
            change_set_id: opt(out.change_set_id()),
        }
    }
}

#[cfg(all(test, feature = "aws"))]
mod tests {
    //! The real SDK against a local HTTP server that answers with the CloudFormation API
    //! reference's example responses (XML, as the Query protocol returns them).

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};

    use super::*;
    use crate::changeset::classify;
    use crate::report::Action;

    const PAGE_1: &str = r#"<DescribeChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeChangeSetResult>
    <ChangeSetName>SampleChangeSet-direct</ChangeSetName>
    <StackName>SampleStack</StackName>
    <Status>CREATE_COMPLETE</Status>
    <ExecutionStatus>AVAILABLE</ExecutionStatus>
    <Changes>
      <member>
        <ResourceChange>
          <Action>Modify</Action>
          <LogicalResourceId>MyEC2Instance</LogicalResourceId>
          <PhysicalResourceId>i-1abc23d4</PhysicalResourceId>
          <Replacement>True</Replacement>
          <ResourceType>AWS::EC2::Instance</ResourceType>
          <Scope><member>Properties</member></Scope>
          <Details>
            <member>
              <ChangeSource>DirectModification</ChangeSource>
              <Evaluation>Static</Evaluation>
              <Target>
                <Attribute>Properties</Attribute>
                <Name>ImageId</Name>
                <RequiresRecreation>Always</RequiresRecreation>
              </Target>
            </member>
            <member>
              <ChangeSource>DirectModification</ChangeSource>
              <Evaluation>Static</Evaluation>
              <Target><Attribute>Tags</Attribute><RequiresRecreation>Never</RequiresRecreation></Target>
            </member>
          </Details>
        </ResourceChange>
        <Type>Resource</Type>
      </member>
    </Changes>
    <NextToken>page-2</NextToken>
  </DescribeChangeSetResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</DescribeChangeSetResponse>"#;

    const PAGE_2: &str = r#"<DescribeChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeChangeSetResult>
    <ChangeSetName>SampleChangeSet-direct</ChangeSetName>
    <StackName>SampleStack</StackName>
    <Status>CREATE_COMPLETE</Status>
    <Changes>
      <member>
        <ResourceChange>
          <Action>Remove</Action>
          <LogicalResourceId>Logs</LogicalResourceId>
          <ResourceType>AWS::Logs::LogGroup</ResourceType>
          <PolicyAction>Retain</PolicyAction>
          <Scope/>
          <Details/>
        </ResourceChange>
        <Type>Resource</Type>
      </member>
    </Changes>
  </DescribeChangeSetResult>
  <ResponseMetadata><RequestId>2</RequestId></ResponseMetadata>
</DescribeChangeSetResponse>"#;

    const NOT_FOUND: &str = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ChangeSetNotFound</Code><Message>ChangeSet [x] does not exist</Message></Error><RequestId>3</RequestId></ErrorResponse>"#;

    const TEMPLATE: &str = r#"<GetTemplateResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><GetTemplateResult><TemplateBody>{"Resources":{}}</TemplateBody><StagesAvailable><member>Original</member></StagesAvailable></GetTemplateResult><ResponseMetadata><RequestId>4</RequestId></ResponseMetadata></GetTemplateResponse>"#;

    /// Serves `responses` (status, body) in order, one connection each; returns the endpoint
    /// and a handle yielding the request bodies it received.
    fn serve(
        responses: Vec<(u16, &'static str)>,
    ) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for (status, body) in responses {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut request = vec![0; length];
                reader.read_exact(&mut request).unwrap();
                bodies.push(String::from_utf8(request).unwrap());
                let mut stream = reader.into_inner();
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
            bodies
        });
        (endpoint, handle)
    }

    fn client(endpoint: &str) -> Client {
        let config = aws_sdk_cloudformation::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::for_tests())
            .build();
        Client::from_conf(config).unwrap()
    }

    #[test]
    fn describe_change_set_reads_every_page_through_the_sdk() {
        let (endpoint, server) = serve(vec![(200, PAGE_1), (200, PAGE_2)]);
        let cs = client(&endpoint)
            .describe_change_set("SampleStack", "SampleChangeSet-direct")
            .unwrap();
        let requests = server.join().unwrap();
        assert!(
            requests[0].contains("Action=DescribeChangeSet"),
            "{requests:?}"
        );
        assert!(!requests[0].contains("NextToken"), "{requests:?}");
        assert!(requests[1].contains("NextToken=page-2"), "{requests:?}");
        assert_eq!(cs.change_set_name, "SampleChangeSet-direct");
        assert_eq!(cs.status, "CREATE_COMPLETE");
        assert_eq!(cs.execution_status.as_deref(), Some("AVAILABLE"));
        assert_eq!(cs.next_token, None);
        assert_eq!(cs.changes.len(), 2);
        let rc = cs.changes[0].resource_change.as_ref().unwrap();
        assert_eq!(rc.replacement.as_deref(), Some("True"));
        assert_eq!(rc.scope, ["Properties"]);
        assert_eq!(rc.details[0].target.name.as_deref(), Some("ImageId"));
        assert_eq!(
            rc.details[0].target.requires_recreation.as_deref(),
            Some("Always")
        );
        let changes = classify(&cs, None);
        assert_eq!(changes[0].action, Action::Replace);
        assert_eq!(changes[0].attributes, ["Tags"]);
        assert_eq!(changes[1].action, Action::Delete);
        assert_eq!(changes[1].old_policy.as_deref(), Some("Retain"));
    }

    const PARENT: &str = r#"<DescribeChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeChangeSetResult>
    <ChangeSetName>release</ChangeSetName>
    <StackName>Parent</StackName>
    <Status>CREATE_COMPLETE</Status>
    <IncludeNestedStacks>true</IncludeNestedStacks>
    <Changes>
      <member>
        <ResourceChange>
          <Action>Modify</Action>
          <LogicalResourceId>Nested</LogicalResourceId>
          <ResourceType>AWS::CloudFormation::Stack</ResourceType>
          <Replacement>False</Replacement>
          <ChangeSetId>arn:aws:cloudformation:eu-west-1:111111111111:changeSet/nested-1/abc</ChangeSetId>
        </ResourceChange>
        <Type>Resource</Type>
      </member>
    </Changes>
  </DescribeChangeSetResult>
</DescribeChangeSetResponse>"#;

    const NESTED: &str = r#"<DescribeChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeChangeSetResult>
    <ChangeSetName>nested-1</ChangeSetName>
    <StackName>Parent-Nested-X</StackName>
    <Status>CREATE_COMPLETE</Status>
    <Changes>
      <member>
        <ResourceChange>
          <Action>Modify</Action>
          <LogicalResourceId>Logs</LogicalResourceId>
          <ResourceType>AWS::Logs::LogGroup</ResourceType>
          <Replacement>False</Replacement>
          <BeforeContext>{"Properties":{"RetentionInDays":30}}</BeforeContext>
          <AfterContext>{"Properties":{"RetentionInDays":1}}</AfterContext>
        </ResourceChange>
        <Type>Resource</Type>
      </member>
    </Changes>
  </DescribeChangeSetResult>
</DescribeChangeSetResponse>"#;

    /// Property values are asked for, nested change sets followed (by ARN), and the values judge
    /// the change without any template.
    #[test]
    fn describe_change_set_asks_for_values_and_follows_nested_change_sets() {
        let (endpoint, server) = serve(vec![(200, PARENT), (200, NESTED)]);
        let cs = client(&endpoint)
            .describe_change_set("Parent", "release")
            .unwrap();
        let requests = server.join().unwrap();
        assert!(
            requests[0].contains("IncludePropertyValues=true")
                && requests[0].contains("StackName=Parent"),
            "{requests:?}"
        );
        assert!(
            requests[1].contains("ChangeSetName=arn%3Aaws%3Acloudformation")
                && !requests[1].contains("StackName"),
            "{requests:?}"
        );
        let ids: Vec<&str> = cs
            .changes
            .iter()
            .map(|e| {
                e.resource_change
                    .as_ref()
                    .unwrap()
                    .logical_resource_id
                    .as_str()
            })
            .collect();
        assert_eq!(ids, ["Nested", "Nested/Logs"]);
        let changes = classify(&cs, None);
        let logs = &changes[1];
        assert_eq!(logs.guardrails.len(), 1, "{logs:?}");
        assert!(logs.guardrails[0].message.contains("30 -> 1"), "{logs:?}");
    }

    #[test]
    fn a_refusal_keeps_its_code_and_get_template_returns_the_body() {
        let (endpoint, server) = serve(vec![(400, NOT_FOUND), (200, TEMPLATE)]);
        let c = client(&endpoint);
        let err = c.describe_change_set("S", "x").unwrap_err();
        assert!(
            matches!(&err, AwsError::Api { code, .. } if code == "ChangeSetNotFound"),
            "{err}"
        );
        assert_eq!(c.get_template("S").unwrap(), r#"{"Resources":{}}"#);
        let requests = server.join().unwrap();
        assert!(
            requests[1].contains("TemplateStage=Original"),
            "{requests:?}"
        );
    }

    #[test]
    fn an_unreachable_endpoint_is_a_transport_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = client(&format!("http://127.0.0.1:{port}"))
            .get_template("S")
            .unwrap_err();
        assert!(matches!(err, AwsError::Transport { .. }), "{err}");
    }
}
