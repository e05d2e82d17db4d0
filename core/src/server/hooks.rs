//! Connection hooks: the equivalents of 4D's On Server Open Connection / On Server Close
//! Connection database methods, as programs named in the server's configuration.
//!
//! A hook receives one JSON object on standard input:
//!
//! ```json
//! {"event": "open", "session": { ...Session.info... }, "answer": null, "state": null}
//! ```
//!
//! The open hook decides:
//! - exit 0, no output: accept;
//! - exit 0 with `{"storage": {...}}`: accept and fill the session storage;
//! - exit 0 with `{"challenge": "Enter the code sent to your phone", "state": {...}}`: ask the user;
//!   the hook runs again with `"answer"` set to what the user typed and `"state"` as it returned it;
//! - any other exit status: refuse; its output (stdout, else stderr) is the message the user sees.
//!
//! A hook that runs longer than the time limit is killed and the connection refused.

use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::protocol::SessionInfo;

/// What the open hook decided.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenOutcome {
    /// Accept; maybe with initial storage.
    Accept {
        /// Storage to merge into the session's.
        storage: Option<Value>,
    },
    /// Refuse with this message.
    Refuse {
        /// What the user sees.
        message: String,
    },
    /// Ask the user first.
    Challenge {
        /// The question.
        prompt: String,
        /// Opaque state passed back to the hook with the answer.
        state: Value,
    },
}

#[derive(Serialize)]
struct HookInput<'a> {
    event: &'a str,
    session: &'a SessionInfo,
    answer: Option<&'a str>,
    state: Option<&'a Value>,
}

#[derive(Deserialize, Default)]
struct HookOutput {
    storage: Option<Value>,
    challenge: Option<String>,
    state: Option<Value>,
}

/// Largest hook output read.
const MAX_OUTPUT: u64 = 256 * 1024;

/// The configured hooks.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    /// Open-connection program and arguments.
    pub open: Option<Vec<String>>,
    /// Close-connection program and arguments.
    pub close: Option<Vec<String>>,
    /// Time limit.
    pub timeout: Duration,
}

struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Hooks {
    /// Runs the open hook (accepts when there is none).
    pub async fn open(
        &self,
        session: &SessionInfo,
        answer: Option<&str>,
        state: Option<&Value>,
    ) -> OpenOutcome {
        let Some(cmd) = &self.open else {
            return OpenOutcome::Accept { storage: None };
        };
        let input = HookInput {
            event: "open",
            session,
            answer,
            state,
        };
        let ran = match self.run(cmd, &input).await {
            Ok(r) => r,
            Err(err) => {
                tracing::error!(%err, "open-connection hook failed");
                return OpenOutcome::Refuse {
                    message: err.to_string(),
                };
            }
        };
        if ran.status != Some(0) {
            let text = if ran.stdout.trim().is_empty() {
                ran.stderr.trim()
            } else {
                ran.stdout.trim()
            };
            let message = if text.is_empty() {
                "The server refused the connection.".to_owned()
            } else {
                text.chars().take(1000).collect()
            };
            tracing::info!(user = %session.user_name, ip = %session.ip_address, %message, "connection refused by the open hook");
            return OpenOutcome::Refuse { message };
        }
        let out: HookOutput = if ran.stdout.trim().is_empty() {
            HookOutput::default()
        } else {
            match serde_json::from_str(ran.stdout.trim()) {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!(%e, "the open hook's output is not JSON; accepting without storage");
                    HookOutput::default()
                }
            }
        };
        match out.challenge {
            Some(prompt) if answer.is_none() => OpenOutcome::Challenge {
                prompt,
                state: out.state.unwrap_or(Value::Null),
            },
            Some(_) => OpenOutcome::Refuse {
                message: "The server asked again instead of accepting the answer.".into(),
            },
            None => OpenOutcome::Accept {
                storage: out.storage,
            },
        }
    }

    /// Runs the close hook, if any; its output is ignored.
    pub async fn close(&self, session: &SessionInfo) {
        let Some(cmd) = &self.close else { return };
        let input = HookInput {
            event: "close",
            session,
            answer: None,
            state: None,
        };
        if let Err(e) = self.run(cmd, &input).await {
            tracing::warn!(%e, "close-connection hook failed");
        }
    }

    async fn run(&self, cmd: &[String], input: &HookInput<'_>) -> Result<Ran, HookError> {
        let (program, args) = cmd.split_first().ok_or(HookError::Empty)?;
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| HookError::Start {
                program: program.clone(),
                source,
            })?;
        let json = serde_json::to_vec(input).unwrap_or_default();
        let mut stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let limit = self.timeout.max(Duration::from_millis(100));
        let work = async {
            if let Some(mut s) = stdin.take() {
                let _ = s.write_all(&json).await;
                drop(s);
            }
            let mut out = String::new();
            let mut err = String::new();
            if let Some(s) = stdout.take() {
                let _ = s.take(MAX_OUTPUT).read_to_string(&mut out).await;
            }
            if let Some(s) = stderr.take() {
                let _ = s.take(MAX_OUTPUT).read_to_string(&mut err).await;
            }
            let status = child.wait().await.map_err(HookError::Wait)?;
            Ok::<_, HookError>(Ran {
                status: status.code(),
                stdout: out,
                stderr: err,
            })
        };
        match tokio::time::timeout(limit, work).await {
            Ok(r) => r,
            Err(_) => Err(HookError::TimedOut {
                seconds: limit.as_secs(),
            }),
        }
    }
}

/// Why a connection hook did not give an answer (the connection is then refused, with this
/// message).
#[derive(Debug, thiserror::Error)]
enum HookError {
    /// The configured command is empty.
    #[error("the hook command is empty")]
    Empty,
    /// The program could not be started.
    #[error("the server's connection hook {program} could not start: {source}")]
    Start {
        /// The program.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Its end could not be waited for.
    #[error("the server's connection hook could not be waited for: {0}")]
    Wait(#[source] std::io::Error),
    /// It did not answer in time (it was killed).
    #[error("the server's connection hook did not answer within {seconds} s; try again later")]
    TimedOut {
        /// The limit.
        seconds: u64,
    },
}
