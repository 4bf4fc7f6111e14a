//! The coverage audit of a set of scenarios (`faultlab scenarios --coverage`): which options
//! of each service the scenarios set away from their defaults, and which of the rare paths a
//! service declares (its notes) no scenario reaches — what guided exploration cannot reach if
//! no scenario opens the door.

mod keys;

pub use keys::option_keys;
