fn main() {
    svkit::msg::fatal_plain("svscan", svkit::msg::exit::SYSTEM, "not built yet");
}
