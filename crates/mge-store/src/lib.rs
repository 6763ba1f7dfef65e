//! mge-store
