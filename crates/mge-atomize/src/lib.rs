//! mge-atomize
