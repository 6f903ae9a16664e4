//! `gen-workload WORKLOAD [--hours N] [--db NAME] [--seed N] [--start DATE] [--out FILE]`
//!
//! Writes the same bytes as `gen_workload.py` with the same arguments.

use nanotdb_workload::{Options, Workload, generate, parse_start};
use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;

const USAGE: &str = "\
usage: gen-workload {edge,fleet,sparse,history} [--hours N] [--db NAME] [--seed N]
                    [--start YYYY-MM-DD|UNIX_SECONDS] [--out FILE]

Deterministic line-protocol workloads (`DB/metric VALUE TIMESTAMP_NS`, sorted
by timestamp), byte-identical to gen_workload.py.

  --hours N     hours of data (default 24)
  --db NAME     database name (default: the workload's name)
  --seed N      random seed (default 1)
  --start T     UTC start, YYYY-MM-DD or unix seconds (default 2026-01-01)
  --out FILE    output file, - for stdout (default -)";

struct Args {
    opts: Options,
    out: String,
}

fn parse_int(flag: &str, v: &str) -> Result<i64, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("argument {flag}: invalid int value: {v:?}"))
}

fn parse_args(argv: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let mut workload = None;
    let (mut hours, mut seed, mut db, mut start, mut out) = (24, 1, None, None, "-".to_owned());
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        if !arg.starts_with("--") || arg == "-" {
            if workload.is_some() {
                return Err(format!("unrecognized argument: {arg}"));
            }
            workload = Some(arg.parse::<Workload>().map_err(|e| e.to_string())?);
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let value = match inline.or_else(|| it.next()) {
            Some(v) => v,
            None => return Err(format!("argument {flag}: expected one argument")),
        };
        match flag.as_str() {
            "--hours" => hours = parse_int(&flag, &value)?,
            "--seed" => seed = parse_int(&flag, &value)?,
            "--db" => db = Some(value),
            "--start" => start = Some(value),
            "--out" => out = value,
            _ => return Err(format!("unrecognized argument: {flag}")),
        }
    }
    let workload = workload.ok_or("the following arguments are required: workload")?;
    let start_ns = match start {
        Some(s) => parse_start(&s).map_err(|e| e.to_string())?,
        None => nanotdb_workload::DEFAULT_START_NS,
    };
    let opts = Options {
        workload,
        hours,
        db,
        seed,
        start_ns,
    };
    Ok(Some(Args { opts, out }))
}

fn run(args: &Args) -> io::Result<u64> {
    if args.out == "-" {
        let stdout = io::stdout();
        let mut lock = stdout.lock();
        generate(&args.opts, &mut lock)
    } else {
        let mut file = File::create(&args.out)?;
        generate(&args.opts, &mut file)
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("{USAGE}\ngen-workload: error: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(_) => ExitCode::SUCCESS,
        // Quiet when piped into `head`, like the script.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(io::stderr(), "gen-workload: {}: {e}", args.out);
            ExitCode::FAILURE
        }
    }
}
