//! The tracker construct library (see issue 3).
