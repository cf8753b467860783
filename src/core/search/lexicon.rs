//! The search's word lists: question and function words (never part of a name),
//! the subject's vocabulary (on-topic, naming no event), clitics, and the
//! concepts — what a question's verbs and nouns ask about (liberating, bombing,
//! surrendering…, the start or the end of something), matched through a stemmer
//! so that «حُررت», «حرروا» and «تحرير» meet. Data, kept apart from the logic.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::core::arabic;
use crate::core::event::Kind;

/// Question words and function words: never part of a name.
pub const STOPWORDS: &[&str] = &[
    // Question words: `QUESTION_WORDS`, below, are stopwords too.
    "ماهو",
    "ماهي",
    "لم",
    "اي",
    "ايه",
    // Function words.
    "هو",
    "هي",
    "هم",
    "في",
    "فى",
    "علي",
    "الي",
    "عن",
    "مع",
    "او",
    "ثم",
    "قد",
    "لقد",
    "تم",
    "كان",
    "كانت",
    "يا",
    "لي",
    "هذا",
    "هذه",
    "ذلك",
    "تلك",
    "التي",
    "الذي",
    "الذين",
    "عام",
    "سنه",
    "شهر",
    "عدد",
    "كل",
    "بعد",
    "قبل",
    "حول",
    "بين",
    "يوم",
    "اليوم",
    "الان",
    "اخبرني",
    "احكي",
    "احكيلي",
    "قل",
    "قولي",
    "ممكن",
    "اريد",
    "اعرف",
    "معلومات",
    "عندي",
    "سؤال",
    "لو",
    "سمحت",
    "فضلك",
    // English.
    "the",
    "of",
    "in",
    "on",
    "at",
    "a",
    "an",
    "when",
    "where",
    "who",
    "what",
    "how",
    "many",
    "much",
    "was",
    "did",
    "is",
    "and",
    "to",
    "for",
    "about",
    "tell",
    "me",
    "happened",
    "why",
];

/// The subject's own vocabulary: on-topic, but naming no event by itself.
pub const DOMAIN: &[&str] = &[
    "معركه",
    "معارك",
    "المعركه",
    "حرب",
    "الحرب",
    "العالميه",
    "الثانيه",
    "قوات",
    "القوات",
    "جيش",
    "الجيش",
    "جيوش",
    "جنود",
    "جندي",
    "قتلي",
    "القتلي",
    "قتيل",
    "ضحايا",
    "الضحايا",
    "خسائر",
    "الخسائر",
    "اصابات",
    "هجوم",
    "الهجوم",
    "حدث",
    "جري",
    "جرت",
    "صار",
    "صارت",
    "حصل",
    "حصلت",
    "دارت",
    "وقع",
    "وقعت",
    "دخل",
    "دخلت",
    "دخول",
    "سقط",
    "سقطت",
    "حرر",
    "استولي",
    "سيطر",
    "احتل",
    "اخذ",
    "قائد",
    "قاده",
    "القائد",
    "القاده",
    "الطرفين",
    "اطراف",
    "مكان",
    "موقع",
    "سبب",
    "نتيجه",
    "انتصر",
    "فاز",
    "هزم",
    "الالمان",
    "المانيا",
    "ايطاليا",
    "الايطاليين",
    "الحلفاء",
    // The armies and nations as people name them: subject words, never a name.
    "المحور",
    "الالماني",
    "الالمانيه",
    "الايطالي",
    "الايطاليه",
    "الايطاليون",
    "الطليان",
    "البريطانيون",
    "البريطانيين",
    "البريطاني",
    "البريطانيه",
    "الانجليز",
    "الانكليز",
    "الامريكان",
    "الامريكيون",
    "الامريكيين",
    "الامريكي",
    "الفرنسيون",
    "الفرنسيين",
    "الفرنسي",
    "السوفييت",
    "السوفيت",
    "الروس",
    "الاستراليون",
    "الكنديون",
    "البولنديون",
    "النازيون",
    "النازي",
    // The air war.
    "طلعه",
    "طلعات",
    "جويه",
    "جوي",
    "طائره",
    "قاذفه",
    "قاذفات",
    // Ships and fleets.
    "طراد",
    "الطراد",
    "بارجه",
    "البارجه",
    "سفينه",
    "سفن",
    "مدمره",
    "غواصه",
    "حامله",
    "اسطول",
    "الاسطول",
    "قافله",
    "ذكري",
    "تاريخ",
    "حدثت",
    "طائرات",
    "قنابل",
    "حمله",
    "battle",
    "war",
    "ww2",
    "wwii",
    "allies",
    "germans",
    "italy",
];

/// Words too common in names to name anything («عملية» begins dozens), yet not
/// the war's own words: «عملية جراحية» is no question about the war.
pub const GENERIC: &[&str] = &[
    "عمليه",
    "operation",
    "خليج",
    "بحر",
    "جزيره",
    "جزر",
    "مدينه",
    "ميناء",
    "نهر",
    "جبل",
    "خط",
    "قلعه",
    "مضيق",
    "صحراء",
    "قصر",
];

/// The words that make a text a question; a concept word alone («لا تستسلم»)
/// is not about the war without one.
pub const QUESTION_WORDS: &[&str] = &[
    "متي",
    "امتي",
    "ايمتي",
    "امته",
    "ايمته",
    "وقتاش",
    "امتا",
    "ايمتا",
    "كم",
    "قديش",
    "اديش",
    "كام",
    "اين",
    "وين",
    "فين",
    "من",
    "مين",
    "منو",
    "شكون",
    "ما",
    "ماذا",
    "لماذا",
    "ليش",
    "ليه",
    "علاش",
    "شو",
    "ايش",
    "وش",
    "واش",
    "شنو",
    "هل",
    "كيف",
    "when",
    "where",
    "who",
    "what",
    "why",
    "how",
    "فاين",
    "شنهو",
    "كيفاش",
    "وقتيش",
    "اشنو",
];

/// People named by their nation («الإيطاليون») and the party the facts name
/// («إيطاليا»), so «متى وقّع الإيطاليون الهدنة» finds the armistice Italy signed.
pub const DEMONYMS: &[(&str, &str)] = &[
    ("ايطاليون", "ايطاليا"),
    ("ايطاليين", "ايطاليا"),
    ("ايطالي", "ايطاليا"),
    ("طليان", "ايطاليا"),
    ("المان", "المانيا"),
    ("الماني", "المانيا"),
    ("فرنسيون", "فرنسا"),
    ("فرنسيين", "فرنسا"),
    ("بريطانيون", "بريطانيا"),
    ("بريطانيين", "بريطانيا"),
    ("انجليز", "بريطانيا"),
    ("انكليز", "بريطانيا"),
    ("يونانيون", "اليونان"),
    ("عراقيون", "العراق"),
    ("مصريون", "مصر"),
];

/// Words of a question that are neither a name nor the subject, and ask for nothing.
pub const FILLER: &[&str] = &[
    "بالضبط",
    "تحديدا",
    "بالتحديد",
    "بالتفصيل",
    "بالتاريخ",
    "تقريبا",
    "لا",
    "ابدا",
    "دائما",
    "شكرا",
    "جزيلا",
    "مشكور",
    "مرسي",
    "انت",
    "انا",
    "انتم",
    "نحن",
    "قصه",
    "حكايه",
    "رجاء",
    "تعرف",
    "تعرفون",
    "نعرف",
];

/// One thing a question can ask about, in all the words people use for it.
pub struct Concept {
    /// The kinds of event it fits; none for a phase (start, end) read from titles.
    pub kinds: &'static [Kind],
    pub words: &'static [&'static str],
}

use Kind::*;

/// The concept «the end of…» (the last of `CONCEPTS`).
pub const END: usize = CONCEPTS.len() - 1;

/// Verbs and verbal nouns, both listed: the stemmer folds inflections
/// (حررت، حرروا → حرر) but not a verb onto its noun (حرر ≠ تحرير).
pub const CONCEPTS: &[Concept] = &[
    Concept {
        kinds: &[Liberation],
        words: &[
            "تحرير",
            "حرر",
            "حررت",
            "حرروا",
            "تحرر",
            "تحررت",
            "محرر",
            "يحرر",
            "يحررون",
        ],
    },
    Concept {
        kinds: &[Liberation, Occupation, Landing],
        words: &[
            "دخول",
            "دخل",
            "دخلوا",
            "دخلت",
            "تدخل",
            "يدخل",
            "يدخلون",
            "وصول",
            "وصل",
            "وصلوا",
            "تصل",
            "يصل",
        ],
    },
    Concept {
        kinds: &[Liberation],
        words: &[
            "استعاد",
            "استعادوا",
            "استعادت",
            "استعاده",
            "استرداد",
            "استرد",
            "يستعيد",
            "تستعيد",
        ],
    },
    Concept {
        kinds: &[Bombing, Raid],
        words: &[
            "قصف",
            "قصفوا",
            "قصفت",
            "قصفها",
            "يقصف",
            "تقصف",
            "غاره",
            "غارات",
            "اغار",
            "اغاروا",
            "قنبله",
        ],
    },
    Concept {
        kinds: &[Surrender, Armistice],
        words: &[
            "استسلام",
            "استسلم",
            "استسلموا",
            "استسلمت",
            "يستسلم",
            "سلم",
            "سلموا",
            "تسليم",
        ],
    },
    Concept {
        kinds: &[Landing],
        words: &[
            "انزال",
            "نزل",
            "نزلوا",
            "انزلوا",
            "ينزل",
            "تنزل",
            "هبوط",
            "هبطوا",
            "تهبط",
            "يهبط",
            "نزول",
        ],
    },
    Concept {
        kinds: &[Occupation],
        words: &[
            "احتلال",
            "احتل",
            "احتلوا",
            "احتلت",
            "يحتل",
            "تحتل",
            "يحتلون",
            "اجتياح",
            "اجتاح",
        ],
    },
    Concept {
        kinds: &[Execution],
        words: &["اعدام", "اعدم", "اعدموا", "اعدمت", "يعدم"],
    },
    Concept {
        kinds: &[Execution, Assassination, Massacre],
        words: &["قتل", "قتلوا", "مقتل"],
    },
    Concept {
        kinds: &[Execution, Assassination],
        words: &["مات", "ماتت", "توفي", "وفاه", "موت"],
    },
    // «اعتقال» is the usual word for Mussolini's arrest in 1943, «القبض» for 1945.
    Concept {
        kinds: &[Arrest],
        words: &["اعتقال", "اعتقل", "اعتقلوا", "يعتقل", "يعتقلون"],
    },
    Concept {
        kinds: &[Arrest],
        words: &["قبض", "القبض", "اسر", "اسروا"],
    },
    Concept {
        kinds: &[Assassination],
        words: &["اغتيال", "اغتيل", "اغتالوا", "اغتال", "يغتال"],
    },
    Concept {
        kinds: &[Siege],
        words: &[
            "حصار",
            "حاصر",
            "حاصروا",
            "حاصرت",
            "يحاصر",
            "تحاصر",
            "حوصر",
            "حوصرت",
            "محاصره",
        ],
    },
    Concept {
        kinds: &[Landing, Offensive, Occupation],
        words: &["غزو", "غزا", "غزت", "غزوا", "تغزو", "يغزو"],
    },
    Concept {
        kinds: &[Sinking],
        words: &[
            "اغراق",
            "اغرق",
            "اغرقت",
            "اغرقوا",
            "تغرق",
            "يغرق",
            "غرق",
            "غرقت",
            "نسف",
        ],
    },
    Concept {
        kinds: &[Declaration, Independence],
        words: &["اعلان", "اعلن", "اعلنت", "اعلنوا", "يعلن", "تعلن"],
    },
    Concept {
        kinds: &[Independence],
        words: &["استقلال", "استقل", "استقلت"],
    },
    Concept {
        kinds: &[Armistice, Treaty],
        words: &["هدنه", "هدن"],
    },
    Concept {
        kinds: &[Treaty],
        words: &["معاهده", "اتفاقيه", "بروتوكول", "ميثاق", "توقيع"],
    },
    Concept {
        kinds: &[Conference],
        words: &["مؤتمر", "موتمر", "اجتماع", "اجتمع", "لقاء", "التقي", "قمه"],
    },
    Concept {
        kinds: &[Coup],
        words: &["انقلاب", "انقلب"],
    },
    Concept {
        kinds: &[Decision],
        words: &["تسلم", "استلم", "تولي", "تولى", "قياده"],
    },
    Concept {
        kinds: &[Treaty, Decision, Conference, Declaration],
        words: &["تاسيس", "تاسست", "اتاسست", "تاسس", "اسس", "انشاء", "انشئت"],
    },
    Concept {
        kinds: &[Evacuation],
        words: &[
            "اجلاء",
            "اخلاء",
            "انسحاب",
            "انسحب",
            "انسحبوا",
            "انسحبت",
            "ينسحب",
            "ينسحبون",
        ],
    },
    Concept {
        kinds: &[Decision, Arrest],
        words: &["عزل", "عزلوا", "يعزل", "خلع", "اقاله", "اقال"],
    },
    Concept {
        kinds: &[Massacre],
        words: &["مجزره", "مجازر", "مذبحه"],
    },
    Concept {
        kinds: &[Surrender, Occupation, Liberation, Battle],
        words: &["سقوط", "سقط", "سقطت", "تسقط", "يسقط"],
    },
    // Phases, read from titles («بدء معركة…», «نهاية معركة…»): the last two.
    Concept {
        kinds: &[],
        words: &["بدء", "بدايه", "بدا", "بدات", "انطلاق", "اندلاع", "اندلعت"],
    },
    Concept {
        kinds: &[],
        words: &["نهايه", "انتهاء", "انتهي", "انتهت", "ختام"],
    },
];

/// The article, folded away on both sides of every comparison (القوطي ~ قوطي).
pub fn canonical(word: &str) -> &str {
    match word.strip_prefix("ال") {
        Some(rest) if rest.chars().count() >= 2 => rest,
        _ => word,
    }
}

/// Clitics stripped from a query word only when what remains is a known word.
pub const CLITICS: &[&str] = &[
    "وبال", "وال", "فال", "بال", "كال", "لل", "وب", "ول", "وك", "فب", "فل", "و", "ف", "ب", "ل", "ك",
];

pub fn is_stopword(w: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        STOPWORDS
            .iter()
            .chain(FILLER)
            .chain(QUESTION_WORDS)
            .copied()
            .collect()
    })
    .contains(w)
}

pub fn is_month(w: &str) -> bool {
    static MONTHS: OnceLock<HashSet<String>> = OnceLock::new();
    MONTHS
        .get_or_init(|| {
            arabic::month_spellings()
                .into_iter()
                .flat_map(|(n, _)| n.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .collect()
        })
        .contains(w)
}

/// The light stem of an ordinary word (Snowball's Arabic algorithm). Never for
/// names: it mangles them (فلورنسا → لورنس).
pub fn stem(word: &str) -> String {
    use rust_stemmers::{Algorithm, Stemmer};
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER
        .get_or_init(|| Stemmer::create(Algorithm::Arabic))
        .stem(word)
        .into_owned()
}
