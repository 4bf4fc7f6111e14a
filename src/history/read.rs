//! Reading and validating JSON Lines histories (owned by the checker work).
