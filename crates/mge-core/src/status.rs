use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} '{}'", stringify!($name), other
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// Lifecycle of an MVP task (and of a subtask).
    TaskStatus {
        Pending => "pending",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Blocked => "blocked",
    }
);

string_enum!(
    /// Lifecycle of a V2 atomic unit.
    AtomStatus {
        Pending => "pending",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Blocked => "blocked",
    }
);

string_enum!(
    /// The four hierarchical validation levels, cheapest first.
    ValidationLevel {
        Atomic => "atomic",
        Module => "module",
        Component => "component",
        System => "system",
    }
);

string_enum!(
    /// State of an entry of the human review queue.
    ReviewStatus {
        Pending => "pending",
        InReview => "in_review",
        Approved => "approved",
        Rejected => "rejected",
        Regenerated => "regenerated",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text() {
        for s in TaskStatus::ALL {
            assert_eq!(s.as_str().parse::<TaskStatus>().as_ref(), Ok(s));
        }
        for s in ReviewStatus::ALL {
            assert_eq!(s.as_str().parse::<ReviewStatus>().as_ref(), Ok(s));
        }
        assert_eq!(ValidationLevel::Component.to_string(), "component");
        assert!("done".parse::<AtomStatus>().is_err());
    }
}

string_enum!(
    /// Why one unit must be generated before another. An edge runs from the provider to the
    /// dependent.
    EdgeKind {
        Import => "import",
        Data => "data",
        Type => "type",
        Control => "control",
        Contains => "contains",
    }
);
