//! The status texts a till shows, in the languages of Klarna's in-store markets: one for the
//! cashier (the till's own screen or operator display) and one for the customer (the customer
//! display, or the screen turned towards the customer), following Klarna's in-store best
//! practices: say what to do next, never claim success before COMPLETED, stay neutral on a
//! status this version does not know.
//!
//! Languages are chosen by a BCP 47 tag (`sv`, `sv-SE`, `nb-NO`, `de-AT`, `fr_BE`, ...),
//! case-insensitive: a region's own text first (where a region writes differently, e.g. `en-GB`
//! "cancelled"), then the language's, then English. Every text fits a two-line display:
//! cashier texts wrap into two lines of [`CASHIER_LINE`] characters, customer texts into two
//! lines of [`CUSTOMER_LINE`] (see [`wrapped_lines`]; the tests check every entry).
//!
//! Adding a language: add a [`Language`] row to [`LANGUAGES`] with all eight texts of each
//! kind (the tests fail on a missing or too long one), then regenerate nothing: the C, Python,
//! .NET and C++ functions read this table.

use super::status::Status;

/// Characters per line of the cashier's two-line display (a 2 x 20 operator display).
pub const CASHIER_LINE: usize = 20;
/// Characters per line of the customer's two-line display (a 2 x 32 customer display).
pub const CUSTOMER_LINE: usize = 32;

/// The texts of one language (or of one region, where only `overrides` differ).
pub struct Language {
    /// Lower-case BCP 47 primary language subtag, or `language-region` for a regional variant.
    pub tag: &'static str,
    /// English name of the language, for the documentation.
    pub name: &'static str,
    pub cashier: Texts,
    pub customer: Texts,
}

/// One text per status group. CREATED and WAITING share `preparing`; UNKNOWN (and any status
/// number this version does not know) shows `checking`.
#[derive(Clone, Copy)]
pub struct Texts {
    pub preparing: &'static str,
    pub distributed: &'static str,
    pub accessed: &'static str,
    pub completed: &'static str,
    pub canceled: &'static str,
    pub failed: &'static str,
    pub expired: &'static str,
    pub checking: &'static str,
}

impl Texts {
    pub fn get(&self, status: Status) -> &'static str {
        match status {
            Status::Created | Status::Waiting => self.preparing,
            Status::Distributed => self.distributed,
            Status::Accessed => self.accessed,
            Status::Completed => self.completed,
            Status::Canceled => self.canceled,
            Status::Failed => self.failed,
            Status::Expired => self.expired,
            Status::Unknown => self.checking,
        }
    }
}

/// Who reads the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Cashier,
    Customer,
}

/// A regional variant: a region that writes one text differently from its language (today only
/// the CANCELED texts, British spelling). Every other text comes from the language.
pub struct Region {
    pub tag: &'static str,
    pub cashier_canceled: &'static str,
    pub customer_canceled: &'static str,
}

/// British spelling for the English-speaking markets outside the US.
pub const REGIONS: &[Region] = &[
    Region {
        tag: "en-gb",
        cashier_canceled: "Payment is cancelled",
        customer_canceled: "The payment was cancelled",
    },
    Region {
        tag: "en-ie",
        cashier_canceled: "Payment is cancelled",
        customer_canceled: "The payment was cancelled",
    },
    Region {
        tag: "en-au",
        cashier_canceled: "Payment is cancelled",
        customer_canceled: "The payment was cancelled",
    },
    Region {
        tag: "en-nz",
        cashier_canceled: "Payment is cancelled",
        customer_canceled: "The payment was cancelled",
    },
];

/// Primary subtags read as another language of the table: `no` (Norwegian) is written as
/// Bokmål, as Klarna writes for Norway.
const ALIASES: &[(&str, &str)] = &[("no", "nb"), ("nn", "nb")];

/// Every language, English first (the fallback).
pub const LANGUAGES: &[Language] = &[
    Language {
        tag: "en",
        name: "English",
        cashier: Texts {
            preparing: "Preparing the Klarna payment...",
            distributed: "Scan the QR code with your phone",
            accessed: "Payment in progress",
            completed: "Payment is done",
            canceled: "Payment is canceled",
            failed: "Something went wrong",
            expired: "The payment has expired",
            checking: "Checking the payment status...",
        },
        customer: Texts {
            preparing: "One moment, please...",
            distributed: "Scan the QR code with your phone camera",
            accessed: "Confirm in the Klarna app",
            completed: "Payment approved. Thank you!",
            canceled: "The payment was canceled",
            failed: "The payment did not go through",
            expired: "The payment has expired",
            checking: "One moment, please...",
        },
    },
    Language {
        tag: "sv",
        name: "Swedish",
        cashier: Texts {
            preparing: "Förbereder betalningen...",
            distributed: "Skanna QR-koden med mobilen",
            accessed: "Betalning pågår",
            completed: "Betalningen är klar",
            canceled: "Betalningen är avbruten",
            failed: "Något gick fel",
            expired: "Betalningen har gått ut",
            checking: "Kontrollerar betalstatus...",
        },
        customer: Texts {
            preparing: "Ett ögonblick...",
            distributed: "Skanna QR-koden med mobilens kamera",
            accessed: "Bekräfta i Klarna-appen",
            completed: "Betalningen är godkänd. Tack!",
            canceled: "Betalningen avbröts",
            failed: "Betalningen gick inte igenom",
            expired: "Betalningen har gått ut",
            checking: "Ett ögonblick...",
        },
    },
    Language {
        tag: "nb",
        name: "Norwegian (Bokmål)",
        cashier: Texts {
            preparing: "Forbereder betalingen...",
            distributed: "Skann QR-koden med mobilen",
            accessed: "Betaling pågår",
            completed: "Betalingen er fullført",
            canceled: "Betalingen er avbrutt",
            failed: "Noe gikk galt",
            expired: "Betalingen er utløpt",
            checking: "Sjekker betalingsstatus...",
        },
        customer: Texts {
            preparing: "Et øyeblikk...",
            distributed: "Skann QR-koden med mobilkameraet",
            accessed: "Bekreft i Klarna-appen",
            completed: "Betalingen er godkjent. Takk!",
            canceled: "Betalingen ble avbrutt",
            failed: "Betalingen gikk ikke gjennom",
            expired: "Betalingen er utløpt",
            checking: "Et øyeblikk...",
        },
    },
    Language {
        tag: "da",
        name: "Danish",
        cashier: Texts {
            preparing: "Forbereder betalingen...",
            distributed: "Scan QR-koden med mobilen",
            accessed: "Betaling i gang",
            completed: "Betalingen er gennemført",
            canceled: "Betalingen er annulleret",
            failed: "Noget gik galt",
            expired: "Betalingen er udløbet",
            checking: "Tjekker betalingsstatus...",
        },
        customer: Texts {
            preparing: "Et øjeblik...",
            distributed: "Scan QR-koden med mobilens kamera",
            accessed: "Bekræft i Klarna-appen",
            completed: "Betalingen er godkendt. Tak!",
            canceled: "Betalingen blev annulleret",
            failed: "Betalingen gik ikke igennem",
            expired: "Betalingen er udløbet",
            checking: "Et øjeblik...",
        },
    },
    Language {
        tag: "fi",
        name: "Finnish",
        cashier: Texts {
            preparing: "Maksua valmistellaan...",
            distributed: "Skannaa QR-koodi puhelimella",
            accessed: "Maksu käynnissä",
            completed: "Maksu on valmis",
            canceled: "Maksu on peruutettu",
            failed: "Jokin meni vikaan",
            expired: "Maksu on vanhentunut",
            checking: "Tarkistetaan maksun tilaa...",
        },
        customer: Texts {
            preparing: "Hetkinen...",
            distributed: "Skannaa QR-koodi puhelimen kameralla",
            accessed: "Vahvista Klarna-sovelluksessa",
            completed: "Maksu hyväksytty. Kiitos!",
            canceled: "Maksu peruutettiin",
            failed: "Maksu ei onnistunut",
            expired: "Maksu on vanhentunut",
            checking: "Hetkinen...",
        },
    },
    Language {
        tag: "de",
        name: "German",
        cashier: Texts {
            preparing: "Klarna-Zahlung wird vorbereitet...",
            distributed: "QR-Code mit dem Handy scannen",
            accessed: "Zahlung läuft",
            completed: "Zahlung abgeschlossen",
            canceled: "Zahlung abgebrochen",
            failed: "Etwas ist schiefgelaufen",
            expired: "Zahlung abgelaufen",
            checking: "Zahlungsstatus wird geprüft...",
        },
        customer: Texts {
            preparing: "Einen Moment bitte...",
            distributed: "Scannen Sie den QR-Code mit Ihrer Handykamera",
            accessed: "Bitte in der Klarna App bestätigen",
            completed: "Zahlung erfolgreich. Vielen Dank!",
            canceled: "Die Zahlung wurde abgebrochen",
            failed: "Die Zahlung ist fehlgeschlagen",
            expired: "Die Zahlung ist abgelaufen",
            checking: "Einen Moment bitte...",
        },
    },
    Language {
        tag: "nl",
        name: "Dutch",
        cashier: Texts {
            preparing: "Betaling wordt voorbereid...",
            distributed: "Scan de QR-code met je telefoon",
            accessed: "Betaling bezig",
            completed: "Betaling voltooid",
            canceled: "Betaling geannuleerd",
            failed: "Er ging iets mis",
            expired: "Betaling verlopen",
            checking: "Betaalstatus controleren...",
        },
        customer: Texts {
            preparing: "Een ogenblik geduld...",
            distributed: "Scan de QR-code met de camera van je telefoon",
            accessed: "Bevestig in de Klarna-app",
            completed: "Betaling gelukt. Bedankt!",
            canceled: "De betaling is geannuleerd",
            failed: "De betaling is niet gelukt",
            expired: "De betaling is verlopen",
            checking: "Een ogenblik geduld...",
        },
    },
    Language {
        tag: "fr",
        name: "French",
        cashier: Texts {
            preparing: "Préparation du paiement...",
            distributed: "Scanner le QR code avec le mobile",
            accessed: "Paiement en cours",
            completed: "Paiement effectué",
            canceled: "Paiement annulé",
            failed: "Une erreur est survenue",
            expired: "Le paiement a expiré",
            checking: "Vérification du paiement...",
        },
        customer: Texts {
            preparing: "Un instant, s'il vous plaît...",
            distributed: "Scannez le QR code avec votre téléphone",
            accessed: "Confirmez dans l'app Klarna",
            // French puts a no-break space before "!".
            completed: "Paiement accepté. Merci\u{a0}!",
            canceled: "Le paiement a été annulé",
            failed: "Le paiement n'a pas abouti",
            expired: "Le paiement a expiré",
            checking: "Un instant, s'il vous plaît...",
        },
    },
    Language {
        tag: "es",
        name: "Spanish",
        cashier: Texts {
            preparing: "Preparando el pago...",
            distributed: "Escanear el código QR con el móvil",
            accessed: "Pago en curso",
            completed: "Pago completado",
            canceled: "Pago cancelado",
            failed: "Algo ha salido mal",
            expired: "El pago ha caducado",
            checking: "Comprobando el pago...",
        },
        customer: Texts {
            preparing: "Un momento, por favor...",
            distributed: "Escanea el código QR con la cámara del móvil",
            accessed: "Confirma en la app de Klarna",
            completed: "Pago aprobado. ¡Gracias!",
            canceled: "El pago se ha cancelado",
            failed: "No se ha podido realizar el pago",
            expired: "El pago ha caducado",
            checking: "Un momento, por favor...",
        },
    },
    Language {
        tag: "it",
        name: "Italian",
        cashier: Texts {
            preparing: "Preparazione pagamento...",
            distributed: "Scansiona il QR code col telefono",
            accessed: "Pagamento in corso",
            completed: "Pagamento completato",
            canceled: "Pagamento annullato",
            failed: "Si è verificato un errore",
            expired: "Pagamento scaduto",
            checking: "Verifica pagamento...",
        },
        customer: Texts {
            preparing: "Un momento, per favore...",
            distributed: "Inquadra il codice QR con la fotocamera",
            accessed: "Conferma nell'app Klarna",
            completed: "Pagamento approvato. Grazie!",
            canceled: "Il pagamento è stato annullato",
            failed: "Il pagamento non è andato a buon fine",
            expired: "Il pagamento è scaduto",
            checking: "Un momento, per favore...",
        },
    },
    Language {
        tag: "pl",
        name: "Polish",
        cashier: Texts {
            preparing: "Przygotowanie płatności...",
            distributed: "Zeskanuj kod QR telefonem",
            accessed: "Płatność w toku",
            completed: "Płatność zakończona",
            canceled: "Płatność anulowana",
            failed: "Coś poszło nie tak",
            expired: "Płatność wygasła",
            checking: "Sprawdzanie statusu...",
        },
        customer: Texts {
            preparing: "Chwileczkę...",
            distributed: "Zeskanuj kod QR aparatem telefonu",
            accessed: "Potwierdź w aplikacji Klarna",
            completed: "Płatność zatwierdzona. Dziękujemy!",
            canceled: "Płatność została anulowana",
            failed: "Płatność nie powiodła się",
            expired: "Płatność wygasła",
            checking: "Chwileczkę...",
        },
    },
    Language {
        tag: "cs",
        name: "Czech",
        cashier: Texts {
            preparing: "Příprava platby...",
            distributed: "Naskenujte QR kód telefonem",
            accessed: "Platba probíhá",
            completed: "Platba dokončena",
            canceled: "Platba zrušena",
            failed: "Něco se pokazilo",
            expired: "Platnost platby vypršela",
            checking: "Ověřování stavu platby...",
        },
        customer: Texts {
            preparing: "Okamžik, prosím...",
            distributed: "Naskenujte QR kód fotoaparátem telefonu",
            accessed: "Potvrďte v aplikaci Klarna",
            completed: "Platba schválena. Děkujeme!",
            canceled: "Platba byla zrušena",
            failed: "Platba neproběhla",
            expired: "Platnost platby vypršela",
            checking: "Okamžik, prosím...",
        },
    },
    Language {
        tag: "pt",
        name: "Portuguese",
        cashier: Texts {
            preparing: "A preparar o pagamento...",
            distributed: "Digitalizar o código QR com o telemóvel",
            accessed: "Pagamento em curso",
            completed: "Pagamento concluído",
            canceled: "Pagamento cancelado",
            failed: "Ocorreu um erro",
            expired: "O pagamento expirou",
            checking: "A verificar o pagamento...",
        },
        customer: Texts {
            preparing: "Aguarde um momento...",
            distributed: "Leia o código QR com a câmara do telemóvel",
            accessed: "Confirme na app Klarna",
            completed: "Pagamento aprovado. Obrigado!",
            canceled: "O pagamento foi cancelado",
            failed: "O pagamento não foi concluído",
            expired: "O pagamento expirou",
            checking: "Aguarde um momento...",
        },
    },
];

/// The text for `status` in the language `tag` names (a BCP 47 tag, case-insensitive, `-` or
/// `_` between subtags); `None` (or an unusable tag) gives English.
pub fn text(status: Status, tag: Option<&str>, audience: Audience) -> &'static str {
    let (language, region) = resolve(tag.unwrap_or(""));
    if status == Status::Canceled {
        if let Some(r) = region {
            return match audience {
                Audience::Cashier => r.cashier_canceled,
                Audience::Customer => r.customer_canceled,
            };
        }
    }
    match audience {
        Audience::Cashier => language.cashier.get(status),
        Audience::Customer => language.customer.get(status),
    }
}

/// The language (English when none matches) and the regional variant, if the table has one.
pub(crate) fn resolve(tag: &str) -> (&'static Language, Option<&'static Region>) {
    let lower = tag.trim().to_ascii_lowercase().replace('_', "-");
    let mut subtags = lower.split('-');
    let primary = subtags.next().unwrap_or("");
    let primary = ALIASES
        .iter()
        .find(|(alias, _)| *alias == primary)
        .map_or(primary, |(_, target)| *target);
    let Some(language) = LANGUAGES.iter().find(|l| l.tag == primary) else {
        return (&LANGUAGES[0], None);
    };
    // The region is the first two-letter or three-digit subtag after the language (a script
    // subtag such as `Latn` may come between them).
    let region = subtags.find(|s| {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()))
            || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
    });
    let variant = region.and_then(|r| {
        REGIONS.iter().find(|v| {
            v.tag
                .strip_prefix(primary)
                .and_then(|t| t.strip_prefix('-'))
                == Some(r)
        })
    });
    (language, variant)
}

/// Greedy word wrap of `text` into lines of at most `width` characters (Unicode scalar values);
/// a word longer than a line gets a line of its own and is counted as too long by the caller.
/// A no-break space joins words.
pub fn wrapped_lines(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = if line.is_empty() {
            word.chars().count()
        } else {
            line.chars().count() + 1 + word.chars().count()
        };
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_texts() -> Vec<(&'static str, Audience, Status, &'static str)> {
        let mut all = Vec::new();
        for l in LANGUAGES {
            for s in Status::ALL {
                all.push((l.tag, Audience::Cashier, s, l.cashier.get(s)));
                all.push((l.tag, Audience::Customer, s, l.customer.get(s)));
            }
        }
        for r in REGIONS {
            all.push((
                r.tag,
                Audience::Cashier,
                Status::Canceled,
                r.cashier_canceled,
            ));
            all.push((
                r.tag,
                Audience::Customer,
                Status::Canceled,
                r.customer_canceled,
            ));
        }
        all
    }

    #[test]
    fn every_language_of_klarnas_in_store_markets_is_in_the_table() {
        for tag in [
            "sv", "nb", "da", "fi", "de", "nl", "fr", "es", "it", "pl", "cs", "pt", "en",
        ] {
            assert!(LANGUAGES.iter().any(|l| l.tag == tag), "{tag}");
        }
        let mut tags: Vec<_> = LANGUAGES.iter().map(|l| l.tag).collect();
        tags.sort();
        tags.dedup();
        assert_eq!(tags.len(), LANGUAGES.len(), "a language appears twice");
    }

    #[test]
    fn every_text_is_non_empty_plain_and_fits_two_lines() {
        let mut longest = [(0, ""), (0, "")];
        for (tag, audience, status, text) in all_texts() {
            let what = format!("{tag} {audience:?} {}: {text:?}", status.name());
            assert!(!text.trim().is_empty(), "{what}");
            assert!(!text.chars().any(char::is_control), "{what}");
            assert_eq!(text, text.trim(), "{what}");
            let width = match audience {
                Audience::Cashier => CASHIER_LINE,
                Audience::Customer => CUSTOMER_LINE,
            };
            let lines = wrapped_lines(text, width);
            assert!(
                lines.len() <= 2 && lines.iter().all(|l| l.chars().count() <= width),
                "{what} does not fit two lines of {width}: {lines:?}"
            );
            let slot = &mut longest[audience as usize];
            if text.chars().count() > slot.0 {
                *slot = (text.chars().count(), text);
            }
        }
        eprintln!(
            "longest cashier text: {} characters ({:?}); longest customer text: {} characters \
             ({:?})",
            longest[0].0, longest[0].1, longest[1].0, longest[1].1
        );
    }

    #[test]
    fn only_completed_claims_success_and_unknown_is_neutral() {
        for l in LANGUAGES {
            for texts in [l.cashier, l.customer] {
                assert_ne!(texts.completed, texts.checking, "{}", l.tag);
                assert_ne!(texts.completed, texts.preparing, "{}", l.tag);
                assert_eq!(
                    texts.get(Status::Created),
                    texts.get(Status::Waiting),
                    "{}",
                    l.tag
                );
                let distinct: std::collections::HashSet<_> = [
                    texts.distributed,
                    texts.accessed,
                    texts.completed,
                    texts.canceled,
                    texts.failed,
                    texts.expired,
                ]
                .into_iter()
                .collect();
                // EXPIRED may read like CANCELED in no language: six different texts.
                assert_eq!(distinct.len(), 6, "{}", l.tag);
            }
        }
    }

    #[test]
    fn no_language_is_english_and_unknown_has_the_neutral_text() {
        for s in Status::ALL {
            for a in [Audience::Cashier, Audience::Customer] {
                assert_eq!(text(s, None, a), text(s, Some("en"), a));
            }
        }
        assert_eq!(
            text(Status::Unknown, None, Audience::Cashier),
            super::super::status::UNKNOWN_DISPLAY_TEXT
        );
    }

    #[test]
    fn tags_fall_back_from_region_to_language_to_english() {
        let cashier = |tag| text(Status::Accessed, Some(tag), Audience::Cashier);
        assert_eq!(cashier("sv"), "Betalning pågår");
        assert_eq!(cashier("sv-SE"), "Betalning pågår");
        assert_eq!(cashier("SV-se"), "Betalning pågår", "case-insensitive");
        assert_eq!(
            cashier("sv_FI"),
            "Betalning pågår",
            "underscore, other region"
        );
        assert_eq!(cashier("nb-NO"), "Betaling pågår");
        assert_eq!(
            cashier("no"),
            "Betaling pågår",
            "Norwegian is written as Bokmål"
        );
        assert_eq!(cashier("de-AT"), "Zahlung läuft");
        assert_eq!(
            cashier("de-Latn-CH"),
            "Zahlung läuft",
            "script subtag skipped"
        );
        assert_eq!(cashier("fr-BE"), "Paiement en cours");
        for unknown in ["", "ja-JP", "x", "-", "sv x", "svx", "\u{e9}"] {
            assert_eq!(cashier(unknown), "Payment in progress", "{unknown:?}");
        }
        let canceled = |tag, a| text(Status::Canceled, Some(tag), a);
        assert_eq!(canceled("en-GB", Audience::Cashier), "Payment is cancelled");
        assert_eq!(
            canceled("en-ie", Audience::Customer),
            "The payment was cancelled"
        );
        assert_eq!(canceled("en-US", Audience::Cashier), "Payment is canceled");
        assert_eq!(canceled("en", Audience::Cashier), "Payment is canceled");
        assert_eq!(
            text(Status::Completed, Some("en-GB"), Audience::Customer),
            "Payment approved. Thank you!",
            "a region changes only its own texts"
        );
    }

    #[test]
    fn word_wrap_keeps_words_whole() {
        assert_eq!(
            wrapped_lines("Scan the QR code with your phone", 20),
            ["Scan the QR code", "with your phone"]
        );
        assert_eq!(wrapped_lines("Merci\u{a0}!", 5), ["Merci\u{a0}!"]);
        assert_eq!(wrapped_lines("a  b", 20), ["a b"]);
    }
}
