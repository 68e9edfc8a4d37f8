//! The `xvlab` command: parse the arguments, run, exit with a documented
//! code (see exit.rs).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = xvlab::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xvlab: failed to start the async runtime: {e}");
            return ExitCode::from(xvlab::shared::exit::FAILURE);
        }
    };
    match runtime.block_on(xvlab::cli::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("xvlab: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
