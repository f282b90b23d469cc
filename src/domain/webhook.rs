//! Webhook deliveries: where one event's delivery to one subscription stands.

use serde::{Deserialize, Serialize};

/// A delivery's state: it waits for its next attempt until the receiver accepts it or every
/// allowed attempt has failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or for an earlier event of the same dossier).
    Pending,
    Delivered,
    /// Every allowed attempt failed; redelivered only by hand.
    Failed,
}

wire_names!(DeliveryStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
});
