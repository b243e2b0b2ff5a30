//! Nothing to see: this crate only widens the dependency graph of the release build to the test
//! build's (see its Cargo.toml), so that both compile every registry crate once.
