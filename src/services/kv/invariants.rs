//! The KV store's history check: the shared `linearizable` invariant under the `kv` model.

use crate::check::ModelKind;
use crate::history::History;
use crate::invariants::Outcome;
use crate::invariants::linearizable::{Linearizable, model_verdict};

/// The `linearizable` invariant under the `kv` model.
pub fn linearizable() -> Linearizable {
    Linearizable {
        model: ModelKind::Kv,
    }
}

/// The `kv` model's verdict on a history, as an invariant outcome.
pub fn history_verdict(history: &History) -> Outcome {
    model_verdict(history, ModelKind::Kv)
}
