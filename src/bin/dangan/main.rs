//! The `dangan` command line: parse arguments, call the library, render the result, exit.
//!
//! Exit codes mean one thing each: 0 ok, 1 the checks ran and found failures, 2 an error stopped the run.

mod args;
mod catalog_cmd;
mod fixity_cmd;
mod inspect_cmd;
mod intake_cmd;
mod normalize_cmd;
mod output;
mod pack_cmd;
mod qc_cmd;
mod s3_cmd;
mod validate_cmd;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// What a command concluded, mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything checked is fine.
    Ok,
    /// The checks ran and found failures.
    Failed,
}

fn run(cli: Cli) -> anyhow::Result<Status> {
    match cli.command {
        Command::Catalog(cmd) => catalog_cmd::run(&cli.global, cmd),
        Command::Danghao(cmd) => catalog_cmd::run_danghao(&cli.global, cmd),
        Command::Intake(cmd) => intake_cmd::run(&cli.global, cmd),
        Command::Pack(cmd) => pack_cmd::run(&cli.global, cmd),
        Command::Inspect(cmd) => inspect_cmd::run(&cli.global, cmd),
        Command::Qc(cmd) => qc_cmd::run(&cli.global, cmd),
        Command::Bag(cmd) => fixity_cmd::run_bag(&cli.global, cmd),
        Command::Verify(cmd) => fixity_cmd::run_verify(&cli.global, cmd),
        Command::Ledger(cmd) => fixity_cmd::run_ledger(&cli.global, cmd),
        Command::Hash(cmd) => fixity_cmd::run_hash(&cli.global, cmd),
        Command::Normalize(cmd) => normalize_cmd::run(&cli.global, cmd),
        Command::Validate(cmd) => validate_cmd::run(&cli.global, cmd),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Status::Ok) => ExitCode::SUCCESS,
        Ok(Status::Failed) => ExitCode::from(1),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dangan: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
