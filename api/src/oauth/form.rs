//! The form body of an OAuth request (`application/x-www-form-urlencoded`), read once by the
//! endpoint and handed to client authentication.

use std::collections::HashMap;

use super::error::OAuthError;

/// The parameters of a form body, each named once.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Reads a form body (RFC 6749 §3.2: no parameter twice; an empty value counts as absent).
    pub(super) fn parse(body: &[u8]) -> Result<Params, OAuthError> {
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.insert(name.to_string(), value.to_string()).is_some() {
                return Err(OAuthError::InvalidRequest(format!(
                    "the parameter {name} is given more than once"
                )));
            }
        }
        params.retain(|_, value: &mut String| !value.is_empty());
        Ok(Params(params))
    }

    /// A parameter the request needs.
    pub(super) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("the parameter {name} is missing")))
    }
}
