//! Test support: a MongoDB-compatible server per test binary, a fresh database per test, and
//! a small in-memory write model that produces consistent events.

#![allow(dead_code)]

#[allow(unused_imports)] // each test binary uses its own part
pub use shareholders_ports::testkit::{State, class, country, name, orgnr, person_ref};

use shareholders_domain::{
    BirthYear, ClassShares, CompanyProfile, CompanyState, Event, OrgNr, Organisation, OwnerKind,
    OwnerProfile, OwnerRef, OwnerState, Person, PersonId, Place, Position, PostalCode, Purchase,
    PurchaseId, RecordedEvent, ShareCount, SharesPurchased,
};
use shareholders_mongo::MongoReadModel;
use shareholders_ports::{
    CompanyRecord, CompanySnapshot, HoldingRecord, HoldingSnapshot, PersonRecord, PersonSnapshot,
    SearchField, Snapshot,
};
use std::collections::BTreeMap;

/// The test server's URI.
pub fn uri() -> &'static str {
    shareholders_mongo::testkit::server_uri()
}

/// A read model in a database of its own, with a handle on that database to corrupt or drop
/// it; call [`drop_database`] at the end.
pub struct TestModel {
    pub model: MongoReadModel,
    pub db: mongodb::Database,
}

impl std::ops::Deref for TestModel {
    type Target = MongoReadModel;

    fn deref(&self) -> &MongoReadModel {
        &self.model
    }
}

pub async fn fresh() -> TestModel {
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let model = MongoReadModel::connect(uri(), &name)
        .await
        .expect("connecting to the test server");
    let db = mongodb::Client::with_uri_str(uri())
        .await
        .expect("connecting to the test server")
        .database(&name);
    TestModel { model, db }
}

pub async fn drop_database(model: &TestModel) {
    model.db.drop().await.expect("dropping the database");
}

pub fn organisation(n: u32, total: Option<u64>, land: &str) -> Organisation {
    Organisation::new(
        orgnr(n),
        name(&format!("SELSKAP {n} AS")),
        Some(PostalCode::parse("0150").expect("valid")),
        Some(Place::parse("OSLO").expect("valid")),
        country(land),
        total.map(|t| ShareCount::new(t).expect("positive")),
    )
}

pub fn person(id: &str, land: &str) -> Person {
    Person::new(
        PersonId::parse(id).expect("valid id"),
        name(&format!("PERSON {id}")),
        BirthYear::new(1970).ok(),
        None,
        Some(Place::parse("BERGEN").expect("valid")),
        country(land),
    )
}

#[derive(Clone)]
struct Owner {
    profile: OwnerProfile,
    version: u64,
    holding_count: u64,
}

#[derive(Clone)]
struct Holding {
    company: CompanyProfile,
    owner: OwnerProfile,
    classes: BTreeMap<String, u64>,
    version: u64,
}

/// An in-memory write model following the shared semantics: company version +1 per purchase,
/// owner version +1 whenever its holding count changes, holdings versioned by the company.
#[derive(Default)]
pub struct WriteModel {
    position: u64,
    purchases: u64,
    organisations: BTreeMap<OrgNr, (Organisation, u64)>,
    persons: BTreeMap<PersonId, Person>,
    owners: BTreeMap<OwnerRef, Owner>,
    /// (company, owner kind, owner id) → holding.
    holdings: BTreeMap<(OrgNr, OwnerKind, String), Holding>,
}

fn class_list(classes: &BTreeMap<String, u64>) -> Vec<ClassShares> {
    classes
        .iter()
        .map(|(name, shares)| ClassShares {
            share_class: class(name),
            shares: *shares,
        })
        .collect()
}

impl WriteModel {
    fn record(&mut self, event: Event) -> RecordedEvent {
        self.position += 1;
        RecordedEvent {
            position: Position::new(self.position),
            event,
            recorded_at: None,
        }
    }

    pub fn register_organisation(&mut self, organisation: Organisation) -> RecordedEvent {
        let orgnr = organisation.orgnr();
        self.owners.insert(
            OwnerRef::Organisation(orgnr),
            Owner {
                profile: OwnerProfile {
                    owner: OwnerRef::Organisation(orgnr),
                    name: organisation.name().clone(),
                    country: organisation.country(),
                    birth_year: None,
                },
                version: 0,
                holding_count: 0,
            },
        );
        self.organisations.insert(orgnr, (organisation.clone(), 0));
        self.record(Event::OrganisationRegistered(organisation))
    }

    pub fn register_person(&mut self, person: Person) -> RecordedEvent {
        let id = person.id().clone();
        self.owners.insert(
            OwnerRef::Person(id.clone()),
            Owner {
                profile: OwnerProfile {
                    owner: OwnerRef::Person(id.clone()),
                    name: person.name().clone(),
                    country: person.country(),
                    birth_year: person.birth_year(),
                },
                version: 0,
                holding_count: 0,
            },
        );
        self.persons.insert(id, person.clone());
        self.record(Event::PersonRegistered(person))
    }

    fn company_state(&self, company: OrgNr) -> CompanyState {
        let mut classes: BTreeMap<String, u64> = BTreeMap::new();
        let mut registered = 0;
        let mut owners = 0;
        let mut foreign = 0;
        for holding in self
            .holdings
            .range((company, OwnerKind::Organisation, String::new())..)
            .take_while(|((c, _, _), _)| *c == company)
            .map(|(_, h)| h)
        {
            owners += 1;
            if holding.owner.country.is_foreign() {
                foreign += 1;
            }
            for (name, shares) in &holding.classes {
                *classes.entry(name.clone()).or_default() += shares;
                registered += shares;
            }
        }
        CompanyState {
            version: self.organisations[&company].1,
            registered_shares: registered,
            owner_count: owners,
            foreign_owner_count: foreign,
            classes: class_list(&classes),
        }
    }

    /// Records a purchase (no declared-total check: tests choose valid purchases).
    pub fn purchase(
        &mut self,
        company: OrgNr,
        owner: &OwnerRef,
        share_class: &str,
        shares: u64,
    ) -> RecordedEvent {
        let (organisation, version) = self.organisations.get_mut(&company).expect("registered");
        *version += 1;
        let version = *version;
        let profile = CompanyProfile {
            orgnr: company,
            name: organisation.name().clone(),
            total_shares: organisation.total_shares(),
        };
        let owner_profile = self.owners[owner].profile.clone();
        let key = (company, owner.kind(), owner.id().to_owned());
        let new = !self.holdings.contains_key(&key);
        let holding = self.holdings.entry(key).or_insert_with(|| Holding {
            company: profile.clone(),
            owner: owner_profile.clone(),
            classes: BTreeMap::new(),
            version,
        });
        *holding.classes.entry(share_class.to_owned()).or_default() += shares;
        holding.version = version;
        let holding = class_list(&holding.classes);
        let state = self.owners.get_mut(owner).expect("registered owner");
        if new {
            state.holding_count += 1;
            state.version += 1;
        }
        let owner_state = OwnerState {
            version: state.version,
            holding_count: state.holding_count,
        };
        self.purchases += 1;
        let event = SharesPurchased {
            purchase_id: PurchaseId::new(self.purchases),
            purchase: Purchase::new(
                company,
                owner.clone(),
                class(share_class),
                ShareCount::new(shares).expect("positive"),
            ),
            company: profile,
            owner: owner_profile,
            holding,
            company_state: self.company_state(company),
            owner_state,
        };
        self.record(Event::SharesPurchased(Box::new(event)))
    }

    pub fn last_position(&self) -> Option<Position> {
        (self.position > 0).then(|| Position::new(self.position))
    }

    /// The state a read model should hold once every event is applied.
    pub fn expected(&self) -> State {
        let companies = self
            .organisations
            .iter()
            .map(|(orgnr, (organisation, version))| {
                let state = self.company_state(*orgnr);
                let owner = &self.owners[&OwnerRef::Organisation(*orgnr)];
                CompanySnapshot {
                    record: CompanyRecord {
                        organisation: organisation.clone(),
                        registered_shares: state.registered_shares,
                        owner_count: state.owner_count,
                        foreign_owner_count: state.foreign_owner_count,
                        holding_count: owner.holding_count,
                        classes: state.classes,
                    },
                    version: *version,
                    owner_version: owner.version,
                    search: Some(SearchField::of(organisation.name().as_str())),
                }
            })
            .collect();
        let persons = self
            .persons
            .iter()
            .map(|(id, person)| {
                let owner = &self.owners[&OwnerRef::Person(id.clone())];
                PersonSnapshot {
                    record: PersonRecord {
                        person: person.clone(),
                        holding_count: owner.holding_count,
                    },
                    owner_version: owner.version,
                    search: Some(SearchField::of(person.name().as_str())),
                }
            })
            .collect();
        let holdings = self
            .holdings
            .iter()
            .map(|((company, _, _), holding)| HoldingSnapshot {
                shares: holding.classes.values().sum(),
                record: HoldingRecord {
                    company: holding.company.clone(),
                    company_registered_shares: self.company_state(*company).registered_shares,
                    owner: holding.owner.clone(),
                    classes: class_list(&holding.classes),
                },
                version: holding.version,
            })
            .collect();
        State {
            companies,
            persons,
            holdings,
            position: self.last_position(),
        }
    }
}

/// The read model's whole state.
pub async fn collect(snapshot: &dyn Snapshot) -> State {
    shareholders_ports::testkit::state(snapshot).await
}

/// Two companies, organisations and persons as owners, several classes, treasury shares and
/// ties in shares.
pub fn scenario() -> (WriteModel, Vec<RecordedEvent>) {
    let mut model = WriteModel::default();
    let mut events = vec![
        model.register_organisation(organisation(1, Some(1000), "NO")),
        model.register_organisation(organisation(2, None, "NO")),
        model.register_organisation(organisation(3, None, "SE")),
        model.register_person(person("alice", "NO")),
        model.register_person(person("bob", "DK")),
        model.register_person(person("carol", "NO")),
    ];
    let (a, b, c) = (orgnr(1), orgnr(2), orgnr(3));
    let org_c = OwnerRef::Organisation(c);
    events.push(model.purchase(a, &person_ref("alice"), "A-aksjer", 300));
    events.push(model.purchase(a, &person_ref("bob"), "A-aksjer", 100));
    events.push(model.purchase(a, &org_c, "B-aksjer", 100));
    events.push(model.purchase(a, &person_ref("bob"), "B-aksjer", 50));
    events.push(model.purchase(a, &OwnerRef::Organisation(a), "A-aksjer", 20));
    events.push(model.purchase(a, &person_ref("carol"), "A-aksjer", 150));
    events.push(model.purchase(b, &person_ref("alice"), "Ordinære aksjer", 10));
    events.push(model.purchase(b, &org_c, "Ordinære aksjer", 30));
    (model, events)
}
