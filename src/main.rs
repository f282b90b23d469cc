use std::process::ExitCode;

use clap::{Parser, Subcommand};
use motcua::{config::Config, openapi, startup::Application, store, telemetry};

/// motcua: one-stop-shop (một cửa) dossier tracking service.
///
/// Configuration comes from environment variables (see README): DATABASE_URL (unset: the SQLite
/// file ./data/motcua.db), MOTCUA_BIND (default 127.0.0.1:8080), MOTCUA_LOG, MOTCUA_LOG_FORMAT, …
#[derive(Parser)]
#[command(name = "motcua", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the OpenAPI document (the content of openapi/openapi.json).
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", openapi::document_json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("motcua: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log_filter, config.log_format);
    let result = match command {
        Command::Serve => serve(config),
        Command::Migrate => migrate(&config),
        Command::Openapi => unreachable!("handled above"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("motcua: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let mut conn = store::establish(&config.database)?;
    let applied = store::run_migrations(&mut conn)?;
    println!(
        "applied {} migration(s) on {}",
        applied.len(),
        config.database.backend_name()
    );
    Ok(())
}
