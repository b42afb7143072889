fn main() {
    svkit::msg::fatal_plain("supervise", svkit::msg::exit::SYSTEM, "not built yet");
}
