//! Edge weights and the merging of several references between one pair of atoms.
//!
//! The weight of a kind says how tightly the dependent is bound to its provider, i.e. how likely a
//! change in the provider forces the dependent to be regenerated:
//!
//! | kind       | weight | why |
//! |------------|--------|-----|
//! | `contains` | 1.0    | the dependent lives inside the provider (a method in its class, a continuation block of a split function): it cannot exist without it |
//! | `import`   | 0.9    | the dependent's module does not even load unless the imported name exists under that name |
//! | `control`  | 0.8    | a call needs the callee's signature and behaviour |
//! | `type`     | 0.7    | an annotation or base class needs the type's name and shape, not its code |
//! | `data`     | 0.6    | a constant is read by value; its name rarely changes and its value never breaks the reader's syntax |
//!
//! Several references between the same provider and dependent are merged into one edge that keeps
//! every kind; its weight is the weight of its strongest kind and no reference is dropped.

use std::fmt;

use mge_core::EdgeKind;
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Kinds from strongest to weakest.
const BY_STRENGTH: [EdgeKind; 5] = [
    EdgeKind::Contains,
    EdgeKind::Import,
    EdgeKind::Control,
    EdgeKind::Type,
    EdgeKind::Data,
];

/// The documented weight of one edge kind (see the module documentation).
pub fn edge_weight(kind: EdgeKind) -> f64 {
    match kind {
        EdgeKind::Contains => 1.0,
        EdgeKind::Import => 0.9,
        EdgeKind::Control => 0.8,
        EdgeKind::Type => 0.7,
        EdgeKind::Data => 0.6,
    }
}

fn strength_rank(kind: EdgeKind) -> u8 {
    match kind {
        EdgeKind::Contains => 0,
        EdgeKind::Import => 1,
        EdgeKind::Control => 2,
        EdgeKind::Type => 3,
        EdgeKind::Data => 4,
    }
}

/// A set of edge kinds, iterated strongest first; serialized as a list of kind names.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KindSet(u8);

impl KindSet {
    pub fn new() -> Self {
        KindSet(0)
    }

    pub fn insert(&mut self, kind: EdgeKind) {
        self.0 |= 1 << strength_rank(kind);
    }

    pub fn contains(self, kind: EdgeKind) -> bool {
        self.0 & (1 << strength_rank(kind)) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The kinds of the set, strongest first.
    pub fn iter(self) -> impl Iterator<Item = EdgeKind> {
        BY_STRENGTH.into_iter().filter(move |k| self.contains(*k))
    }

    /// The strongest kind of the set, if any.
    pub fn strongest(self) -> Option<EdgeKind> {
        self.iter().next()
    }
}

impl FromIterator<EdgeKind> for KindSet {
    fn from_iter<I: IntoIterator<Item = EdgeKind>>(iter: I) -> Self {
        let mut set = KindSet::new();
        for kind in iter {
            set.insert(kind);
        }
        set
    }
}

impl fmt::Debug for KindSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for KindSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for kind in self.iter() {
            seq.serialize_element(&kind)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for KindSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KindsVisitor;
        impl<'de> Visitor<'de> for KindsVisitor {
            type Value = KindSet;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of edge kinds")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KindSet, A::Error> {
                let mut set = KindSet::new();
                while let Some(kind) = seq.next_element::<EdgeKind>()? {
                    set.insert(kind);
                }
                if set.is_empty() {
                    return Err(de::Error::invalid_length(0, &self));
                }
                Ok(set)
            }
        }
        deserializer.deserialize_seq(KindsVisitor)
    }
}

/// The merged edge between one provider and one dependent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    /// Every kind of reference between the pair (never empty).
    pub kinds: KindSet,
    /// The distinct names referenced, sorted; empty names (structural `contains`) are left out.
    pub symbols: Vec<String>,
    /// How many input references were merged into this edge.
    pub references: u32,
}

impl Dependency {
    /// The strongest kind, which the exports show as the edge's kind.
    pub fn kind(&self) -> EdgeKind {
        self.kinds.strongest().unwrap_or(EdgeKind::Data)
    }

    /// The weight of the strongest kind.
    pub fn weight(&self) -> f64 {
        edge_weight(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_strength_order() {
        let weights: Vec<f64> = BY_STRENGTH.iter().map(|k| edge_weight(*k)).collect();
        assert_eq!(weights, vec![1.0, 0.9, 0.8, 0.7, 0.6]);
        for kind in EdgeKind::ALL {
            assert!(BY_STRENGTH.contains(kind));
        }
    }

    #[test]
    fn kind_sets_iterate_strongest_first_and_round_trip() {
        let set: KindSet = [EdgeKind::Data, EdgeKind::Import, EdgeKind::Data]
            .into_iter()
            .collect();
        assert_eq!(set.len(), 2);
        assert_eq!(set.strongest(), Some(EdgeKind::Import));
        let text = serde_json::to_string(&set).unwrap();
        assert_eq!(text, r#"["import","data"]"#);
        assert_eq!(serde_json::from_str::<KindSet>(&text).unwrap(), set);
        assert!(serde_json::from_str::<KindSet>("[]").is_err());
    }
}
