//! Durable log format (todo).
