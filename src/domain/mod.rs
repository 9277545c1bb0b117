//! Pure rules with no I/O: value types that cannot hold bad values.

pub mod codes;
pub mod org_number;

pub use codes::{Code, OrganisationKind, Role};
pub use org_number::OrgNumber;
