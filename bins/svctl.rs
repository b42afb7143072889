fn main() {
    svkit::msg::fatal_plain("svctl", svkit::msg::exit::SYSTEM, "not built yet");
}
