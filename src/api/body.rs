//! Request bodies. JSON must be an object: serde would otherwise read a struct from an array
//! (`[null, null]`), and `Option<Json<T>>` would silently ignore a body that does not parse.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::problems::from_serde;
use crate::error::ApiError;

/// A required JSON object body.
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Body<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn object<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::field("body", "not_an_object", "Innholdet må være et JSON-objekt ({ … })."));
    }
    serde_path_to_error::deserialize(value).map_err(|e| from_serde(&e))
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Reading and content-type checks, limits and syntax errors go through the JsonConfig.
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move { Ok(Body(object(json.await?.into_inner())?)) })
    }
}

/// A body that may be left out entirely (then `T::default()`); when present it is checked as `Body`.
pub struct OptionalBody<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let length = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim);
        let empty = match length {
            Some(l) => l == "0",
            None => !req.headers().contains_key(header::TRANSFER_ENCODING),
        };
        if empty {
            return Box::pin(async { Ok(OptionalBody(T::default())) });
        }
        let body = Body::<T>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalBody(body.await?.0)) })
    }
}
