//! A year's parts as rows of `COPY … FROM STDIN (FORMAT text)`.

use std::fmt::Write as _;

use shareholders_domain::{
    ClassShares, CompanyYear, Organisation, OwnerRef, Person, RegisterYear, ShareCount,
};

use crate::rows::kind_str;

/// Appends a value in `COPY`'s text format: `\N` for none, backslash escapes for the
/// separators.
pub(crate) fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(value) => {
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

pub(crate) fn number(out: &mut String, value: Option<u64>) {
    match value {
        None => out.push_str("\\N"),
        Some(value) => {
            let _ = write!(out, "{value}");
        }
    }
}

/// A `text[]` and a `bigint[]` of the classes, as array literals inside `COPY` fields.
fn class_arrays(out: &mut String, classes: &[ClassShares]) {
    let mut names = String::from("{");
    for (i, class) in classes.iter().enumerate() {
        if i > 0 {
            names.push(',');
        }
        names.push('"');
        for c in class.share_class.as_str().chars() {
            if c == '"' || c == '\\' {
                names.push('\\');
            }
            names.push(c);
        }
        names.push('"');
    }
    names.push('}');
    field(out, Some(&names));
    out.push_str("\t{");
    for (i, class) in classes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{}", class.shares);
    }
    out.push('}');
}

fn profile(out: &mut String, organisation: &Organisation) {
    field(out, Some(organisation.name().as_str()));
    out.push('\t');
    field(out, organisation.postal_code().map(|p| p.as_str()));
    out.push('\t');
    field(out, organisation.place().map(|p| p.as_str()));
    out.push('\t');
    field(out, Some(organisation.country().alpha2()));
}

pub(crate) const ORGANISATIONS: &str = "(year, orgnr, name, postal_code, place, country, \
     total_shares, registered, owner_count, foreign_owner_count, class_names, class_shares)";
pub(crate) const PERSONS: &str = "(year, id, name, birth_year, postal_code, place, country)";
pub(crate) const HOLDINGS: &str = "(year, company, owner_kind, owner_id, share_class, shares)";
pub(crate) const COUNTS: &str = "(year, owner_kind, owner_id, holding_count)";

/// An issuer's row of `year_organisations`.
pub(crate) fn company(out: &mut String, year: RegisterYear, company: &CompanyYear) {
    let organisation = &company.organisation;
    let _ = write!(out, "{year}\t{}\t", organisation.orgnr());
    profile(out, organisation);
    out.push('\t');
    number(out, organisation.total_shares().map(ShareCount::get));
    let _ = write!(
        out,
        "\t{}\t{}\t{}\t",
        company.registered_shares, company.owner_count, company.foreign_owner_count
    );
    class_arrays(out, &company.classes);
    out.push('\n');
}

/// The row of an organisation that only holds shares.
pub(crate) fn holder_organisation(
    out: &mut String,
    year: RegisterYear,
    organisation: &Organisation,
) {
    let _ = write!(out, "{year}\t{}\t", organisation.orgnr());
    profile(out, organisation);
    out.push_str("\t\\N\t0\t0\t0\t{}\t{}\n");
}

/// A company's holdings, one row per class.
pub(crate) fn holdings(out: &mut String, year: RegisterYear, company: &CompanyYear) {
    let orgnr = company.organisation.orgnr();
    for holding in &company.holdings {
        for class in &holding.classes {
            let _ = write!(out, "{year}\t{orgnr}\t{}\t", kind_str(&holding.owner));
            field(out, Some(holding.owner.id()));
            out.push('\t');
            field(out, Some(class.share_class.as_str()));
            let _ = writeln!(out, "\t{}", class.shares);
        }
    }
}

pub(crate) fn person(out: &mut String, year: RegisterYear, person: &Person) {
    let _ = write!(out, "{year}\t");
    field(out, Some(person.id().as_str()));
    out.push('\t');
    field(out, Some(person.name().as_str()));
    out.push('\t');
    number(out, person.birth_year().map(|y| u64::from(y.get())));
    out.push('\t');
    field(out, person.postal_code().map(|p| p.as_str()));
    out.push('\t');
    field(out, person.place().map(|p| p.as_str()));
    out.push('\t');
    field(out, Some(person.country().alpha2()));
    out.push('\n');
}

pub(crate) fn holding_count(out: &mut String, year: RegisterYear, owner: &OwnerRef, count: u64) {
    let _ = write!(out, "{year}\t{}\t", kind_str(owner));
    field(out, Some(owner.id()));
    let _ = writeln!(out, "\t{count}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use shareholders_domain::ShareClass;

    #[rstest]
    #[case(None, "\\N")]
    #[case(Some("HAGEN STEIN"), "HAGEN STEIN")]
    #[case(Some("a\\b"), "a\\\\b")]
    #[case(Some("a\tb\nc\rd"), "a\\tb\\nc\\rd")]
    #[case(Some("\\N"), "\\\\N")]
    fn copy_fields_are_escaped(#[case] value: Option<&str>, #[case] expected: &str) {
        let mut out = String::new();
        field(&mut out, value);
        assert_eq!(out, expected);
    }

    #[rstest]
    #[case(&[], "{}\t{}")]
    #[case(&[("A-aksjer", 3)], "{\"A-aksjer\"}\t{3}")]
    #[case(&[("A-aksjer", 3), ("B-aksjer", 117)], "{\"A-aksjer\",\"B-aksjer\"}\t{3,117}")]
    // An array element's quote and backslash are escaped for the array, then for COPY.
    #[case(&[("A\"b\\c", 1)], "{\"A\\\\\"b\\\\\\\\c\"}\t{1}")]
    fn classes_are_array_literals(#[case] classes: &[(&str, u64)], #[case] expected: &str) {
        let classes: Vec<ClassShares> = classes
            .iter()
            .map(|(name, shares)| ClassShares {
                share_class: ShareClass::parse(name).expect("class"),
                shares: *shares,
            })
            .collect();
        let mut out = String::new();
        class_arrays(&mut out, &classes);
        assert_eq!(out, expected);
    }
}
