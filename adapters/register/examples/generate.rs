//! Writes a synthetic register extract and times parsing it back.
//!
//! `cargo run --release -p shareholders-register --example generate -- ROWS SEED FILE`
//! (ROWS 0: only parse the existing FILE).

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use shareholders_register::{Parsed, RegisterReader, generate};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().as_deref().unwrap_or("1000000").parse()?;
    let seed: u64 = args.next().as_deref().unwrap_or("1").parse()?;
    let path = args
        .next()
        .unwrap_or_else(|| "aksjeeiebok__2024_synthetic.csv".to_owned());

    let started = Instant::now();
    let bytes = if rows == 0 {
        std::fs::metadata(&path)?.len()
    } else {
        let mut file = File::create(&path)?;
        let stats = generate(rows, seed, &mut file)?;
        println!("{stats:#?}");
        stats.bytes
    };
    let generating = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let (mut lines, mut rejects) = (0u64, 0u64);
    for parsed in RegisterReader::new(BufReader::with_capacity(1 << 16, File::open(&path)?)) {
        match parsed? {
            Parsed::Line(_) => lines += 1,
            Parsed::Reject(_) => rejects += 1,
        }
    }
    let parsing = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let (megabytes, rate) = (bytes as f64 / 1e6, lines as f64 / parsing);
    if rows > 0 {
        println!("{path}: {rows} rows, {megabytes:.1} MB written in {generating:.2} s");
    }
    println!(
        "{path}: {megabytes:.1} MB, parsed {lines} lines ({rejects} rejects) in {parsing:.2} s \
         = {rate:.0} rows/s"
    );
    Ok(())
}
