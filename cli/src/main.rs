//! `trailhound`: the detection pipeline on local log files — simulate an account's
//! CloudTrail, train a model, scan logs, evaluate detection quality, or run it all
//! as a demo.

mod commands;
mod files;
mod hygiene;
mod local;
mod output;
mod profiles;
mod s3;

use clap::{Parser, Subcommand};
use trailhound_core::Severity;

/// Threat detection for AWS logs: the same pipeline as the Lambdas, on local files.
#[derive(Debug, Parser)]
#[command(name = "trailhound", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a simulated account's CloudTrail (as laid out in S3) with attacks and labels.csv.
    Simulate(commands::simulate::Args),
    /// Learn a model from CloudTrail files.
    Train(commands::train::Args),
    /// Score CloudTrail files and print findings.
    Scan(commands::scan::Args),
    /// Measure detection quality against labels.
    Eval(commands::eval::Args),
    /// Simulate, train, scan and evaluate in a temporary directory.
    Demo(commands::demo::Args),
    /// Inspect a model file.
    Model(commands::model::Args),
    /// List the detection rules and run their test events.
    Rules(commands::rules::Args),
}

/// Options shared by commands that read logs.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadOpts {
    /// Refuse objects that decompress to more than this many bytes.
    #[arg(long, default_value_t = trailhound_core::decode::DEFAULT_MAX_DECOMPRESSED_BYTES, value_name = "BYTES")]
    pub max_decompressed_bytes: u64,
}

/// Parses a severity name for clap.
pub fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse::<Severity>().map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(a) => commands::simulate::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Scan(a) => commands::scan::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Model(a) => commands::model::run(a),
        Command::Rules(a) => commands::rules::run(a),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`trailhound … | head`): nothing left to say. Commands
        // that keep stores (`scan`) stop printing and finish them before this.
        Err(e) if closed_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!("error: {}", trailhound_core::text::terminal_safe(&msg));
            std::process::ExitCode::from(2)
        }
    }
}

/// Whether an error comes from writing to a closed pipe.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(output::is_closed_pipe)
    })
}
