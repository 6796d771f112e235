//! A series of yearly extracts with realistic churn between consecutive years.
//!
//! The first year is [`generate`](super::generate)'s extract; each next year is the previous
//! one, changed line by line with draws seeded by the seed, the year and what the line names,
//! so a series depends only on its rows, seed and years:
//! - about 8 % of holdings change their count;
//! - about 5 % of holdings change hands: a person owner exits, a new person enters;
//! - about 1 % of companies are dissolved, and as many are founded (with the dissolved one's
//!   owners, under a new orgnr and name);
//! - about 2 % of persons move: their postal code and place change, on every line;
//! - about 3 % of companies issue new shares, so their total grows;
//! - the newest two years write alpha-2 country codes, the older ones alpha-3, as the real
//!   extract changed format.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use shareholders_domain::Country;

use super::{
    FAMILY_END, FAMILY_START, GIVEN_END, GIVEN_START, NORWEGIAN_PLACES, entity, generate, mix,
    pick_pair, push_number, syllables,
};
use crate::parse::HEADER;

const CHURN_STREAM: u64 = 11;
const MOVE_STREAM: u64 = 12;
const NEWCOMER_STREAM: u64 = 13;

mod rate {
    pub const COUNT_CHANGE: f64 = 0.08;
    /// Of the lines held by persons, about 57 % of all: about 5 % of all holdings.
    pub const CHANGE_HANDS: f64 = 0.085;
    pub const DISSOLVED: f64 = 0.01;
    pub const MOVES: f64 = 0.02;
    pub const NEW_ISSUE: f64 = 0.03;
}

/// What one year of a series changed from the year before (all zero for the first year).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YearChurn {
    pub year: u16,
    pub path: PathBuf,
    pub rows: u64,
    pub companies: u64,
    pub counts_changed: u64,
    pub changed_hands: u64,
    pub dissolved: u64,
    pub founded: u64,
    /// Lines whose holder moved.
    pub moved_rows: u64,
    pub new_issues: u64,
    /// Whether the year writes alpha-2 country codes.
    pub alpha2: bool,
}

/// The file name of a year: `aksjeeiebok__<year>.csv`, which `import` reads the year from.
#[must_use]
pub fn series_file_name(year: u16) -> String {
    format!("aksjeeiebok__{year}.csv")
}

/// Writes one extract per year of `years` into `dir` (see the module's documentation), and
/// returns what each year changed.
///
/// # Errors
/// When a file cannot be written or read back.
pub fn generate_series(
    rows: u64,
    seed: u64,
    years: std::ops::RangeInclusive<u16>,
    dir: &Path,
) -> io::Result<Vec<YearChurn>> {
    std::fs::create_dir_all(dir)?;
    let (first, last) = (*years.start(), *years.end());
    let mut done: Vec<YearChurn> = Vec::new();
    for year in years {
        let alpha2 = last.saturating_sub(year) < 2;
        let path = dir.join(series_file_name(year));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        let churn = if year == first {
            let mut base = Vec::new();
            generate(rows, seed, &mut base)?;
            let mut churn = YearChurn {
                year,
                alpha2,
                ..YearChurn::default()
            };
            // The first year changes nothing but, in a short series, its country codes.
            rewrite(&base[..], &mut out, seed, year, alpha2, false, &mut churn)?;
            churn
        } else {
            let previous = &done[done.len() - 1].path;
            let input = BufReader::with_capacity(1 << 20, File::open(previous)?);
            let mut churn = YearChurn {
                year,
                alpha2,
                ..YearChurn::default()
            };
            rewrite(input, &mut out, seed, year, alpha2, true, &mut churn)?;
            churn
        };
        out.flush()?;
        done.push(YearChurn { path, ..churn });
    }
    Ok(done)
}

/// One data line, split into the extract's fields (the address may hold `;`).
struct Line<'a> {
    orgnr: &'a str,
    name: &'a str,
    class: &'a str,
    holder: &'a str,
    holder_id: &'a str,
    address: &'a str,
    country: &'a str,
    shares: u64,
    total: u64,
}

fn split(text: &str) -> Option<Line<'_>> {
    let mut left = text.splitn(6, ';');
    let (orgnr, name, class, holder, holder_id) = (
        left.next()?,
        left.next()?,
        left.next()?,
        left.next()?,
        left.next()?,
    );
    let rest = left.next()?;
    let mut right = rest.rsplitn(4, ';');
    let (total, shares, country, address) =
        (right.next()?, right.next()?, right.next()?, right.next()?);
    Some(Line {
        orgnr,
        name,
        class,
        holder,
        holder_id,
        address,
        country,
        shares: shares.parse().ok()?,
        total: total.parse().ok()?,
    })
}

fn key(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn country_code(code: &str, alpha2: bool) -> String {
    match Country::parse(code) {
        Ok(country) if alpha2 => country.alpha2().to_owned(),
        Ok(country) => country.alpha3().to_owned(),
        Err(_) => code.to_owned(),
    }
}

/// One company's lines, as they will be written.
struct Holding {
    class: String,
    holder: String,
    holder_id: String,
    address: String,
    country: String,
    shares: u64,
}

fn write_company(
    out: &mut dyn Write,
    orgnr: &str,
    name: &str,
    holdings: &[Holding],
    total: u64,
    churn: &mut YearChurn,
) -> io::Result<()> {
    let mut line = String::with_capacity(256);
    for h in holdings {
        line.clear();
        for field in [
            orgnr,
            name,
            &h.class,
            &h.holder,
            &h.holder_id,
            &h.address,
            &h.country,
        ] {
            line.push_str(field);
            line.push(';');
        }
        push_number(&mut line, h.shares, 1);
        line.push(';');
        push_number(&mut line, total, 1);
        line.push_str("\r\n");
        out.write_all(line.as_bytes())?;
        churn.rows += 1;
    }
    churn.companies += 1;
    Ok(())
}

/// A new person for a holding that changed hands.
fn newcomer(seed: u64, year: u16, line_key: u64) -> (String, String, String) {
    let mut rng = entity(seed, NEWCOMER_STREAM, mix(line_key ^ u64::from(year)));
    let mut name = String::new();
    syllables(&mut rng, FAMILY_START, FAMILY_END, &mut name);
    name.push(' ');
    syllables(&mut rng, GIVEN_START, GIVEN_END, &mut name);
    name.push_str(" NY");
    let mut birth = String::new();
    push_number(&mut birth, rng.between(1930, 2015), 4);
    let (code, place) = pick_pair(&mut rng, NORWEGIAN_PLACES);
    (name, birth, format!("{code} {place}"))
}

/// Copies `input` (an extract) to `out`, churned for `year` when `churn_it`.
fn rewrite(
    input: impl BufRead,
    out: &mut impl Write,
    seed: u64,
    year: u16,
    alpha2: bool,
    churn_it: bool,
    churn: &mut YearChurn,
) -> io::Result<()> {
    let header = format!("\u{feff}{HEADER}\r\n");
    out.write_all(header.as_bytes())?;
    let year_seed = seed ^ mix(u64::from(year));
    let mut founded_prefix = 90_000_000 + u64::from(year % 200) * 50_000;
    let mut company: Option<(String, String, u64)> = None;
    let mut holdings: Vec<Holding> = Vec::new();
    let mut lines = input.lines();
    let _header = lines.next().transpose()?;
    let mut finish = |company: Option<(String, String, u64)>,
                      holdings: &mut Vec<Holding>,
                      out: &mut dyn Write,
                      churn: &mut YearChurn|
     -> io::Result<()> {
        let Some((orgnr, name, total)) = company else {
            return Ok(());
        };
        let sum: u64 = holdings.iter().map(|h| h.shares).sum();
        let mut rng = entity(year_seed, CHURN_STREAM, key(&orgnr));
        let mut total = total.max(sum);
        if churn_it && rng.chance(rate::NEW_ISSUE) {
            total += rng.between(1, total / 10 + 1);
            churn.new_issues += 1;
        }
        if churn_it && rng.chance(rate::DISSOLVED) {
            churn.dissolved += 1;
            churn.founded += 1;
            let orgnr = super::next_orgnr(&mut founded_prefix, &mut rng);
            let mut new_orgnr = String::new();
            push_number(&mut new_orgnr, u64::from(orgnr), 9);
            let new_name = format!(
                "{} NY",
                name.trim_end_matches(" AS").trim_end_matches(" ASA")
            ) + " AS";
            write_company(out, &new_orgnr, &new_name, holdings, total, churn)?;
        } else {
            write_company(out, &orgnr, &name, holdings, total, churn)?;
        }
        holdings.clear();
        Ok(())
    };
    for text in lines {
        let text = text?;
        let text = text.trim_end_matches('\r');
        let Some(line) = split(text) else {
            continue;
        };
        if company
            .as_ref()
            .is_none_or(|(orgnr, _, _)| orgnr != line.orgnr)
        {
            finish(company.take(), &mut holdings, out, churn)?;
            company = Some((line.orgnr.to_owned(), line.name.to_owned(), line.total));
        }
        let line_key = key(text);
        let mut rng = entity(year_seed, CHURN_STREAM, line_key);
        let mut holding = Holding {
            class: line.class.to_owned(),
            holder: line.holder.to_owned(),
            holder_id: line.holder_id.to_owned(),
            address: line.address.to_owned(),
            country: country_code(line.country, alpha2),
            shares: line.shares,
        };
        let person = line.holder_id.len() == 4 && line.country.starts_with("NO");
        if churn_it {
            if person && rng.chance(rate::CHANGE_HANDS) {
                let (name, birth, address) = newcomer(seed, year, line_key);
                holding.holder = name;
                holding.holder_id = birth;
                holding.address = address;
                churn.changed_hands += 1;
            } else if person {
                let identity = key(line.holder) ^ key(line.holder_id);
                let mut mover = entity(year_seed, MOVE_STREAM, identity);
                if mover.chance(rate::MOVES) {
                    let (code, place) = pick_pair(&mut mover, NORWEGIAN_PLACES);
                    let moved = format!("{code} {place}");
                    if moved != holding.address {
                        holding.address = moved;
                        churn.moved_rows += 1;
                    }
                }
            }
            if rng.chance(rate::COUNT_CHANGE) {
                let factor = rng.between(50, 150);
                let shares = (holding.shares * factor / 100).max(1);
                holding.shares = if shares == holding.shares {
                    shares + 1
                } else {
                    shares
                };
                churn.counts_changed += 1;
            }
        }
        holdings.push(holding);
    }
    finish(company.take(), &mut holdings, out, churn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_reproducible_and_churns_at_the_stated_rates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let years = generate_series(20_000, 7, 2019..=2022, dir.path()).expect("written");
        assert_eq!(years.len(), 4);
        assert_eq!(years[0].rows, 20_000);
        assert_eq!(
            (
                years[0].counts_changed,
                years[0].changed_hands,
                years[0].dissolved
            ),
            (0, 0, 0),
            "the first year changes nothing"
        );
        for year in &years[1..] {
            let rate = |n: u64| n as f64 / year.rows as f64;
            assert!(
                (0.06..0.10).contains(&rate(year.counts_changed)),
                "{year:?}"
            );
            assert!(
                (0.035..0.065).contains(&rate(year.changed_hands)),
                "{year:?}"
            );
            assert!((0.005..0.02).contains(&rate(year.moved_rows)), "{year:?}");
            assert!(
                year.dissolved > 0 && year.founded == year.dissolved,
                "{year:?}"
            );
            assert!(year.new_issues > 0, "{year:?}");
        }
        assert_eq!(
            years.iter().map(|y| y.alpha2).collect::<Vec<_>>(),
            [false, false, true, true]
        );
        let older = std::fs::read_to_string(&years[1].path).expect("read");
        let newer = std::fs::read_to_string(&years[3].path).expect("read");
        assert!(older.contains(";NOR;") && !older.contains(";NO;"));
        assert!(newer.contains(";NO;") && !newer.contains(";NOR;"));
        // The same rows, seed and years give the same files.
        let again = tempfile::tempdir().expect("tempdir");
        generate_series(20_000, 7, 2019..=2022, again.path()).expect("written");
        for year in &years {
            let name = year.path.file_name().expect("a file");
            assert_eq!(
                std::fs::read(&year.path).expect("read"),
                std::fs::read(again.path().join(name)).expect("read")
            );
        }
    }
}
