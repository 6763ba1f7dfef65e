//! mge-graph
