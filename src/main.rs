use clap::Parser;

#[derive(Parser)]
#[command(name = "posd", version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
