//! Tiltak (#35): the life of an action an analysis (or the improvement group) decides on.

use serde::{Deserialize, Serialize};

use super::codes::{code_enum, Code};

code_enum!(
    /// planned → in_progress → done; planned or in progress → dropped (with a reason).
    ActionStatus {
        Planned = "planned",
        InProgress = "in_progress",
        Done = "done",
        Dropped = "dropped",
    }
);

impl ActionStatus {
    pub fn moves(self) -> &'static [ActionStatus] {
        use ActionStatus::*;
        match self {
            Planned => &[InProgress, Dropped],
            InProgress => &[Done, Dropped],
            Done | Dropped => &[],
        }
    }

    pub fn may_move_to(self, to: ActionStatus) -> bool {
        self.moves().contains(&to)
    }

    /// A dropped action is a record. A done one stays editable: its effect date may be corrected.
    pub fn editable(self) -> bool {
        self != ActionStatus::Dropped
    }

    /// Still to be done: what reminders and the overdue list are about.
    pub fn open(self) -> bool {
        matches!(self, ActionStatus::Planned | ActionStatus::InProgress)
    }

    pub fn label(self) -> &'static str {
        match self {
            ActionStatus::Planned => "Planlagt",
            ActionStatus::InProgress => "Pågår",
            ActionStatus::Done => "Gjennomført",
            ActionStatus::Dropped => "Droppet",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_ends_done_or_dropped_and_only_a_dropped_one_is_closed_to_edits() {
        use ActionStatus::*;
        for (s, code) in ActionStatus::ALL {
            assert!(!s.label().is_empty(), "{code}");
            assert_eq!(s.moves().is_empty(), !s.open(), "{code}: the open ones move on");
            assert!(!s.moves().contains(s), "{code}");
        }
        assert!(Planned.may_move_to(Dropped) && InProgress.may_move_to(Done) && !Planned.may_move_to(Done));
        assert!(Done.editable() && !Dropped.editable());
    }
}
