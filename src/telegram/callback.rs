//! Every inline button's `callback_data`, typed: one enum, encoded and parsed in
//! one place, always within Telegram's 64 bytes.

use crate::config::TargetOption;
use crate::core::answer::{Action, Intent};
use crate::core::event::EventId;

/// Telegram refuses `callback_data` longer than this many bytes.
pub const MAX_BYTES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// «📖 القصة كاملة»: the event's whole post.
    Full(EventId),
    /// A «هل تقصد» or list button: an answer about the event for the intent asked.
    Pick(EventId, Intent),
    /// «تأكيد» on a `/repost`.
    ConfirmRepost(String),
    /// «إلغاء» on a `/repost`.
    CancelRepost(String),
    /// The enable / disable buttons of `/targets`.
    SetTarget { enable: bool, target: i64 },
    /// A `/settings` button: turn one option of this chat's post on or off.
    SetOption { option: TargetOption, on: bool },
}

impl Callback {
    pub fn encode(&self) -> String {
        match self {
            Callback::Full(id) => format!("full:{id}"),
            Callback::Pick(id, intent) => format!("pick:{id}:{}", intent.code()),
            Callback::ConfirmRepost(id) => format!("rp:ok:{id}"),
            Callback::CancelRepost(id) => format!("rp:no:{id}"),
            Callback::SetTarget { enable, target } => {
                format!("tg:{}:{target}", if *enable { "on" } else { "off" })
            }
            Callback::SetOption { option, on } => {
                format!("opt:{}:{}", option.as_str(), u8::from(*on))
            }
        }
    }

    /// `None` for data this bot never wrote (an old keyboard, another bot's data).
    pub fn parse(data: &str) -> Option<Self> {
        let (tag, rest) = data.split_once(':')?;
        match tag {
            "full" => EventId::parse(rest).ok().map(Callback::Full),
            "pick" => {
                let (id, code) = rest.rsplit_once(':')?;
                let mut chars = code.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else {
                    return None;
                };
                Some(Callback::Pick(
                    EventId::parse(id).ok()?,
                    Intent::from_code(c),
                ))
            }
            "rp" => match rest.split_once(':')? {
                ("ok", id) if is_token(id) => Some(Callback::ConfirmRepost(id.to_owned())),
                ("no", id) if is_token(id) => Some(Callback::CancelRepost(id.to_owned())),
                _ => None,
            },
            "tg" => {
                let (state, id) = rest.split_once(':')?;
                let enable = match state {
                    "on" => true,
                    "off" => false,
                    _ => return None,
                };
                let target = id.parse().ok()?;
                Some(Callback::SetTarget { enable, target })
            }
            "opt" => {
                let (option, on) = rest.split_once(':')?;
                let on = match on {
                    "1" => true,
                    "0" => false,
                    _ => return None,
                };
                Some(Callback::SetOption {
                    option: TargetOption::parse(option)?,
                    on,
                })
            }
            _ => None,
        }
    }

    /// Buttons only admins may press.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Callback::ConfirmRepost(_) | Callback::CancelRepost(_) | Callback::SetTarget { .. }
        )
    }
}

impl From<&Action> for Callback {
    fn from(action: &Action) -> Self {
        match action {
            Action::Full(id) => Callback::Full(id.clone()),
            Action::Pick(id, intent) => Callback::Pick(id.clone(), *intent),
        }
    }
}

/// A confirmation id: what `/repost` writes (16 hex digits), nothing longer.
fn is_token(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INTENTS: [Intent; 6] = [
        Intent::When,
        Intent::HowMany,
        Intent::Where,
        Intent::Who,
        Intent::Why,
        Intent::What,
    ];

    fn callback() -> impl Strategy<Value = Callback> {
        let id = "[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,3}"
            .prop_filter_map("slug", |s| EventId::parse(&s).ok());
        prop_oneof![
            id.clone().prop_map(Callback::Full),
            (id, 0..6usize).prop_map(|(id, i)| Callback::Pick(id, INTENTS[i])),
            "[0-9a-f]{16}".prop_map(Callback::ConfirmRepost),
            "[0-9a-f]{16}".prop_map(Callback::CancelRepost),
            (any::<bool>(), any::<i64>())
                .prop_map(|(enable, target)| Callback::SetTarget { enable, target }),
            (0..4usize, any::<bool>()).prop_map(|(i, on)| Callback::SetOption {
                option: TargetOption::ALL[i],
                on
            }),
        ]
    }

    proptest! {
        #[test]
        fn every_value_round_trips_within_64_bytes(c in callback()) {
            let data = c.encode();
            prop_assert!(data.len() <= MAX_BYTES, "{data} is {} bytes", data.len());
            prop_assert_eq!(Callback::parse(&data), Some(c));
        }

        #[test]
        fn arbitrary_data_never_panics(data in ".{0,80}") {
            let _ = Callback::parse(&data);
        }
    }

    /// Moved from `answer`: the shipped events' buttons fit Telegram's limit.
    #[test]
    fn callback_data_fits_telegrams_64_bytes() {
        let store =
            crate::data::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data"))
                .expect("shipped data");
        for e in store.all() {
            // The longest id (48) and the longest intent form must fit.
            for intent in INTENTS {
                assert!(Callback::Pick(e.id.clone(), intent).encode().len() <= MAX_BYTES);
            }
            assert!(Callback::Full(e.id.clone()).encode().len() <= MAX_BYTES);
        }
        let longest = EventId::parse(&"a".repeat(48)).unwrap();
        assert!(Callback::Pick(longest, Intent::HowMany).encode().len() <= MAX_BYTES);
    }

    #[test]
    fn foreign_data_is_not_ours() {
        for data in [
            "",
            "full:",
            "pick:x",
            "pick:rome:ww",
            "rp:ok:",
            "rp:yes:1",
            "tg:on:x",
            "x:y",
        ] {
            assert_eq!(Callback::parse(data), None, "{data}");
        }
    }
}
