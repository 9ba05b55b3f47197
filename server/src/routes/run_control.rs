//! `POST /api/{backtests|sweeps}/{id}/{pause|resume|cancel}`: the one way a client's
//! command reaches a run, wherever in the cluster it runs.

use protocol::Topic;

use super::ApiError;
use crate::hub::Command;
use crate::refusal::RequestError;
use crate::routes::state::AppState;

/// The command `action` names.
pub fn command_of(action: &str) -> Result<Command, ApiError> {
    match action {
        "pause" => Ok(Command::Pause),
        "resume" => Ok(Command::Resume),
        "cancel" => Ok(Command::Cancel),
        other => Err(ApiError::not_found(format!(
            "no action `{other}`: use pause, resume or cancel"
        ))),
    }
}

/// Hands `command` to the run on `topic` (the caller's right to it already checked):
/// 409 once the run is over.
pub async fn send(state: &AppState, topic: &Topic, command: Command) -> Result<(), ApiError> {
    let over = || RequestError::Finished {
        kind: topic.kind().prefix(),
        id: topic.name().to_owned(),
    };
    // The topic says first: a client that has seen the run's end gets 409 even while
    // the finished run's control channel is still being taken down.
    let status = state.hub.snapshot(topic).await?.data.run_status();
    if status.is_some_and(|status| status.is_over()) {
        return Err(over().into());
    }
    state
        .hub
        .command(topic, command)
        .await
        .map_err(|_| over())?;
    Ok(())
}
