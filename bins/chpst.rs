fn main() {
    svkit::msg::fatal_plain("chpst", svkit::msg::exit::SYSTEM, "not built yet");
}
