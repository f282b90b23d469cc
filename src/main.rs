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
    /// Manage local user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Load the demo agency (DEMO DATA: its units, 57 procedures and 418 dossiers simulated over
    /// January–October 2018 with a fixed seed) into the database, then print the report computed
    /// from the stored dossiers. Already loaded: only prints the report.
    Demo,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from MOTCUA_NEW_USER_PASSWORD or standard input.
    Add {
        username: String,
        /// admin, reception, specialist, leader or auditor.
        #[arg(long)]
        role: String,
        /// The unit, required for specialist and leader.
        #[arg(long)]
        unit: Option<String>,
    },
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
        Command::User(UserCommand::Add {
            username,
            role,
            unit,
        }) => add_user(&config, &username, &role, unit.as_deref()),
        Command::Demo => demo(&config),
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

fn demo(config: &Config) -> anyhow::Result<()> {
    use motcua::{demo, service::stats::GroupBy, store::calendar::CalendarCache};
    let mut conn = store::establish(&config.database)?;
    store::run_migrations(&mut conn)?;
    let calendars = CalendarCache::default();
    if demo::already_loaded(&mut conn)? {
        eprintln!("the demo data is in the database already; printing its report");
    } else {
        eprintln!(
            "loading the demo agency into {} (DEMO DATA, seed {:#x})",
            config.database.backend_name(),
            demo::SEED
        );
        demo::load(&mut conn, &calendars, true)?;
    }
    println!(
        "{}",
        demo::render(&demo::report(&mut conn, &calendars, GroupBy::Unit)?)
    );
    Ok(())
}

fn add_user(config: &Config, username: &str, role: &str, unit: Option<&str>) -> anyhow::Result<()> {
    let role: motcua::auth::policy::Role = role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = match std::env::var("MOTCUA_NEW_USER_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("password for {username} (one line on standard input):");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let mut conn = store::establish(&config.database)?;
    store::run_migrations(&mut conn)?;
    motcua::service::accounts::add_user(&mut conn, username, &password, role, unit).map_err(
        |e| match e {
            motcua::service::ServiceError::Invalid(errors) => anyhow::anyhow!(
                "{}",
                errors
                    .iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            other => anyhow::anyhow!("{other}"),
        },
    )?;
    println!("added user {username} ({role})");
    Ok(())
}
