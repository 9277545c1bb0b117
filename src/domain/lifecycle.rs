//! Which action moves a deviation from which status to which (who may take it is `policy`'s).

use serde::{Deserialize, Serialize};

use super::codes::{code_enum, Code, Status};

code_enum!(Action {
    Acknowledge = "acknowledge",
    Forward = "forward",
    Reject = "reject",
    Answer = "answer",
    Close = "close",
    Reopen = "reopen",
    Comment = "comment",
});

/// Days after the answer within which the reporter may reopen.
pub const REOPEN_WINDOW_DAYS: i64 = 30;

/// The status after `action`, or `None` when the action is not possible in `status`.
pub fn next_status(status: Status, action: Action) -> Option<Status> {
    use Action as A;
    use Status as S;
    match (action, status) {
        (A::Acknowledge, S::Submitted) => Some(S::InProgress),
        (A::Forward, S::Submitted | S::InProgress) => Some(S::Submitted),
        (A::Reject, S::Submitted | S::InProgress) => Some(S::Rejected),
        (A::Answer, S::Submitted | S::InProgress) => Some(S::Answered),
        (A::Close, S::Answered) => Some(S::Closed),
        (A::Reopen, S::Answered | S::Closed) => Some(S::InProgress),
        (A::Comment, s) => Some(s),
        _ => None,
    }
}

/// Why an action is impossible in a status, in words for the user.
pub fn refusal(action: Action, status: Status) -> String {
    let what = match action {
        Action::Acknowledge => "bekreftes mottatt",
        Action::Forward => "videresendes",
        Action::Reject => "avvises",
        Action::Answer => "besvares",
        Action::Close => "lukkes",
        Action::Reopen => "gjenåpnes",
        Action::Comment => "kommenteres",
    };
    format!("Avviket kan ikke {what} når status er «{}».", status_label(status))
}

pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Submitted => "sendt",
        Status::InProgress => "under behandling",
        Status::Answered => "besvart",
        Status::Closed => "lukket",
        Status::Rejected => "avvist",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path() {
        let s = next_status(Status::Submitted, Action::Acknowledge).unwrap();
        let s = next_status(s, Action::Answer).unwrap();
        let s = next_status(s, Action::Close).unwrap();
        assert_eq!(s, Status::Closed);
    }

    #[test]
    fn illegal_transitions() {
        assert_eq!(next_status(Status::Closed, Action::Answer), None);
        assert_eq!(next_status(Status::Rejected, Action::Reopen), None);
        assert_eq!(next_status(Status::InProgress, Action::Acknowledge), None);
        assert_eq!(next_status(Status::Submitted, Action::Close), None);
        assert_eq!(next_status(Status::Answered, Action::Forward), None);
    }

    #[test]
    fn reopen_and_forward() {
        assert_eq!(next_status(Status::Answered, Action::Reopen), Some(Status::InProgress));
        assert_eq!(next_status(Status::Closed, Action::Reopen), Some(Status::InProgress));
        assert_eq!(next_status(Status::InProgress, Action::Forward), Some(Status::Submitted));
    }

    #[test]
    fn refusal_names_the_status() {
        assert_eq!(refusal(Action::Answer, Status::Closed), "Avviket kan ikke besvares når status er «lukket».");
    }
}
