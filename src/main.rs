use clap::Parser;

fn main() -> std::process::ExitCode {
    dhikra::logging::init();
    let cli = dhikra::cli::Cli::parse();
    dhikra::cli::run(cli)
}
