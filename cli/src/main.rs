fn main() {
    std::process::exit(atlas_ports_cli::run(std::env::args_os().collect()));
}
