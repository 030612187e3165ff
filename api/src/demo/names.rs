//! Names and languages of the women in the demo data: the immigrant backgrounds the
//! programme's mothers and participants come from, with the ISO 639-1 codes they speak.
//!
//! Contact details are fake on purpose: phone numbers in the unassigned "+45 00 .." range and
//! e-mail only at example.org, so demo data can never reach a real person.

use super::rng::Rng;

/// One background: first names, family names, mother tongue and a likely second language.
pub struct Background {
    pub first_names: &'static [&'static str],
    pub last_names: &'static [&'static str],
    pub language: &'static str,
    pub second_language: Option<&'static str>,
}

const ARABIC: Background = Background {
    first_names: &[
        "Fatima", "Amal", "Rania", "Huda", "Samira", "Nour", "Layla", "Mariam", "Yasmin", "Hanan",
        "Rim", "Asma", "Zeinab", "Dalia", "Salma", "Ghada", "Manal", "Wafa",
    ],
    last_names: &[
        "Hassan",
        "Abdallah",
        "El-Khatib",
        "Haddad",
        "Ali",
        "Mahmoud",
        "Saleh",
        "Khalil",
        "Nasser",
        "Ibrahim",
        "Darwish",
        "Al-Amin",
        "Youssef",
        "Fares",
    ],
    language: "ar",
    second_language: None,
};

const SOMALI: Background = Background {
    first_names: &[
        "Hodan", "Faadumo", "Sahra", "Hawa", "Ifrah", "Nimo", "Ubah", "Amina", "Khadra", "Deeqa",
        "Ayaan", "Fardowsa", "Sagal", "Hibo",
    ],
    last_names: &[
        "Warsame", "Mohamed", "Abdi", "Farah", "Hirsi", "Jama", "Osman", "Yusuf", "Aden",
        "Hussein", "Egal", "Nur",
    ],
    language: "so",
    second_language: Some("ar"),
};

const TURKISH: Background = Background {
    first_names: &[
        "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Sevgi", "Gül", "Nurcan", "Özlem",
        "Derya", "Meryem", "Hülya", "Songül",
    ],
    last_names: &[
        "Yılmaz", "Demir", "Kaya", "Şahin", "Çelik", "Öztürk", "Aydın", "Arslan", "Doğan", "Koç",
        "Kılıç", "Polat",
    ],
    language: "tr",
    second_language: None,
};

const KURDISH: Background = Background {
    first_names: &[
        "Berivan", "Rojda", "Nazdar", "Shirin", "Hêvî", "Zozan", "Gulistan", "Avin", "Dilan",
        "Nasrin", "Evîn", "Rezan",
    ],
    last_names: &[
        "Rashid", "Karim", "Salih", "Mustafa", "Amin", "Qadir", "Hawrami", "Baban", "Zaxoyî",
        "Ahmad",
    ],
    language: "ku",
    second_language: Some("ar"),
};

const URDU: Background = Background {
    first_names: &[
        "Nazia", "Shazia", "Rubina", "Saima", "Farzana", "Samina", "Ayesha", "Sadia", "Nusrat",
        "Bushra", "Uzma", "Tahira",
    ],
    last_names: &[
        "Khan", "Ahmed", "Hussain", "Iqbal", "Malik", "Butt", "Chaudhry", "Akhtar", "Rana",
        "Javed", "Qureshi",
    ],
    language: "ur",
    second_language: Some("pa"),
};

const FARSI: Background = Background {
    first_names: &[
        "Maryam",
        "Parisa",
        "Fereshteh",
        "Zahra",
        "Soraya",
        "Leila",
        "Nasrin",
        "Shabnam",
        "Mahnaz",
        "Roya",
        "Farida",
        "Marzia",
    ],
    last_names: &[
        "Hosseini",
        "Rahimi",
        "Ahmadi",
        "Karimi",
        "Mohammadi",
        "Rezaei",
        "Sadeghi",
        "Azizi",
        "Noori",
        "Sultani",
        "Haidari",
    ],
    language: "fa",
    second_language: Some("ps"),
};

const TAMIL: Background = Background {
    first_names: &[
        "Vasuki",
        "Tharshini",
        "Kalaivani",
        "Nirmala",
        "Sivaranjini",
        "Shanthi",
        "Jeyanthi",
        "Mathivathani",
        "Kavitha",
        "Thulasi",
    ],
    last_names: &[
        "Sivakumar",
        "Thevarajah",
        "Kanagaratnam",
        "Selvarajah",
        "Nadarajah",
        "Ponnampalam",
        "Balasingam",
        "Yogarajah",
    ],
    language: "ta",
    second_language: None,
};

const BOSNIAN: Background = Background {
    first_names: &[
        "Amra", "Selma", "Mirsada", "Edina", "Lejla", "Azra", "Senada", "Alma", "Emina", "Jasmina",
    ],
    last_names: &[
        "Hadžić",
        "Mujić",
        "Begić",
        "Hodžić",
        "Delić",
        "Kovačević",
        "Halilović",
        "Softić",
        "Mehmedović",
    ],
    language: "bs",
    second_language: None,
};

const TIGRINYA: Background = Background {
    first_names: &[
        "Senait", "Helen", "Tsega", "Ruth", "Mebrat", "Saba", "Yordanos", "Freweini", "Lidia",
    ],
    last_names: &[
        "Tesfay",
        "Gebremedhin",
        "Habte",
        "Kidane",
        "Berhane",
        "Tewolde",
        "Woldu",
        "Ghebre",
    ],
    language: "ti",
    second_language: Some("ar"),
};

/// How common each background is among mothers and participants.
const BACKGROUNDS: &[(&Background, u32)] = &[
    (&ARABIC, 25),
    (&SOMALI, 15),
    (&TURKISH, 15),
    (&KURDISH, 10),
    (&URDU, 10),
    (&FARSI, 10),
    (&TAMIL, 5),
    (&BOSNIAN, 5),
    (&TIGRINYA, 5),
];

pub fn background(rng: &mut Rng) -> &'static Background {
    let index = rng.weighted(
        &BACKGROUNDS
            .iter()
            .enumerate()
            .map(|(i, (_, w))| (i, *w))
            .collect::<Vec<_>>(),
    );
    BACKGROUNDS
        .get(index.unwrap_or(0))
        .map_or(&ARABIC, |(b, _)| *b)
}

impl Background {
    pub fn first_name(&self, rng: &mut Rng) -> &'static str {
        rng.pick(self.first_names).copied().unwrap_or("Amal")
    }

    pub fn last_name(&self, rng: &mut Rng) -> &'static str {
        rng.pick(self.last_names).copied().unwrap_or("Ali")
    }

    /// Mother tongue first; Danish with probability `danish`, the second language and
    /// English now and then.
    pub fn languages(&self, rng: &mut Rng, danish: f64) -> Vec<&'static str> {
        let mut out = vec![self.language];
        if let Some(second) = self.second_language
            && rng.chance(0.35)
        {
            out.push(second);
        }
        if rng.chance(danish) {
            out.push("da");
        }
        if rng.chance(0.2) {
            out.push("en");
        }
        out
    }
}

/// "+45 00 00 12 34"-style numbers: `series` keeps mothers and participants apart.
pub fn fake_phone(series: u32, n: u32) -> String {
    format!("+45 00 {:02} {:02} {:02}", series, (n / 100) % 100, n % 100)
}

/// "fatima.hassan12@example.org": ASCII only, on the reserved example domain.
pub fn fake_email(first: &str, last: &str, n: u32) -> String {
    format!("{}.{}{}@example.org", ascii(first), ascii(last), n % 100)
}

fn ascii(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'a'..='z' => Some(c),
            'ş' | 'š' => Some('s'),
            'ı' | 'î' => Some('i'),
            'ğ' => Some('g'),
            'ö' | 'ø' => Some('o'),
            'ü' => Some('u'),
            'ç' | 'č' | 'ć' => Some('c'),
            'ž' => Some('z'),
            'ê' => Some('e'),
            'å' | 'æ' => Some('a'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_details_are_fake() {
        assert_eq!(fake_phone(0, 1234), "+45 00 00 12 34");
        assert_eq!(fake_email("Ayşe", "Yılmaz", 7), "ayse.yilmaz7@example.org");
        assert_eq!(
            fake_email("Hêvî", "El-Khatib", 1),
            "hevi.elkhatib1@example.org"
        );
    }
}
