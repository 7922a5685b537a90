//! The `dangan` command line: parse arguments, call the library, render the result, exit.
//!
//! Exit codes mean one thing each: 0 ok, 1 the checks ran and found failures, 2 an error stopped the run.

// One exception, measured and explained where it is: `pin_mmap_threshold`.
#![deny(unsafe_code)]

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
    pin_mmap_threshold();
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

/// Fix glibc's mmap threshold at 256 KiB, its initial value, unless the user tuned malloc themselves.
///
/// glibc raises the threshold to the size of every large block freed (up to 32 MiB), after which blocks of
/// a few MB — the JPEG each page decodes from, the decoder's copy of it — come from the threads' arenas
/// instead of their own mappings, and (as far as we can tell: heaptrack shows the heap itself flat) the
/// arenas keep what they once held. Measured on `scripts/bench/pack.sh`'s pages with TIFF
/// masters: 1,000 pages, the resident set crept from 170 to 236 MiB over the run (it would go on growing with
/// the batch), 156.3 s and 284 s of CPU; with the threshold fixed, flat at 167–171 MiB, 141.5 s and 256 s
/// of CPU. (The pages' largest buffers are reused through `dangan::buffers`, so they do not pay for fresh
/// mappings.) Any `GLIBC_TUNABLES` at all leaves malloc as configured, even one about something else. The
/// one `unsafe` of the program: the library forbids it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn pin_mmap_threshold() {
    let tuned = ["MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !tuned {
        // SAFETY: mallopt only sets an allocator parameter; it is called first thing in main, before
        // this program starts any thread, and its result (0 when refused) changes nothing we rely on.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin_mmap_threshold() {}
