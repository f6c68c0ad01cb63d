//! The fake X's pages as X answers them: `max_results`, pagination
//! tokens, `since_id`, the fields and expansions asked for.

use std::collections::{BTreeMap, HashSet};

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::api::{invalid, ok};
use super::State;
use crate::twitter::api::{Post, User};

pub(super) fn numeric(id: &str) -> u128 {
    id.parse().unwrap_or(0)
}

pub(super) fn page_size(
    query: &BTreeMap<String, String>,
    default: usize,
    min: usize,
) -> Result<usize, String> {
    match query.get("max_results") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (min..=100).contains(&n) => Ok(n),
            _ => Err(format!(
                "The `max_results` query parameter value [{v}] is not between {min} and 100"
            )),
        },
    }
}

/// The paging token as an offset, or X's message about it.
pub(super) fn offset(query: &BTreeMap<String, String>, param: &str) -> Result<usize, String> {
    match query.get(param) {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("page-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("The `{param}` query parameter value [{t}] is not valid")),
    }
}

/// Keeps the post fields asked for in `tweet.fields` (id, text and
/// edit_history_tweet_ids always), as X does.
pub(super) fn shape_post(post: &Post, fields: &HashSet<&str>) -> Value {
    let mut value = serde_json::to_value(post).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.retain(|k, _| k == "id" || k == "text" || fields.contains(k.as_str()));
        map.insert("edit_history_tweet_ids".to_owned(), json!([post.id]));
    }
    value
}

pub(super) fn post_page(
    s: &State,
    mut posts: Vec<Post>,
    query: &BTreeMap<String, String>,
    page_param: &str,
) -> Response {
    let size = match page_size(query, 10, 5) {
        Ok(n) => n,
        Err(m) => return invalid(&m, "max_results"),
    };
    let start = match offset(query, page_param) {
        Ok(n) => n,
        Err(m) => return invalid(&m, page_param),
    };
    if let Some(since) = query.get("since_id") {
        posts.retain(|p| numeric(&p.id) > numeric(since));
    }
    if let Some(start) = query.get("start_time") {
        let Ok(start) = chrono::DateTime::parse_from_rfc3339(start) else {
            return invalid(
                &format!("Invalid 'start_time':'{start}'. 'start_time' must be a valid RFC 3339 date-time"),
                "start_time",
            );
        };
        posts.retain(|p| p.created_at.is_some_and(|at| at >= start));
    }
    posts.sort_by_key(|p| std::cmp::Reverse(numeric(&p.id)));
    let page: Vec<&Post> = posts.iter().skip(start).take(size).collect();
    let mut meta = Map::new();
    meta.insert("result_count".to_owned(), json!(page.len()));
    let mut body = Map::new();
    if !page.is_empty() {
        meta.insert("newest_id".to_owned(), json!(page[0].id));
        meta.insert("oldest_id".to_owned(), json!(page[page.len() - 1].id));
        if start + size < posts.len() {
            meta.insert(
                "next_token".to_owned(),
                json!(format!("page-{}", start + size)),
            );
        }
        body = shaped(s, &page, query);
    }
    body.insert("meta".to_owned(), Value::Object(meta));
    ok(StatusCode::OK, Value::Object(body))
}

/// `data` (the posts, with the fields asked for) and `includes` (their
/// authors and the posts they refer to, as expanded), as X shapes them.
pub(super) fn shaped(
    s: &State,
    page: &[&Post],
    query: &BTreeMap<String, String>,
) -> Map<String, Value> {
    let fields: HashSet<&str> = query
        .get("tweet.fields")
        .map(|f| f.split(',').collect())
        .unwrap_or_default();
    let expansions: HashSet<&str> = query
        .get("expansions")
        .map(|f| f.split(',').collect())
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert(
        "data".to_owned(),
        Value::Array(page.iter().map(|p| shape_post(p, &fields)).collect()),
    );
    let mut includes = Map::new();
    if expansions.contains("author_id") {
        let mut users: Vec<&User> = page
            .iter()
            .filter_map(|p| p.author_id.as_deref().and_then(|a| s.user(a)))
            .filter(|u| !s.unexpanded.contains(&u.id))
            .collect();
        users.dedup_by_key(|u| u.id.clone());
        includes.insert("users".to_owned(), json!(users));
    }
    if expansions.contains("referenced_tweets.id") {
        let refs: Vec<Value> = page
            .iter()
            .flat_map(|p| p.referenced_tweets.iter())
            .filter_map(|r| s.find_post(&r.id))
            .map(|p| shape_post(p, &fields))
            .collect();
        if !refs.is_empty() {
            includes.insert("tweets".to_owned(), Value::Array(refs));
        }
    }
    if !includes.is_empty() {
        body.insert("includes".to_owned(), Value::Object(includes));
    }
    body
}

pub(super) fn dm_page(s: &State, query: &BTreeMap<String, String>, me: &str) -> Response {
    let size = match page_size(query, 100, 1) {
        Ok(n) => n,
        Err(m) => return invalid(&m, "max_results"),
    };
    let start = match offset(query, "pagination_token") {
        Ok(n) => n,
        Err(m) => return invalid(&m, "pagination_token"),
    };
    let mut events: Vec<_> = s
        .dms
        .iter()
        .filter(|(_, who)| who.iter().any(|w| w == me))
        .map(|(e, _)| e)
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(numeric(&e.id)));
    let page: Vec<_> = events.iter().skip(start).take(size).collect();
    let mut body = Map::new();
    let mut meta = Map::new();
    meta.insert("result_count".to_owned(), json!(page.len()));
    if !page.is_empty() {
        body.insert("data".to_owned(), json!(page));
        if start + size < events.len() {
            meta.insert(
                "next_token".to_owned(),
                json!(format!("page-{}", start + size)),
            );
        }
        if query
            .get("expansions")
            .is_some_and(|e| e.split(',').any(|x| x == "sender_id"))
        {
            let users: Vec<&User> = page
                .iter()
                .filter_map(|e| e.sender_id.as_deref().and_then(|a| s.user(a)))
                .collect();
            body.insert("includes".to_owned(), json!({ "users": users }));
        }
    }
    body.insert("meta".to_owned(), Value::Object(meta));
    ok(StatusCode::OK, Value::Object(body))
}

/// `GET /2/users?ids=`: the users found, and an error for each id not.
pub(super) fn users(s: &State, query: &BTreeMap<String, String>) -> Response {
    let Some(ids) = query.get("ids").filter(|i| !i.is_empty()) else {
        return invalid("The `ids` query parameter can not be empty", "ids");
    };
    let (found, missing): (Vec<&str>, Vec<&str>) =
        ids.split(',').partition(|id| s.user(id).is_some());
    let mut body = serde_json::Map::new();
    if !found.is_empty() {
        body.insert(
            "data".to_owned(),
            json!(found.iter().filter_map(|id| s.user(id)).collect::<Vec<_>>()),
        );
    }
    if !missing.is_empty() {
        let errors: Vec<Value> = missing
            .iter()
            .map(|id| json!({
                "value": id, "detail": format!("Could not find user with ids: [{id}]."),
                "title": "Not Found Error", "resource_type": "user", "parameter": "ids", "resource_id": id,
                "type": "https://api.twitter.com/2/problems/resource-not-found"
            }))
            .collect();
        body.insert("errors".to_owned(), Value::Array(errors));
    }
    ok(StatusCode::OK, Value::Object(body))
}
