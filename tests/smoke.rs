mod common;

#[test]
fn every_binary_is_built() {
    for name in ["svscan", "supervise", "svctl", "svlog", "chpst"] {
        assert!(common::bin(name).exists(), "{name} missing");
    }
}
