//! Query strings with list parameters. The contract states lists as comma-separated
//! (`status=submitted,answered`); generated clients often repeat the key instead
//! (`status=submitted&status=answered`). Both mean the same here.

use std::future::{ready, Ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::problems::query_error;

/// The parameters that hold lists.
const LISTS: [&str; 2] = ["status", "group_by"];

/// Like `web::Query`, with repeated list parameters joined by commas first.
pub struct Params<T>(pub T);

impl<T> Params<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Params<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// `a=1&status=x&status=y` → `a=1&status=x,y`; every other pair stays as it was, in order.
fn join_lists(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match pairs.iter_mut().find(|(k, _)| LISTS.contains(&k.as_str()) && *k == key) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => pairs.push((key.into_owned(), value.into_owned())),
        }
    }
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

impl<T: DeserializeOwned> FromRequest for Params<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parsed =
            web::Query::<T>::from_query(&join_lists(req.query_string())).map_err(|err| query_error(err).into());
        ready(parsed.map(|q| Params(q.into_inner())))
    }
}

#[cfg(test)]
mod tests {
    use super::join_lists;

    #[test]
    fn repeated_list_parameters_are_joined_and_nothing_else_changes() {
        assert_eq!(join_lists("status=submitted&box=sent&status=answered"), "status=submitted%2Canswered&box=sent");
        assert_eq!(join_lists("group_by=category"), "group_by=category");
        assert_eq!(join_lists("limit=1&limit=2"), "limit=1&limit=2");
        assert_eq!(join_lists(""), "");
    }
}
