//! The send modes on Discord: the countdown and its Undo button in the
//! thread, edits and deletes through the gateway, and the private preview
//! that answers `/perch reply`.

use std::time::Duration;

use perch::sandbox::discord::Message as DiscordMessage;

use crate::common::relay::{never, until, Scene, SAM_DISCORD};
use crate::send_modes::{
    nothing_on_x_after_the_window, past_the_window, scene_on_clock, CONFIRM, UNDO,
};

/// perch's message in the thread of `card` whose content has `words`.
async fn prompt_with(scene: &Scene, card: &DiscordMessage, words: &str) -> DiscordMessage {
    until(&format!("perch's `{words}` in the Discord thread"), || {
        scene
            .discord_thread(card)
            .into_iter()
            .find(|m| m.author_id == perch::sandbox::discord::BOT_ID && m.content.contains(words))
    })
    .await
}

/// The custom id of button `n` under `m`.
fn button(m: &DiscordMessage, n: usize) -> String {
    m.components[0]["components"][n]["custom_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_on_discord_takes_a_reply_back() {
    let (scene, clock) = scene_on_clock(UNDO).await;
    let (_, _, card) = scene.mention("ned", "double charge").await;
    scene.discord().user_message(
        card.id,
        SAM_DISCORD,
        "Sam",
        &[],
        "Refund sent to the wrong person",
    );
    let prompt = prompt_with(&scene, &card, "goes as @AcmeSupport").await;
    assert!(
        prompt.content.contains(":R>)"),
        "a live countdown: {}",
        prompt.content
    );
    let custom_id = button(&prompt, 0);
    assert!(custom_id.starts_with("perch_undo:"), "{custom_id}");
    scene
        .discord()
        .press_button(card.id, prompt.id, SAM_DISCORD, "Sam", &custom_id)
        .expect("pressed");
    until("the countdown to say it was undone", || {
        scene
            .discord_thread(&card)
            .into_iter()
            .find(|m| m.id == prompt.id && m.content.contains("undone by Sam Lee"))
    })
    .await;
    nothing_on_x_after_the_window(&scene, &clock).await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_discord_an_edit_changes_a_waiting_reply_and_a_delete_takes_it_back() {
    let (scene, clock) = scene_on_clock(UNDO).await;
    let (post, _, card) = scene.mention("uma", "broken lid").await;
    let first =
        scene
            .discord()
            .user_message(card.id, SAM_DISCORD, "Sam", &[], "A new lid ships tomorow");
    prompt_with(&scene, &card, "A new lid ships tomorow").await;
    assert!(scene.discord().edit_user_message(
        card.id,
        first,
        SAM_DISCORD,
        "A new lid ships **tomorrow**"
    ));
    prompt_with(&scene, &card, "@uma A new lid ships tomorrow ^SL").await;
    let second = scene
        .discord()
        .user_message(card.id, SAM_DISCORD, "Sam", &[], "Ignore me");
    let countdown = prompt_with(&scene, &card, "Ignore me").await;
    assert!(scene
        .discord()
        .delete_user_message(card.id, second, SAM_DISCORD));
    until("the countdown to say the message was deleted", || {
        scene
            .discord_thread(&card)
            .into_iter()
            .find(|m| m.id == countdown.id && m.content.contains("Sam Lee deleted their message"))
    })
    .await;
    clock.advance(past_the_window());
    let sent = until("the edited reply on X", || {
        scene.reply_texts_to(&post.id).into_iter().next()
    })
    .await;
    assert_eq!(sent, "@uma A new lid ships tomorrow ^SL");
    never(
        "the deleted one, or the first version",
        Duration::from_secs(2),
        || scene.reply_texts_to(&post.id).len() > 1,
    )
    .await;
    scene.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_discord_a_saved_reply_in_confirm_mode_asks_privately() {
    let (scene, _clock) = scene_on_clock(CONFIRM).await;
    let (post, _, card) = scene.mention("val", "charged twice").await;
    scene
        .discord()
        .slash_command(card.id, SAM_DISCORD, "Sam", &[], "reply", Some("refund"));
    let preview = until("Sam's private preview", || {
        scene
            .discord()
            .whispers_for(SAM_DISCORD)
            .into_iter()
            .find(|m| m.content.starts_with("Only you see this"))
    })
    .await;
    assert!(
        preview.content.contains("double charge"),
        "{}",
        preview.content
    );
    assert!(
        !scene
            .discord_thread(&card)
            .iter()
            .any(|m| m.content.contains("Only you see this")),
        "the preview is not in the thread"
    );
    never(
        "the saved reply on X before Send",
        Duration::from_secs(2),
        || !scene.sandbox.x.posted().is_empty(),
    )
    .await;
    let send = button(&preview, 0);
    assert!(send.starts_with("perch_send:"), "{send}");
    assert!(
        scene
            .discord()
            .press_button(
                card.id,
                preview.id,
                1_400_000_000_000_000_009,
                "Someone",
                &send
            )
            .is_none(),
        "only Sam sees it, so only Sam can press it"
    );
    scene
        .discord()
        .press_button(card.id, preview.id, SAM_DISCORD, "Sam", &send)
        .expect("pressed");
    let reply = until("the saved reply on X", || {
        scene.reply_texts_to(&post.id).into_iter().next()
    })
    .await;
    assert!(
        reply.starts_with("@val Sorry about the double charge!"),
        "{reply}"
    );
    scene.stop().await;
}
