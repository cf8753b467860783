use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = dhikra::cli::Cli::parse();
    dhikra::cli::run(cli)
}
