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
    /// Import procedures or dossiers from the e-portal's export (CSV or JSON lines; the columns
    /// are in the README). Prints a report naming each bad row; exits 1 if a row failed.
    Import(ImportArgs),
    /// The document storage.
    #[command(subcommand)]
    Storage(StorageCommand),
}

#[derive(Subcommand)]
enum StorageCommand {
    /// Compare the document storage (MOTCUA_STORAGE_URL) with the database: list the objects
    /// without a document row (left by a crash between the write of a file and its row) and the
    /// rows whose file is missing. Exits 1 when a row lacks its file.
    Check {
        /// Remove the objects without a row.
        #[arg(long)]
        remove: bool,
        /// Leave alone objects younger than this (an upload may be in progress).
        #[arg(long, default_value_t = 60)]
        older_than_minutes: u32,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ImportWhat {
    Procedures,
    Dossiers,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FileFormat {
    Csv,
    Jsonl,
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("mode").required(true).args(["atomic", "per_row"]))]
struct ImportArgs {
    what: ImportWhat,
    file: std::path::PathBuf,
    /// Import the whole file or nothing.
    #[arg(long)]
    atomic: bool,
    /// Import every good row on its own, skipping bad ones.
    #[arg(long)]
    per_row: bool,
    /// The file's format; by default from its extension (.csv; .jsonl, .ndjson or .json).
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
    /// Print the full report as JSON on standard output.
    #[arg(long)]
    json: bool,
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
        Command::Import(args) => import(&config, &args),
        Command::Storage(StorageCommand::Check {
            remove,
            older_than_minutes,
        }) => storage_check(&config, remove, older_than_minutes),
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

fn storage_check(config: &Config, remove: bool, older_than_minutes: u32) -> anyhow::Result<()> {
    use motcua::{service::documents, storage::DocumentStorage};
    let mut conn = store::establish(&config.database)?;
    store::run_migrations(&mut conn)?;
    let storage = DocumentStorage::open(&config.storage)?;
    let cutoff = chrono::Utc::now() - chrono::TimeDelta::minutes(i64::from(older_than_minutes));
    actix_web::rt::System::new().block_on(async move {
        let check = documents::check_storage(&mut conn, &storage, cutoff)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "{} object(s) with their row, {} without a row (older than {older_than_minutes} min), \
             {} without a row but recent (left alone), {} row(s) without their object",
            check.kept,
            check.orphans.len(),
            check.recent,
            check.missing.len()
        );
        for orphan in &check.orphans {
            if remove {
                storage.delete(&orphan.key).await?;
                println!("removed {} ({} bytes)", orphan.key, orphan.size);
            } else {
                println!(
                    "orphan {} ({} bytes, written {})",
                    orphan.key, orphan.size, orphan.last_modified
                );
            }
        }
        for key in &check.missing {
            println!("missing {key}");
        }
        if check.missing.is_empty() {
            Ok(())
        } else {
            anyhow::bail!(
                "{} document row(s) have lost their file; restore them from a backup",
                check.missing.len()
            )
        }
    })
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
    motcua::service::accounts::add_user(&mut conn, username, &password, role, unit)
        .map_err(service_error)?;
    println!("added user {username} ({role})");
    Ok(())
}

fn import(config: &Config, args: &ImportArgs) -> anyhow::Result<()> {
    use motcua::service::imports::{self, ImportFormat, ImportKind, ImportMode, RowStatus};
    let format = match args.format {
        Some(FileFormat::Csv) => ImportFormat::Csv,
        Some(FileFormat::Jsonl) => ImportFormat::JsonLines,
        None => match args.file.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => ImportFormat::Csv,
            Some(e)
                if ["jsonl", "ndjson", "json"]
                    .iter()
                    .any(|j| e.eq_ignore_ascii_case(j)) =>
            {
                ImportFormat::JsonLines
            }
            _ => anyhow::bail!(
                "cannot tell the format of {} from its name; pass --format csv or --format jsonl",
                args.file.display()
            ),
        },
    };
    let kind = match args.what {
        ImportWhat::Procedures => ImportKind::Procedures,
        ImportWhat::Dossiers => ImportKind::Dossiers,
    };
    let mode = if args.atomic {
        ImportMode::Atomic
    } else {
        ImportMode::PerRow
    };
    let bytes = std::fs::read(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let records = imports::read_records(kind, format, &bytes).map_err(service_error)?;
    let mut conn = store::establish(&config.database)?;
    store::run_migrations(&mut conn)?;
    // The command acts as an administrator of this installation.
    let who = motcua::auth::policy::Principal {
        subject: "import".to_owned(),
        role: motcua::auth::policy::Role::Admin,
        unit_code: None,
        kind: motcua::auth::policy::PrincipalKind::User,
        scope: motcua::domain::agency::AgencyScope::Everything,
    };
    let audit = motcua::store::audit::AuditContext {
        actor: "import".to_owned(),
        actor_role: motcua::auth::policy::Role::Admin,
        client_id: None,
        reason: Some(format!("motcua import {}", args.file.display())),
        request_id: None,
    };
    let calendars = motcua::store::calendar::CalendarCache::default();
    let bar = indicatif::ProgressBar::new(records.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed_precise}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = imports::run(
        &mut conn,
        &imports::ImportContext {
            calendars: &calendars,
            who: &who,
            audit: &audit,
        },
        kind,
        mode,
        records,
        &mut || bar.inc(1),
    )
    .map_err(service_error)?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for row in report
            .rows
            .iter()
            .filter(|r| r.status != RowStatus::Imported)
        {
            let key = row.key.as_deref().unwrap_or("-");
            let status = serde_json::to_value(row.status)?;
            let status = status.as_str().unwrap_or_default();
            match (&row.result, row.errors.is_empty()) {
                (Some(result), true) => {
                    println!(
                        "row {} (line {}) {key}: {status}: {result}",
                        row.row, row.line
                    )
                }
                _ => println!("row {} (line {}) {key}: {status}", row.row, row.line),
            }
            for e in &row.errors {
                println!("    {}: {}", e.field, e.message);
            }
        }
    }
    eprintln!(
        "{} row(s): {} imported, {} skipped, {} failed{}",
        report.total,
        report.imported,
        report.skipped,
        report.failed,
        if report.committed || report.failed == 0 {
            ""
        } else {
            "; nothing was kept (--atomic)"
        }
    );
    if report.failed > 0 {
        anyhow::bail!("{} row(s) failed", report.failed);
    }
    Ok(())
}

fn service_error(e: motcua::service::ServiceError) -> anyhow::Error {
    match e {
        motcua::service::ServiceError::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}
