//! The lines a till prints on the receipt of a completed Klarna payment, in the languages of
//! the display texts (`texts.rs`): paid with Klarna, the amount and currency, Klarna's order
//! id, the date and time the payment was seen completed (local time), and the merchant
//! reference (`merchant_reference1`, else `merchant_reference2`; no line when the order had
//! neither).
//!
//! Every line is at most [`RECEIPT_LINE`] characters (Unicode scalar values), the width of an
//! 80 mm receipt printer's standard font: a label and its value share a line when they fit,
//! otherwise the value follows on lines of its own, cut every [`RECEIPT_LINE`] characters (ids
//! and references have no spaces to wrap at). Control characters in values become spaces.
//!
//! Amounts are written with the currency's minor unit (two decimals; none for JPY, KRW, ISK and
//! CLP), a decimal comma in every language but English, and no thousands separator:
//! `1234,50 SEK`.

use super::error::{Code, Error, Result};
use super::session::Session;
use super::status::Status;
use super::{clock, texts};

/// Characters per receipt line.
pub const RECEIPT_LINE: usize = 42;

/// The receipt's words in one language.
pub struct Labels {
    pub tag: &'static str,
    pub paid: &'static str,
    pub amount: &'static str,
    pub order_id: &'static str,
    pub date: &'static str,
    pub reference: &'static str,
    pub decimal_comma: bool,
}

const fn labels(
    tag: &'static str,
    [paid, amount, order_id, date, reference]: [&'static str; 5],
    decimal_comma: bool,
) -> Labels {
    Labels {
        tag,
        paid,
        amount,
        order_id,
        date,
        reference,
        decimal_comma,
    }
}

/// One row per language of [`texts::LANGUAGES`] (a test checks it).
pub const LABELS: &[Labels] = &[
    labels(
        "en",
        [
            "Paid with Klarna",
            "Amount",
            "Klarna order ID",
            "Date",
            "Reference",
        ],
        false,
    ),
    labels(
        "sv",
        [
            "Betalat med Klarna",
            "Belopp",
            "Klarna order-ID",
            "Datum",
            "Referens",
        ],
        true,
    ),
    labels(
        "nb",
        [
            "Betalt med Klarna",
            "Beløp",
            "Klarna ordre-ID",
            "Dato",
            "Referanse",
        ],
        true,
    ),
    labels(
        "da",
        [
            "Betalt med Klarna",
            "Beløb",
            "Klarna ordre-ID",
            "Dato",
            "Reference",
        ],
        true,
    ),
    labels(
        "fi",
        [
            "Maksettu Klarnalla",
            "Summa",
            "Klarna-tilausnumero",
            "Päivämäärä",
            "Viite",
        ],
        true,
    ),
    labels(
        "de",
        [
            "Bezahlt mit Klarna",
            "Betrag",
            "Klarna-Bestellnummer",
            "Datum",
            "Referenz",
        ],
        true,
    ),
    labels(
        "nl",
        [
            "Betaald met Klarna",
            "Bedrag",
            "Klarna-ordernummer",
            "Datum",
            "Referentie",
        ],
        true,
    ),
    labels(
        "fr",
        [
            "Payé avec Klarna",
            "Montant",
            "N° de commande Klarna",
            "Date",
            "Référence",
        ],
        true,
    ),
    labels(
        "es",
        [
            "Pagado con Klarna",
            "Importe",
            "N.º de pedido Klarna",
            "Fecha",
            "Referencia",
        ],
        true,
    ),
    labels(
        "it",
        [
            "Pagato con Klarna",
            "Importo",
            "N. ordine Klarna",
            "Data",
            "Riferimento",
        ],
        true,
    ),
    labels(
        "pl",
        [
            "Zapłacono przez Klarna",
            "Kwota",
            "Nr zamówienia Klarna",
            "Data",
            "Referencja",
        ],
        true,
    ),
    labels(
        "cs",
        [
            "Zaplaceno přes Klarna",
            "Částka",
            "Číslo objednávky Klarna",
            "Datum",
            "Reference",
        ],
        true,
    ),
    labels(
        "pt",
        [
            "Pago com Klarna",
            "Montante",
            "N.º da encomenda Klarna",
            "Data",
            "Referência",
        ],
        true,
    ),
];

/// The receipt words for a BCP 47 tag, chosen as the display texts choose (English when none).
pub fn labels_for(tag: Option<&str>) -> &'static Labels {
    let (language, _) = texts::resolve(tag.unwrap_or(""));
    LABELS
        .iter()
        .find(|l| l.tag == language.tag)
        .unwrap_or(&LABELS[0])
}

/// `12500` minor units of `SEK` as `125,00 SEK` (or `125.00 SEK`).
pub fn format_amount(minor: i64, currency: &str, decimal_comma: bool) -> String {
    let digits = match currency {
        "JPY" | "KRW" | "ISK" | "CLP" => 0,
        _ => 2,
    };
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{minor} {currency}");
    }
    let separator = if decimal_comma { ',' } else { '.' };
    format!(
        "{sign}{}{separator}{:02} {currency}",
        minor / 100,
        minor % 100
    )
}

/// `label: value` on one line when it fits, else the label and then the value in slices of
/// [`RECEIPT_LINE`] characters.
fn push_field(lines: &mut Vec<String>, label: &str, value: &str) {
    let value: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = format!("{label}: {value}");
    if one.chars().count() <= RECEIPT_LINE {
        lines.push(one);
        return;
    }
    lines.push(format!("{label}:"));
    let chars: Vec<char> = value.chars().collect();
    lines.extend(chars.chunks(RECEIPT_LINE).map(|c| c.iter().collect()));
}

/// What a receipt shows, taken from a session.
pub struct Paid<'a> {
    pub amount: i64,
    pub currency: &'a str,
    pub order_id: &'a str,
    pub date_time: &'a str,
    pub reference: Option<&'a str>,
}

/// The receipt lines, joined with `\n` (no newline after the last).
pub fn lines(paid: &Paid<'_>, labels: &Labels) -> String {
    let mut lines = vec![labels.paid.to_string()];
    push_field(
        &mut lines,
        labels.amount,
        &format_amount(paid.amount, paid.currency, labels.decimal_comma),
    );
    push_field(&mut lines, labels.order_id, paid.order_id);
    push_field(&mut lines, labels.date, paid.date_time);
    if let Some(r) = paid.reference {
        push_field(&mut lines, labels.reference, r);
    }
    lines.join("\n")
}

/// The receipt of `session` in the language `tag` names. `Conflict` when the session is not
/// COMPLETED; `InvalidArgument` when this client does not know its amount (a session resumed
/// without an open journal record).
pub fn receipt_text(session: &Session, tag: Option<&str>) -> Result<String> {
    let snap = session.snapshot();
    let status = snap.status.unwrap_or(Status::Created);
    if status != Status::Completed {
        return Err(Error::new(
            Code::Conflict,
            format!(
                "session {} is {}: a receipt is only printed for a COMPLETED payment",
                session.id(),
                status.name()
            ),
        ));
    }
    let sale = session.sale();
    let (Some(amount), Some(currency)) = (sale.order_amount, sale.purchase_currency.as_deref())
    else {
        return Err(Error::invalid_argument(format!(
            "session {} was resumed without its journal record: this client does not know its \
             amount and currency (see kpos_history_find)",
            session.id()
        )));
    };
    let date_time =
        clock::local_date_time(snap.finished_at.unwrap_or_else(std::time::SystemTime::now));
    let paid = Paid {
        amount,
        currency,
        order_id: snap.order_id.as_deref().unwrap_or("-"),
        date_time: &date_time,
        reference: sale
            .merchant_reference1
            .as_deref()
            .or(sale.merchant_reference2.as_deref()),
    };
    Ok(lines(&paid, labels_for(tag)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_of_the_display_texts_has_receipt_words() {
        for l in texts::LANGUAGES {
            assert!(LABELS.iter().any(|r| r.tag == l.tag), "{}", l.tag);
        }
        assert_eq!(LABELS.len(), texts::LANGUAGES.len());
    }

    #[test]
    fn every_line_of_every_language_fits_with_the_longest_values() {
        let long_ref = "Référence-ÅÄÖ-".repeat(18); // 252 characters, many of 2 bytes
        let long_ref: String = long_ref.chars().take(255).collect();
        for labels in LABELS {
            for (order_id, reference) in [
                (
                    "7a8c5b1e-3f4d-4e2a-9b6c-0d1e2f3a4b5c",
                    Some(long_ref.as_str()),
                ),
                (&*"o".repeat(255), Some("R-1")),
                ("o-1", None),
            ] {
                let paid = Paid {
                    amount: 200_000_000,
                    currency: "SEK",
                    order_id,
                    date_time: "2026-11-30 09:12 UTC",
                    reference,
                };
                let text = lines(&paid, labels);
                for line in text.lines() {
                    assert!(
                        line.chars().count() <= RECEIPT_LINE,
                        "{}: {line:?} has {} characters",
                        labels.tag,
                        line.chars().count()
                    );
                }
                // Nothing is lost: the values are all there once the lines are joined.
                let joined: String = text.lines().collect();
                assert!(joined.contains(order_id), "{}", labels.tag);
                if let Some(r) = reference {
                    assert!(joined.contains(r), "{}", labels.tag);
                }
                assert!(text.starts_with(labels.paid));
            }
        }
    }

    #[test]
    fn amounts_use_the_minor_unit_and_the_language_separator() {
        assert_eq!(format_amount(12_500, "SEK", true), "125,00 SEK");
        assert_eq!(format_amount(12_505, "GBP", false), "125.05 GBP");
        assert_eq!(format_amount(7, "EUR", true), "0,07 EUR");
        assert_eq!(format_amount(200_000_000, "NOK", true), "2000000,00 NOK");
        assert_eq!(format_amount(1500, "JPY", false), "1500 JPY");
        assert_eq!(labels_for(Some("de-AT")).tag, "de");
        assert_eq!(labels_for(Some("no")).tag, "nb");
        assert_eq!(labels_for(Some("xx")).tag, "en");
        assert_eq!(labels_for(None).tag, "en");
    }

    #[test]
    fn control_characters_in_values_become_spaces() {
        let mut out = Vec::new();
        push_field(&mut out, "Reference", "a\nb\tc");
        assert_eq!(out, vec!["Reference: a b c"]);
    }
}
