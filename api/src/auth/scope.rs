//! Scopes a token carries: `area:access`, parsed once from text and never compared as strings.
//!
//! Invariant: `write` grants `read` of the same area and `admin` grants both, so a caseworker
//! system that moves referrals does not need to list `referrals:read` separately.

use std::{collections::BTreeSet, fmt, str::FromStr};

use entity::enums::OrganisationKind;

use crate::error::ApiError;

/// A part of the API that a scope opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    Projects,
    Mothers,
    Courses,
    Participants,
    Visits,
    Referrals,
    Stats,
    Audit,
    Tokens,
    /// The service directory: reading needs no scope (reference data), `directory:write`
    /// changes the own organisation's entries (the secretariat's: everyone's).
    Directory,
    /// The evaluation surveys (issue 17): `surveys:read` questionnaires and rounds,
    /// `surveys:write` rounds and responses in the projects the organisation operates,
    /// `surveys:admin` writing questionnaires (the secretariat's).
    Surveys,
}

/// How much of an area: `read` < `write` < `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Read,
    Write,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub area: Area,
    pub access: Access,
}

impl Area {
    pub const ALL: [Area; 11] = [
        Area::Projects,
        Area::Mothers,
        Area::Courses,
        Area::Participants,
        Area::Visits,
        Area::Referrals,
        Area::Stats,
        Area::Audit,
        Area::Tokens,
        Area::Directory,
        Area::Surveys,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Area::Projects => "projects",
            Area::Mothers => "mothers",
            Area::Courses => "courses",
            Area::Participants => "participants",
            Area::Visits => "visits",
            Area::Referrals => "referrals",
            Area::Stats => "stats",
            Area::Audit => "audit",
            Area::Tokens => "tokens",
            Area::Directory => "directory",
            Area::Surveys => "surveys",
        }
    }
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "admin",
        }
    }
}

impl Scope {
    pub const fn read(area: Area) -> Self {
        Self {
            area,
            access: Access::Read,
        }
    }

    pub const fn write(area: Area) -> Self {
        Self {
            area,
            access: Access::Write,
        }
    }

    /// Whether holding `self` is enough for an operation that needs `needed`.
    pub fn grants(self, needed: Scope) -> bool {
        self.area == needed.area && self.access >= needed.access
    }
}

impl Scope {
    /// Whether an organisation of `kind` can ever use this scope, and if not, why. The
    /// server's rules decide (rule 4 in `access`): API clients and tokens, the audit trail,
    /// and creating or changing projects belong to the national secretariat alone, so a
    /// municipality's or an NGO's token with these scopes would be refused every time.
    /// Everything else is the organisation's own rows (row scope) and usable by every kind.
    pub fn usable_by(self, kind: OrganisationKind) -> Result<(), &'static str> {
        if kind == OrganisationKind::Secretariat {
            return Ok(());
        }
        match (self.area, self.access) {
            (Area::Tokens, _) => {
                Err("only the national secretariat manages API clients and tokens")
            }
            (Area::Audit, _) => Err("only the national secretariat reads the audit trail"),
            (Area::Projects, Access::Write | Access::Admin) => {
                Err("only the national secretariat creates and changes projects")
            }
            (Area::Surveys, Access::Admin) => {
                Err("only the national secretariat writes the questionnaires")
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.area.as_str(), self.access.as_str())
    }
}

impl FromStr for Scope {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ApiError::validation(
                "scopes",
                format!(
                    "unknown scope {s:?}; scopes look like \"referrals:read\" (areas: {}; access: read, write, admin)",
                    Area::ALL.map(Area::as_str).join(", ")
                ),
            )
        };
        let (area, access) = s.split_once(':').ok_or_else(bad)?;
        let area = Area::ALL
            .into_iter()
            .find(|a| a.as_str() == area)
            .ok_or_else(bad)?;
        let access = [Access::Read, Access::Write, Access::Admin]
            .into_iter()
            .find(|a| a.as_str() == access)
            .ok_or_else(bad)?;
        Ok(Scope { area, access })
    }
}

/// The scopes of one token or client, kept sorted so their text form is canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// Parses a space-separated list (the OAuth `scope` form). Empty input is an empty set.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        text.split_whitespace()
            .map(Scope::from_str)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Self)
    }

    /// Every scope of every area at `admin`: what the secretariat's bootstrap token holds.
    pub fn everything() -> Self {
        Self(
            Area::ALL
                .into_iter()
                .map(|area| Scope {
                    area,
                    access: Access::Admin,
                })
                .collect(),
        )
    }

    pub fn grants(&self, needed: Scope) -> bool {
        self.0.iter().any(|held| held.grants(needed))
    }

    /// True when every scope of `other` is granted by `self`: a token never exceeds its client.
    pub fn covers(&self, other: &ScopeSet) -> bool {
        other.0.iter().all(|s| self.grants(*s))
    }

    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.union(&other.0).copied().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first scope an organisation of `kind` can never use ([`Scope::usable_by`]), with
    /// the reason, as one line.
    pub fn check_usable_by(&self, kind: OrganisationKind) -> Result<(), String> {
        for scope in &self.0 {
            scope.usable_by(kind).map_err(|reason| {
                let kind = match kind {
                    OrganisationKind::Secretariat => "the secretariat",
                    OrganisationKind::Municipality => "a municipality",
                    OrganisationKind::Ngo => "an NGO",
                };
                format!("scope {scope} is of no use to {kind}: {reason}")
            })?;
        }
        Ok(())
    }

    /// The highest access held in `area`, if any.
    fn highest(&self, area: Area) -> Option<Access> {
        self.0
            .iter()
            .filter(|scope| scope.area == area)
            .map(|scope| scope.access)
            .max()
    }

    /// What both sets grant: per area the lower of the two accesses (`referrals:write` and
    /// `referrals:read` meet at `referrals:read`). An external token's mapped scopes meet its
    /// organisation's ceiling this way, so it never holds more than either allows.
    pub fn meet(&self, other: &ScopeSet) -> ScopeSet {
        Self(
            Area::ALL
                .into_iter()
                .filter_map(|area| {
                    let access = self.highest(area)?.min(other.highest(area)?);
                    Some(Scope { area, access })
                })
                .collect(),
        )
    }

    /// The scopes an organisation of `kind` can ever use ([`Scope::usable_by`], the one rule),
    /// each at the highest access it may use (`projects:admin` for an NGO is `projects:read`):
    /// any other kind holding the rest gains nothing but risk.
    pub fn usable_by(&self, kind: OrganisationKind) -> ScopeSet {
        let highest_usable = |scope: &Scope| {
            [Access::Admin, Access::Write, Access::Read]
                .into_iter()
                .filter(|access| *access <= scope.access)
                .map(|access| Scope {
                    area: scope.area,
                    access,
                })
                .find(|lower| lower.usable_by(kind).is_ok())
        };
        Self(self.0.iter().filter_map(highest_usable).collect())
    }

    /// The scopes of `self` that `usable_by(kind)` leaves out.
    pub fn unusable_by(&self, kind: OrganisationKind) -> ScopeSet {
        let usable = self.usable_by(kind);
        Self(self.0.difference(&usable.0).copied().collect())
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(Scope::to_string).collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What each held access grants, for every needed access (the whole table).
    #[test]
    fn access_grant_table() {
        use Access::*;
        let table = [
            (Read, Read, true),
            (Read, Write, false),
            (Read, Admin, false),
            (Write, Read, true),
            (Write, Write, true),
            (Write, Admin, false),
            (Admin, Read, true),
            (Admin, Write, true),
            (Admin, Admin, true),
        ];
        for (held, needed, expected) in table {
            let held = Scope {
                area: Area::Referrals,
                access: held,
            };
            let needed = Scope {
                area: Area::Referrals,
                access: needed,
            };
            assert_eq!(held.grants(needed), expected, "{held} for {needed}");
        }
    }

    #[test]
    fn a_scope_never_grants_another_area() {
        for held in Area::ALL {
            for needed in Area::ALL {
                let granted = Scope {
                    area: held,
                    access: Access::Admin,
                }
                .grants(Scope::read(needed));
                assert_eq!(granted, held == needed);
            }
        }
    }

    #[test]
    fn parses_and_prints_canonically() {
        let set = ScopeSet::parse("stats:read  referrals:write").unwrap();
        assert_eq!(set.to_string(), "referrals:write stats:read");
        assert!(set.grants(Scope::read(Area::Referrals)));
        assert!(!set.grants(Scope::read(Area::Participants)));
    }

    #[test]
    fn rejects_unknown_scopes_with_the_field_name() {
        for bad in ["referrals", "referral:read", "referrals:delete", ":read"] {
            let err = ScopeSet::parse(bad).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
        }
    }

    /// Organisation kind × area × access: what `bydel token issue` refuses to mint.
    #[test]
    fn which_kinds_may_hold_which_scopes() {
        use OrganisationKind::*;
        let secretariat_only = |area: Area, access: Access| match area {
            Area::Tokens | Area::Audit => true,
            Area::Projects => access != Access::Read,
            Area::Surveys => access == Access::Admin,
            _ => false,
        };
        for kind in [Secretariat, Municipality, Ngo] {
            for area in Area::ALL {
                for access in [Access::Read, Access::Write, Access::Admin] {
                    let usable = Scope { area, access }.usable_by(kind).is_ok();
                    let expected = kind == Secretariat || !secretariat_only(area, access);
                    assert_eq!(usable, expected, "{kind:?} {area:?}:{access:?}");
                }
            }
        }
        let set = ScopeSet::parse("referrals:write tokens:admin").unwrap();
        let reason = set.check_usable_by(Municipality).unwrap_err();
        assert!(
            reason.contains("tokens:admin") && !reason.contains('\n'),
            "{reason}"
        );
        assert!(set.check_usable_by(Secretariat).is_ok());
    }

    #[test]
    fn meet_takes_the_lower_access_per_area() {
        let token = ScopeSet::parse("referrals:write stats:read projects:read").unwrap();
        let ceiling = ScopeSet::parse("referrals:read stats:admin mothers:read").unwrap();
        assert_eq!(
            token.meet(&ceiling).to_string(),
            "referrals:read stats:read"
        );
        assert!(token.meet(&ScopeSet::default()).is_empty());
    }

    #[test]
    fn only_the_secretariat_uses_tokens_and_audit() {
        let wide = ScopeSet::parse("tokens:admin audit:read referrals:read").unwrap();
        for kind in [OrganisationKind::Municipality, OrganisationKind::Ngo] {
            assert_eq!(wide.usable_by(kind).to_string(), "referrals:read");
            assert_eq!(
                wide.unusable_by(kind).to_string(),
                "audit:read tokens:admin"
            );
        }
        assert_eq!(wide.usable_by(OrganisationKind::Secretariat), wide);
    }

    #[test]
    fn covers_is_subset_under_grants() {
        let client = ScopeSet::parse("referrals:write stats:read").unwrap();
        assert!(client.covers(&ScopeSet::parse("referrals:read").unwrap()));
        assert!(!client.covers(&ScopeSet::parse("stats:write").unwrap()));
        assert!(ScopeSet::everything().covers(&client));
    }
}
