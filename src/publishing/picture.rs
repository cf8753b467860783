//! The day's card as a Telegram photo: drawn once (off the async workers),
//! uploaded once, and its `file_id` reused for every other target, so a
//! broadcast to a thousand channels sends one picture's bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use teloxide::types::{FileId, InputFile, Message};
use tokio::sync::{Mutex, MutexGuard};

use crate::core::card::{self, Card};

/// One drawn card, as a photo to send.
pub struct Photo {
    /// Telegram HTML within the caption limit.
    pub caption: String,
    /// The PNG, or why it could not be drawn (the text goes out regardless).
    png: Result<Bytes, String>,
    file_name: String,
    /// Telegram's id of the uploaded picture; its lock is held through the one
    /// upload, so the other targets wait for the id rather than upload again.
    file_id: Mutex<Option<FileId>>,
    /// The admins heard once that this picture could not be drawn or sent.
    alerted: AtomicBool,
}

/// What an attempt sends: the picture's id, or its bytes with the upload's lock.
pub enum Upload<'p> {
    Known(FileId),
    Bytes(InputFile, MutexGuard<'p, Option<FileId>>),
}

impl Upload<'_> {
    pub fn input(&self) -> InputFile {
        match self {
            Upload::Known(id) => InputFile::file_id(id.clone()),
            Upload::Bytes(file, _) => file.clone(),
        }
    }

    /// Keeps the id Telegram gave the uploaded picture (its largest size).
    pub fn sent(self, message: &Message) {
        if let Upload::Bytes(_, mut slot) = self
            && let Some(largest) = message.photo().and_then(|sizes| sizes.last())
        {
            *slot = Some(largest.file.id.clone());
        }
    }
}

impl Photo {
    /// Draws `card` on a blocking thread: 13–16 ms in a release build (the
    /// `draw_timing` test), too long to hold an async worker.
    pub async fn draw(card: Card, file_name: String) -> Photo {
        let caption = card.caption();
        let png = tokio::task::spawn_blocking(move || card::draw(&card))
            .await
            .map_err(|e| format!("the drawing thread failed: {e}"))
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map(Bytes::from);
        Photo {
            caption,
            png,
            file_name,
            file_id: Mutex::new(None),
            alerted: AtomicBool::new(false),
        }
    }

    /// Why the card could not be drawn, if it could not.
    pub fn broken(&self) -> Option<&str> {
        self.png.as_ref().err().map(String::as_str)
    }

    /// What to send next: the known id, or the bytes (waiting while another
    /// target uploads them). `None` when there is no picture to send.
    pub async fn upload(&self) -> Option<Upload<'_>> {
        let png = self.png.as_ref().ok()?;
        let slot = self.file_id.lock().await;
        Some(match &*slot {
            Some(id) => Upload::Known(id.clone()),
            None => {
                let file = InputFile::memory(png.clone()).file_name(self.file_name.clone());
                Upload::Bytes(file, slot)
            }
        })
    }

    /// True the first time only: a broken picture is reported once, not per target.
    pub fn first_alert(&self) -> bool {
        !self.alerted.swap(true, Ordering::Relaxed)
    }
}

/// The photos drawn lately, by card: the same card (a day's events for a set of
/// theatres) is drawn and uploaded once however many publish calls ask for it.
#[derive(Default)]
pub struct Photos {
    /// Most recently used first; a few days' worth at most.
    drawn: Mutex<Vec<(Card, Arc<Photo>)>>,
}

/// Whether two cards draw the same picture. Not `==`: an event without
/// coordinates has NaN for them, and NaN is unequal to itself, which would draw
/// and upload such a card again for every target.
fn same(a: &Card, b: &Card) -> bool {
    a.date_line == b.date_line
        && a.events.len() == b.events.len()
        && a.events.iter().zip(&b.events).all(|(x, y)| {
            x.title == y.title
                && x.place == y.place
                && x.lat.to_bits() == y.lat.to_bits()
                && x.lon.to_bits() == y.lon.to_bits()
        })
}

/// Enough for a day's cards across several theatre sets and a repost or two.
const KEPT: usize = 8;

impl Photos {
    /// The photo of `card`, drawn now if it was not drawn lately.
    pub async fn of(&self, card: Card, file_name: String) -> Arc<Photo> {
        // Held while drawing: two publish calls asking at once draw it once.
        let mut drawn = self.drawn.lock().await;
        if let Some(i) = drawn.iter().position(|(c, _)| same(c, &card)) {
            let entry = drawn.remove(i);
            let photo = Arc::clone(&entry.1);
            drawn.insert(0, entry);
            return photo;
        }
        let photo = Arc::new(Photo::draw(card.clone(), file_name).await);
        drawn.insert(0, (card, Arc::clone(&photo)));
        drawn.truncate(KEPT);
        photo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::card::CardEvent;

    /// A card without coordinates (NaN) is still the same card: drawn and
    /// uploaded once, not once per target.
    #[tokio::test]
    async fn a_card_without_coordinates_is_drawn_once() {
        let card = Card {
            date_line: "في مثل هذا اليوم 4 يونيو 1944م".into(),
            events: vec![CardEvent {
                title: "حدث".into(),
                place: None,
                lat: f64::NAN,
                lon: f64::NAN,
            }],
        };
        let photos = Photos::default();
        let a = photos.of(card.clone(), "a.png".into()).await;
        let b = photos.of(card, "a.png".into()).await;
        assert!(Arc::ptr_eq(&a, &b));
    }
}
