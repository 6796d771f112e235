//! Imported years held in memory beside the live register, so that a year's ownership graph
//! (ultimate and beneficial owners, ultimate holdings, the drawn graph, BODS) and its pages of
//! owners and holdings are answered as the live register's are.
//!
//! A year never changes, but it may be imported again, which replaces it: each held year
//! remembers which import it holds (when it was imported and the file's SHA-256), and a read
//! of a year imported since is answered by a new load of it. At most `capacity` years are
//! held, those asked for most recently; a year not held is loaded in the background the first
//! time it is asked for, and read from its read model meanwhile, as the live register is at
//! start. A year's search and organisation records are not held (they are answered by the
//! year's read model, each one indexed read).

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use shareholders_domain::RegisterYear;

use super::held_year::HeldYear;
use crate::{ReadError, ReadStore, YearReadModel};

/// Which import of a year is held.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Import {
    imported_at: SystemTime,
    sha256: String,
}

struct Held {
    year: RegisterYear,
    import: Import,
    store: HeldYear,
}

/// The years held, the most recently asked for last.
pub(super) struct HeldYears {
    snapshots: Arc<dyn YearReadModel>,
    capacity: usize,
    held: Mutex<Vec<Held>>,
}

impl HeldYears {
    pub(super) fn new(snapshots: Arc<dyn YearReadModel>, capacity: usize) -> Self {
        Self {
            snapshots,
            capacity,
            held: Mutex::new(Vec::new()),
        }
    }

    /// `year`'s store held in memory (once loaded), or `None` when the year was not imported.
    /// `read` is the live read model, which lists the imported years and serves each.
    pub(super) async fn year(
        &self,
        read: &dyn ReadStore,
        year: RegisterYear,
    ) -> Result<Option<Arc<dyn ReadStore>>, ReadError> {
        // The import is read before the year's store: an import committed in between is then
        // seen as a new import by the next read, and never held as the older one.
        let import = read
            .years()
            .await?
            .into_iter()
            .find(|record| record.year == year)
            .map(|record| Import {
                imported_at: record.imported_at,
                sha256: record.sha256,
            });
        // A year held as this import is answered with no other read (its store reads the
        // tables of that import).
        if let Some(held) = import
            .as_ref()
            .and_then(|import| self.held_as(year, import))
        {
            return Ok(Some(Arc::new(held)));
        }
        let Some(store) = read.year(year).await? else {
            return Ok(None);
        };
        let Some(import) = import else {
            return Ok(Some(store));
        };
        let Some(snapshot) = self
            .snapshots
            .year_snapshot(year)
            .await
            .map_err(ReadError::Unknown)?
        else {
            return Ok(Some(store));
        };
        let loaded = HeldYear::new(store, year);
        {
            let mut held = self.held.lock().expect("the held years' lock");
            // Another read of the same import may have started its load meanwhile.
            if let Some(store) = take_held(&mut held, year, &import) {
                return Ok(Some(Arc::new(store)));
            }
            held.push(Held {
                year,
                import,
                store: loaded.clone(),
            });
            while held.len() > self.capacity {
                let dropped = held.remove(0);
                dropped.store.forget();
            }
        }
        loaded.load_in_background(snapshot);
        Ok(Some(Arc::new(loaded)))
    }

    /// The held store of this import of `year` (see [`take_held`]).
    fn held_as(&self, year: RegisterYear, import: &Import) -> Option<HeldYear> {
        take_held(
            &mut self.held.lock().expect("the held years' lock"),
            year,
            import,
        )
    }
}

/// The store of this import of `year` among `held`, now the most recently asked for; a held
/// earlier import of it is dropped and forgotten.
fn take_held(held: &mut Vec<Held>, year: RegisterYear, import: &Import) -> Option<HeldYear> {
    let at = held.iter().position(|h| h.year == year)?;
    let found = held.remove(at);
    if found.import != *import {
        found.store.forget();
        return None;
    }
    let store = found.store.clone();
    held.push(found);
    Some(store)
}
