//! Agencies (cơ quan) and the scope they give a principal.
//!
//! A province-wide deployment hosts many agencies: the province's own (the provincial public-service
//! centre), its departments (sở) and its communes (xã). They form a tree by `parent_code`. A
//! principal's scope is the agency of their unit and every agency below it: a user of the province
//! sees the whole province, a user of a department sees that department, and siblings never see
//! each other. An account with no unit (or a machine client with no agency) works for the whole
//! deployment, as before agencies existed.

use std::collections::{BTreeSet, HashMap};

/// Whether `code` may be an agency code: the prefix of dossier codes (Circular 01/2018's unit
/// identifier such as `000.00.10.H22`), so upper-case letters, digits and dots only.
pub fn is_valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 20
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.')
}

/// What [`is_valid_code`] expects, for error messages.
pub const CODE_RULE: &str = "1–20 upper-case letters, digits or dots (it prefixes dossier codes)";

/// The agencies of the deployment as a tree: each agency's parent, by code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyTree {
    parent_of: HashMap<String, Option<String>>,
}

impl AgencyTree {
    pub fn new(edges: impl IntoIterator<Item = (String, Option<String>)>) -> Self {
        Self {
            parent_of: edges.into_iter().collect(),
        }
    }

    pub fn contains(&self, code: &str) -> bool {
        self.parent_of.contains_key(code)
    }

    /// `code` and every agency below it (empty when `code` is unknown). A cycle, which the service
    /// never writes, cannot make this loop: each agency is visited once.
    pub fn subtree(&self, code: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        if !self.contains(code) {
            return found;
        }
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for (child, parent) in &self.parent_of {
            if let Some(parent) = parent {
                children.entry(parent.as_str()).or_default().push(child);
            }
        }
        let mut stack = vec![code];
        while let Some(next) = stack.pop() {
            if found.insert(next.to_owned()) {
                stack.extend(children.get(next).into_iter().flatten().copied());
            }
        }
        found
    }

    /// Whether giving `code` the parent `parent` would make an agency its own ancestor.
    pub fn would_cycle(&self, code: &str, parent: &str) -> bool {
        self.subtree(code).contains(parent)
    }
}

/// The agencies a principal works for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgencyScope {
    /// The whole deployment: an account with no unit, a machine client with no agency.
    Everything,
    /// `home` (the agency of the principal's unit) and the agencies below it, `home` included.
    Within {
        home: String,
        agencies: BTreeSet<String>,
    },
    /// No agency at all: the scope before the account was checked, or of a unit that no longer
    /// exists. Every read is empty and every write refused (fail closed).
    Nothing,
}

impl AgencyScope {
    /// The scope of a principal whose home agency is `home`, in `tree`.
    pub fn below(tree: &AgencyTree, home: &str) -> Self {
        let agencies = tree.subtree(home);
        if agencies.is_empty() {
            return AgencyScope::Nothing;
        }
        AgencyScope::Within {
            home: home.to_owned(),
            agencies,
        }
    }

    pub fn contains(&self, agency: &str) -> bool {
        match self {
            AgencyScope::Everything => true,
            AgencyScope::Within { agencies, .. } => agencies.contains(agency),
            AgencyScope::Nothing => false,
        }
    }

    /// Whether any of `agencies` (those a dossier is shared with) lies in the scope.
    pub fn reaches_any<'a>(&self, agencies: impl IntoIterator<Item = &'a String>) -> bool {
        match self {
            AgencyScope::Everything => true,
            _ => agencies.into_iter().any(|a| self.contains(a)),
        }
    }

    /// The agency codes a query must be restricted to; `None` means no restriction.
    pub fn codes(&self) -> Option<Vec<String>> {
        match self {
            AgencyScope::Everything => None,
            AgencyScope::Within { agencies, .. } => Some(agencies.iter().cloned().collect()),
            AgencyScope::Nothing => Some(Vec::new()),
        }
    }

    /// The principal's own agency, if the scope has one.
    pub fn home(&self) -> Option<&str> {
        match self {
            AgencyScope::Within { home, .. } => Some(home),
            _ => None,
        }
    }

    pub fn is_everything(&self) -> bool {
        matches!(self, AgencyScope::Everything)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn province() -> AgencyTree {
        AgencyTree::new([
            ("H22".to_owned(), None),
            ("000.00.10.H22".to_owned(), Some("H22".to_owned())),
            ("000.00.11.H22".to_owned(), Some("H22".to_owned())),
            ("000.01.10.H22".to_owned(), Some("000.00.10.H22".to_owned())),
            ("OTHER".to_owned(), None),
        ])
    }

    fn set(codes: &[&str]) -> BTreeSet<String> {
        codes.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn a_subtree_holds_the_agency_and_everything_below_it() {
        let tree = province();
        assert_eq!(
            tree.subtree("H22"),
            set(&["H22", "000.00.10.H22", "000.00.11.H22", "000.01.10.H22"])
        );
        assert_eq!(
            tree.subtree("000.00.10.H22"),
            set(&["000.00.10.H22", "000.01.10.H22"])
        );
        assert_eq!(tree.subtree("000.00.11.H22"), set(&["000.00.11.H22"]));
        assert!(tree.subtree("NOPE").is_empty());
    }

    #[test]
    fn siblings_do_not_reach_each_other_and_the_province_reaches_both() {
        let tree = province();
        let department = AgencyScope::below(&tree, "000.00.10.H22");
        let sibling = AgencyScope::below(&tree, "000.00.11.H22");
        let province = AgencyScope::below(&tree, "H22");
        assert!(!department.contains("000.00.11.H22"));
        assert!(!sibling.contains("000.00.10.H22"));
        assert!(province.contains("000.00.10.H22") && province.contains("000.00.11.H22"));
        assert!(!province.contains("OTHER"));
        assert_eq!(department.home(), Some("000.00.10.H22"));
        let shared = ["000.00.11.H22".to_owned(), "000.01.10.H22".to_owned()];
        assert!(department.reaches_any(&shared));
        assert!(!sibling.reaches_any(&shared[1..]));
    }

    #[test]
    fn everything_and_nothing_restrict_queries_as_named() {
        assert_eq!(AgencyScope::Everything.codes(), None);
        assert_eq!(AgencyScope::Nothing.codes(), Some(Vec::new()));
        assert!(!AgencyScope::Nothing.reaches_any(&["H22".to_owned()]));
        assert!(AgencyScope::Everything.reaches_any(&[]));
        assert_eq!(
            AgencyScope::below(&province(), "NOPE"),
            AgencyScope::Nothing
        );
    }

    #[test]
    fn a_parent_below_the_agency_would_make_a_cycle() {
        let tree = province();
        assert!(tree.would_cycle("000.00.10.H22", "000.01.10.H22"));
        assert!(tree.would_cycle("H22", "H22"));
        assert!(!tree.would_cycle("000.00.11.H22", "000.00.10.H22"));
    }

    #[test]
    fn codes_are_dossier_code_prefixes() {
        assert!(is_valid_code("000.00.10.H22"));
        for bad in ["", "h22", "A-B", "000 00", &"9".repeat(21)] {
            assert!(!is_valid_code(bad), "{bad}");
        }
    }
}
