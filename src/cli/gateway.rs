//! `posd gateway call CMD --data JSON`: the operator's check of credentials and reachability.

use super::{ConfigArg, Exit};
use crate::api::{self, Command as ApiCommand};
use crate::gateway::{Client, Outcome};
use serde_json::Value;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Send one command and print the gateway's answer as JSON.
    ///
    /// Exit status: 0 answered, 2 bad configuration or request, 3 not sent (safe to retry),
    /// 4 outcome unknown (the gateway may have acted).
    Call(CallArgs),
}

#[derive(clap::Args)]
pub struct CallArgs {
    /// The command: transaction, querydirect, ewallet, directdeal, shoppingdeal, verification,
    /// forgottp or memberstatus (with or without the `api/` prefix).
    #[arg(value_name = "CMD")]
    command: String,
    /// The `encry_data` body as JSON. `store_uid` is filled in from the configuration when absent.
    #[arg(long, value_name = "JSON")]
    data: String,
    #[command(flatten)]
    config: ConfigArg,
}

pub async fn run(command: Command) -> Exit {
    let Command::Call(args) = command;
    let Some(api_command) = ApiCommand::parse(&args.command) else {
        let known: Vec<_> = ApiCommand::ALL.iter().map(|c| c.cmd()).collect();
        eprintln!(
            "posd: unknown command {:?}; known commands: {}",
            args.command,
            known.join(", ")
        );
        return Exit::Usage;
    };
    let gateway = match args.config.load().and_then(|c| c.gateway.resolve()) {
        Ok(gateway) => gateway,
        Err(e) => {
            eprintln!("posd: {e}");
            return Exit::Usage;
        }
    };
    let mut data: Value = match serde_json::from_str(&args.data) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("posd: --data is not JSON: {e}");
            return Exit::Usage;
        }
    };
    if takes_store_uid(api_command)
        && let Some(object) = data.as_object_mut()
    {
        object
            .entry("store_uid")
            .or_insert_with(|| Value::String(gateway.store_uid.clone()));
    }
    if let Err(e) = api::check_body(api_command, &data) {
        eprintln!("posd: the request is not valid: {e}");
        return Exit::Usage;
    }
    let client = match Client::new(gateway) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("posd: {e}");
            return Exit::Usage;
        }
    };
    match client.call_json(api_command, &data).await {
        Outcome::Answered(answer) => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&answer).expect("JSON values serialise")
            );
            Exit::Ok
        }
        Outcome::NotSent(e) => {
            eprintln!("posd: not sent (safe to retry): {e}");
            Exit::NotSent
        }
        Outcome::Unknown(e) => {
            eprintln!("posd: outcome unknown (the gateway may have acted): {e}");
            Exit::Unknown
        }
    }
}

fn takes_store_uid(command: ApiCommand) -> bool {
    matches!(
        command,
        ApiCommand::Transaction
            | ApiCommand::QueryDirect
            | ApiCommand::DirectDeal
            | ApiCommand::ShoppingDeal
            | ApiCommand::Verification
    )
}
