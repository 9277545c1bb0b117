-- Covering index for "open at the end of a period": the backlog and overdue counts read only it.
CREATE INDEX deviations_open_at ON deviations (submitted_at, answered_at, closed_at, answer_due);
