//! The two deploys of a release, through the real CDK CLI.

use std::path::PathBuf;
use std::process::Command;

use crate::{Phase, ReleaseError};

/// Runs `<command> deploy STACK --exclusively --require-approval never -c k=v ... <extra>`
/// in `dir`, its output going to the release's own (the person sees the CLI's progress).
/// `--exclusively`: a release changes the services stack only, never the data stack.
#[derive(Clone, Debug)]
pub struct CdkCli {
    /// The CLI and its leading arguments. Default: `npx cdk` (the project's pinned CLI).
    pub command: Vec<String>,
    /// Where to run (the project directory, with cdk.json). Default: the current directory.
    pub dir: PathBuf,
    /// Appended to every deploy, e.g. `--method=direct`, `--role-arn ...`. Default: none.
    pub extra_args: Vec<String>,
}

impl Default for CdkCli {
    fn default() -> CdkCli {
        CdkCli {
            command: vec!["npx".into(), "cdk".into()],
            dir: PathBuf::from("."),
            extra_args: Vec::new(),
        }
    }
}

impl CdkCli {
    /// The argument list of a deploy (without [`CdkCli::command`]).
    pub fn deploy_args(&self, stack: &str, context: &[(String, String)]) -> Vec<String> {
        let mut args: Vec<String> = ["deploy", stack, "--exclusively", "--require-approval"]
            .map(String::from)
            .to_vec();
        args.push("never".into());
        for (key, value) in context {
            args.push("-c".into());
            args.push(format!("{key}={value}"));
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// Runs the deploy; a CLI that cannot start or exits non-zero is [`ReleaseError::Deploy`].
    pub fn deploy(
        &self,
        stack: &str,
        phase: Phase,
        context: &[(String, String)],
    ) -> Result<(), ReleaseError> {
        let hint = match phase {
            Phase::Migration => {
                " (nothing ran; the services are untouched. CloudFormation rolled the stack back \
                 unless the CLI says otherwise)"
            }
            Phase::Services => {
                " (the migration has run: the schema is new and the services run the previous \
                 image; fix the deploy and release the same tag again, its migration is a no-op)"
            }
        };
        let fail = |detail: String| ReleaseError::Deploy {
            phase,
            stack: stack.to_string(),
            detail,
            hint,
        };
        let (program, leading) = self
            .command
            .split_first()
            .ok_or_else(|| fail("no CDK CLI command".into()))?;
        let status = Command::new(program)
            .args(leading)
            .args(self.deploy_args(stack, context))
            .current_dir(&self.dir)
            .status()
            .map_err(|e| fail(format!("cannot start `{}`: {e}", self.command.join(" "))))?;
        if status.success() {
            Ok(())
        } else {
            Err(fail(format!(
                "`{} deploy` exited with {status} (its output is above)",
                self.command.join(" ")
            )))
        }
    }
}
