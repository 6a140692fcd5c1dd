//! `drover run SCRIPT.lua [ARGS...]`.

use std::path::PathBuf;

use std::io::IsTerminal;

use clap::Args;

use crate::runtime::{LoadError, Runtime, RuntimeOptions};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The Lua script to run.
    script: PathBuf,
    /// Arguments for the script (its `...` and `arg[1..]`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn run(args: RunArgs) -> i32 {
    if std::io::stdin().is_terminal() {
        crate::ssh::set_passphrase_prompt(std::sync::Arc::new(|path: &str| {
            rpassword::prompt_password(format!("Enter passphrase for {path}: ")).ok()
        }));
    }
    let runtime = match Runtime::new(RuntimeOptions {
        handle_ctrl_c: true,
    }) {
        Ok(rt) => rt,
        Err(e) => return load_failed(&e),
    };
    let report = match runtime.run_script(&args.script, &args.args) {
        Ok(report) => report,
        Err(e) => return load_failed(&e),
    };
    for failure in &report.failures {
        if failure.task_id == 1 {
            eprintln!("error: {}", failure.report);
        } else {
            eprintln!(
                "error in task {} (never joined): {}",
                failure.task_id, failure.report
            );
        }
    }
    if report.interrupted {
        eprintln!("drover: interrupted");
    }
    report.exit_code()
}

fn load_failed(e: &LoadError) -> i32 {
    eprintln!("drover: {e}");
    super::EXIT_USAGE
}
