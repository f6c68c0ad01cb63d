//! The `perch` command: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use perch::config::LogFormat;
use perch::{cli, config, logging};

#[derive(Parser)]
#[command(
    name = "perch",
    version,
    about = "Answer customers on X from Slack or Discord threads"
)]
struct Cli {
    /// Log format; overrides service.log_format.
    #[arg(long, global = true, value_enum)]
    log_format: Option<Format>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the config and check that every secret it names is set.
    Check {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
        /// Also ask X, Slack and Discord whether the credentials work and
        /// what they allow (posts nothing).
        #[arg(long)]
        online: bool,
    },
    /// Run the service until Ctrl-C or SIGTERM.
    Run {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
    },
    /// Ask the running perch for its health (exit 0 when healthy); for
    /// container health checks.
    Health {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
    },
    /// Sign in a brand account, once, for perch to act as it.
    Auth {
        #[command(subcommand)]
        platform: AuthPlatform,
    },
    /// Write the whole store as JSON lines to stdout (backup, migration).
    Export {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
    },
    /// Read every stored value back, history included (perch run checks
    /// only what it works on); exit 1 naming a damaged one.
    Verify {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
    },
    /// Forget what the store no longer needs (expired inbound ids, replies
    /// sent longer ago than service.keep_sent_replies); perch run does
    /// this hourly by itself.
    Compact {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
    },
    /// Manage what X delivers to perch.
    X {
        #[command(subcommand)]
        action: XAction,
    },
    /// The figures a lead asks for (answered, within 30/60 min, first
    /// response, targets, agents, accounts, backlog), from the store, or
    /// from the running perch through its HTTP port.
    Report {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
        /// `24h`, `7d`, `30d`, or a date: `2026-11-01`.
        #[arg(long, default_value = "7d")]
        since: String,
        /// md, csv or html (a page with charts, readable offline).
        #[arg(long, default_value = "md")]
        format: String,
        /// Where to write it (standard output when not given).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Read a dump from stdin into an empty store.
    Import {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
    },
    /// Run the fake X, Slack and Discord with perch on 127.0.0.1, play a
    /// short scene, and keep running for your own tweets and replies.
    Sandbox {
        #[arg(long, default_value = "bot-config/sandbox.toml")]
        config: PathBuf,
        /// Skip the scripted scene.
        #[arg(long)]
        no_scene: bool,
        /// Do not open the sandbox's page in the default browser.
        #[arg(long)]
        no_open: bool,
    },
}

#[derive(Subcommand)]
enum XAction {
    /// Register the account's webhook with X and make its X Activity API
    /// subscriptions (mentions, DMs received and sent) what the config
    /// asks, removing those perch made that it no longer asks for. Run it
    /// while perch runs: X checks the webhook with a CRC request first.
    Subscribe {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
        /// The account's `key` in the config.
        #[arg(long)]
        account: String,
    },
}

#[derive(Subcommand)]
enum AuthPlatform {
    /// OAuth 2.0 with PKCE for an X account with `kind = "oauth2"`: prints
    /// X's consent page, waits on the callback, stores the refresh token.
    /// Stop `perch run` first (the store is locked while it runs).
    X {
        #[arg(long, env = "PERCH_CONFIG")]
        config: PathBuf,
        /// The account's `key` in the config.
        #[arg(long)]
        account: String,
        /// The callback registered in the X app (served here, on loopback).
        #[arg(long, default_value = perch::twitter::authorize::DEFAULT_CALLBACK)]
        redirect: String,
    },
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let format = |from_config: Option<LogFormat>| match args.log_format {
        Some(Format::Json) => LogFormat::Json,
        Some(Format::Text) => LogFormat::Text,
        None => from_config.unwrap_or(LogFormat::Text),
    };
    let result = match args.command {
        Command::Check { config, online } => {
            logging::init(format(None));
            let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
            let offline = cli::check(
                &config,
                &config::secrets::from_process_env,
                &mut out,
                &mut err,
            )
            .unwrap_or(ExitCode::FAILURE);
            if !online || offline != ExitCode::SUCCESS {
                return offline;
            }
            let asked = cli::load(&config).and_then(|config| {
                let runtime = tokio::runtime::Runtime::new()?;
                Ok(runtime.block_on(cli::check_online(
                    &config,
                    &config::secrets::from_process_env,
                    &mut out,
                ))?)
            });
            return match asked {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("perch: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Run { config } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(cli::run(config))
        }),
        Command::Sandbox {
            config,
            no_scene,
            no_open,
        } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let runtime = tokio::runtime::Runtime::new()?;
            let options = perch::sandbox::run::Options {
                scene: !no_scene,
                open: !no_open,
            };
            runtime.block_on(perch::sandbox::run::run(
                config,
                options,
                perch::service::shutdown_signal(),
            ))
        }),
        Command::Health { config } => {
            let healthy = cli::load(&config).and_then(|config| {
                let runtime = tokio::runtime::Runtime::new()?;
                runtime.block_on(cli::health(&config, &mut std::io::stdout()))
            });
            return match healthy {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("perch: {e:#}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::X {
            action: XAction::Subscribe { config, account },
        } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(cli::x_subscribe(
                &config,
                &account,
                &config::secrets::from_process_env,
                &mut std::io::stdout(),
            ))
        }),
        Command::Auth {
            platform:
                AuthPlatform::X {
                    config,
                    account,
                    redirect,
                },
        } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(cli::auth_x(
                &config,
                &account,
                &redirect,
                &mut std::io::stdout(),
            ))
        }),
        Command::Verify { config } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let n = cli::verify(&config)?;
            eprintln!("every value reads as it should ({n} values)");
            Ok(())
        }),
        Command::Compact { config } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let done = cli::compact(&config)?;
            eprintln!(
                "forgot {} expired inbound ids and {} replies sent more than {} ago",
                done.seen,
                done.replies,
                humantime::format_duration(config.service.keep_sent_replies)
            );
            Ok(())
        }),
        Command::Export { config } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let bar = cli::progress(None, "exporting");
            let mut out = std::io::BufWriter::new(bar.wrap_write(std::io::stdout().lock()));
            let n = cli::export(&config, &mut out)?;
            bar.finish_and_clear();
            eprintln!("exported {n} values");
            Ok(())
        }),
        Command::Report {
            config,
            since,
            format: kind,
            out,
        } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let runtime = tokio::runtime::Runtime::new()?;
            let text = runtime.block_on(cli::report(&config, &since, &kind))?;
            match out {
                Some(path) => std::fs::write(&path, text).map_err(|e| {
                    anyhow::anyhow!("cannot write the report to {}: {e}", path.display())
                }),
                None => Ok(std::io::Write::write_all(
                    &mut std::io::stdout(),
                    text.as_bytes(),
                )?),
            }
        }),
        Command::Import { config } => cli::load(&config).and_then(|config| {
            logging::init(format(Some(config.service.log_format)));
            let stdin = std::io::stdin();
            let bar = cli::progress(cli::size_of(&stdin), "importing");
            let mut input = std::io::BufReader::new(bar.wrap_read(stdin.lock()));
            let summary = cli::import(&config, &mut input)?;
            bar.finish_and_clear();
            let trees: Vec<String> = summary
                .per_tree
                .iter()
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            eprintln!("imported {} values ({})", summary.total(), trees.join(", "));
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perch: {e:#}");
            ExitCode::FAILURE
        }
    }
}
