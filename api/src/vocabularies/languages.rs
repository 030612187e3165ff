//! The languages Bydel names, by ISO 639 code, with their Danish and English names.
//!
//! Languages are an open list on the records (`languages`, `preferredLanguage` take any
//! 2- or 3-letter ISO 639 code), so this table names the ones a front end should offer: every
//! code of the demo data and the common languages of immigrant women in Denmark. The code is
//! the two-letter ISO 639-1 code where one exists and the ISO 639-3 code otherwise (Dari
//! `prs`, Kurmanji `kmr`, Sorani `ckb`); `ku` is Kurdish when the variety is not known.
//! Codes are unique and valid for `writes::language_code` (unit-tested below).

use super::labels::Label;

/// (code, label), in code order.
pub const LANGUAGES: &[(&str, Label)] = &[
    (
        "am",
        Label {
            da: "Amharisk",
            en: "Amharic",
        },
    ),
    (
        "ar",
        Label {
            da: "Arabisk",
            en: "Arabic",
        },
    ),
    (
        "az",
        Label {
            da: "Aserbajdsjansk",
            en: "Azerbaijani",
        },
    ),
    (
        "bg",
        Label {
            da: "Bulgarsk",
            en: "Bulgarian",
        },
    ),
    (
        "bn",
        Label {
            da: "Bengali",
            en: "Bengali",
        },
    ),
    (
        "bs",
        Label {
            da: "Bosnisk",
            en: "Bosnian",
        },
    ),
    (
        "ckb",
        Label {
            da: "Sorani (centralkurdisk)",
            en: "Sorani (Central Kurdish)",
        },
    ),
    (
        "da",
        Label {
            da: "Dansk",
            en: "Danish",
        },
    ),
    (
        "de",
        Label {
            da: "Tysk",
            en: "German",
        },
    ),
    (
        "el",
        Label {
            da: "Græsk",
            en: "Greek",
        },
    ),
    (
        "en",
        Label {
            da: "Engelsk",
            en: "English",
        },
    ),
    (
        "es",
        Label {
            da: "Spansk",
            en: "Spanish",
        },
    ),
    (
        "et",
        Label {
            da: "Estisk",
            en: "Estonian",
        },
    ),
    (
        "fa",
        Label {
            da: "Persisk (farsi)",
            en: "Persian (Farsi)",
        },
    ),
    (
        "fi",
        Label {
            da: "Finsk",
            en: "Finnish",
        },
    ),
    (
        "fo",
        Label {
            da: "Færøsk",
            en: "Faroese",
        },
    ),
    (
        "fr",
        Label {
            da: "Fransk",
            en: "French",
        },
    ),
    (
        "he",
        Label {
            da: "Hebraisk",
            en: "Hebrew",
        },
    ),
    (
        "hi",
        Label {
            da: "Hindi",
            en: "Hindi",
        },
    ),
    (
        "hr",
        Label {
            da: "Kroatisk",
            en: "Croatian",
        },
    ),
    (
        "hu",
        Label {
            da: "Ungarsk",
            en: "Hungarian",
        },
    ),
    (
        "hy",
        Label {
            da: "Armensk",
            en: "Armenian",
        },
    ),
    (
        "it",
        Label {
            da: "Italiensk",
            en: "Italian",
        },
    ),
    (
        "ka",
        Label {
            da: "Georgisk",
            en: "Georgian",
        },
    ),
    (
        "kl",
        Label {
            da: "Grønlandsk",
            en: "Greenlandic",
        },
    ),
    (
        "kmr",
        Label {
            da: "Kurmanji (nordkurdisk)",
            en: "Kurmanji (Northern Kurdish)",
        },
    ),
    (
        "ku",
        Label {
            da: "Kurdisk",
            en: "Kurdish",
        },
    ),
    (
        "lt",
        Label {
            da: "Litauisk",
            en: "Lithuanian",
        },
    ),
    (
        "lv",
        Label {
            da: "Lettisk",
            en: "Latvian",
        },
    ),
    (
        "mk",
        Label {
            da: "Makedonsk",
            en: "Macedonian",
        },
    ),
    (
        "ne",
        Label {
            da: "Nepalesisk",
            en: "Nepali",
        },
    ),
    (
        "nl",
        Label {
            da: "Nederlandsk",
            en: "Dutch",
        },
    ),
    (
        "no",
        Label {
            da: "Norsk",
            en: "Norwegian",
        },
    ),
    (
        "om",
        Label {
            da: "Oromo",
            en: "Oromo",
        },
    ),
    (
        "pa",
        Label {
            da: "Punjabi",
            en: "Punjabi",
        },
    ),
    (
        "pl",
        Label {
            da: "Polsk",
            en: "Polish",
        },
    ),
    (
        "prs",
        Label {
            da: "Dari",
            en: "Dari",
        },
    ),
    (
        "ps",
        Label {
            da: "Pashto",
            en: "Pashto",
        },
    ),
    (
        "pt",
        Label {
            da: "Portugisisk",
            en: "Portuguese",
        },
    ),
    (
        "ro",
        Label {
            da: "Rumænsk",
            en: "Romanian",
        },
    ),
    (
        "ru",
        Label {
            da: "Russisk",
            en: "Russian",
        },
    ),
    (
        "si",
        Label {
            da: "Singalesisk",
            en: "Sinhala",
        },
    ),
    (
        "so",
        Label {
            da: "Somali",
            en: "Somali",
        },
    ),
    (
        "sq",
        Label {
            da: "Albansk",
            en: "Albanian",
        },
    ),
    (
        "sr",
        Label {
            da: "Serbisk",
            en: "Serbian",
        },
    ),
    (
        "sv",
        Label {
            da: "Svensk",
            en: "Swedish",
        },
    ),
    (
        "sw",
        Label {
            da: "Swahili",
            en: "Swahili",
        },
    ),
    (
        "ta",
        Label {
            da: "Tamil",
            en: "Tamil",
        },
    ),
    (
        "th",
        Label {
            da: "Thai",
            en: "Thai",
        },
    ),
    (
        "ti",
        Label {
            da: "Tigrinya",
            en: "Tigrinya",
        },
    ),
    (
        "tl",
        Label {
            da: "Tagalog",
            en: "Tagalog",
        },
    ),
    (
        "tr",
        Label {
            da: "Tyrkisk",
            en: "Turkish",
        },
    ),
    (
        "uk",
        Label {
            da: "Ukrainsk",
            en: "Ukrainian",
        },
    ),
    (
        "ur",
        Label {
            da: "Urdu",
            en: "Urdu",
        },
    ),
    (
        "uz",
        Label {
            da: "Usbekisk",
            en: "Uzbek",
        },
    ),
    (
        "vi",
        Label {
            da: "Vietnamesisk",
            en: "Vietnamese",
        },
    ),
    (
        "zh",
        Label {
            da: "Kinesisk",
            en: "Chinese",
        },
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_valid_unique_in_order_and_named_in_both_languages() {
        for window in LANGUAGES.windows(2) {
            assert!(
                window[0].0 < window[1].0,
                "{} before {}",
                window[0].0,
                window[1].0
            );
        }
        for (code, label) in LANGUAGES {
            assert!(crate::writes::language_code(code, "code").is_ok(), "{code}");
            assert!(!label.da.is_empty() && !label.en.is_empty(), "{code}");
        }
    }

    /// The codes the demo data gives its women, and those the issue lists, all have names.
    #[test]
    fn the_demo_datas_and_the_common_languages_are_named() {
        let named = |code: &str| LANGUAGES.iter().any(|(c, _)| *c == code);
        let demo = [
            "ar", "so", "tr", "ku", "ur", "pa", "fa", "ps", "ta", "bs", "ti", "da", "en",
        ];
        let common = [
            "prs", "kmr", "ckb", "am", "pl", "ro", "uk", "ru", "sr", "hr", "sq", "vi", "th", "tl",
            "hi", "bn", "de", "fr", "es",
        ];
        for code in demo.into_iter().chain(common) {
            assert!(named(code), "{code} has no name");
        }
    }
}
