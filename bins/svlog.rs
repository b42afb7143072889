fn main() {
    svkit::msg::fatal_plain("svlog", svkit::msg::exit::SYSTEM, "not built yet");
}
