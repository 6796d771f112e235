//! The JSON of the ownership graph's reads: ultimate and beneficial owners, ultimate
//! holdings, and the graph for drawing.

use serde::Serialize;
use shareholders_domain::{Because, OwnerRef};
use shareholders_ports::{
    BeneficialOwnersView, ChainView, GraphView, UltimateHoldingsView, UltimateOwnerEntry,
    UltimateOwnersView,
};

use super::{CompanyOut, OwnerProfileOut, PageOut};

/// A fraction as a percentage, rounded to 4 decimals like every percentage of the API.
pub(super) fn percent(fraction: f64) -> f64 {
    (fraction * 1_000_000.0).round() / 10_000.0
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ChainLinkOut {
    pub company: String,
    pub owner: OwnerProfileOut,
    pub percentage: f64,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ChainOut {
    pub percentage: f64,
    pub links: Vec<ChainLinkOut>,
}

impl From<&ChainView> for ChainOut {
    fn from(chain: &ChainView) -> Self {
        Self {
            percentage: percent(chain.fraction),
            links: chain
                .links
                .iter()
                .map(|link| ChainLinkOut {
                    company: link.company.to_string(),
                    owner: (&link.owner).into(),
                    percentage: percent(link.fraction),
                })
                .collect(),
        }
    }
}

fn because(because: Option<Because>) -> Vec<&'static str> {
    let Some(because) = because else {
        return Vec::new();
    };
    let mut reasons = Vec::new();
    if because.ownership {
        reasons.push("ownership");
    }
    if because.control {
        reasons.push("control");
    }
    reasons
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct UltimateOwnerOut {
    pub owner: OwnerProfileOut,
    pub effective_percentage: f64,
    pub controlled_percentage: f64,
    pub beneficial_owner: bool,
    pub because: Vec<&'static str>,
    pub chains: Vec<ChainOut>,
}

impl From<&UltimateOwnerEntry> for UltimateOwnerOut {
    fn from(entry: &UltimateOwnerEntry) -> Self {
        Self {
            owner: (&entry.owner).into(),
            effective_percentage: percent(entry.effective),
            controlled_percentage: percent(entry.controlled),
            beneficial_owner: entry.beneficial.is_some(),
            because: because(entry.beneficial),
            chains: entry.chains.iter().map(ChainOut::from).collect(),
        }
    }
}

/// `GET /api/{orgnr}/ultimate-owners`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct UltimateOwnersOut {
    pub orgnr: String,
    pub name: String,
    pub ultimate_owners: Vec<UltimateOwnerOut>,
    /// What no ultimate owner accounts for: unregistered shares along the chains.
    pub unattributed_percentage: f64,
    pub page: PageOut,
}

impl From<&UltimateOwnersView> for UltimateOwnersOut {
    fn from(view: &UltimateOwnersView) -> Self {
        Self {
            orgnr: view.company.organisation.orgnr().to_string(),
            name: view.company.organisation.name().to_string(),
            ultimate_owners: view.owners.iter().map(UltimateOwnerOut::from).collect(),
            unattributed_percentage: percent(view.unattributed),
            page: view.page.into(),
        }
    }
}

/// `GET /api/{orgnr}/beneficial-owners`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct BeneficialOwnersOut {
    pub orgnr: String,
    pub name: String,
    pub beneficial_owners: Vec<UltimateOwnerOut>,
}

impl From<&BeneficialOwnersView> for BeneficialOwnersOut {
    fn from(view: &BeneficialOwnersView) -> Self {
        Self {
            orgnr: view.company.organisation.orgnr().to_string(),
            name: view.company.organisation.name().to_string(),
            beneficial_owners: view.owners.iter().map(UltimateOwnerOut::from).collect(),
        }
    }
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct UltimateHoldingOut {
    pub company: CompanyOut,
    pub effective_percentage: f64,
    pub controlled_percentage: f64,
}

/// `GET /api/{orgnr}/ultimate-holdings` and `GET /api/person/{id}/ultimate-holdings`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct UltimateHoldingsOut {
    pub owner: super::OwnerRefOut,
    pub holdings: Vec<UltimateHoldingOut>,
    pub page: PageOut,
}

impl From<&UltimateHoldingsView> for UltimateHoldingsOut {
    fn from(view: &UltimateHoldingsView) -> Self {
        Self {
            owner: (&view.owner).into(),
            holdings: view
                .holdings
                .iter()
                .map(|holding| UltimateHoldingOut {
                    company: (&holding.company).into(),
                    effective_percentage: percent(holding.effective),
                    controlled_percentage: percent(holding.controlled),
                })
                .collect(),
            page: view.page.into(),
        }
    }
}

/// A node's id in the drawn graph: its kind and its id, as in `organization:988844322`.
fn node_id(party: &OwnerRef) -> String {
    format!("{}:{}", party.kind().as_str(), party.id())
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct GraphNodeOut {
    pub id: String,
    pub kind: &'static str,
    /// The orgnr or the person id.
    pub key: String,
    pub name: String,
    /// Levels from the company: negative above it, positive below.
    pub level: i32,
}

#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct GraphEdgeOut {
    /// The owner's node id.
    pub from: String,
    /// The company's node id.
    pub to: String,
    pub shares: u64,
    pub percentage: f64,
}

/// `GET /api/{orgnr}/graph`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct GraphOut {
    pub nodes: Vec<GraphNodeOut>,
    pub edges: Vec<GraphEdgeOut>,
    pub truncated: bool,
}

impl From<&GraphView> for GraphOut {
    fn from(view: &GraphView) -> Self {
        Self {
            nodes: view
                .nodes
                .iter()
                .map(|node| GraphNodeOut {
                    id: node_id(&node.party),
                    kind: node.party.kind().as_str(),
                    key: node.party.id().to_owned(),
                    name: node.name.to_string(),
                    level: node.level,
                })
                .collect(),
            edges: view
                .edges
                .iter()
                .map(|edge| GraphEdgeOut {
                    from: node_id(&edge.owner),
                    to: node_id(&OwnerRef::Organisation(edge.company)),
                    shares: edge.shares,
                    percentage: edge.percentage.as_f64(),
                })
                .collect(),
            truncated: view.truncated,
        }
    }
}
