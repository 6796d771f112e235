use async_trait::async_trait;
use shareholders_domain::{
    OrgNr, Organisation, OwnerRef, Person, Position, Purchase, PurchaseId, PurchaseRefused,
};

/// A client's key for a retried write (the `Idempotency-Key` header): 1 to 255 visible ASCII
/// characters.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key has 1 to 255 visible ASCII characters")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    /// # Errors
    /// [`IdempotencyKeyError`] for an empty, too long or non-printable key.
    pub fn parse(input: &str) -> Result<Self, IdempotencyKeyError> {
        let ok = (1..=255).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(input.to_owned()))
            .ok_or(IdempotencyKeyError)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An idempotent write: the key, and a fingerprint of the request it was first used with,
/// so that the same key with another request is refused rather than silently replayed.
///
/// **Replay.** A store keeps, with the key, the position of the event the first request
/// recorded. A replay answers from that event (its outbox row), decoded: the same value and
/// the same position as the first answer, whatever happened to the register since. It never
/// reloads the current state.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub fingerprint: String,
}

/// What a command recorded: its result and the position of its event. `replayed` is true when
/// an idempotency key had already been used for the same request, and nothing new happened.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Recorded<T> {
    pub value: T,
    pub position: Position,
    pub replayed: bool,
}

/// A recorded purchase.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PurchaseReceipt {
    pub id: PurchaseId,
    pub purchase: Purchase,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("organisation {0} is already registered")]
    OrganisationExists(OrgNr),
    #[error("person {0} is already registered")]
    PersonExists(String),
    #[error("the idempotency key was already used for another request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum PurchaseError {
    #[error("company {0} is not registered")]
    UnknownCompany(OrgNr),
    #[error("owner {0} is not registered")]
    UnknownOwner(OwnerRef),
    #[error(transparent)]
    Refused(#[from] PurchaseRefused),
    #[error("the idempotency key was already used for another request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// The write model. Each command is checked against the current state and recorded together
/// with its event in one atomic step: either both are stored or neither is. The store owns its
/// transactions; callers never see one.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WriteStore: Send + Sync + 'static {
    /// Records an organisation and its `OrganisationRegistered` event.
    ///
    /// # Errors
    /// - [`RegisterError::OrganisationExists`] when the orgnr is taken (a unique constraint).
    /// - [`RegisterError::IdempotencyKeyReused`] when the key was used for another request.
    /// - [`RegisterError::Unknown`] when the store fails; nothing is recorded.
    async fn register_organisation(
        &self,
        organisation: &Organisation,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Organisation>, RegisterError>;

    /// Records a person and its `PersonRegistered` event.
    ///
    /// # Errors
    /// - [`RegisterError::PersonExists`] when the id is taken.
    /// - [`RegisterError::IdempotencyKeyReused`] when the key was used for another request.
    /// - [`RegisterError::Unknown`] when the store fails; nothing is recorded.
    async fn register_person(
        &self,
        person: &Person,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<Person>, RegisterError>;

    /// Records a purchase: adds the shares to the owner's holding, updates the company's and
    /// the owner's state, and records a `SharesPurchased` event carrying that state. The
    /// company's row is locked while the rule [`shareholders_domain::check_purchase`] is applied,
    /// so concurrent purchases never exceed a declared total together.
    ///
    /// # Errors
    /// - [`PurchaseError::UnknownCompany`] / [`PurchaseError::UnknownOwner`].
    /// - [`PurchaseError::Refused`] when the domain rule refuses it.
    /// - [`PurchaseError::IdempotencyKeyReused`] when the key was used for another request.
    /// - [`PurchaseError::Unknown`] when the store fails; nothing is recorded.
    async fn purchase(
        &self,
        purchase: &Purchase,
        idempotency: Option<Idempotency>,
    ) -> Result<Recorded<PurchaseReceipt>, PurchaseError>;

    /// The largest position the store has given an event (committed or not), or `None` before
    /// the first. A client can hold no larger position, so a read that asks to wait for one is
    /// told at once that it does not exist.
    ///
    /// # Errors
    /// When the store fails.
    async fn last_position(&self) -> anyhow::Result<Option<Position>>;
}
