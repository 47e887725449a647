use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = xtask::cli::Cli::parse_process_args();
    match cli.run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
