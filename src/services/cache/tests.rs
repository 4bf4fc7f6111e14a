//! Unit tests of the cache tier's pure parts.
