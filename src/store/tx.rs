//! One durable step's changes, gathered before any is applied.
//!
//! A step runs under the store's writer lock: its reads see sled and the step's own changes; its
//! changes go to the journal as one record, and only then into sled (which syncs nothing of its
//! own: see the module's documentation). No sled transaction is used, because each one makes
//! sled write and `sync_file_range` its log.

use std::cell::RefCell;
use std::collections::HashMap;

use super::journal::Change;
use super::{Store, StoreError, storage};
use crate::order::{OrderId, PaymentCode};

/// What a step has written so far, by tree and key (`None`: removed).
type Overlay = HashMap<(&'static str, Vec<u8>), Option<Vec<u8>>>;

pub struct Tx<'s> {
    pub(super) store: &'s Store,
    pub(super) changes: RefCell<Vec<Change>>,
    overlay: RefCell<Overlay>,
    /// Codes to keep, and orders whose code goes, with this step.
    pub(super) keep: RefCell<Vec<(OrderId, PaymentCode)>>,
    pub(super) drop: RefCell<Vec<OrderId>>,
}

/// A tree as seen from inside a step.
pub struct TxTree<'a> {
    tx: &'a Tx<'a>,
    name: &'static str,
    tree: &'a sled::Tree,
}

impl<'s> Tx<'s> {
    pub(super) fn new(store: &'s Store) -> Tx<'s> {
        Tx {
            store,
            changes: RefCell::new(Vec::new()),
            overlay: RefCell::new(HashMap::new()),
            keep: RefCell::new(Vec::new()),
            drop: RefCell::new(Vec::new()),
        }
    }

    pub fn tree(&self, name: &'static str) -> TxTree<'_> {
        TxTree {
            tx: self,
            name,
            tree: self.store.tree(name),
        }
    }

    /// The order's code goes into the journal with this step (unless it is there already).
    pub fn keep_code(&self, id: &OrderId, code: &PaymentCode) {
        let codes = self.store.codes.lock().unwrap_or_else(|e| e.into_inner());
        if !codes.holds(id, code) {
            self.keep.borrow_mut().push((id.clone(), code.clone()));
        }
    }

    /// The order's code is wiped with this step.
    pub fn drop_code(&self, id: &OrderId) {
        self.drop.borrow_mut().push(id.clone());
    }
}

impl TxTree<'_> {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<sled::IVec>, StoreError> {
        let key = key.as_ref();
        if let Some(value) = self.tx.overlay.borrow().get(&(self.name, key.to_vec())) {
            return Ok(value.clone().map(sled::IVec::from));
        }
        self.tree.get(key).map_err(storage("reading in a step"))
    }

    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), StoreError> {
        let (key, value) = (key.as_ref().to_vec(), value.as_ref().to_vec());
        self.tx
            .overlay
            .borrow_mut()
            .insert((self.name, key.clone()), Some(value.clone()));
        self.tx.changes.borrow_mut().push(Change::Put {
            tree: self.name.to_owned(),
            key,
            value,
        });
        Ok(())
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<(), StoreError> {
        let key = key.as_ref().to_vec();
        self.tx
            .overlay
            .borrow_mut()
            .insert((self.name, key.clone()), None);
        self.tx.changes.borrow_mut().push(Change::Remove {
            tree: self.name.to_owned(),
            key,
        });
        Ok(())
    }
}
