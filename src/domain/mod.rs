//! Pure rules with no I/O: value types that cannot hold bad values.

pub mod action;
pub mod analysis;
pub mod calendar;
pub mod codes;
pub mod lifecycle;
pub mod national_id;
pub mod org_number;
pub mod period;

pub use codes::{Code, DeviationKind, Direction, EventKind, HarmClass, HarmLevel, OrganisationKind, Role, Status};
pub use org_number::OrgNumber;
